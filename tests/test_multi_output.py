"""Models with several outputs: per-output losses, loss weights and metrics in Keras' spelling,
targets as a list or a dict, gradients injected at each output, model files (format version 7),
callbacks and the CLI."""

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinynet as tn
from tinynet.callbacks import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from tinynet.gradcheck import check_model, numerical_gradient, relative_error
from tinynet.layers import Add, Dense

from .strategies import seeds

ROOT = Path(__file__).resolve().parents[1]


def three_heads(d=3, width=4, classes=3):
    """A shared trunk read by three heads: ``cls`` (softmax, a fused head), ``reg`` (linear), which
    also feeds ``bin`` (sigmoid, a fused head) through a residual ``Add``."""
    x = tn.Input(shape=(d,))
    h = Dense(width, activation="tanh", name="trunk")(x)
    cls = Dense(classes, activation="softmax", name="cls")(h)
    reg = Dense(2, name="reg")(h)
    b = Dense(2, activation="sigmoid", name="bin")(Add()([reg, Dense(2, name="side")(h)]))
    return tn.Model(x, [cls, reg, b], name="three")


def consumed_softmax(d=3, width=4):
    """An output ``p`` that is a softmax fed on to another output ``q``: its cross-entropy cannot be
    fused (the gradient at ``p`` is the loss's plus what comes back from ``q``)."""
    x = tn.Input(shape=(d,))
    h = Dense(width, activation="tanh", name="trunk")(x)
    p = Dense(3, activation="softmax", name="p")(h)
    q = Dense(1, name="q")(p)
    return tn.Model(x, [p, q], name="consumed")


def two_heads():
    x = tn.Input(shape=(4,))
    h = Dense(8, activation="relu", name="trunk")(x)
    cls = Dense(3, activation="softmax", name="cls")(h)
    reg = Dense(1, name="reg")(h)
    return tn.Model(x, [cls, reg], name="two")


def data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)
    return x, [tn.datasets.one_hot(labels, 3), x[:, 2:3] - x[:, 3:4]]


def compiled_two(seed=0, **kwargs):
    tn.set_seed(seed)
    model = two_heads()
    model.compile(
        kwargs.pop("optimizer", "adam"),
        loss=kwargs.pop("loss", {"cls": "categorical_crossentropy", "reg": "mse"}),
        loss_weights=kwargs.pop("loss_weights", {"reg": 0.5}),
        metrics=kwargs.pop("metrics", {"cls": ["accuracy"], "reg": ["mae"]}),
    )
    return model


def float64_model(make, seed, **kwargs):
    with tn.gradcheck.float64_defaults():
        tn.set_seed(seed)
        return make(**kwargs)


# ----------------------------------------------------------------------------- gradients
@given(
    seed=seeds,
    n=st.integers(1, 5),
    d=st.integers(1, 4),
    width=st.integers(1, 5),
    classes=st.integers(2, 4),
    # a weight of 0, or one that keeps the gradients far above the central differences' rounding
    # (a weight of 0.002 makes its head's gradients ~1e-4, where that rounding is ~1e-7 of them)
    weights=st.lists(st.one_of(st.just(0.0), st.floats(0.25, 3.0)), min_size=3, max_size=3),
)
def test_three_heads_gradients(seed, n, d, width, classes, weights):
    """sum_k w_k L_k: a softmax and a sigmoid head fused with their cross-entropies, a linear output
    with the squared error that also feeds the sigmoid head, all on one trunk."""
    model = float64_model(three_heads, seed, d=d, width=width, classes=classes)
    model.compile("sgd", ["categorical_crossentropy", "mse", "binary_crossentropy"], loss_weights=weights)
    assert sorted(model._executor.heads) == [0, 2]  # reg feeds a layer: no head there (and mse has none)
    rng = np.random.default_rng(seed)
    y = [
        tn.datasets.one_hot(rng.integers(0, classes, n), classes),
        rng.normal(size=(n, 2)),
        rng.integers(0, 2, (n, 2)).astype(float),
    ]
    errors = check_model(model, rng.normal(size=(n, d)), y)
    assert max(errors.values()) < 1e-6, errors


