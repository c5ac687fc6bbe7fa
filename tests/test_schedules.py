"""Learning-rate schedules: Keras' formulas at chosen steps, saving, and use by optimizers and fit."""

import json
import math

import numpy as np
import pytest

import tinynet as tn
from tinynet import optimizers, schedules
from tinynet.schedules import CosineDecay, ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay


@pytest.mark.parametrize(
    ("schedule", "step", "expected"),
    [
        # eta0 * r^(s/T)
        (ExponentialDecay(0.1, 10, 0.5), 0, 0.1),
        (ExponentialDecay(0.1, 10, 0.5), 5, 0.1 * math.sqrt(0.5)),
        (ExponentialDecay(0.1, 10, 0.5), 10, 0.05),
        (ExponentialDecay(0.1, 10, 0.5), 20, 0.025),
        (ExponentialDecay(0.1, 10, 0.5, staircase=True), 9, 0.1),
        (ExponentialDecay(0.1, 10, 0.5, staircase=True), 15, 0.05),
        # eta0 / (1 + r s / T)
        (InverseTimeDecay(0.1, 10, 1.0), 0, 0.1),
        (InverseTimeDecay(0.1, 10, 1.0), 5, 0.1 / 1.5),
        (InverseTimeDecay(0.1, 10, 1.0), 30, 0.025),
        (InverseTimeDecay(0.1, 10, 1.0, staircase=True), 15, 0.05),
        (InverseTimeDecay(0.1, 10, 0.5), 10, 0.1 / 1.5),
        # a boundary step still uses the value before it
        (PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1]), 0, 1.0),
        (PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1]), 100, 1.0),
        (PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1]), 101, 0.5),
        (PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1]), 200, 0.5),
        (PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1]), 201, 0.1),
        # eta0 * ((1 - alpha) * (1 + cos(pi min(s, T) / T)) / 2 + alpha)
        (CosineDecay(1.0, 100), 0, 1.0),
        (CosineDecay(1.0, 100), 25, 0.5 * (1 + math.cos(math.pi / 4))),
        (CosineDecay(1.0, 100), 50, 0.5),
        (CosineDecay(1.0, 100), 100, 0.0),
        (CosineDecay(1.0, 100), 150, 0.0),
        (CosineDecay(2.0, 100, alpha=0.1), 50, 2.0 * (0.9 * 0.5 + 0.1)),
        (CosineDecay(2.0, 100, alpha=0.1), 1000, 0.2),
        # linear warm-up from eta0 to the target, then the cosine from the target
        (CosineDecay(0.0, 100, warmup_target=1.0, warmup_steps=10), 0, 0.0),
        (CosineDecay(0.0, 100, warmup_target=1.0, warmup_steps=10), 5, 0.5),
        (CosineDecay(0.1, 100, warmup_target=1.0, warmup_steps=10), 5, 0.55),
        (CosineDecay(0.0, 100, warmup_target=1.0, warmup_steps=10), 10, 1.0),
        (CosineDecay(0.0, 100, warmup_target=1.0, warmup_steps=10), 60, 0.5),
        (CosineDecay(0.0, 100, warmup_target=1.0, warmup_steps=10), 110, 0.0),
        (CosineDecay(0.0, 100, warmup_target=1.0, warmup_steps=10), 500, 0.0),
        # as Keras, warmup_steps without a warmup_target is ignored
        (CosineDecay(1.0, 100, warmup_steps=10), 50, 0.5),
    ],
)
def test_documented_values(schedule, step, expected):
    assert schedule(step) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert isinstance(schedule(step), float)


@pytest.mark.parametrize(
    "schedule",
    [
        ExponentialDecay(0.1, 10, 0.5, staircase=True),
        InverseTimeDecay(0.3, 7, 2.0),
        PiecewiseConstantDecay([3, 8], [0.3, 0.2, 0.1]),
        CosineDecay(0.01, 50, alpha=0.05, warmup_target=0.1, warmup_steps=5),
    ],
)
def test_config_round_trip_through_json_and_the_lookup(schedule):
    stored = json.loads(json.dumps(schedules.serialize(schedule)))
    rebuilt = schedules.get(stored)
    assert rebuilt == schedule and rebuilt is not schedule
    again = schedules.get(stored["class_name"], stored["config"])
    assert [again(s) for s in range(60)] == [schedule(s) for s in range(60)]
    # the optimizer writes the same dict in its own config
    assert optimizers.Adam(schedule).get_config()["learning_rate"] == schedules.serialize(schedule)


def test_the_lookup_never_builds_unknown_names():
    with pytest.raises(ValueError, match="known schedules: CosineDecay"):
        schedules.get("os.system", {})
    with pytest.raises(ValueError, match="class_name"):
        schedules.get({"module": "x", "class_name": "ExponentialDecay", "config": {}})
    fn = lambda step: 0.1  # noqa: E731
    assert schedules.get(fn) is fn


def test_invalid_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="one more value than boundaries"):
        PiecewiseConstantDecay([10], [1.0])
    with pytest.raises(ValueError, match="increase"):
        PiecewiseConstantDecay([10, 5], [1.0, 0.5, 0.1])
    with pytest.raises(ValueError, match="decay_steps must be positive"):
        ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="step >= 0"):
        CosineDecay(0.1, 10)(-1)


def test_the_optimizer_uses_the_rate_of_each_step():
    # SGD on a constant gradient 1 moves by exactly the sum of the rates used
    lr = PiecewiseConstantDecay([1, 2], [1.0, 0.5, 0.25])
    opt = optimizers.SGD(lr)
    p, g = np.zeros(1), np.ones(1)
    for _ in range(4):
        opt.step({"p": p}, {"p": g})
    np.testing.assert_allclose(p, [-(1.0 + 1.0 + 0.5 + 0.25)], rtol=1e-15)
    assert opt.current_learning_rate() == 0.25


def test_fit_logs_the_rate_in_force_at_the_start_of_each_epoch():
    tn.set_seed(0)
    x = np.random.default_rng(0).normal(size=(40, 3))
    y = x.sum(axis=1, keepdims=True)
    lr = ExponentialDecay(0.05, decay_steps=4, decay_rate=0.5)
    model = tn.Sequential([tn.layers.Dense(1, input_dim=3)])
    model.compile(loss="mse", optimizer=optimizers.SGD(lr))
    history = model.fit(x, y, epochs=3, batch_size=10, verbose=0)  # 4 steps per epoch
    assert history.history["learning_rate"] == [lr(0), lr(4), lr(8)]
    assert history.history["learning_rate"] == pytest.approx([0.05, 0.025, 0.0125], rel=1e-12)
