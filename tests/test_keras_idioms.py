"""Keras idioms, written the way a Keras user writes them (see docs/coming-from-keras.md)."""

import importlib.util
import io
import json
import math
import pathlib
import warnings
import zipfile

import numpy as np
import pytest

import tinynet as tn
from tinynet.callbacks import EarlyStopping, History, ModelCheckpoint
from tinynet.layers import (
    GELU,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    LayerNormalization,
    LeakyReLU,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]


def data(n=64, features=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.float32)
    return x, y


def mlp(optimizer="adam", **dense):
    tn.set_seed(0)
    model = tn.Sequential([Dense(8, input_dim=4, activation="relu", **dense), Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    return model


# ------------------------------------------------------------------------------ trainable
@pytest.mark.parametrize(
    "optimizer",
    [
        tn.optimizers.AdamW(0.05, weight_decay=0.5),  # decay would shrink the weights
        tn.optimizers.SGD(0.1, momentum=0.9),  # momentum would keep moving them
        "rmsprop",
    ],
)
def test_frozen_layer_is_unchanged_bit_for_bit_by_fit(optimizer):
    model = mlp(optimizer, kernel_regularizer=tn.regularizers.l2(0.1))
    x, y = data()
    model.fit(x, y, epochs=1, verbose=0)  # momentum and moments exist for every weight now
    model.layers[0].trainable = False
    frozen = [w.copy() for w in model.layers[0].get_weights()]
    head = [w.copy() for w in model.layers[1].get_weights()]
    model.fit(x, y, epochs=3, verbose=0)
    for before, after in zip(frozen, model.layers[0].get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    assert not np.array_equal(head[0], model.layers[1].get_weights()[0])  # the rest still trains


def test_trainable_and_non_trainable_weights_as_keras():
    model = tn.Sequential([Dense(3, input_dim=2), BatchNormalization(), Dense(1)])
    assert len(model.trainable_weights) == 6 and len(model.non_trainable_weights) == 2  # BN's statistics
    model.layers[0].trainable = False
    assert model.layers[0].trainable_weights == []
    assert len(model.layers[0].non_trainable_weights) == 2
    assert len(model.trainable_weights) == 4 and len(model.non_trainable_weights) == 4
    assert len(model.weights) == 8
    model.trainable = False
    assert model.trainable is False and model.trainable_weights == []
    model.trainable = True
    assert all(layer.trainable for layer in model.layers)
    with pytest.raises(TypeError, match="trainable must be True or False"):
        model.layers[0].trainable = "no"


def test_model_trainable_false_freezes_everything_in_fit():
    model = mlp()
    model.trainable = False
    before = [w.copy() for w in model.get_weights()]
    model.fit(*data(), epochs=2, verbose=0)
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_frozen_batch_normalization_keeps_its_statistics_and_runs_in_inference_mode(float64):
    tn.set_seed(1)
    bn = BatchNormalization(trainable=False)
    model = tn.Sequential([Dense(3, input_dim=4), bn, Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    state = [s.copy() for s in bn.state.values()]
    x, y = data()
    model.fit(x, y, epochs=2, verbose=0)
    for before, after in zip(state, bn.state.values(), strict=True):
        np.testing.assert_array_equal(before, after)
    # in training the frozen layer computes what inference computes
    np.testing.assert_allclose(model.forward(x, training=True), model.forward(x), rtol=1e-12)


def test_trainable_is_saved_in_the_model_file(tmp_path):
    model = mlp()
    model.layers[0].trainable = False
    model.fit(*data(), epochs=1, verbose=0)
    model.save(tmp_path / "m.npz")
    assert tn.inspect_model_file(tmp_path / "m.npz").format_version == 4
    loaded = tn.load_model(tmp_path / "m.npz")
    assert [layer.trainable for layer in loaded.layers] == [False, True]
    before = loaded.layers[0].get_weights()
    loaded.fit(*data(), epochs=1, verbose=0)
    np.testing.assert_array_equal(before[0], loaded.layers[0].get_weights()[0])
    # a model without frozen layers (nor GELU, LeakyReLU layers) is still written as version 1
    mlp().save(tmp_path / "plain.npz")
    assert tn.inspect_model_file(tmp_path / "plain.npz").format_version == 1


def test_summary_splits_trainable_and_non_trainable_like_keras():
    model = tn.Sequential([Dense(3, input_dim=2), BatchNormalization(), Dense(1)])
    model.layers[2].trainable = False
    lines = []
    model.summary(print_fn=lines.append)
    text = lines[0]
    # Dense 2*3+3 = 9, BN 6 parameters + 6 statistics, Dense 3+1 = 4 (frozen)
    assert "Total params: 25" in text
    assert "Trainable params: 15" in text
    assert "Non-trainable params: 10" in text
    assert "[frozen]" in text
    assert model.count_params() == 19  # parameters, frozen or not (not the statistics)


# ------------------------------------------------------------------------------ positional order
def test_fit_positional_order_is_keras():
    model = mlp()
    history = model.fit(*data(), 32, 3, 0)  # batch_size, epochs, verbose
    assert len(history.history["loss"]) == 3
    assert history.params["batch_size"] == 32 and history.params["steps"] == 2


def test_compile_positional_order_is_keras():
    model = mlp()
    model.compile("adam", "binary_crossentropy")
    assert isinstance(model.optimizer, tn.optimizers.Adam) and model.loss.name == "binary_crossentropy"
    with pytest.raises(ValueError, match="first positional argument is the optimizer"):
        model.compile("binary_crossentropy", "adam")
    with pytest.raises(TypeError, match="loss_weights"):
        model.compile("adam", "binary_crossentropy", ["accuracy"])  # Keras 3: the third is loss_weights
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])  # the README's keywords
    model.compile(loss="binary_crossentropy")
    assert isinstance(model.optimizer, tn.optimizers.RMSprop)  # Keras' default optimizer


def test_evaluate_and_predict_positional_order_is_keras():
    model = mlp()
    x, y = data()
    loss, acc = model.evaluate(x, y, 16, 0)  # batch_size, verbose
    assert loss > 0 and 0 <= acc <= 1
    np.testing.assert_allclose(model.predict(x, 16, 0), model.predict(x), rtol=1e-6)
    assert model.evaluate(x, y, verbose=0, return_dict=True).keys() == {"loss", "accuracy"}


# ------------------------------------------------------------------------------ metrics
def test_metrics_as_a_string():
    model = mlp()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics="accuracy")
    assert model.metric_names == ["accuracy"]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("AUC", "auc"),
        ("auc", "auc"),
        ("binary_accuracy", "binary_accuracy"),
        ("accuracy", "accuracy"),
    ],
)
def test_keras_metric_names_for_a_binary_model(name, key):
    model = mlp()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[name])
    history = model.fit(*data(), epochs=1, verbose=0)
    assert 0.0 <= history.history[key][0] <= 1.0


