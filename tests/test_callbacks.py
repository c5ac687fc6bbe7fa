"""Callbacks: each one's rule on scripted values, and its effect on small seeded training runs."""

import csv
import itertools
import math
import types

import numpy as np
import pytest

import tinynet as tn
from tinynet import schedules
from tinynet.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)


# ----------------------------------------------------------------------------- helpers
class FakeModel:
    """Just what callbacks touch: weights, stop_training and an optimizer."""

    def __init__(self, lr=1.0):
        self.weights = [np.zeros(1)]
        self.stop_training = False
        self.optimizer = types.SimpleNamespace(learning_rate=lr)

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [w.copy() for w in weights]


def drive(callback, values, monitor="val_loss", model=None):
    """Feed ``values`` as the monitored value of successive epochs; return the epochs run and the model."""
    model = model or FakeModel()
    callback.set_model(model)
    callback.set_params({"epochs": len(values), "steps": 1})
    callback.on_train_begin()
    ran = 0
    for epoch, value in enumerate(values):
        model.weights = [np.array([float(epoch)])]  # the "weights" name the epoch that produced them
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, {monitor: value})
        ran += 1
        if model.stop_training:
            break
    callback.on_train_end()
    return ran, model


def overfitting_problem():
    """A tiny noisy training set, a big network and a high rate: validation loss soon turns up."""
    x, y = tn.datasets.make_moons(40, noise=0.35, seed=1)
    x_val, y_val = tn.datasets.make_moons(200, noise=0.35, seed=2)
    return x, y, (x_val, y_val)


