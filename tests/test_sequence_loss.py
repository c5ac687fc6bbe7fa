"""sparse_categorical_crossentropy on sequences (N, T, V), with Keras' ignore_class, and the fused head on 3-D outputs."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinynet as tn
from tinynet.gradcheck import check_loss, float64_defaults
from tinynet.layers import LSTM, Dense, Embedding
from tinynet.losses import SparseCategoricalCrossentropy

from .strategies import seeds


def _data(seed, n, t, v, ignore, logits):
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 2.0, size=(n, t, v))
    y = rng.integers(0, v, size=(n, t))
    if ignore is not None:
        y[rng.random((n, t)) < 0.4] = ignore
    return (z if logits else tn.ops.softmax(z)), y


@given(
    n=st.integers(1, 4),
    t=st.integers(1, 5),
    v=st.integers(2, 5),
    ignore=st.sampled_from([None, -1, 0]),
    logits=st.booleans(),
    weighted=st.booleans(),
    seed=seeds,
)
def test_gradient_matches_central_differences(n, t, v, ignore, logits, weighted, seed):
    y_pred, y = _data(seed, n, t, v, ignore, logits)
    w = np.random.default_rng(seed).uniform(0.5, 2.0, size=n) if weighted else None
    loss = SparseCategoricalCrossentropy(from_logits=logits, ignore_class=ignore)
    assert check_loss(loss, y, y_pred, w) < 1e-6


@pytest.mark.parametrize("logits", [True, False])
def test_mean_over_the_unmasked_positions(logits):
    y_pred, y = _data(1, 3, 4, 5, -1, logits)
    y[0, 0], y[2, 3] = -1, 2  # at least one masked, one not
    log_p = tn.ops.log_softmax(y_pred) if logits else np.log(y_pred)
    keep = y != -1
    expected = -np.mean(log_p[keep, y[keep]])  # M = keep.sum() positions
    loss = SparseCategoricalCrossentropy(from_logits=logits, ignore_class=-1)
    assert np.isclose(loss(y, y_pred), expected, rtol=1e-12)
    # sample weights: sum_n w_n sum_t l_nt / M (Keras' sum_over_batch_size with a mask)
    w = np.array([0.5, 1.0, 2.0])
    per_position = np.where(keep, -np.take_along_axis(log_p, np.where(keep, y, 0)[..., None], -1)[..., 0], 0)
    assert np.isclose(loss(y, y_pred, w), (w[:, None] * per_position).sum() / keep.sum(), rtol=1e-12)
    # without ignore_class every position counts, M = N T
    everything = SparseCategoricalCrossentropy(from_logits=logits)
    y_all = np.where(keep, y, 0)
    expected_all = -np.mean(np.take_along_axis(log_p, y_all[..., None], -1))
    assert np.isclose(everything(y_all, y_pred), expected_all, rtol=1e-12)


def test_fused_head_gradient_on_sequences_is_p_minus_t_over_unmasked_positions(float64):
    # the model's training output is the softmax head's HeadOutput: the loss differentiates
    # with respect to the logits, (p - t)/M, zero at masked positions
    tn.set_seed(0)
    model = tn.Sequential(
        [
            tn.Input(shape=(4,)),
            Embedding(6, 3),
            LSTM(5, return_sequences=True),
            Dense(6, activation="softmax"),
        ]
    )
    loss = SparseCategoricalCrossentropy(ignore_class=-1)
    model.compile("sgd", loss)
    x = np.random.default_rng(0).integers(0, 6, size=(3, 4))
    y = np.random.default_rng(1).integers(0, 6, size=(3, 4))
    y[1, 2:] = -1
    out = model.forward(x, training=True)
    assert isinstance(out, tn.engine.HeadOutput)
    value = loss(y, out)
    grad = np.array(loss.backward())
    p = np.array(out)
    keep = y != -1
    t = np.zeros_like(p)
    t[keep, y[keep]] = 1.0
    expected = (p - t) * keep[..., None] / keep.sum()
    np.testing.assert_allclose(grad, expected, rtol=0, atol=1e-15)
    assert np.isclose(value, -np.mean(np.log(p[keep, y[keep]])), rtol=1e-12)


def test_all_positions_masked_gives_zero_loss_and_gradient():
    z = np.random.default_rng(0).normal(size=(2, 3, 4))
    y = np.full((2, 3), -1)
    loss = SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    assert loss(y, z) == 0.0
    assert not np.any(loss.backward())


def test_labels_are_checked_except_the_ignored_ones():
    z = np.zeros((1, 3, 4))
    loss = SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    assert np.isfinite(loss(np.array([[0, -1, 3]]), z))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\] for 4 outputs \(or ignore_class=-1\)"):
        loss(np.array([[0, -2, 4]]), z)
    with pytest.raises(ValueError, match="expected integer labels of shape"):
        loss(np.array([[0, 1]]), z)
    with pytest.raises(TypeError, match="ignore_class must be an integer"):
        SparseCategoricalCrossentropy(ignore_class=1.5)


def test_config_and_model_file_keep_ignore_class():
    loss = SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    assert loss.get_config() == {"from_logits": True, "ignore_class": -1}
    clone = tn.losses.from_name(loss.name, loss.get_config())
    assert clone.ignore_class == -1 and clone.from_logits
    assert SparseCategoricalCrossentropy().get_config() == {"from_logits": False}


def test_fit_on_padded_sequences_reports_the_masked_mean():
    with float64_defaults():
        tn.set_seed(0)
        model = tn.Sequential(
            [
                tn.Input(shape=(5,)),
                Embedding(4, 3),
                LSTM(4, return_sequences=True),
                Dense(4, activation="softmax"),
            ]
        )
    model.compile("adam", SparseCategoricalCrossentropy(ignore_class=-1))
    x = np.random.default_rng(0).integers(0, 4, size=(6, 5))
    y = np.random.default_rng(1).integers(0, 4, size=(6, 5))
    y[:, 3:] = -1
    reported = model.evaluate(x, y, verbose=0)
    p = model.predict(x, verbose=0)
    keep = y != -1
    assert np.isclose(reported, -np.mean(np.log(p[keep, y[keep]])), rtol=1e-10)
