"""A training step is all or nothing: a NaN or infinite loss or gradient leaves the model at its
last finite state (weights, optimizer moments and counter, batch normalization's averages) with an
error that names the batch and the cause, and a Ctrl-C at any moment of fit leaves the model in a
state some training run produces (before or after a whole step), ready to save and to fit again."""

import signal
import threading

import numpy as np
import pytest

import tinynet as tn
from tinynet import optimizers
from tinynet.callbacks import Callback, TerminateOnNaN
from tinynet.layers import BatchNormalization, Dense

BATCH = 8


def make_model(loss="binary_crossentropy", optimizer=None, batchnorm=False, seed=0):
    tn.set_seed(seed)
    layers = [Dense(6, input_dim=4, activation="relu")]
    if batchnorm:
        layers.append(BatchNormalization())
    layers.append(Dense(1, activation="sigmoid" if loss == "binary_crossentropy" else None))
    model = tn.Sequential(layers)
    model.compile(loss=loss, optimizer=optimizer or optimizers.Adam(0.01))
    model.build()
    return model


def make_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    return x, y


def state(model):
    """Everything a step changes, copied: weights and layer state, optimizer moments and counter."""
    opt = model.optimizer
    slots = {(k, s): a.copy() for k, d in opt.state.items() for s, a in d.items()}
    return [w.copy() for w in model.get_weights()], slots, opt.iterations


def same_state(a, b) -> bool:
    """Bit for bit (NaN never equals NaN here: a NaN state is never the expected one)."""
    return (
        len(a[0]) == len(b[0])
        and all(np.array_equal(u, v) for u, v in zip(a[0], b[0], strict=True))
        and a[1].keys() == b[1].keys()
        and all(np.array_equal(a[1][k], b[1][k]) for k in a[1])
        and a[2] == b[2]
    )


def reference_states(steps, x, y, **model_kwargs):
    """The states of an uninterrupted run after 0, 1, ..., ``steps`` steps on the unshuffled batches."""
    model = make_model(**model_kwargs)
    states = [state(model)]
    for b in range(steps):
        model.train_step(x[b * BATCH : (b + 1) * BATCH], y[b * BATCH : (b + 1) * BATCH])
        states.append(state(model))
    return states


class BeforeEachBatch(Callback):
    """Records the model's state before each batch."""

    def __init__(self):
        super().__init__()
        self.states = []

    def on_train_batch_begin(self, batch, logs=None):
        self.states.append(state(self.model))


# ------------------------------------------------------------------------------------ NaN and inf
def test_a_nan_input_leaves_the_model_as_after_the_last_finite_step():
    x, y = make_data()
    x[17, 2] = np.nan  # batch 3 of 8 samples, unshuffled
    model = make_model()
    with pytest.raises(FloatingPointError) as info:
        model.fit(x, y, epochs=2, batch_size=BATCH, shuffle=False, verbose=0)
    message = str(info.value)
    assert "the loss became nan at epoch 1, batch 3" in message
    assert "the batch's inputs hold NaN or infinite values (samples 17 of x)" in message
    assert "np.isfinite(x)" in message and "the step was not taken" in message
    assert "learning rate" not in message  # the advice fits the cause: the data, not the rate
    assert same_state(state(model), reference_states(2, x, y)[2])


def test_the_error_names_the_samples_of_x_when_shuffled():
    x, y = make_data()
    x[[5, 33]] = np.inf
    model = make_model()
    with (
        np.errstate(invalid="ignore"),
        pytest.raises(FloatingPointError, match=r"samples (5|33)(, (5|33))? of x"),
    ):
        model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_non_finite_targets_are_named_as_the_cause():
    x, y = make_data()
    y[9] = np.inf  # mean squared error: any target is a legal value, but not inf
    model = make_model(loss="mse")
    expected = r"batch 2: the batch's targets hold NaN or infinite values \(samples 9 of y\)"
    with np.errstate(invalid="ignore"), pytest.raises(FloatingPointError, match=expected):
        model.fit(x, y, epochs=1, batch_size=BATCH, shuffle=False, verbose=0)
    assert same_state(state(model), reference_states(1, x, y, loss="mse")[1])


def test_a_diverging_model_stops_at_its_last_finite_state_with_the_rate_in_the_advice():
    x, y = make_data(64)
    model = make_model(loss="mse", optimizer=optimizers.SGD(learning_rate=1e6))
    before = BeforeEachBatch()
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(FloatingPointError) as info:
        model.fit(x * 1e3, y * 1e3, epochs=50, batch_size=16, verbose=0, callbacks=[before])
    message = str(info.value)
    assert "the data and the weights are finite, so the model diverged" in message
    assert "lower the learning rate (it is 1e+06)" in message
    assert "the batch's inputs reach 3" in message  # the unscaled data are the likely culprit
    assert same_state(state(model), before.states[-1])
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_terminate_on_nan_leaves_finite_weights():
    x, y = make_data()
    x[17] = np.nan
    model = make_model()
    history = model.fit(
        x, y, epochs=3, batch_size=BATCH, shuffle=False, verbose=0, callbacks=[TerminateOnNaN()]
    )
    assert len(history.history["loss"]) == 1  # stopped in the first epoch, without an error
    assert same_state(state(model), reference_states(2, x, y)[2])


