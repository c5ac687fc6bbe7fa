"""Saving and loading give back the same model: weights, architecture, compile settings, progress."""

import io
import json
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn
from tinynet.serialization import (
    ModelFileError,
    inspect_model_file,
    load_model,
    load_weights,
    save_model,
    save_weights,
)

from .helpers import (
    assert_same_model,
    data,
    edit_manifest,
    load_bytes,
    manifest_of,
    npy,
    replace_member,
    small_model,
    to_bytes,
)


def test_round_trip_restores_everything(tmp_path):
    model = small_model(epochs=2)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = load_model(path)
    assert_same_model(model, loaded)
    x, _ = data(1)
    np.testing.assert_array_equal(model.predict(x), loaded.predict(x))
    assert loaded.epochs_done == 2 and loaded.optimizer.iterations == 6


def test_compile_false_gives_an_uncompiled_model_that_predicts(tmp_path):
    model = small_model()
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz", compile=False)
    assert loaded.loss is None and loaded.optimizer is None
    x, _ = data(2)
    np.testing.assert_array_equal(model.predict(x), loaded.predict(x))
    assert_same_model(model, loaded, compiled=False)


def test_save_writes_exactly_the_given_path(tmp_path):
    model = small_model(epochs=0)
    for name in ("model", "model.bin", "weights.npz.part"):
        model.save(tmp_path / name)
        assert (tmp_path / name).is_file()
        assert_same_model(model, load_model(tmp_path / name))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "model.bin", "weights.npz.part"]


def test_path_like_and_str_paths(tmp_path):
    model = small_model(epochs=0)
    save_model(model, str(tmp_path / "a.npz"))
    save_model(model, os.fsencode(tmp_path / "b.npz").decode())
    assert load_model(str(tmp_path / "a.npz")).count_params() == model.count_params()
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_file_objects_both_ways(tmp_path):
    model = small_model()
    buffer = io.BytesIO()
    save_model(model, buffer)
    assert_same_model(model, load_model(io.BytesIO(buffer.getvalue())))
    with open(tmp_path / "f.npz", "wb") as f:
        model.save(f)
    with open(tmp_path / "f.npz", "rb") as f:
        assert_same_model(model, load_model(f))
    # the bytes of a save to a file object are those of a save to a path
    model.save(tmp_path / "p.npz")
    assert (tmp_path / "p.npz").read_bytes() == buffer.getvalue()