def test_keras_metric_names_for_a_softmax_model():
    tn.set_seed(0)
    x = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
    y = tn.utils.to_categorical(np.argmax(x[:, :3], axis=1), 3)
    model = tn.Sequential([Dense(3, input_dim=4, activation="softmax")])
    model.compile(
        "adam", "categorical_crossentropy", metrics=["categorical_accuracy", "top_k_categorical_accuracy"]
    )
    history = model.fit(x, y, epochs=1, verbose=0)
    assert history.history["top_k_categorical_accuracy"] == [1.0]  # 3 classes, k = 5
    assert tn.metrics.top_k_categorical_accuracy(y, model.predict(x), k=1) == pytest.approx(
        history.history["categorical_accuracy"][0], abs=0.2
    )


# ------------------------------------------------------------------------------ defaults
def test_defaults_are_keras():
    assert Conv2D(4, 3).kernel_initializer == "glorot_uniform"
    bn = BatchNormalization()
    assert (bn.momentum, bn.epsilon) == (0.99, 1e-3)
    assert LayerNormalization().epsilon == 1e-3
    assert LeakyReLU().negative_slope == 0.3
    assert GELU().approximate is False
    for cls in (tn.optimizers.Adam, tn.optimizers.AdamW, tn.optimizers.RMSprop, tn.optimizers.Adagrad):
        assert cls().epsilon == 1e-7


