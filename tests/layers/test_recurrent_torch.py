"""LSTM and GRU against torch.nn.LSTM / torch.nn.GRU in float64: outputs, states and every gradient.

Keras' LSTM gates [i, f, c, o] are PyTorch's [i, f, g, o] (the same order); Keras' GRU gates
[z, r, h] are PyTorch's [r, z, n] (the first two blocks swapped), and Keras' reset_after=True GRU is
PyTorch's formula. PyTorch stores W (kH, D) where Keras stores its transpose, and has two biases
(the LSTM's add up; the GRU's are Keras' two rows).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinynet.layers import GRU, LSTM

from ..strategies import seeds

torch = pytest.importorskip("torch")


def _gru_blocks(a: np.ndarray, H: int) -> np.ndarray:
    """Keras' [z, r, h] blocks along the last axis as PyTorch's [r, z, n] (an involution)."""
    return np.concatenate([a[..., H : 2 * H], a[..., :H], a[..., 2 * H :]], axis=-1)


def _torch_twin(layer, H, D):
    k, U, b = (layer.params[key] for key in ("kernel", "recurrent_kernel", "bias"))
    if isinstance(layer, LSTM):
        net = torch.nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
        w_ih, w_hh, b_ih, b_hh = k.T, U.T, b, np.zeros_like(b)
    else:
        net = torch.nn.GRU(D, H, batch_first=True, dtype=torch.float64)
        w_ih, w_hh = _gru_blocks(k, H).T, _gru_blocks(U, H).T
        b_ih, b_hh = _gru_blocks(b[0], H), _gru_blocks(b[1], H)
    with torch.no_grad():
        for name, value in (
            ("weight_ih_l0", w_ih),
            ("weight_hh_l0", w_hh),
            ("bias_ih_l0", b_ih),
            ("bias_hh_l0", b_hh),
        ):
            getattr(net, name).copy_(torch.from_numpy(np.ascontiguousarray(value)))
    return net


def _torch_grads_as_keras(layer, net, H):
    g = {name: p.grad.numpy() for name, p in net.named_parameters()}
    if isinstance(layer, LSTM):
        return {
            "kernel": g["weight_ih_l0"].T,
            "recurrent_kernel": g["weight_hh_l0"].T,
            "bias": g["bias_ih_l0"],  # the two biases are added: each gets the same gradient
        }
    return {
        "kernel": _gru_blocks(g["weight_ih_l0"].T, H),
        "recurrent_kernel": _gru_blocks(g["weight_hh_l0"].T, H),
        "bias": np.stack([_gru_blocks(g["bias_ih_l0"], H), _gru_blocks(g["bias_hh_l0"], H)]),
    }


@pytest.mark.parametrize("cls", [LSTM, GRU])
@settings(max_examples=10)
@given(n=st.integers(1, 4), t=st.integers(1, 6), d=st.integers(1, 5), units=st.integers(1, 5), seed=seeds)
def test_matches_pytorch(cls, n, t, d, units, seed):
    rng = np.random.default_rng(seed)
    layer = cls(units, return_sequences=True, return_state=True)
    layer.dtype = np.dtype(np.float64)
    layer.build((t, d))
    for p in layer.params.values():
        p[...] = rng.normal(0.0, 0.6, size=p.shape)
    x = rng.normal(size=(n, t, d))
    outputs = layer.forward(x, training=True)
    grads = [rng.standard_normal(o.shape) for o in outputs]
    dx = layer.backward(grads)

    net = _torch_twin(layer, units, d)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    if cls is LSTM:
        seq, (h, c) = net(xt)
        theirs = [seq, h[0], c[0]]
    else:
        seq, h = net(xt)
        theirs = [seq, h[0]]
    total = sum((a * torch.from_numpy(g)).sum() for a, g in zip(theirs, grads, strict=True))
    total.backward()

    for ours, other in zip(outputs, theirs, strict=True):
        np.testing.assert_allclose(ours, other.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=1e-10)
    for key, value in _torch_grads_as_keras(layer, net, units).items():
        np.testing.assert_allclose(layer.grads[key], value, rtol=0, atol=1e-10, err_msg=key)