def overfitting_model():
    tn.set_seed(7)
    model = tn.Sequential(
        [
            tn.layers.Dense(64, input_dim=2, activation="relu"),
            tn.layers.Dense(64, activation="relu"),
            tn.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile("binary_crossentropy", tn.optimizers.Adam(0.03), metrics=["accuracy"])
    return model


class WeightRecorder(Callback):
    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def assert_same_weights(a, b):
    assert len(a) == len(b)
    for wa, wb in zip(a, b, strict=True):
        np.testing.assert_array_equal(wa, wb)


def expected_early_stop(values, patience, min_delta=0.0):
    """The rule written out independently: (epochs run, best epoch)."""
    best, best_epoch, wait = math.inf, 0, 0
    for epoch, v in enumerate(values):
        if v < best - min_delta:
            best, best_epoch, wait = v, epoch, 0
        else:
            wait += 1
            if wait >= patience and epoch > 0:
                return epoch + 1, best_epoch
    return len(values), best_epoch


# ----------------------------------------------------------------------------- EarlyStopping
@pytest.mark.parametrize(
    ("values", "patience", "min_delta", "ran", "best"),
    [
        ([1.0, 0.9, 0.95, 0.93, 0.8], 2, 0.0, 4, 1),  # two epochs past the best at epoch 1
        ([1.0, 0.9, 0.95, 0.93, 0.8], 3, 0.0, 5, 4),  # epoch 4 improves in time
        ([1.0, 0.9, 0.95, 0.8], 0, 0.0, 3, 1),  # patience 0: the first epoch that does not improve
        ([1.0, 0.95, 0.94, 0.93], 1, 0.1, 2, 0),  # improvements smaller than min_delta do not count
        ([1.0, 0.95, 0.84, 0.83], 2, 0.1, 4, 2),
        ([1.0, 1.0, 1.0, 0.5], 1, 0.0, 2, 0),  # equal is not better
    ],
)
def test_early_stopping_rule(values, patience, min_delta, ran, best):
    assert expected_early_stop(values, patience, min_delta) == (ran, best)  # the reference agrees
    es = EarlyStopping(patience=patience, min_delta=min_delta, restore_best_weights=True)
    epochs_run, model = drive(es, values)
    assert epochs_run == ran
    assert es.best_epoch == best and es.best == values[best]
    assert es.stopped_epoch == (ran - 1 if ran < len(values) else 0)
    assert model.weights[0][0] == best  # the best epoch's weights are back


def test_early_stopping_modes_baseline_and_warm_up():
    ran, _ = drive(EarlyStopping("val_accuracy", patience=1), [0.5, 0.6, 0.55, 0.7], monitor="val_accuracy")
    assert ran == 3  # auto: accuracy should go up
    ran, _ = drive(EarlyStopping("score", mode="max", patience=1), [1.0, 2.0, 3.0], monitor="score")
    assert ran == 3
    # improving on the best but not on the baseline does not reset the wait
    ran, _ = drive(EarlyStopping(patience=2, baseline=0.5), [1.0, 0.9, 0.8, 0.85, 0.7])
    assert ran == 4
    ran, _ = drive(EarlyStopping(patience=2), [1.0, 0.9, 0.8, 0.85, 0.7])
    assert ran == 5
    ran, _ = drive(EarlyStopping(patience=0, start_from_epoch=3), [1.0, 2.0, 3.0, 0.5, 0.6])
    assert ran == 5
    with pytest.raises(ValueError, match="mode='max' or mode='min'"):
        EarlyStopping("score")
    with pytest.raises(ValueError, match=r"validation_data=\.\.\."):
        drive(EarlyStopping(), [1.0], monitor="loss")


def test_without_restore_the_last_weights_stay():
    _, model = drive(EarlyStopping(patience=1), [1.0, 2.0, 3.0])
    assert model.weights[0][0] == 1.0


def test_early_stopping_stops_a_real_run_at_the_right_epoch_and_restores_the_best_weights():
    x, y, val = overfitting_problem()
    full, recorder = overfitting_model(), WeightRecorder()
    history = full.fit(x, y, epochs=40, batch_size=8, validation_data=val, verbose=0, callbacks=[recorder])
    val_losses = history.history["val_loss"]
    ran, best = expected_early_stop(val_losses, patience=3)
    assert ran < 40, "the problem should overfit within 40 epochs"

    model = overfitting_model()  # the same seed: the same run, until the callback stops it
    es = EarlyStopping(patience=3, restore_best_weights=True)
    stopped = model.fit(x, y, epochs=40, batch_size=8, validation_data=val, verbose=0, callbacks=[es])
    assert len(stopped.history["val_loss"]) == ran and es.stopped_epoch == ran - 1
    assert stopped.history["val_loss"] == val_losses[:ran]
    assert es.best_epoch == best
    assert_same_weights(model.get_weights(), recorder.weights[best])
    assert model.evaluate(*val, return_dict=True)["loss"] == pytest.approx(val_losses[best], rel=1e-6)


# ----------------------------------------------------------------------------- ModelCheckpoint
def test_the_best_only_checkpoint_reloads_to_the_best_model(tmp_path):
    from tinynet.serialization import load_model

    x, y, val = overfitting_problem()
    model, recorder = overfitting_model(), WeightRecorder()
    path = tmp_path / "best.npz"
    ckpt = ModelCheckpoint(path, save_best_only=True)
    history = model.fit(
        x, y, epochs=15, batch_size=8, validation_data=val, verbose=0, callbacks=[recorder, ckpt]
    )
    best = int(np.argmin(history.history["val_loss"]))
    assert best < 14, "the last epoch should not be the best, or this test proves little"
    restored = load_model(path)
    assert_same_weights(restored.get_weights(), recorder.weights[best])
    model.set_weights(recorder.weights[best])
    np.testing.assert_array_equal(restored.predict(val[0]), model.predict(val[0]))
    assert restored.evaluate(*val, return_dict=True)["loss"] == pytest.approx(
        history.history["val_loss"][best], rel=1e-6
    )


def test_checkpoint_paths_take_the_epoch_and_logged_values(tmp_path):
    x, y, val = overfitting_problem()
    model = overfitting_model()
    pattern = str(tmp_path / "ckpt" / "model-{epoch:02d}-{val_accuracy:.2f}.npz")
    ckpt = ModelCheckpoint(pattern, save_best_only=False)
    history = model.fit(x, y, epochs=3, batch_size=8, validation_data=val, verbose=0, callbacks=[ckpt])
    names = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    expected = [f"model-{e + 1:02d}-{acc:.2f}.npz" for e, acc in enumerate(history.history["val_accuracy"])]
    assert names == expected
    assert ckpt.last_path.endswith(expected[-1])
    with pytest.raises(ValueError, match="no value for 'val_f1'"):
        ModelCheckpoint(str(tmp_path / "{val_f1}.npz"))._path(0, {"loss": 1.0})


# ----------------------------------------------------------------------------- learning rate
def test_learning_rate_scheduler_sets_the_rate_of_each_epoch():
    x, y, _ = overfitting_problem()
    model = overfitting_model()
    model.compile("binary_crossentropy", tn.optimizers.SGD(0.1))
    halve = LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[halve])
    assert history.history["learning_rate"] == [0.05, 0.025, 0.0125]
    assert model.optimizer.learning_rate == 0.0125
    by_epoch = LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))  # a function of the epoch alone
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[by_epoch])
    # epochs are global: this second fit's epochs are the model's 4th and 5th (as Keras' initial_epoch)
    assert history.epoch == [3, 4]
    assert history.history["learning_rate"] == [0.1 / 4, 0.1 / 5]
    model.compile("binary_crossentropy", tn.optimizers.SGD(schedules.ExponentialDecay(0.1, 10, 0.5)))
    with pytest.raises(TypeError, match="already a schedule"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[halve])