def test_exact_gelu_by_name():
    x = np.array([[1.0]], dtype=np.float64)
    value = tn.layers.get_activation("gelu").forward(x)[0, 0]
    assert value == pytest.approx(0.5 * (1 + math.erf(1 / math.sqrt(2))), rel=1e-6)


def test_leaky_relu_alpha_is_deprecated():
    with pytest.warns(DeprecationWarning, match="negative_slope"):
        layer = LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1


# ------------------------------------------------------------------------------ missing idioms
def test_verbose_0_in_predict_and_evaluate(capsys):
    model = mlp()
    x, y = data()
    model.predict(x, verbose=0)
    model.evaluate(x, y, verbose=0)
    assert capsys.readouterr().out == ""


def test_calling_the_model():
    model = mlp()
    x, _ = data()
    out = model(x)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, model.predict(x))


@pytest.mark.parametrize("make_input", [lambda: tn.Input(shape=(4,)), lambda: tn.layers.Input(shape=(4,))])
def test_input_as_the_first_element(make_input):
    model = tn.Sequential([make_input(), Dense(8, activation="relu"), Dense(1)])
    assert model.built and model.count_params() == 4 * 8 + 8 + 8 + 1
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense"]
    with pytest.raises(ValueError, match="first element"):
        model.add(tn.Input(shape=(4,)))


def test_model_with_input_dim_is_built_at_once():
    model = tn.Sequential()
    model.add(Dense(8, input_dim=4, activation="relu"))
    model.add(Dense(1))
    assert model.built
    assert model.count_params() == 4 * 8 + 8 + 8 + 1
    weights = [np.full(w.shape, 0.5, w.dtype) for w in model.get_weights()]
    model.set_weights(weights)  # before any data
    np.testing.assert_array_equal(model.layers[0].params["W"], 0.5)
    tn.Sequential([Conv2D(2, 3, input_shape=(1, 5, 5)), Flatten(), Dense(1)]).count_params()


def test_get_layer_and_pop():
    model = tn.Sequential([Dense(8, input_dim=4, name="hidden"), Dropout(0.1), Dense(1, name="out")])
    assert model.get_layer("hidden") is model.layers[0]
    assert model.get_layer(name="out") is model.layers[2]
    assert model.get_layer(index=1) is model.layers[1]
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        model.get_layer("nope")
    last = model.pop()
    assert last.name == "out" and len(model.layers) == 2
    assert model.output_shape == (8,)
    model.add(Dense(2))
    assert model.predict(np.zeros((3, 4), np.float32)).shape == (3, 2)


def test_get_config_and_from_config():
    model = tn.Sequential([tn.Input(shape=(4,)), Dense(8, activation="relu"), Dense(1, activation="sigmoid")])
    model.layers[0].trainable = False
    config = model.get_config()
    json.dumps(config)
    copy = tn.Sequential.from_config(config)
    assert copy.get_config() == config
    assert copy.count_params() == model.count_params() and copy.built
    with pytest.raises(ValueError, match="units"):
        tn.Sequential.from_config(
            {"name": "m", "input_shape": [4], "layers": [{"class_name": "Dense", "config": {"units": "8"}}]}
        )


def test_fit_initial_epoch_has_keras_meaning():
    model = mlp()
    x, y = data()
    first = model.fit(x, y, epochs=2, verbose=0)
    assert first.epoch == [0, 1]
    second = model.fit(x, y, epochs=5, initial_epoch=2, verbose=0)  # epochs 2, 3, 4
    assert second.epoch == [2, 3, 4] and model.epochs_done == 5
    with pytest.raises(ValueError, match="trains no epoch"):
        model.fit(x, y, epochs=5, initial_epoch=5, verbose=0)


