"""Argument validation: every bad value given to fit, evaluate, predict, an optimizer or a loss is
refused before any work, with an error that names it, and a refused call changes nothing."""

import math

import numpy as np
import pytest

import tinynet as tn
from tinynet import optimizers
from tinynet.layers import Dense

N = 40


def trained_model(loss="binary_crossentropy", optimizer="adam"):
    """A small model after one epoch (so the optimizer has state to corrupt) and its data."""
    tn.set_seed(0)
    model = tn.Sequential([Dense(6, input_dim=4, activation="relu"), Dense(1, activation="sigmoid")])
    model.compile(loss, optimizer, metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    return model, x, y


def snapshot(model):
    """Everything training changes: weights, optimizer moments and counter, generator, epochs."""
    opt = model.optimizer
    slots = {(k, s): a.copy() for k, d in opt.state.items() for s, a in d.items()}
    return (
        [w.copy() for w in model.get_weights()],
        slots,
        opt.iterations,
        model.rng.bit_generator.state,
        model.epochs_done,
    )


def assert_unchanged(before, after):
    weights, slots, iterations, rng, epochs = before
    assert len(after[0]) == len(weights)
    for a, b in zip(weights, after[0], strict=True):
        np.testing.assert_array_equal(a, b)
    assert slots.keys() == after[1].keys()
    for key, value in slots.items():
        np.testing.assert_array_equal(value, after[1][key])
    assert (iterations, rng, epochs) == after[2:]


def bad_fit_arguments(x, y):
    nan_weights = np.ones(N)
    nan_weights[5] = np.nan
    return [
        # (keyword arguments, exception, message pattern)
        ({"batch_size": 0}, ValueError, "batch_size must be a positive integer, got 0"),
        ({"batch_size": -1}, ValueError, "batch_size must be a positive integer, got -1"),
        ({"batch_size": 2.5}, TypeError, r"batch_size must be a positive integer, got 2.5 \(float\)"),
        ({"batch_size": 8.0}, TypeError, "batch_size must be a positive integer"),
        ({"batch_size": True}, TypeError, r"batch_size must be a positive integer, got True \(bool\)"),
        ({"batch_size": "8"}, TypeError, "batch_size must be a positive integer"),
        ({"epochs": -1}, ValueError, "epochs must be a positive integer, got -1"),
        ({"epochs": 0}, ValueError, "epochs must be a positive integer, got 0"),
        ({"epochs": 2.5}, TypeError, "epochs must be a positive integer"),
        ({"epochs": None}, TypeError, "epochs must be a positive integer"),
        ({"epochs": "3"}, TypeError, "epochs must be a positive integer"),
        ({"epochs": True}, TypeError, "epochs must be a positive integer"),
        ({"validation_split": -0.1}, ValueError, r"validation_split must be in \[0, 1\), got -0.1"),
        ({"validation_split": 1.0}, ValueError, r"validation_split must be in \[0, 1\)"),
        ({"validation_split": math.nan}, ValueError, r"validation_split must be in \[0, 1\)"),
        ({"validation_split": "0.2"}, TypeError, "validation_split must be a number"),
        ({"validation_split": True}, TypeError, "validation_split must be a number"),
        ({"validation_split": None}, TypeError, "validation_split must be a number"),
        ({"verbose": 3}, ValueError, "verbose must be 0"),
        ({"verbose": True}, ValueError, "verbose must be 0"),
        ({"verbose": 1.0}, ValueError, "verbose must be 0"),
        ({"verbose": "yes"}, ValueError, "verbose must be 0"),
        ({"verbose": None}, ValueError, "verbose must be 0"),
        ({"shuffle": "no"}, TypeError, "shuffle must be True or False"),
        ({"shuffle": None}, TypeError, "shuffle must be True or False"),
        ({"class_weight": {0: -1.0, 1: 1.0}}, ValueError, r"class_weight\[0\] must be a finite number >= 0"),
        ({"class_weight": {0: math.nan, 1: 1.0}}, ValueError, r"class_weight\[0\] must be a finite number"),
        ({"class_weight": {0: math.inf, 1: 1.0}}, ValueError, r"class_weight\[0\] must be a finite number"),
        ({"class_weight": {0: "1", 1: 1.0}}, TypeError, r"class_weight\[0\] must be a number"),
        ({"class_weight": {-1: 1.0, 0: 1.0, 1: 1.0}}, ValueError, "class indices"),
        ({"class_weight": {"0": 1.0, 1: 1.0}}, ValueError, "class indices"),
        ({"class_weight": [1.0, 2.0]}, TypeError, "class_weight must be a dict"),
        ({"sample_weight": np.ones(N // 2)}, ValueError, r"sample_weight must have shape \(40,\)"),
        # as many numbers as samples, but not one per sample: flattening it would be a silent guess
        ({"sample_weight": np.ones((N // 2, 2))}, ValueError, r"sample_weight must have shape \(40,\)"),
        ({"sample_weight": -np.ones(N)}, ValueError, "sample_weight must be >= 0; sample 0"),
        ({"sample_weight": nan_weights}, ValueError, "sample_weight must be finite; sample 5"),
        ({"sample_weight": ["a"] * N}, TypeError, "sample_weight must be an array of numbers"),
        ({"validation_data": (x[:0], y[:0])}, ValueError, "validation_data holds no samples"),
        ({"validation_data": x}, TypeError, r"validation_data must be a tuple \(x_val, y_val\)"),
        ({"validation_data": {"x": x, "y": y}}, TypeError, "validation_data must be a tuple"),
        ({"validation_data": (x,)}, ValueError, "got 1 items"),
        ({"validation_data": (x, y, None, None)}, ValueError, "got 4 items"),
        ({"validation_data": (x, y, -np.ones(N))}, ValueError, "validation sample_weight must be >= 0"),
        ({"validation_data": (x, y * 2)}, ValueError, r"validation targets must be in \[0, 1\]"),
        ({"callbacks": tn.callbacks.History()}, TypeError, "callbacks must be a list of callbacks"),
        ({"callbacks": [print]}, TypeError, "callbacks must be tinynet.callbacks.Callback objects"),
    ]


@pytest.mark.parametrize("case", range(len(bad_fit_arguments(np.zeros((N, 4)), np.zeros(N)))))
def test_fit_refuses_bad_arguments_before_any_work(case):
    model, x, y = trained_model()
    kwargs, error, pattern = bad_fit_arguments(x, y)[case]
    before = snapshot(model)
    with pytest.raises(error, match=pattern):
        model.fit(x, y, **{"epochs": 1, "batch_size": 8, "verbose": 0, **kwargs})
    assert_unchanged(before, snapshot(model))


def test_fit_refuses_empty_data_and_accepts_the_keras_none_batch_size():
    model, x, y = trained_model()
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"fit needs at least one sample, got x of shape \(0, 4\)"):
        model.fit(x[:0], y[:0], verbose=0)
    assert_unchanged(before, snapshot(model))
    # batch_size=None means 32, as in Keras
    twin, _, _ = trained_model()
    model.fit(x, y, epochs=1, batch_size=None, verbose=0)
    twin.fit(x, y, epochs=1, batch_size=32, verbose=0)
    assert_unchanged(snapshot(twin), snapshot(model))


def test_fit_accepts_numpy_integers_and_the_documented_values():
    model, x, y = trained_model()
    history = model.fit(x, y, epochs=np.int64(2), batch_size=np.int32(8), verbose="auto", shuffle=np.True_)
    assert len(history.history["loss"]) == 2
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, validation_split=0, class_weight={0: 1, 1: 2.5})


BAD_BATCH_SIZES = [
    (0, ValueError),
    (-1, ValueError),
    (2.5, TypeError),
    (True, TypeError),
    ("8", TypeError),
]


@pytest.mark.parametrize(("batch_size", "error"), BAD_BATCH_SIZES)
def test_predict_refuses_a_bad_batch_size(batch_size, error):
    # predict(x, batch_size=-1) used to return np.empty's uninitialised memory
    model, x, _ = trained_model()
    with pytest.raises(error, match="batch_size must be a positive integer"):
        model.predict(x, batch_size=batch_size)


@pytest.mark.parametrize(("batch_size", "error"), BAD_BATCH_SIZES)
def test_evaluate_refuses_a_bad_batch_size(batch_size, error):
    # evaluate(..., batch_size=-1) used to report a loss of 0
    model, x, y = trained_model()
    with pytest.raises(error, match="batch_size must be a positive integer"):
        model.evaluate(x, y, batch_size=batch_size)


def test_predict_and_evaluate_still_take_every_valid_batch_size():
    model, x, y = trained_model()
    whole = model.predict(x)
    for batch_size in (1, 7, np.int64(40), 1000, None):
        np.testing.assert_allclose(model.predict(x, batch_size=batch_size), whole, rtol=1e-6, atol=1e-7)
    assert model.evaluate(x, y, batch_size=None) == model.evaluate(x, y, batch_size=32)


def test_evaluate_checks_its_sample_weights():
    model, x, y = trained_model()
    with pytest.raises(TypeError, match="return_dict must be True or False"):
        model.evaluate(x, y, return_dict="no")  # a non-empty string used to mean True
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(40,\)"):
        model.evaluate(x, y, sample_weight=np.ones(N + 1))  # the extra weight used to be dropped silently
    with pytest.raises(ValueError, match="sample_weight must be >= 0"):
        model.evaluate(x, y, sample_weight=-np.ones(N))
    weights = np.linspace(0.0, 2.0, N)
    expected = float(np.sum(weights * per_sample_bce(model, x, y)) / N)
    loss = model.evaluate(x, y, sample_weight=weights[:, None], return_dict=True)["loss"]
    assert math.isclose(loss, expected, rel_tol=1e-5)


def per_sample_bce(model, x, y):
    p = np.clip(model.predict(x)[:, 0].astype(np.float64), 1e-7, 1 - 1e-7)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def test_validation_data_may_carry_sample_weights():
    # the third item of validation_data used to be ignored
    model, x, y = trained_model()
    w_val = np.linspace(0.0, 3.0, N)
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0, validation_data=(x, y, w_val))
    weighted = model.evaluate(x, y, batch_size=8, sample_weight=w_val, return_dict=True)["loss"]
    assert history.history["val_loss"][0] == weighted
    assert weighted != model.evaluate(x, y, batch_size=8, return_dict=True)["loss"]


@pytest.mark.parametrize("bad", [2.0, -0.5, math.nan])
def test_binary_crossentropy_targets_must_lie_in_the_unit_interval(bad):
    model, x, y = trained_model()
    y = y.copy()
    y[3] = bad
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"binary cross-entropy targets must be in \[0, 1\].*index \(3, 0\)"):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert_unchanged(before, snapshot(model))
    with pytest.raises(ValueError, match=r"binary cross-entropy targets must be in \[0, 1\]"):
        model.evaluate(x, y)
    for loss in (tn.losses.BinaryCrossentropy(), tn.losses.BinaryCrossentropy(from_logits=True)):
        with pytest.raises(ValueError, match=r"BinaryCrossentropy: targets must be in \[0, 1\]"):
            loss(y[:, None], np.full((N, 1), 0.5, dtype=np.float32))


BAD_OPTIMIZERS = [
    (
        lambda: optimizers.SGD(learning_rate=-0.1),
        ValueError,
        "SGD: learning_rate must be a finite number >= 0",
    ),
    (lambda: optimizers.SGD(learning_rate=math.nan), ValueError, "learning_rate must be a finite number"),
    (
        lambda: optimizers.Adam(learning_rate=math.inf),
        ValueError,
        "Adam: learning_rate must be a finite number",
    ),
    (lambda: optimizers.Adam(learning_rate="0.1"), TypeError, "learning_rate must be a number"),
    (lambda: optimizers.Adam(learning_rate=True), TypeError, "learning_rate must be a number"),
    (lambda: optimizers.SGD(momentum=1.0), ValueError, r"SGD: momentum must be in \[0, 1\), got 1.0"),
    (lambda: optimizers.SGD(momentum=-0.1), ValueError, r"momentum must be in \[0, 1\)"),
    (lambda: optimizers.Momentum(momentum=math.nan), ValueError, r"Momentum: momentum must be in \[0, 1\)"),
    (lambda: optimizers.SGD(momentum=0.9, nesterov="yes"), TypeError, "nesterov must be True or False"),
    (lambda: optimizers.Adam(beta_1=1.0), ValueError, r"Adam: beta_1 must be in \[0, 1\), got 1.0"),
    (lambda: optimizers.Adam(beta_1=-0.1), ValueError, r"beta_1 must be in \[0, 1\)"),
    (lambda: optimizers.Adam(beta_2=1.0), ValueError, r"beta_2 must be in \[0, 1\)"),
    (lambda: optimizers.AdamW(beta_2=1.5), ValueError, r"AdamW: beta_2 must be in \[0, 1\)"),
    (lambda: optimizers.Adam(epsilon=0.0), ValueError, "Adam: epsilon must be a finite number > 0"),
    (lambda: optimizers.Adam(epsilon=-1e-8), ValueError, "epsilon must be a finite number > 0"),
    (lambda: optimizers.Adam(epsilon=math.nan), ValueError, "epsilon must be a finite number > 0"),
    (lambda: optimizers.RMSprop(rho=1.0), ValueError, r"RMSprop: rho must be in \[0, 1\)"),
    (lambda: optimizers.RMSprop(epsilon=0.0), ValueError, "RMSprop: epsilon must be a finite number > 0"),
    (lambda: optimizers.Adagrad(epsilon=-1.0), ValueError, "Adagrad: epsilon must be a finite number > 0"),
    (
        lambda: optimizers.AdamW(weight_decay=-0.01),
        ValueError,
        "AdamW: weight_decay must be a finite number >= 0",
    ),
    (lambda: optimizers.SGD(clipnorm=math.nan), ValueError, "clipnorm must be a finite number > 0"),
    (lambda: optimizers.SGD(clipvalue="1"), TypeError, "clipvalue must be a number"),
]


@pytest.mark.parametrize("case", range(len(BAD_OPTIMIZERS)))
def test_optimizers_refuse_bad_hyper_parameters(case):
    make, error, pattern = BAD_OPTIMIZERS[case]
    with pytest.raises(error, match=pattern):
        make()


def test_a_negative_rate_set_later_is_refused_before_any_step():
    model, x, y = trained_model(optimizer=optimizers.SGD(0.1))
    model.optimizer.learning_rate = -0.1
    before = snapshot(model)
    with pytest.raises(
        ValueError, match=r"SGD: the learning rate for step 6 is -0.1; it must be finite and >= 0"
    ):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert_unchanged(before, snapshot(model))


def test_a_schedule_that_turns_non_finite_stops_training_before_that_step():
    def schedule(step):
        return 0.01 if step < 7 else math.nan

    model, x, y = trained_model(optimizer=optimizers.Adam(schedule))  # 5 steps done
    with pytest.raises(
        ValueError, match="Adam: the schedule .* gives the learning rate nan for step 8; it must be finite"
    ):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert model.optimizer.iterations == 7
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert all(np.isfinite(a).all() for d in model.optimizer.state.values() for a in d.values())