def plateau_rates(callback, values, lr=1.0):
    model = FakeModel(lr=lr)
    callback.set_model(model)
    callback.on_train_begin()
    rates = []
    for epoch, v in enumerate(values):
        callback.on_epoch_end(epoch, {"val_loss": v})
        rates.append(model.optimizer.learning_rate)
    return rates


def test_reduce_lr_on_plateau_rule():
    cb = ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1, min_delta=0.0, min_lr=0.2)
    values = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    # epochs 1, 2 wait: halve at 2; 3 cools down; 4, 5 wait: halve at 5; 6 improves (and cools down);
    # 7, 8 wait: 0.125 is below min_lr, so 0.2 at 8; 9 cools down; 11 would reduce but the floor is reached
    expected = [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]
    assert plateau_rates(cb, values) == expected
    with pytest.raises(ValueError, match=r"factor must be in \(0, 1\)"):
        ReduceLROnPlateau(factor=1.5)


@pytest.mark.parametrize(
    ("cooldown", "expected"), [(0, [1, 0.5, 0.25, 0.125, 0.0625]), (1, [1, 0.5, 0.5, 0.25, 0.25])]
)
def test_cooldown_epochs_do_not_count(cooldown, expected):
    cb = ReduceLROnPlateau(factor=0.5, patience=1, cooldown=cooldown)
    assert plateau_rates(cb, [1.0] * 5) == expected


def test_reduce_lr_on_plateau_watches_accuracy_upwards():
    cb = ReduceLROnPlateau("val_accuracy", factor=0.5, patience=1, min_delta=0.0)
    model = FakeModel(lr=1.0)
    cb.set_model(model)
    cb.on_train_begin()
    for epoch, v in enumerate([0.5, 0.6, 0.7]):
        cb.on_epoch_end(epoch, {"val_accuracy": v})
    assert model.optimizer.learning_rate == 1.0  # rising accuracy is improvement


def test_reduce_lr_on_plateau_in_a_real_run_is_logged():
    x, y, val = overfitting_problem()
    model = overfitting_model()
    cb = ReduceLROnPlateau(factor=0.5, patience=1)
    history = model.fit(x, y, epochs=12, batch_size=8, validation_data=val, verbose=0, callbacks=[cb])
    rates = history.history["learning_rate"]
    assert rates[0] == pytest.approx(0.03) and rates[-1] < rates[0]
    assert all(b in (a, a * 0.5) for a, b in itertools.pairwise(rates))


# ----------------------------------------------------------------------------- CSV, NaN, stopping, hooks
def test_csv_logger_writes_every_epoch_and_appends(tmp_path):
    x, y, val = overfitting_problem()
    model = overfitting_model()
    path = tmp_path / "log.csv"
    history = model.fit(
        x, y, epochs=3, batch_size=8, validation_data=val, verbose=0, callbacks=[CSVLogger(path)]
    )
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "accuracy", "learning_rate", "loss", "val_accuracy", "val_loss"]
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    for key, values in history.history.items():
        assert [float(r[key]) for r in rows] == values  # repr() round-trips floats exactly
    model.fit(
        x, y, epochs=2, batch_size=8, validation_data=val, verbose=0, callbacks=[CSVLogger(path, append=True)]
    )
    with open(path, newline="") as f:
        lines = f.read().splitlines()
    assert len(lines) == 1 + 3 + 2 and lines.count(lines[0]) == 1
    model.fit(x, y, epochs=1, batch_size=8, validation_data=val, verbose=0, callbacks=[CSVLogger(path)])
    assert len(path.read_text().splitlines()) == 2  # without append the file starts over


def test_terminate_on_nan_ends_fit_cleanly_at_the_bad_batch(capsys):
    x, y, _ = overfitting_problem()
    x = x.copy()
    x[17] = np.nan  # batch 2 of size 8 (shuffle=False)
    model = overfitting_model()
    with pytest.raises(FloatingPointError, match="batch 3"):
        model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    model = overfitting_model()
    history = model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0, callbacks=[TerminateOnNaN()])
    assert len(history.history["loss"]) == 1 and math.isnan(history.history["loss"][0])
    assert model.optimizer.iterations == 2  # the NaN batch's step is not taken
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert "Batch 2: invalid loss nan, terminating training" in capsys.readouterr().out