def test_steps_per_epoch():
    model = mlp()
    history = model.fit(*data(), batch_size=8, epochs=2, steps_per_epoch=3, verbose=0)
    assert history.params["steps"] == 3
    assert model.optimizer.iterations == 6
    with pytest.raises(ValueError, match="steps_per_epoch=9"):
        model.fit(*data(), batch_size=8, steps_per_epoch=9, verbose=0)


def test_optimizer_lr_is_a_deprecated_alias():
    with pytest.warns(DeprecationWarning, match="learning_rate"):
        opt = tn.optimizers.Adam(lr=0.01)
    assert opt.learning_rate == 0.01
    with pytest.warns(DeprecationWarning):
        assert tn.optimizers.SGD(lr=0.5).learning_rate == 0.5


def test_activation_names_are_case_insensitive():
    model = tn.Sequential([Dense(4, input_dim=2, activation="ReLU"), Dense(2, activation="Softmax")])
    assert model.layers[0].get_config()["activation"] == "relu"


def test_repr_of_losses_and_callbacks():
    assert repr(tn.losses.BinaryCrossentropy()) == "BinaryCrossentropy(from_logits=False)"
    assert repr(tn.losses.MeanSquaredError()) == "MeanSquaredError()"
    text = repr(EarlyStopping(monitor="val_loss", patience=3))
    assert text.startswith("EarlyStopping(") and "patience=3" in text and "monitor='val_loss'" in text
    assert "ModelCheckpoint(" in repr(ModelCheckpoint("m.npz"))
    assert repr(History()).startswith("History")