def test_a_finite_loss_with_non_finite_gradients_is_not_applied():
    x, y = make_data()
    model = make_model()
    first = model.layers[0]
    calls = []

    def overflowing_backward(grad_output, _backward=first.backward):
        result = _backward(grad_output)
        calls.append(1)
        if len(calls) == 3:
            first.grads["W"][1, 2] = np.inf  # what an overflow in a custom backward would leave
        return result

    first.backward = overflowing_backward
    with pytest.raises(FloatingPointError) as info:
        model.fit(x, y, epochs=1, batch_size=BATCH, shuffle=False, verbose=0)
    message = str(info.value)
    assert "the gradients became NaN or infinite at epoch 1, batch 3" in message
    assert "the gradients of dense/W hold NaN or infinite values although the loss" in message
    assert same_state(state(model), reference_states(2, x, y)[2])


def test_batch_normalization_averages_are_put_back_after_a_nan_batch():
    x, y = make_data()
    x[17] = np.nan
    model = make_model(batchnorm=True)
    with pytest.raises(FloatingPointError, match="batch 3"):
        model.fit(x, y, epochs=1, batch_size=BATCH, shuffle=False, verbose=0)
    assert same_state(state(model), reference_states(2, x, y, batchnorm=True)[2])


def test_train_step_refuses_a_non_finite_step_and_changes_nothing():
    x, y = make_data()
    model = make_model(batchnorm=True)
    model.train_step(x[:BATCH], y[:BATCH])
    before = state(model)
    x[BATCH + 1] = np.nan
    with pytest.raises(
        tn.models.NonFiniteStepError,
        match=r"the loss is nan: the batch's inputs .* \(samples 1 of the batch\)",
    ) as info:
        model.train_step(x[BATCH : 2 * BATCH], y[BATCH : 2 * BATCH])
    assert isinstance(info.value, FloatingPointError) and np.isnan(info.value.loss)
    assert same_state(state(model), before)


def test_weights_that_were_already_non_finite_are_named():
    x, y = make_data()
    model = make_model()
    model.layers[1].params["b"][0] = np.nan
    with pytest.raises(
        FloatingPointError, match=r"weights were already NaN or infinite before this step \(dense_1/b\)"
    ):
        model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)


def test_an_error_in_a_layer_leaves_batch_normalization_as_it_was():
    x, y = make_data()
    model = make_model(batchnorm=True)
    before = state(model)
    last = model.layers[-1]

    def failing_forward(x, training=False):
        raise KeyboardInterrupt  # raised directly (not a signal): after the averages moved

    last.forward = failing_forward
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)
    assert same_state(state(model), before)