def test_stop_training_from_any_hook_ends_fit_cleanly():
    x, y, _ = overfitting_problem()
    model = overfitting_model()
    stop = LambdaCallback(on_train_batch_end=lambda batch, logs: setattr(model, "stop_training", batch == 1))
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[stop])
    assert model.optimizer.iterations == 2 and len(history.history["loss"]) == 1
    model = overfitting_model()
    stop = LambdaCallback(on_epoch_end=lambda epoch, logs: setattr(model, "stop_training", epoch == 2))
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[stop])
    assert len(history.history["loss"]) == 3 and model.optimizer.iterations == 15


def test_hooks_are_called_in_order_with_their_numbers():
    calls = []

    class Recorder(Callback):
        def on_train_begin(self, logs=None):
            calls.append(("train_begin",))

        def on_epoch_begin(self, epoch, logs=None):
            calls.append(("epoch_begin", epoch))

        def on_train_batch_begin(self, batch, logs=None):
            calls.append(("batch_begin", batch))

        def on_train_batch_end(self, batch, logs=None):
            calls.append(("batch_end", batch, sorted(logs)))

        def on_epoch_end(self, epoch, logs=None):
            calls.append(("epoch_end", epoch, sorted(logs)))

        def on_train_end(self, logs=None):
            calls.append(("train_end",))

    x, y, _ = overfitting_problem()
    model = overfitting_model()
    recorder = Recorder()
    model.fit(x[:16], y[:16], epochs=2, batch_size=8, verbose=0, callbacks=[recorder])
    batch = [
        ("batch_begin", 0),
        ("batch_end", 0, ["loss", "size"]),
        ("batch_begin", 1),
        ("batch_end", 1, ["loss", "size"]),
    ]
    logs = ["accuracy", "learning_rate", "loss"]
    assert calls == [
        ("train_begin",),
        ("epoch_begin", 0),
        *batch,
        ("epoch_end", 0, logs),
        ("epoch_begin", 1),
        *batch,
        ("epoch_end", 1, logs),
        ("train_end",),
    ]
    assert recorder.model is model and recorder.params["steps"] == 2 and recorder.params["epochs"] == 2


# ----------------------------------------------------------------------------- state across fit calls
def split_runs(make_callbacks, epochs=6):
    """The uninterrupted run, and for every split k the run of k epochs then the rest, in this process."""
    from tests.serialization import resume_worker

    x, y, x_val, y_val = resume_worker.make_data()

    def run(model, n):
        h = model.fit(
            x[:30],
            y[:30],
            epochs=n,
            batch_size=8,
            validation_data=(x_val, y_val),
            verbose=0,
            callbacks=make_callbacks(),
        )
        return h

    model = resume_worker.make_callback_model()
    straight = run(model, epochs)
    for k in range(1, len(straight.epoch)):
        split = resume_worker.make_callback_model()
        first = run(split, k)
        second = run(split, epochs - k)
        yield k, straight, model, first, second, split


@pytest.mark.parametrize(
    "make_callbacks",
    [
        lambda: [LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch % 2 else lr + 0.01 * epoch)],
        lambda: [EarlyStopping(patience=3, restore_best_weights=True)],
        lambda: [ReduceLROnPlateau(factor=0.5, patience=1, min_delta=0.0, cooldown=1)],
        lambda: [EarlyStopping(patience=2), ReduceLROnPlateau(factor=0.5, patience=1), EarlyStopping("loss")],
    ],
    ids=["scheduler", "early_stopping_best", "plateau", "three"],
)
def test_two_fits_in_one_process_train_as_one(make_callbacks):
    """The model keeps its callbacks' states between fit calls: fit(k) then fit(n - k) is fit(n)."""
    for k, straight, model, first, second, split in split_runs(make_callbacks):
        assert first.epoch + second.epoch == straight.epoch, k
        for key, values in straight.history.items():
            assert first.history[key] + second.history[key] == values, (k, key)
        assert_same_weights(split.get_weights(), model.get_weights())
        assert split.optimizer.learning_rate == model.optimizer.learning_rate


