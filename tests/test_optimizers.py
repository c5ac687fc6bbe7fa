"""Optimizers: first steps by hand, flat and per-array updates agree, clipping, errors."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinynet import optimizers

from .strategies import seeds


def quadratic_grad(p):
    """f(p) = 1/2 * sum(a * p^2) with a = [1, 10]: gradient a * p."""
    return np.array([1.0, 10.0]) * p


def run(opt, steps=3, start=(1.0, 1.0)):
    p = np.array(start)
    g = np.zeros(2)
    trail = []
    for _ in range(steps):
        g[...] = quadratic_grad(p)
        opt.step({"p": p}, {"p": g})
        trail.append(p.copy())
    return trail


#: A positive epsilon (epsilon <= 0 is refused) below the rounding of every sum it joins here:
#: the updates are bit for bit those without it, as the hand computations assume.
TINY = 1e-300


def test_sgd_by_hand():
    # p <- p - 0.1 * a * p = (1 - 0.1 a) p: factors 0.9 and 0.0
    trail = run(optimizers.SGD(learning_rate=0.1), steps=2)
    np.testing.assert_allclose(trail, [[0.9, 0.0], [0.81, 0.0]])


def test_momentum_by_hand():
    # b1 = g1 = (1, 10); p1 = (1, 1) - 0.01 (1, 10) = (0.99, 0.9)
    # g2 = (0.99, 9); b2 = 0.9 (1, 10) + (0.99, 9) = (1.89, 18); p2 = p1 - 0.01 b2 = (0.9711, 0.72)
    trail = run(optimizers.Momentum(learning_rate=0.01, momentum=0.9), steps=2)
    np.testing.assert_allclose(trail, [[0.99, 0.9], [0.9711, 0.72]])


def test_nesterov_by_hand():
    # b1 = (1, 10); step = g1 + 0.9 b1 = (1.9, 19); p1 = (1 - 0.019, 1 - 0.19) = (0.981, 0.81)
    trail = run(optimizers.SGD(learning_rate=0.01, momentum=0.9, nesterov=True), steps=1)
    np.testing.assert_allclose(trail, [[0.981, 0.81]])


def test_rmsprop_by_hand():
    # v = 0.1 g^2; p -= 0.01 g / (sqrt(0.1) |g| + eps) = 0.01 / sqrt(0.1) for both coordinates
    trail = run(optimizers.RMSprop(learning_rate=0.01, rho=0.9, epsilon=TINY), steps=1)
    np.testing.assert_allclose(trail, [[1 - 0.01 / math.sqrt(0.1)] * 2])


def test_adam_by_hand():
    # first step: m_hat = g, v_hat = g^2, so p -= lr * g / (|g| + eps) = lr * sign(g)
    opt = optimizers.Adam(learning_rate=0.1, epsilon=TINY)
    trail = run(opt, steps=2)
    np.testing.assert_allclose(trail[0], [0.9, 0.9])
    # second step: g2 = (0.9, 9); m = 0.09 (1, 10) + 0.1 g2; v = 0.000999 (1, 100) + 0.001 g2^2
    g1, g2 = np.array([1.0, 10.0]), np.array([0.9, 9.0])
    m = 0.9 * 0.1 * g1 + 0.1 * g2
    v = 0.999 * 0.001 * g1**2 + 0.001 * g2**2
    expected = trail[0] - 0.1 * (m / (1 - 0.9**2)) / np.sqrt(v / (1 - 0.999**2))
    np.testing.assert_allclose(trail[1], expected, rtol=1e-12)
    assert opt.iterations == 2


def test_adamw_decays_before_the_adam_step():
    # first step: p <- p (1 - lr wd) - lr sign(g)
    trail = run(optimizers.AdamW(learning_rate=0.1, weight_decay=0.5, epsilon=TINY), steps=1)
    np.testing.assert_allclose(trail[0], [1 * 0.95 - 0.1] * 2)


def test_adagrad_by_hand():
    # s = g^2 -> p -= 0.5 g/|g|; second: g2 = (0.5, 5) -> s = (1.25, 125), p -= 0.5 g2 / sqrt(s)
    trail = run(optimizers.Adagrad(learning_rate=0.5, epsilon=TINY), steps=2)
    np.testing.assert_allclose(trail[0], [0.5, 0.5])
    np.testing.assert_allclose(trail[1], [0.5 - 0.25 / math.sqrt(1.25), 0.5 - 2.5 / math.sqrt(125)])


ALL = [
    lambda: optimizers.SGD(0.05),
    lambda: optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    lambda: optimizers.Momentum(0.05),
    lambda: optimizers.RMSprop(0.01),
    lambda: optimizers.Adam(0.01),
    lambda: optimizers.AdamW(0.01),
    lambda: optimizers.Adagrad(0.1),
    lambda: optimizers.Adam(0.01, clipnorm=0.5),
    lambda: optimizers.Adam(0.01, global_clipnorm=0.5),
    lambda: optimizers.SGD(0.01, clipvalue=0.1),
]


SMALL = {"a/W": (3, 2), "a/b": (2,), "b/W": (2, 4)}
#: more elements than one chunk of the flat update (optimizers.CHUNK): the update runs in pieces
LARGE = {"a/W": (300, 250), "a/b": (250,), "b/W": (250, 30)}


@pytest.mark.parametrize("shapes", [SMALL, LARGE], ids=["one-chunk", "three-chunks"])
@pytest.mark.parametrize("make", ALL)
@given(seed=seeds)
def test_flat_buffer_path_equals_per_array_path(make, shapes, seed):
    rng = np.random.default_rng(seed)
    total = sum(math.prod(s) for s in shapes.values())
    flat_p, flat_g = rng.normal(size=total), np.zeros(total)
    views_p, views_g, offset = {}, {}, 0
    for key, shape in shapes.items():
        n = math.prod(shape)
        views_p[key] = flat_p[offset : offset + n].reshape(shape)
        views_g[key] = flat_g[offset : offset + n].reshape(shape)
        offset += n
    separate_p = {k: v.copy() for k, v in views_p.items()}
    separate_g = {k: np.zeros(v.shape) for k, v in views_p.items()}
    flat_opt, sep_opt = make(), make()
    for _ in range(4):
        noise = rng.normal(size=total) * 3
        flat_g[...] = noise
        offset = 0
        for g in separate_g.values():
            g[...] = noise[offset : offset + g.size].reshape(g.shape)
            offset += g.size
        flat_opt.step(views_p, views_g)
        sep_opt.step(separate_p, separate_g)
    chunks = -(-total // optimizers.CHUNK)
    assert len(flat_opt._groups) == chunks and len(sep_opt._groups) == 3  # both paths really ran
    for key in shapes:
        np.testing.assert_allclose(views_p[key], separate_p[key], rtol=1e-12, atol=1e-15)
        for slot, value in flat_opt.state[key].items():
            np.testing.assert_allclose(value, sep_opt.state[key][slot], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("make", ALL)
def test_the_chunked_update_gives_the_bits_of_the_whole_buffer_update(make, monkeypatch):
    # every rule is element-wise, so updating the flat buffer in chunks changes no bit
    def run():
        rng = np.random.default_rng(0)
        flat_p, flat_g = rng.normal(size=3000), np.zeros(3000)
        params, grads = {"w": flat_p[:2000], "b": flat_p[2000:]}, {"w": flat_g[:2000], "b": flat_g[2000:]}
        opt = make()
        for _ in range(3):
            flat_g[...] = rng.normal(size=3000) * 3
            opt.step(params, grads)
        return flat_p, len(opt._groups)

    whole, one = run()
    monkeypatch.setattr(optimizers, "CHUNK", 512)
    chunked, many = run()
    assert (one, many) == (1, 6)
    np.testing.assert_array_equal(chunked, whole)


@given(seed=seeds, c=st.floats(0.1, 2.0))
def test_clipping_bounds_the_norms(seed, c):
    rng = np.random.default_rng(seed)
    grads = {"a": rng.normal(size=(3, 3)) * 5, "b": rng.normal(size=4) * 5}
    params = {k: np.zeros_like(v) for k, v in grads.items()}
    g = {k: v.copy() for k, v in grads.items()}
    optimizers.SGD(1.0, clipnorm=c).step(params, g)
    for k in g:
        assert np.linalg.norm(g[k]) <= c * (1 + 1e-12)
        np.testing.assert_allclose(params[k], -g[k])
    g = {k: v.copy() for k, v in grads.items()}
    optimizers.SGD(1.0, global_clipnorm=c).step({k: np.zeros_like(v) for k, v in g.items()}, g)
    assert math.sqrt(sum(np.sum(v**2) for v in g.values())) <= c * (1 + 1e-12)
    g = {k: v.copy() for k, v in grads.items()}
    optimizers.SGD(1.0, clipvalue=c).step({k: np.zeros_like(v) for k, v in g.items()}, g)
    assert max(np.abs(v).max() for v in g.values()) <= c


def test_schedule_is_evaluated_at_each_step():
    opt = optimizers.SGD(learning_rate=lambda step: 1.0 / (step + 1))
    p, g = np.zeros(1), np.ones(1)
    for _ in range(3):
        opt.step({"p": p}, {"p": g})
    np.testing.assert_allclose(p, [-(1 + 1 / 2 + 1 / 3)])


def test_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match="valid names: .*adam"):
        optimizers.get("adamm")
    with pytest.raises(ValueError, match="same keys"):
        optimizers.SGD().step({"a": np.zeros(1)}, {"b": np.zeros(1)})
    with pytest.raises(ValueError, match="at most one"):
        optimizers.Adam(clipnorm=1.0, clipvalue=1.0)