# ----------------------------------------------------------------------------------------- Ctrl-C
@pytest.fixture
def python_sigint_handler():
    """SIGINT handled by Python's default handler (raise KeyboardInterrupt), as in a terminal."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def ctrl_c():
    signal.raise_signal(signal.SIGINT)


def patch_once(obj, name, when):
    """Make ``obj.name`` (an instance attribute) press Ctrl-C on its call number ``when``, then work normally."""
    original = getattr(obj, name)
    calls = [0]

    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == when:
            ctrl_c()
        return original(*args, **kwargs)

    setattr(obj, name, wrapper)


# Where Ctrl-C is pressed during the third step (batch index 2), and how many steps the state it
# leaves has taken: before the update the step is abandoned (and batch normalization's averages,
# moved by the forward pass, put back), during the update the interrupt waits for its end.  The
# optimizer updates its flat buffer in chunks of 16 elements: 4 chunks of this model's 49 parameters.
CHUNKS = 4
MOMENTS = {
    "before the step": (lambda m: None, 2),
    "the step's start": (lambda m: patch_once(m, "compute_gradients", 3), 2),
    "first layer's forward": (lambda m: patch_once(m.layers[0], "forward", 3), 2),
    "batch normalization's forward": (lambda m: patch_once(m.layers[1], "forward", 3), 2),
    "last layer's forward": (lambda m: patch_once(m.layers[-1], "forward", 3), 2),
    "first layer's backward": (lambda m: patch_once(m.layers[0], "backward", 3), 2),
    "the optimizer's clipping": (lambda m: patch_once(m.optimizer, "_clip", 3), 3),
    "the optimizer's first chunk": (lambda m: patch_once(m.optimizer, "_update", 2 * CHUNKS + 1), 3),
    "the optimizer's second chunk": (lambda m: patch_once(m.optimizer, "_update", 2 * CHUNKS + 2), 3),
    "the optimizer's last chunk": (lambda m: patch_once(m.optimizer, "_update", 3 * CHUNKS), 3),
    "after the step": (lambda m: None, 3),
}


class CtrlC(Callback):
    """Presses Ctrl-C when batch ``batch`` begins or ends."""

    def __init__(self, hook, batch):
        super().__init__()
        self.hook, self.batch = hook, batch

    def on_train_batch_begin(self, batch, logs=None):
        if self.hook == "before the step" and batch == self.batch:
            ctrl_c()

    def on_train_batch_end(self, batch, logs=None):
        if self.hook == "after the step" and batch == self.batch:
            ctrl_c()


@pytest.mark.usefixtures("python_sigint_handler")
@pytest.mark.parametrize("moment", MOMENTS)
def test_ctrl_c_at_any_moment_leaves_a_state_of_some_training_run(moment, monkeypatch, tmp_path):
    monkeypatch.setattr(optimizers, "CHUNK", 16)
    x, y = make_data()
    reference = reference_states(3, x, y, batchnorm=True)
    model = make_model(batchnorm=True)
    assert model.count_params() == 49
    patch, steps = MOMENTS[moment]
    patch(model)
    with pytest.raises(KeyboardInterrupt):
        model.fit(
            x, y, epochs=1, batch_size=BATCH, shuffle=False, verbose=0, callbacks=[CtrlC(moment, batch=2)]
        )
    after = state(model)
    assert same_state(after, reference[2]) or same_state(after, reference[3])
    assert same_state(after, reference[steps])
    # a save after the interrupt loads, and training goes on
    model.save(tmp_path / "interrupted.npz")
    loaded = tn.load_model(tmp_path / "interrupted.npz")
    assert same_state(state(loaded), after)
    model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)
    assert model.optimizer.iterations == steps + 5


@pytest.mark.usefixtures("python_sigint_handler")
def test_ctrl_c_in_a_direct_optimizer_step_waits_for_the_whole_step(monkeypatch):
    monkeypatch.setattr(optimizers, "CHUNK", 4)
    rng = np.random.default_rng(0)
    flat = rng.normal(size=10)
    grads = rng.normal(size=10)

    def run(interrupt):
        P, G = flat.copy(), grads.copy()
        params, gradients = {"a": P[:3], "b": P[3:]}, {"a": G[:3], "b": G[3:]}
        opt = optimizers.Adam(0.1)
        opt.step(params, gradients)
        if interrupt:
            patch_once(opt, "_update", 2)  # the second of three chunks
            with pytest.raises(KeyboardInterrupt):
                opt.step(params, gradients)
        else:
            opt.step(params, gradients)
        return P, opt.iterations, {k: a.copy() for k, a in opt.state["b"].items()}

    interrupted, expected = run(True), run(False)
    np.testing.assert_array_equal(interrupted[0], expected[0])
    assert interrupted[1] == expected[1] == 2
    for slot in ("m", "v"):
        np.testing.assert_array_equal(interrupted[2][slot], expected[2][slot])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_fit_restores_the_previous_handler_and_hands_it_the_interrupt(monkeypatch):
    received = []

    def handler(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        x, y = make_data()
        make_model().fit(x, y, epochs=1, batch_size=BATCH, verbose=0)
        assert signal.getsignal(signal.SIGINT) is handler and not received
        model = make_model()
        patch_once(model.optimizer, "_update", 2)  # during the second step's update (one chunk)
        with pytest.raises(KeyboardInterrupt):
            model.fit(x, y, epochs=1, batch_size=BATCH, shuffle=False, verbose=0)
        assert received == [signal.SIGINT]  # once, after the update
        assert same_state(state(model), reference_states(2, x, y)[2])
        assert signal.getsignal(signal.SIGINT) is handler
    finally:
        signal.signal(signal.SIGINT, previous)


def test_fit_in_another_thread_leaves_signals_alone():
    x, y = make_data()
    model = make_model()
    before = signal.getsignal(signal.SIGINT)
    errors = []

    def train():
        try:
            model.fit(x, y, epochs=2, batch_size=BATCH, verbose=0)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    worker = threading.Thread(target=train)
    worker.start()
    worker.join()
    assert not errors and model.optimizer.iterations == 10
    assert signal.getsignal(signal.SIGINT) is before


def test_fit_checks_binary_targets_once_not_on_every_batch(monkeypatch):
    # fit scans every target once before the first step and promises the loss so
    # (targets_checked): a step of a fused sigmoid head then does not scan its batch again
    from tinynet import _validation

    scans = []
    real = _validation.unit_interval_targets
    monkeypatch.setattr(
        _validation, "unit_interval_targets", lambda y, what="": scans.append(len(y)) or real(y, what)
    )
    tn.set_seed(0)
    model = tn.Sequential([tn.layers.Dense(1, input_dim=3, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    x = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert scans == [40]  # all of them, once: not 10 batches more
    scans.clear()
    model.train_step(x[:8], y[:8])  # a step on its own checks its batch
    assert scans == [8]
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]"):
        model.fit(x, y * 2, epochs=1, verbose=0)  # and fit's one check still refuses


def test_calling_a_loss_runs_its_own_forward():
    class Doubled(tn.losses.MeanSquaredError):
        def forward(self, y_true, y_pred, sample_weight=None):
            return 2 * super().forward(y_true, y_pred, sample_weight)

    y, p = np.zeros((4, 1)), np.ones((4, 1))
    assert Doubled()(y, p) == 2 * tn.losses.MeanSquaredError()(y, p) == 2.0