def test_callbacks_see_global_epochs_and_the_final_epoch_in_params():
    x, y, _ = overfitting_problem()
    model = overfitting_model()
    seen = []
    spy = LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append((epoch, dict(spy.params))))
    model.fit(x, y, epochs=2, verbose=0, callbacks=[spy])
    model.fit(x, y, epochs=2, verbose=0, callbacks=[spy])
    assert [e for e, _ in seen] == [0, 1, 2, 3]
    assert [(p["initial_epoch"], p["epochs"]) for _, p in seen] == [(0, 2), (0, 2), (2, 4), (2, 4)]


class Counter(Callback):
    """A user's stateful callback: counts epochs, remembers a float and a flag."""

    def __init__(self):
        super().__init__()
        self.count, self.peak, self.flag = 0, -math.inf, None

    def on_epoch_end(self, epoch, logs=None):
        self.count += 1
        self.peak = max(self.peak, logs["loss"])

    def get_state(self):
        return {"count": self.count, "peak": self.peak, "flag": self.flag}

    def set_state(self, state):
        self.count, self.peak, self.flag = state["count"], state["peak"], state["flag"]


def test_states_are_matched_by_class_and_position_or_by_state_key():
    x, y, _ = overfitting_problem()
    model = overfitting_model()
    a, b = Counter(), Counter()
    b.flag = True
    model.fit(x, y, epochs=2, verbose=0, callbacks=[a, EarlyStopping("loss", patience=9), b])
    assert [(s["class_name"], s["key"]) for s in model.callback_states] == [
        ("Counter", 0),
        ("EarlyStopping", 0),
        ("Counter", 1),
    ]
    c, d = Counter(), Counter()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[c, d])  # positions among the Counters
    assert (c.count, d.count, c.flag, d.flag) == (3, 3, None, True)
    e, f = Counter(), Counter()
    e.state_key, f.state_key = "second", "first"
    model.fit(x, y, epochs=1, verbose=0, callbacks=[f, e])  # no saved state has these keys: afresh
    assert (e.count, f.count) == (1, 1)
    f2 = Counter()
    f2.state_key = "first"
    model.fit(x, y, epochs=1, verbose=0, callbacks=[Counter(), f2])
    assert f2.count == 2  # by its key, wherever it is in the list
    model.callback_states = []  # start afresh (Keras' behaviour)
    g = Counter()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[g])
    assert g.count == 1


def test_a_callback_that_saves_a_state_must_take_it_back():
    class Forgetful(Callback):
        def get_state(self):
            return {"n": 1}

    x, y, _ = overfitting_problem()
    model = overfitting_model()
    assert Callback().get_state() is None
    model.fit(x, y, epochs=1, verbose=0, callbacks=[Forgetful()])
    with pytest.raises(TypeError, match="Forgetful has a saved state .* does not define set_state"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[Forgetful()])


def test_early_stopping_patience_goes_on_across_fits_unless_the_states_are_cleared():
    values = [1.0, 0.9, 0.95, 0.97, 0.99, 0.98]
    first = EarlyStopping(patience=3)
    _, model = drive(first, values[:2])  # best 0.9 at epoch 1
    state = first.get_state()
    assert state == {"best": 0.9, "wait": 0, "best_epoch": 1, "best_weights": None, "resume_weights": None}
    second = EarlyStopping(patience=3)
    second.set_model(model)
    second.on_train_begin()
    second.set_state(state)
    for epoch, value in enumerate(values[2:], start=2):
        second.on_epoch_end(epoch, {"val_loss": value})
        if model.stop_training:
            break
    assert (second.stopped_epoch, second.wait, second.best_epoch) == (4, 3, 1)


def test_restore_best_weights_resumes_from_the_last_epoch_unless_the_weights_were_changed():
    es = EarlyStopping(patience=5, restore_best_weights=True)
    _, model = drive(es, [1.0, 0.5, 0.7])
    assert model.weights[0][0] == 1.0  # the best epoch's weights are put back at the end of the fit
    state = es.get_state()
    assert state["resume_weights"][0][0] == 2.0  # the last epoch's, to go on from
    again = EarlyStopping(patience=5, restore_best_weights=True)
    again.set_model(model)
    again.set_state(state)
    assert model.weights[0][0] == 2.0
    model.weights = [np.array([7.0])]  # the user changed the weights between the fits: keep them
    again.set_state(state)
    assert model.weights[0][0] == 7.0


def test_only_a_best_only_checkpoint_has_a_state(tmp_path):
    every = ModelCheckpoint(tmp_path / "a.npz")
    best = ModelCheckpoint(tmp_path / "b.npz", save_best_only=True)
    assert every.get_state() is None and best.get_state() == {"best": math.inf}
    best.set_state({"best": 0.25})
    assert best.best == 0.25