def test_keras_h5_file_is_refused_plainly(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    with pytest.raises(tn.ModelFileError, match="HDF5 file.*not a tinynet model file.*keras_to_tinynet"):
        tn.load_model(path)


def test_keras_zip_is_refused_plainly(tmp_path):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", "{}")
        zf.writestr("config.json", "{}")
        zf.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
    with pytest.raises(tn.ModelFileError, match="Keras model archive.*keras_to_tinynet"):
        tn.models.load_model(path)


# ------------------------------------------------------------------------------ the converter's layouts
def _converter():
    spec = importlib.util.spec_from_file_location(
        "keras_to_tinynet", ROOT / "examples" / "keras_to_tinynet.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_converter_layouts_reproduce_channels_last_computations(float64):
    conv = _converter()
    rng = np.random.default_rng(0)
    # Flatten then Dense: Keras flattens (H, W, C), tinynet (C, H, W)
    x_nhwc = rng.normal(size=(2, 3, 4, 5))
    kernel = rng.normal(size=(3 * 4 * 5, 6))
    keras_out = x_nhwc.reshape(2, -1) @ kernel
    tiny_out = x_nhwc.transpose(0, 3, 1, 2).reshape(2, -1) @ conv.dense_after_flatten(kernel, (5, 3, 4))
    np.testing.assert_allclose(tiny_out, keras_out, rtol=1e-12)
    # a 1x1-output convolution: Keras' kernel (kh, kw, C, F) against tinynet's Conv2D
    k = rng.normal(size=(3, 3, 2, 4))
    image = rng.normal(size=(1, 3, 3, 2))  # NHWC
    keras_conv = np.einsum("nhwc,hwcf->nf", image, k)
    layer = Conv2D(4, 3, use_bias=False)
    layer.build((2, 3, 3))
    layer.set_weights([conv.conv_kernel(k)])
    np.testing.assert_allclose(layer(image.transpose(0, 3, 1, 2))[:, :, 0, 0], keras_conv, rtol=1e-12)


def test_converter_without_keras_says_what_it_needs(capsys):
    if importlib.util.find_spec("keras") is not None:
        pytest.skip("keras is installed here")
    with warnings.catch_warnings():
        assert _converter().main(["a.keras", "b.npz"]) == 1
    assert "needs Keras" in capsys.readouterr().err


def test_model_file_from_a_stream_is_still_read():
    model = mlp()
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    assert tn.load_model(buffer).count_params() == model.count_params()


def _saved(model) -> bytes:
    buffer = io.BytesIO()
    model.save(buffer)
    return buffer.getvalue()


def test_older_format_versions_cannot_hold_trainable():
    from tests.serialization.helpers import edit_manifest

    data = _saved(mlp())  # a plain model: format version 1

    def freeze(manifest):
        manifest["layers"][0]["config"]["trainable"] = False

    with pytest.raises(tn.ModelFileError, match="'trainable', which format version 1 does not have"):
        tn.load_model(io.BytesIO(edit_manifest(data, freeze)))


def test_gelu_files_round_trip_as_version_4_and_older_gelu_means_the_tanh_form():
    from tests.serialization.helpers import edit_manifest

    tn.set_seed(0)
    model = tn.Sequential([Dense(3, input_dim=2, activation="gelu"), GELU(approximate=True), Dense(1)])
    model.compile("adam", "mse")
    data = _saved(model)
    x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    loaded = tn.load_model(io.BytesIO(data))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.layers[0].activation.activation_name == "gelu" and loaded.layers[1].approximate

    def as_version_2(manifest):  # what tinynet wrote before: "gelu" was the tanh form
        manifest["format_version"] = 2
        manifest["layers"][1]["config"].pop("approximate")
        manifest.pop("card")
        for layer in manifest["layers"]:
            layer.pop("quantized")

    old = tn.load_model(io.BytesIO(edit_manifest(data, as_version_2)))
    assert old.layers[0].activation.activation_name == "gelu_tanh" and old.layers[1].approximate


def test_unfreezing_trains_the_layer_again_and_new_layers_do_not_disturb_a_model():
    model = mlp()
    x, y = data()
    model.layers[0].trainable = False
    model.fit(x, y, epochs=1, verbose=0)
    plans = model._executor
    Dense(3)  # creating an unrelated layer changes no flag: the model keeps its executor
    model.fit(x, y, epochs=1, verbose=0)
    assert model._executor is plans
    model.layers[0].trainable = True
    before = model.layers[0].get_weights()[0]
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(before, model.layers[0].get_weights()[0])


def test_dense_takes_keras_positional_order():
    # keras.layers.Dense(units, activation, use_bias, kernel_initializer, bias_initializer, ...)
    layer = tn.layers.Dense(4, "relu", False, "he_uniform")
    assert layer.use_bias is False and layer.kernel_initializer == "he_uniform"
    with pytest.raises(TypeError):
        tn.layers.Dense(4, "relu", 3)  # input_dim is a keyword, as in Keras
    with pytest.raises(ValueError, match="momentum"):
        tn.layers.BatchNormalization(-1)  # Keras' first argument is axis: refused, not a momentum


def test_conv2d_takes_keras_positional_order_up_to_padding():
    # keras.layers.Conv2D(filters, kernel_size, strides, padding, data_format, dilation_rate, groups,
    # activation, ...): the first four match; tinynet has no data_format, so a Keras-style
    # positional data format is refused (as an unknown activation), never taken as something else
    layer = tn.layers.Conv2D(8, 3, 2, "same")
    assert (layer.filters, layer.kernel_size, layer.strides, layer.padding) == (8, (3, 3), (2, 2), "same")
    with pytest.raises(ValueError, match="unknown activation 'channels_last'"):
        tn.layers.Conv2D(8, 3, 1, "same", "channels_last")
    keyworded = tn.layers.Conv2D(8, 3, 1, "same", activation="relu", use_bias=False)
    assert keyworded.activation.activation_name == "relu" and keyworded.use_bias is False