class _Stream(io.RawIOBase):
    """A readable, non-seekable stream, like a socket's file."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        return self._data.readinto(b)


class _WriteOnly(io.RawIOBase):
    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.data += bytes(b)
        return len(b)


def test_non_seekable_streams():
    model = small_model()
    sink = _WriteOnly()
    save_model(model, sink)
    assert bytes(sink.data) == to_bytes(model)
    assert_same_model(model, load_model(_Stream(bytes(sink.data))))


def test_text_files_and_raw_bytes_are_refused_with_a_hint(tmp_path):
    model = small_model(epochs=0)
    with open(tmp_path / "t.txt", "w") as f, pytest.raises(TypeError, match="binary"):
        save_model(model, f)
    with pytest.raises(TypeError, match="BytesIO"):
        load_model(to_bytes(model))


def test_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nope.npz")


def test_saving_twice_gives_identical_bytes(tmp_path):
    model = small_model(epochs=2)
    model.save(tmp_path / "a.npz")
    model.save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    # and so does saving the loaded copy: a file's hash identifies a model
    load_model(tmp_path / "a.npz").save(tmp_path / "c.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "c.npz").read_bytes()
    save_model(model, tmp_path / "d.npz", compress=True)
    save_model(model, tmp_path / "e.npz", compress=True)
    assert (tmp_path / "d.npz").read_bytes() == (tmp_path / "e.npz").read_bytes()


def test_zip_metadata_is_fixed(tmp_path):
    model = small_model()
    model.save(tmp_path / "m.npz")
    with zipfile.ZipFile(tmp_path / "m.npz") as zf:
        infos = zf.infolist()
    assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in infos)
    assert all(info.compress_type == zipfile.ZIP_STORED for info in infos)
    assert infos[-1].filename == "manifest.npy"
    assert [i.filename for i in infos[:2]] == ["layers/00_dense/W.npy", "layers/00_dense/b.npy"]
    assert "optimizer/00_dense/W/m.npy" in [i.filename for i in infos]


def test_compressed_files_load_and_are_smaller(tmp_path):
    tn.set_seed(0)
    model = tn.Sequential([tn.layers.Dense(64, input_dim=64, kernel_initializer="zeros")])
    model.compile(loss="mse", optimizer="sgd")
    model.save(tmp_path / "plain.npz")
    save_model(model, tmp_path / "small.npz", compress=True)
    assert (tmp_path / "small.npz").stat().st_size < (tmp_path / "plain.npz").stat().st_size / 10
    with zipfile.ZipFile(tmp_path / "small.npz") as zf:
        assert {info.compress_type for info in zf.infolist()} == {zipfile.ZIP_DEFLATED}
    assert_same_model(model, load_model(tmp_path / "small.npz"))


def test_plain_numpy_reads_the_file_without_pickle(tmp_path):
    model = small_model()
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as npz:
        manifest = json.loads(npz["manifest"].tobytes().decode("utf-8"))
        np.testing.assert_array_equal(npz["layers/00_dense/W"], model.layers[0].params["W"])
    assert manifest["format"] == "tinynet-model" and manifest["format_version"] == 1
    assert [layer["class_name"] for layer in manifest["layers"]] == ["Dense", "Dropout", "Dense"]
    assert manifest["compile"]["optimizer"]["class_name"] == "adam"
    assert manifest["training"]["rng"]["bit_generator"] == "PCG64"
    assert isinstance(manifest["training"]["rng"]["state"], str)  # 128-bit integers as decimal strings


def test_loading_leaves_the_global_generator_alone(tmp_path):
    model = small_model()
    model.save(tmp_path / "m.npz")
    tn.set_seed(123)
    reference = tn.Sequential([tn.layers.Dense(2, input_dim=2)]).rng.random(3)
    tn.set_seed(123)
    load_model(tmp_path / "m.npz")
    after = tn.Sequential([tn.layers.Dense(2, input_dim=2)]).rng.random(3)
    np.testing.assert_array_equal(reference, after)


def test_float64_models(tmp_path, float64):
    model = small_model()
    assert model.layers[0].params["W"].dtype == np.float64
    model.save(tmp_path / "m.npz")
    tn.set_default_dtype(np.float32)  # loading does not depend on the current default
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.layers[0].params["W"].dtype == np.float64
    assert_same_model(model, loaded)
    assert tn.get_default_dtype() == np.float32


def test_layers_with_state_and_nested_configs(tmp_path):
    from tinynet import regularizers, schedules
    from tinynet.layers.normalization import BatchNormalization

    tn.set_seed(1)
    model = tn.Sequential(
        [
            tn.layers.Dense(6, input_dim=4, kernel_regularizer=regularizers.L2(1e-3)),
            BatchNormalization(momentum=0.8),
            tn.layers.Activation("tanh"),
            tn.layers.Dense(1),
        ]
    )
    sched = schedules.ExponentialDecay(0.01, decay_steps=5, decay_rate=0.5)
    model.compile(
        loss="mse", optimizer=tn.optimizers.SGD(sched, momentum=0.9, nesterov=True), metrics=["mae"]
    )
    x = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
    model.fit(x, x[:, :1] * 2, epochs=2, batch_size=8, verbose=0)
    assert not np.all(model.layers[1].state["moving_mean"] == 0)
    model.save(tmp_path / "m.npz")
    with zipfile.ZipFile(tmp_path / "m.npz") as zf:
        assert "layers/01_batch_normalization/state/moving_mean.npy" in zf.namelist()
    loaded = load_model(tmp_path / "m.npz")
    assert_same_model(model, loaded)
    assert loaded.optimizer.learning_rate == sched
    assert loaded.layers[0].kernel_regularizer.get_config() == {"l2": 1e-3}
    np.testing.assert_array_equal(model.predict(x), loaded.predict(x))


def test_conv_models(tmp_path):
    from tinynet.layers.conv import Conv2D
    from tinynet.layers.pooling import MaxPool2D

    tn.set_seed(2)
    model = tn.Sequential(
        [
            Conv2D(3, 3, input_shape=(1, 6, 6), activation="relu"),
            MaxPool2D(2),
            tn.layers.Flatten(),
            tn.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer="rmsprop")
    x = np.random.default_rng(1).normal(size=(8, 1, 6, 6)).astype(np.float32)
    model.fit(x, np.arange(8) % 2, epochs=1, batch_size=4, verbose=0)
    model.save(tmp_path / "cnn.npz")
    loaded = load_model(tmp_path / "cnn.npz")
    assert_same_model(model, loaded)
    np.testing.assert_array_equal(model.predict(x), loaded.predict(x))


@tn.register_layer
class Scale(tn.layers.Layer):
    """A user-defined layer: y = x * s with a trainable per-feature scale s."""

    def __init__(self, init: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.init = float(init)

    def build(self, input_shape):
        super().build(input_shape)
        self.add_param("s", np.full(self.input_shape[-1:], self.init, dtype=self.dtype))

    def forward(self, x, training=False):
        self.x = x
        return x * self.params["s"]

    def backward(self, grad_output):
        self.grads["s"][...] = (grad_output * self.x).sum(axis=0)
        return grad_output * self.params["s"]

    def get_config(self):
        return {**super().get_config(), "init": self.init}


def test_registered_custom_layers_round_trip(tmp_path):
    tn.set_seed(3)
    model = tn.Sequential([Scale(0.5, input_shape=(3,)), tn.layers.Dense(1)])
    model.compile(loss="mse", optimizer="adam")
    x = np.random.default_rng(2).normal(size=(16, 3)).astype(np.float32)
    model.fit(x, x.sum(axis=1), epochs=2, batch_size=4, verbose=0)
    model.save(tmp_path / "custom.npz")
    loaded = load_model(tmp_path / "custom.npz")
    assert isinstance(loaded.layers[0], Scale)
    assert_same_model(model, loaded)


def test_custom_layers_get_their_annotations_checked_at_both_ends(tmp_path):
    """A registered layer's config is checked against its constructor's annotations: a save never
    writes a value its own constructor's types refuse, and a load refuses one naming the key."""
    tn.set_seed(3)
    model = tn.Sequential([Scale(0.5, input_shape=(3,)), tn.layers.Dense(1)])
    model.build()
    data = to_bytes(model)

    def text(m):
        m["layers"][0]["config"]["init"] = "0.5"

    with pytest.raises(ModelFileError, match=r"'layers'\[0\].config.init must be a number, found a string"):
        load_bytes(edit_manifest(data, text))
    model.layers[0].init = "0.5"  # what get_config returns no longer fits the annotation
    with pytest.raises(ValueError, match=r"cannot save the model.*config.init must be a number"):
        model.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