@given(seed=seeds, n=st.integers(1, 5), d=st.integers(1, 4), width=st.integers(1, 5))
def test_an_output_that_feeds_another_output_gradients(seed, n, d, width):
    model = float64_model(consumed_softmax, seed, d=d, width=width)
    model.compile("sgd", {"p": "categorical_crossentropy", "q": "mse"}, loss_weights=[0.3, 2.0])
    assert model._executor.heads == {}  # p is read by q: its cross-entropy runs unfused
    rng = np.random.default_rng(seed)
    y = {"q": rng.normal(size=(n, 1)), "p": tn.datasets.one_hot(rng.integers(0, 3, n), 3)}
    errors = check_model(model, rng.normal(size=(n, d)), y)
    assert max(errors.values()) < 1e-6, errors


@given(seed=seeds, n=st.integers(1, 5))
def test_one_tensor_given_as_two_outputs_gradients(seed, n):
    """tn.Model(x, [y, y]) with two losses: the gradients at y add up (and no head is fused)."""

    def make():
        x = tn.Input(shape=(3,))
        y = Dense(2, activation="softmax")(Dense(4, activation="tanh")(x))
        return tn.Model(x, [y, y])

    model = float64_model(make, seed)
    model.compile("sgd", ["categorical_crossentropy", "mse"], loss_weights=[1.0, 2.0])
    assert model.output_names == ["dense_1", "dense_1_1"] and model._executor.heads == {}
    rng = np.random.default_rng(seed)
    y = tn.datasets.one_hot(rng.integers(0, 2, n), 2)
    errors = check_model(model, rng.normal(size=(n, 3)), [y, y])
    assert max(errors.values()) < 1e-6, errors