@tn.register_layer
class Shift(tn.layers.Layer):
    """A user-defined layer whose config is not its constructor's arguments (its own from_config)."""

    def __init__(self, amount: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.amount = float(amount)

    def forward(self, x, training=False):
        return x + self.amount

    def backward(self, grad_output):
        return grad_output

    def get_config(self):
        return {**super().get_config(), "shift": {"by": str(self.amount)}}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(amount=float(config.pop("shift")["by"]), **config)


def test_a_layer_with_its_own_from_config_is_left_to_read_its_config():
    """The type checks apply to configs passed to the constructor as they are; a class that
    reads its config itself (here a nested object of strings) keeps that responsibility."""
    tn.set_seed(0)
    model = tn.Sequential([Shift(1.5, input_shape=(2,)), tn.layers.Dense(1)])
    model.build()
    loaded = load_bytes(to_bytes(model))
    assert isinstance(loaded.layers[0], Shift) and loaded.layers[0].amount == 1.5


def test_unregistered_layers_cannot_be_saved(tmp_path):
    class Unregistered(Scale):  # inherits Scale's registration, but is a different class
        pass

    model = tn.Sequential([Unregistered(input_shape=(2,))])
    with pytest.raises(ValueError, match="register_layer"):
        model.save(tmp_path / "x.npz")
    assert not list(tmp_path.iterdir())  # no temporary file left behind


def test_custom_metrics_need_include_compile_false(tmp_path):
    model = small_model(epochs=0)

    def my_metric(y_true, y_pred):
        return 0.0

    model.compile(loss="mse", optimizer="adam", metrics=[my_metric])
    with pytest.raises(ValueError, match="custom function"):
        model.save(tmp_path / "m.npz")
    save_model(model, tmp_path / "m.npz", include_compile=False)
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.loss is None
    assert_same_model(model, loaded, compiled=False)


def test_unbuilt_models(tmp_path):
    model = tn.Sequential([tn.layers.Dense(2, input_dim=3)])
    model.save(tmp_path / "m.npz")  # built on the way, the input shape being known
    assert load_model(tmp_path / "m.npz").layers[0].params["W"].shape == (3, 2)
    with pytest.raises(ValueError, match="before it is built"):
        tn.Sequential([tn.layers.Dense(2)]).save(tmp_path / "n.npz")


def test_nonfinite_weights_are_refused_unless_allowed(tmp_path):
    model = small_model()
    model.layers[2].params["b"][0] = np.nan
    model.layers[0].params["W"][1, 1] = np.inf
    model.save(tmp_path / "nan.npz", allow_nonfinite=True)
    with pytest.raises(ModelFileError, match=r"layers/00_dense/W.*NaN or infinite.*allow_nonfinite"):
        load_model(tmp_path / "nan.npz")
    loaded = load_model(tmp_path / "nan.npz", allow_nonfinite=True)
    assert np.isnan(loaded.layers[2].params["b"][0]) and np.isinf(loaded.layers[0].params["W"][1, 1])
    twin = small_model(epochs=0)
    twin.load_weights(tmp_path / "nan.npz", allow_nonfinite=True)
    assert np.isnan(twin.layers[2].params["b"][0])


@pytest.mark.parametrize(
    ("where", "save"),
    [
        ("params", "save_model"),
        ("params", "model.save"),
        ("params", "save_weights"),
        ("params", "model.save_weights"),
        ("state", "save_model"),
        ("optimizer", "save_model"),
    ],
)
def test_saving_nonfinite_values_is_refused_as_loading_them_is(tmp_path, where, save):
    """A save that succeeds writes a file that loads: NaN or infinity is refused at both ends."""
    from tinynet.layers.normalization import BatchNormalization

    tn.set_seed(0)
    model = tn.Sequential([tn.layers.Dense(4, input_dim=3), BatchNormalization(), tn.layers.Dense(2)])
    model.compile(loss="mse", optimizer="adam")
    x, _ = data()
    model.fit(x, np.zeros((len(x), 2), np.float32), epochs=1, batch_size=8, verbose=0)
    if where == "params":
        model.layers[2].params["W"][0, 1] = -np.inf
        name = "layer 2 (dense_1)'s parameter 'W'"
    elif where == "state":
        model.layers[1].state["moving_variance"][0] = np.nan
        name = "layer 1 (batch_normalization)'s state 'moving_variance'"
    else:
        model.optimizer.state["dense/W"]["v"][0, 0] = np.nan
        name = "the optimizer's 'v' of dense/W"
    path = tmp_path / "m.npz"
    calls = {
        "save_model": lambda **kw: save_model(model, path, **kw),
        "model.save": lambda **kw: model.save(path, **kw),
        "save_weights": lambda **kw: save_weights(model, path, **kw),
        "model.save_weights": lambda **kw: model.save_weights(path, **kw),
    }
    with pytest.raises(ValueError, match=re.escape(name) + ".*NaN or infinit.*allow_nonfinite=True"):
        calls[save]()
    assert not path.exists() and not list(tmp_path.iterdir())
    calls[save](allow_nonfinite=True)
    with pytest.raises(ModelFileError, match="NaN or infinite"):
        load_model(path)
    assert load_model(path, allow_nonfinite=True).count_params() == model.count_params()


def test_large_finite_weights_are_not_mistaken_for_infinite(tmp_path):
    model = small_model(epochs=0)
    model.layers[0].params["W"][...] = 3e38  # their float32 sum overflows; each value is finite
    model.save(tmp_path / "big.npz")
    assert load_model(tmp_path / "big.npz").layers[0].params["W"][0, 0] == np.float32(3e38)


def test_weights_files(tmp_path):
    model = small_model(epochs=2)
    model.save_weights(tmp_path / "w.npz")
    manifest = manifest_of((tmp_path / "w.npz").read_bytes())
    assert manifest["kind"] == "weights" and manifest["compile"] is None and manifest["training"] is None
    assert not any(a["name"].startswith("optimizer/") for a in manifest["arrays"])
    other = small_model(seed=9, epochs=0)
    other.load_weights(tmp_path / "w.npz")
    for a, b in zip(model.get_weights(), other.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # an unbuilt model of the same architecture is built from the file
    fresh = tn.Sequential([tn.layers.Dense(5, activation="relu"), tn.layers.Dropout(0.5), tn.layers.Dense(2)])
    load_weights(fresh, tmp_path / "w.npz")
    np.testing.assert_array_equal(fresh.layers[2].params["W"], model.layers[2].params["W"])
    # load_model rebuilds an uncompiled model from a weights file; load_weights reads a model file
    assert load_model(tmp_path / "w.npz").loss is None
    model.save(tmp_path / "full.npz")
    other.load_weights(tmp_path / "full.npz")


def test_load_weights_checks_the_architecture_and_leaves_the_model_alone(tmp_path):
    model = small_model()
    save_weights(model, tmp_path / "w.npz")
    wider = tn.Sequential([tn.layers.Dense(6, input_dim=3), tn.layers.Dropout(0.5), tn.layers.Dense(2)])
    wider.build()
    before = wider.get_weights()
    with pytest.raises(ModelFileError, match=r"layers/00_dense/W.*\(3, 5\).*needs float32 \(3, 6\)"):
        wider.load_weights(tmp_path / "w.npz")
    shorter = tn.Sequential([tn.layers.Dense(5, input_dim=3)])
    with pytest.raises(ModelFileError, match="3 layers but the model has 1"):
        shorter.load_weights(tmp_path / "w.npz")
    different = tn.Sequential([tn.layers.Dense(5, input_dim=3), tn.layers.Flatten(), tn.layers.Dense(2)])
    with pytest.raises(ModelFileError, match="Dropout but the model's is a Flatten"):
        different.load_weights(tmp_path / "w.npz")
    for a, b in zip(before, wider.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_damaged_weights_file_leaves_the_model_untouched():
    model = small_model()
    raw = to_bytes(model)
    target = small_model(seed=5)
    before = target.get_weights()
    # the last array read is altered: everything before it was read, none of it may be applied
    damaged = replace_member(raw, "layers/02_dense_1/b.npy", npy(model.layers[2].params["b"] + 1))
    with pytest.raises(ModelFileError, match="layers/02_dense_1/b"):
        target.load_weights(io.BytesIO(damaged))
    for a, b in zip(before, target.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_inspect_reports_without_building(tmp_path):
    model = small_model(epochs=2)
    model.save(tmp_path / "m.npz")
    info = inspect_model_file(tmp_path / "m.npz")
    assert info.checksums_ok and info.format_version == 1 and info.kind == "model"
    assert [layer.class_name for layer in info.layers] == ["Dense", "Dropout", "Dense"]
    assert info.total_params == model.count_params() == 32
    assert info.epochs_done == 2 and info.optimizer_iterations == 6 and info.optimizer_arrays == 8
    import hashlib

    assert info.sha256 == hashlib.sha256((tmp_path / "m.npz").read_bytes()).hexdigest()
    text = str(info)
    for needle in ("version 1", "dense_1 (Dense)", "Total params: 32", "2 epochs done", "Checksums   OK"):
        assert needle in text, needle


def test_inspect_names_the_altered_array_and_reads_unregistered_layers():
    model = small_model()
    raw = to_bytes(model)
    damaged = replace_member(raw, "layers/00_dense/b.npy", npy(np.ones(5, dtype=np.float32)))
    info = inspect_model_file(io.BytesIO(damaged))
    assert not info.checksums_ok
    assert [c.name for c in info.arrays if not c.ok] == ["layers/00_dense/b"]
    assert "FAILED for 1 of 12 arrays" in str(info) and "layers/00_dense/b" in str(info)

    def rename(m):
        m["layers"][1]["class_name"] = "SomebodysDropout"

    info = inspect_model_file(io.BytesIO(edit_manifest(raw, rename)))
    assert info.layers[1].class_name == "SomebodysDropout" and not info.layers[1].registered
    assert "NOT REGISTERED" in str(info)


def test_model_methods_delegate(tmp_path):
    model = small_model()
    model.save(tmp_path / "m.npz", compress=True)
    with zipfile.ZipFile(tmp_path / "m.npz") as zf:
        assert zf.infolist()[0].compress_type == zipfile.ZIP_DEFLATED
    assert_same_model(model, load_bytes((tmp_path / "m.npz").read_bytes()))


def test_an_uncompiled_saved_model_loads_uncompiled(tmp_path):
    tn.set_seed(0)
    model = tn.Sequential([tn.layers.Dense(2, input_dim=2)])
    model.build()
    model.save(tmp_path / "m.npz")
    manifest = manifest_of((tmp_path / "m.npz").read_bytes())
    assert manifest["compile"] is None and manifest["training"]["optimizer_state"] == []
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.loss is None
    assert_same_model(model, loaded, compiled=False)


def test_unusual_layer_names_give_safe_member_names(tmp_path):
    tn.set_seed(0)
    model = tn.Sequential(
        [tn.layers.Dense(2, input_dim=2, name="../../etc/passwd"), tn.layers.Dense(1, name=".hidden layer")]
    )
    model.compile(loss="mse", optimizer="adam")
    model.fit(np.ones((4, 2), np.float32), np.ones(4, np.float32), epochs=1, verbose=0)
    model.save(tmp_path / "m.npz")
    with zipfile.ZipFile(tmp_path / "m.npz") as zf:
        names = zf.namelist()
    assert "layers/00__.._.._etc_passwd/W.npy" in names and "layers/01__.hidden_layer/b.npy" in names
    assert all(".." not in part for name in names for part in name.split("/") if part.startswith("."))
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.layers[0].name == "../../etc/passwd"
    assert_same_model(model, loaded)
    assert Path(tmp_path / "m.npz").is_file() and len(list(tmp_path.iterdir())) == 1


def test_large_arrays_take_the_pipelined_path(tmp_path):
    """Arrays above the 8 MiB chunk are read, hashed and checked for NaN in overlapping pieces."""
    from tinynet.serialization._archive import CHUNK

    tn.set_seed(0)
    model = tn.Sequential([tn.layers.Dense(1500, input_dim=1500)])
    model.compile(loss="mse", optimizer="sgd")
    model.build()
    assert model.layers[0].params["W"].nbytes > CHUNK
    path = tmp_path / "big.npz"
    model.save(path)
    assert_same_model(model, load_model(path))

    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 1  # a flipped bit in the middle of W's data
    with pytest.raises(ModelFileError, match="layers/00_dense/W' was altered"):
        load_model(io.BytesIO(bytes(raw)))

    weights = model.layers[0].params["W"]
    weights[-1, -1] = np.nan  # in the last chunk
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.save(path)
    model.save(path, allow_nonfinite=True)
    with pytest.raises(ModelFileError, match="NaN or infinite"):
        load_model(path)
    weights[...] = 3e38  # every chunk's sum overflows, every value is finite
    model.save(path)
    assert load_model(path).layers[0].params["W"][0, 0] == np.float32(3e38)


def test_a_plain_function_as_learning_rate_cannot_be_named_in_a_file(tmp_path):
    model = small_model(epochs=0)
    model.compile(loss="mse", optimizer=tn.optimizers.SGD(lambda step: 0.1))
    with pytest.raises(ValueError, match="include_compile=False"):
        model.save(tmp_path / "m.npz")
    save_model(model, tmp_path / "m.npz", include_compile=False)
    assert load_model(tmp_path / "m.npz").optimizer is None


def test_the_member_cap_is_checked_when_saving_too(monkeypatch):
    """A file the loader would refuse is never written: the member cap holds at both ends."""
    from tinynet.serialization import _archive

    model = small_model()  # 4 parameters and 8 Adam slots: 12 arrays and the manifest
    monkeypatch.setattr(_archive, "MAX_MEMBERS", 13)
    data = to_bytes(model)
    assert load_bytes(data).count_params() == 32
    monkeypatch.setattr(_archive, "MAX_MEMBERS", 12)
    with pytest.raises(ValueError, match="12 arrays .* more than the 11 a model file may hold"):
        to_bytes(model)
    with pytest.raises(ModelFileError, match="at most 12"):
        load_bytes(data)
    assert len(manifest_of(to_bytes(model, include_compile=False))["arrays"]) == 4


@pytest.mark.slow
def test_a_model_with_the_most_arrays_a_file_may_hold_saves_and_loads():
    """MAX_MEMBERS - 1 arrays with 60-character names: far below the manifest's byte and value caps."""
    from tinynet.serialization import MAX_MANIFEST_BYTES, MAX_MANIFEST_VALUES, MAX_MEMBERS
    from tinynet.serialization._archive import json_values, manifest_bytes

    n = (MAX_MEMBERS - 1) // 4  # W, b and their two momentum slots per layer
    tn.set_seed(0)
    layers = [tn.layers.Dense(1, input_dim=1, name="d" * 60)]
    layers += [tn.layers.Dense(1, name=f"{i:04d}" + "d" * 56, kernel_regularizer="l2") for i in range(n - 1)]
    model = tn.Sequential(layers)
    model.compile(loss="mse", optimizer=tn.optimizers.SGD(0.01, momentum=0.9), metrics=["mae"])
    x = np.ones((2, 1), np.float32)
    model.fit(x, x, epochs=1, verbose=0)
    data = to_bytes(model)
    text = manifest_bytes(manifest_of(data))
    assert len(manifest_of(data)["arrays"]) == 4 * n > MAX_MEMBERS - 5
    assert 2 * json_values(text) < MAX_MANIFEST_VALUES and 3 * len(text) < MAX_MANIFEST_BYTES
    assert_same_model(model, load_bytes(data))


@pytest.mark.parametrize(
    ("call", "kwargs", "error"),
    [
        ("load_model", {"allow_nonfinite": "no"}, TypeError),
        ("load_model", {"compile": "no"}, TypeError),
        ("load_model", {"max_bytes": "100000"}, ValueError),
        ("load_model", {"max_bytes": 1e9}, ValueError),
        ("load_model", {"max_bytes": True}, ValueError),
        ("load_model", {"max_bytes": -1}, ValueError),
        ("load_weights", {"allow_nonfinite": 1}, TypeError),
        ("inspect_model_file", {"max_bytes": 2.5}, ValueError),
        ("save_model", {"compress": "no"}, TypeError),
        ("save_model", {"include_compile": 0}, TypeError),
        ("save_model", {"allow_nonfinite": None}, TypeError),
        ("save_weights", {"allow_nonfinite": "yes"}, TypeError),
    ],
)
def test_flags_and_sizes_are_validated(call, kwargs, error):
    """``allow_nonfinite="no"`` is truthy: without a check it would silently mean yes."""
    model = small_model()
    data = to_bytes(model)
    calls = {
        "load_model": lambda: load_model(io.BytesIO(data), **kwargs),
        "load_weights": lambda: load_weights(model, io.BytesIO(data), **kwargs),
        "inspect_model_file": lambda: inspect_model_file(io.BytesIO(data), **kwargs),
        "save_model": lambda: save_model(model, io.BytesIO(), **kwargs),
        "save_weights": lambda: save_weights(model, io.BytesIO(), **kwargs),
    }
    name = next(iter(kwargs))
    with pytest.raises(error, match=name):
        calls[call]()
    assert load_model(io.BytesIO(data), max_bytes=np.int64(10**6), compile=np.True_).count_params() == 32