@settings(max_examples=25)
@given(seed=seeds, n=st.integers(1, 4), make=st.sampled_from(["three", "consumed", "twice"]))
def test_input_gradients_for_random_upstream_gradients(seed, n, make):
    """backward([G_1, G_2, ...]) returns dL/dx of L = sum_k sum(y_k * G_k), and every parameter gradient;
    an output given twice gets the sum of its two gradients."""

    def twice():
        x = tn.Input(shape=(3,))
        y = Dense(2, activation="tanh")(Dense(3, activation="relu")(x))
        return tn.Model(x, [y, Dense(1)(y), y])

    builders = {"three": three_heads, "consumed": consumed_softmax, "twice": twice}
    model = float64_model(builders[make], seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    outs = [np.array(o) for o in model.forward(x, training=True)]
    G = [np.random.default_rng([seed, k]).standard_normal(o.shape) for k, o in enumerate(outs)]
    grad = np.array(model.backward(G))
    analytic = {k: g.copy() for k, g in model.named_grads().items()}

    def f() -> float:
        return float(
            sum(np.sum(np.asarray(o) * g) for o, g in zip(model.forward(x, training=True), G, strict=True))
        )

    assert relative_error(grad, numerical_gradient(f, x)) < 1e-6
    for key, p in model.named_params().items():
        assert relative_error(analytic[key], numerical_gradient(f, p)) < 1e-6, key


def test_a_zero_loss_weight_trains_nothing_through_its_output():
    model = compiled_two(optimizer=tn.optimizers.SGD(0.1), loss_weights=[1.0, 0.0])
    before = {k: v.copy() for k, v in model.named_params().items()}
    x, y = data()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    after = model.named_params()
    np.testing.assert_array_equal(after["reg/W"], before["reg/W"])
    np.testing.assert_array_equal(after["reg/b"], before["reg/b"])
    assert not np.array_equal(after["trunk/W"], before["trunk/W"])


# ----------------------------------------------------------------------------- the API
def test_fit_evaluate_predict_in_keras_spelling():
    model = compiled_two()
    x, y = data()
    history = model.fit(
        x, y, epochs=3, batch_size=8, verbose=0, validation_data=(x, {"cls": y[0], "reg": y[1]})
    )
    keys = ["loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae"]
    assert list(history.history) == [*keys, *(f"val_{k}" for k in keys), "learning_rate"]
    h = history.history
    for e in range(3):  # the total is the weighted sum (up to the order of summation)
        assert np.isclose(h["loss"][e], h["cls_loss"][e] + 0.5 * h["reg_loss"][e], rtol=1e-6)
    assert h["loss"][-1] < h["loss"][0]
    # evaluate: Keras' order, loss, every output's loss, then the metrics output by output
    results = model.evaluate(x, y)
    as_dict = model.evaluate(x, {"reg": y[1], "cls": y[0]}, return_dict=True)
    assert list(as_dict) == keys and results == list(as_dict.values())
    assert as_dict["loss"] == pytest.approx(as_dict["cls_loss"] + 0.5 * as_dict["reg_loss"])
    assert [h[f"val_{k}"][-1] for k in keys] == pytest.approx(results)
    cls, reg = model.predict(x, batch_size=7)
    assert cls.shape == (40, 3) and reg.shape == (40, 1)
    np.testing.assert_allclose(cls.sum(axis=1), 1, rtol=1e-6)
    assert as_dict["cls_accuracy"] == pytest.approx(np.mean(cls.argmax(1) == y[0].argmax(1)))
    assert as_dict["reg_mae"] == pytest.approx(np.mean(np.abs(reg - y[1])), rel=1e-5)


def test_the_forms_of_loss_and_metrics():
    tn.set_seed(0)
    model = two_heads()
    model.compile("adam", "mse", metrics=["mae"])  # one loss, a flat list: for every output
    assert [type(fn).__name__ for fn in model.loss.losses] == ["MeanSquaredError"] * 2
    assert model.loss.losses[0] is not model.loss.losses[1]
    assert model.metric_names == ["cls_mae", "reg_mae"] and model.loss.weights == [1.0, 1.0]
    loss = tn.losses.MeanSquaredError()
    model.compile("adam", loss)  # one object for both: each output gets its own copy
    assert model.loss.losses[0] is loss and model.loss.losses[1] is not loss
    model.compile("adam", ["categorical_crossentropy", "mae"], [2.0, 0.25], [["accuracy"], None])
    assert model.loss.weights == [2.0, 0.25] and model.metric_names == ["cls_accuracy"]
    model.compile("adam", ["categorical_crossentropy", "mae"], metrics=["accuracy", ["mae", "mse"]])
    assert model.metric_names == ["cls_accuracy", "reg_mae", "reg_mse"]
    model.compile("adam", ["categorical_crossentropy", "mae"], metrics={"reg": "mae"})
    assert model.metric_names == ["reg_mae"]
    x, y = data()
    assert len(model.evaluate(x, y)) == 4  # loss, cls_loss, reg_loss, reg_mae
    model.compile("adam", ["categorical_crossentropy", "mae"])
    assert len(model.evaluate(x, y)) == 3  # several losses: a list even without metrics


def test_compile_refuses_what_does_not_fit_the_outputs():
    tn.set_seed(0)
    model = two_heads()
    cases = [
        (
            dict(loss=["mse"]),
            ValueError,
            r"loss has 1 entries but model 'two' has 2 outputs \['cls', 'reg'\]",
        ),
        (
            dict(loss={"cls": "mse", "rgr": "mse"}),
            ValueError,
            r"loss names the output 'rgr'.*\['cls', 'reg'\]",
        ),
        (dict(loss={"cls": "mse"}), ValueError, r"loss has no entry for the output\(s\) \['reg'\]"),
        (dict(loss=["mse", "nope"]), ValueError, r"output 'reg': unknown loss 'nope'"),
        (dict(loss={"cls": "mse", "reg": None}), ValueError, r"the output 'reg' has no loss"),
        (dict(loss="mse", loss_weights=0.5), TypeError, r"loss_weights must be a list .* or a dict"),
        (dict(loss="mse", loss_weights=[1.0]), ValueError, r"loss_weights has 1 entries but .* 2 outputs"),
        (dict(loss="mse", loss_weights={"cls": -1.0}), ValueError, r"loss_weights\['cls'\] must be"),
        (dict(loss="mse", loss_weights={"x": 1.0}), ValueError, r"loss_weights names the output 'x'"),
        (dict(loss="mse", metrics=[["mae"]]), ValueError, r"metrics has 1 entries but .* 2 outputs"),
        (dict(loss="mse", metrics={"cls": "nope"}), ValueError, "nope"),
        (dict(loss="mse", metrics={"other": "mae"}), ValueError, r"metrics names the output 'other'"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            model.compile("adam", **kwargs)
        assert model.loss is None and model.optimizer is None  # nothing was set


def test_fit_refuses_targets_that_do_not_fit_before_any_work():
    model = compiled_two()
    x, y = data()
    before = [w.copy() for w in model.get_weights()]
    cases = [
        (dict(y=y[:1]), r"model 'two' has 2 outputs \['cls', 'reg'\]: y must be a list of 2 target arrays"),
        (dict(y=y[0]), r"y must be a list of 2 target arrays .* got a ndarray of shape \(40, 3\)"),
        (dict(y={"cls": y[0], "reg": y[1], "rg": y[1]}), r"y has targets for 'rg', which is not an output"),
        (dict(y={"cls": y[0]}), r"y has no targets for the output\(s\) \['reg'\]"),
        (
            dict(y=[y[0], y[1][:, [0, 0]]]),
            r"targets of shape \(40, 2\) do not match the output shape \(N, 1\) \(output 'reg'\)",
        ),
        (dict(y=[y[0][:, :2], y[1]]), r"\(N, 3\) \(output 'cls'\)"),
        (dict(y=[y[0], y[1][:30]]), r"y\['cls'\] has 40 samples but y\['reg'\] has 30"),
        (dict(y=y, class_weight={0: 1.0}), r"class_weight is for a model with one output"),
        (dict(y=y, validation_data=(x, [y[0]])), r"validation y must be a list of 2 target arrays"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            model.fit(x, verbose=0, **kwargs)
    with pytest.raises(ValueError, match=r"x has 39 samples but y has 40"):
        model.fit(x[:39], y, verbose=0)
    with pytest.raises(ValueError, match=r"as_frame=True gives one data frame"):
        model.predict(x, as_frame=True)
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert model.epochs_done == 0 and model.optimizer.iterations == 0


def test_binary_targets_outside_the_unit_interval_name_the_output():
    tn.set_seed(0)
    x = tn.Input(shape=(2,))
    h = Dense(3)(x)
    model = tn.Model(x, [Dense(1, activation="sigmoid", name="p")(h), Dense(1, name="v")(h)])
    model.compile("adam", ["binary_crossentropy", "mse"])
    with pytest.raises(ValueError, match="binary cross-entropy targets of output 'p'"):
        model.fit(np.zeros((4, 2)), [np.full(4, 2.0), np.zeros(4)], verbose=0)


def test_sample_weights_weigh_every_output():
    model = compiled_two()
    x, y = data()
    w = np.linspace(0.0, 2.0, len(x))
    weighted = model.evaluate(x, y, sample_weight=w, return_dict=True)
    for k, name in enumerate(model.output_names):
        fn = model.loss.losses[k]
        assert weighted[f"{name}_loss"] == pytest.approx(fn.forward(y[k], model.predict(x)[k], w), rel=1e-6)


def test_a_single_output_given_as_a_list_trains_as_one_output():
    tn.set_seed(0)
    x = tn.Input(shape=(4,))
    model = tn.Model(x, [Dense(1, name="out")(x)])
    model.compile("adam", "mse")
    xs, ys = data()
    history = model.fit(xs, [ys[1]], epochs=2, verbose=0)
    assert list(history.history) == ["loss", "out_loss", "learning_rate"]
    loss, out_loss = model.evaluate(xs, {"out": ys[1]})
    assert loss == out_loss
    assert isinstance(model.predict(xs), list)


def test_the_fused_heads_give_the_gradients_of_the_unfused_losses():
    """The same two-output model, compiled so that its heads are fused (probabilities carry their
    logits) and so that they are not (a separate Activation layer is no head of a Dense), gives the
    same gradients up to float64 rounding."""

    def make(fused):
        with tn.gradcheck.float64_defaults():
            tn.set_seed(5)
            x = tn.Input(shape=(3,))
            h = Dense(4, activation="tanh")(x)
            if fused:
                a = Dense(3, activation="softmax", name="a")(h)
                b = Dense(2, activation="sigmoid", name="b")(h)
            else:
                a = tn.layers.Activation("softmax", name="a")(Dense(3)(h))
                b = tn.layers.Activation("sigmoid", name="b")(Dense(2)(h))
            model = tn.Model(x, [a, b])
        model.compile("sgd", ["categorical_crossentropy", "binary_crossentropy"], loss_weights=[0.7, 1.9])
        return model

    fused, plain = make(True), make(False)
    assert sorted(fused._executor.heads) == [0, 1]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 3))
    y = [tn.datasets.one_hot(rng.integers(0, 3, 6), 3), rng.integers(0, 2, (6, 2)).astype(float)]
    assert fused.compute_gradients(x, y) == pytest.approx(plain.compute_gradients(x, y), rel=1e-12)
    for g_f, g_p in zip(fused.named_grads().values(), plain.named_grads().values(), strict=True):
        np.testing.assert_allclose(g_f, g_p, rtol=1e-10, atol=1e-14)


# ----------------------------------------------------------------------------- files, callbacks, CLI
def test_fit_2_save_load_fit_1_equals_fit_3_bit_for_bit(tmp_path):
    x, y = data()

    def callbacks():
        return [
            EarlyStopping(monitor="val_cls_loss", patience=5),
            ReduceLROnPlateau(monitor="val_reg_loss", patience=1),
        ]

    def fit(model, epochs):
        return model.fit(
            x, y, epochs=epochs, batch_size=8, verbose=0, validation_split=0.25, callbacks=callbacks()
        ).history

    first = compiled_two()
    h_first = fit(first, 2)
    first.save(tmp_path / "m.npz")
    info = tn.serialization.inspect_model_file(tmp_path / "m.npz")
    assert info.format_version == 7 and info.ok
    assert [entry["name"] for entry in info.manifest["compile"]["outputs"]] == ["cls", "reg"]
    resumed = tn.load_model(tmp_path / "m.npz")
    assert resumed.output_names == ["cls", "reg"] and resumed.loss.weights == [1.0, 0.5]
    assert resumed.metric_names == ["cls_accuracy", "reg_mae"]
    h_second = fit(resumed, 1)
    straight = compiled_two()
    h_straight = fit(straight, 3)
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    for key in h_straight:
        assert h_first[key] + h_second[key] == h_straight[key], key
    for a, b in zip(resumed.predict(x), straight.predict(x), strict=True):
        np.testing.assert_array_equal(a, b)


def test_files_without_a_per_output_compile_section_keep_their_version(tmp_path):
    tn.set_seed(0)
    two_heads().save(tmp_path / "uncompiled.npz")  # several outputs, not compiled: version 5
    tn.save_model(compiled_two(), tmp_path / "no_compile.npz", include_compile=False)
    x = tn.Input(shape=(2,))
    single = tn.Model(x, Dense(1)(x))
    single.compile("adam", "mse")
    single.save(tmp_path / "single.npz")
    for name in ("uncompiled", "no_compile", "single"):
        assert tn.serialization.inspect_model_file(tmp_path / f"{name}.npz").format_version == 5, name
    again = tn.load_model(tmp_path / "uncompiled.npz")
    assert again.output_names == ["cls", "reg"] and again.loss is None


def test_forged_compile_sections_are_refused(tmp_path):
    from tinynet.serialization import ModelFileError

    from .serialization.helpers import edit_manifest

    compiled_two().save(tmp_path / "m.npz")
    data_bytes = (tmp_path / "m.npz").read_bytes()

    def refused(edit, message):
        (tmp_path / "bad.npz").write_bytes(edit_manifest(data_bytes, edit))
        with pytest.raises(ModelFileError, match=message):
            tn.load_model(tmp_path / "bad.npz")

    def older(m):
        m["format_version"] = 5

    def rename(m):
        m["compile"]["outputs"][1]["name"] = "value"

    def drop(m):
        del m["compile"]["outputs"][1]

    def negative(m):
        m["compile"]["outputs"][0]["loss_weight"] = -1

    def extra(m):
        m["compile"]["outputs"][0]["sample_weight_mode"] = None

    refused(older, r"'compile' has the wrong keys \(missing loss, metrics; unexpected 'outputs'\)")
    refused(rename, r"names the outputs \['cls', 'value'\], but the model's outputs are \['cls', 'reg'\]")
    refused(drop, r"'compile.outputs' must be a list of one entry per output \(2\)")
    refused(negative, r"loss_weight must be a finite number >= 0")
    refused(extra, r"'compile.outputs'\[0\] has the wrong keys")


def test_callbacks_monitor_an_output_in_auto_mode(tmp_path):
    x, y = data()
    model = compiled_two()
    stop = EarlyStopping(monitor="val_reg_loss", patience=1, restore_best_weights=True)
    plateau = ReduceLROnPlateau(monitor="val_cls_accuracy", patience=1)
    best = ModelCheckpoint(tmp_path / "best.npz", monitor="val_cls_loss", save_best_only=True)
    assert not stop.higher_is_better and plateau.higher_is_better
    model.fit(x, y, epochs=3, batch_size=8, verbose=0, validation_split=0.25, callbacks=[stop, plateau, best])
    again = tn.load_model(tmp_path / "best.npz")
    assert again.output_names == ["cls", "reg"] and len(again.predict(x)) == 2
    with pytest.raises(ValueError, match="cannot tell whether 'val_reg_thing'"):
        EarlyStopping(monitor="val_reg_thing")


def test_cli_predict_refuses_a_model_with_several_outputs(tmp_path, capsys):
    from tinynet.cli import main

    compiled_two().save(tmp_path / "m.npz")
    np.save(tmp_path / "x.npy", np.zeros((2, 4), np.float32))
    assert main(["predict", str(tmp_path / "m.npz"), "--input", str(tmp_path / "x.npy")]) == 1
    assert "1 inputs and 2 outputs; tinynet predict reads one array" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path / "m.npz")]) == 0
    out = capsys.readouterr().out
    assert "version 7" in out and "reg: loss mse x 0.5, metrics: mae" in out


def test_serving_refuses_and_onnx_exports_a_model_with_several_outputs(tmp_path):
    from tinynet.cli import main
    from tinynet.serving import make_wsgi_app

    model = compiled_two()
    with pytest.raises(ValueError, match="1 inputs and 2 outputs"):
        make_wsgi_app(model)
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model.save(tmp_path / "m.npz")  # a version 7 file: export loads it uncompiled
    assert main(["export", str(tmp_path / "m.npz"), str(tmp_path / "m.onnx")]) == 0
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    x = data()[0].astype(np.float32)
    for got, want in zip(session.run(None, {session.get_inputs()[0].name: x}), model.predict(x), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- the docs
def test_the_docs_example_runs():
    """The example of the "Several outputs" section of docs/functional-api.md, run as written."""
    page = (ROOT / "docs" / "functional-api.md").read_text(encoding="utf-8")
    section = page.split("## Several outputs", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "the section has no example"
    namespace: dict = {}
    exec(
        "import numpy as np\nimport tinynet as tn\nfrom tinynet.layers import Dense\n" + blocks[0], namespace
    )
    history, results = namespace["history"], namespace["results"]
    assert set(history.history) >= {"loss", "digit_loss", "parity_loss", "digit_accuracy", "val_parity_loss"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert results["digit_accuracy"] > 0.8 and results["parity_accuracy"] > 0.8
