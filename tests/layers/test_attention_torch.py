"""Attention against PyTorch (CPU, float64): the core against F.scaled_dot_product_attention, the layer
against nn.MultiheadAttention with the same weights; forward, input and parameter gradients, to 1e-10."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinynet import ops
from tinynet.gradcheck import float64_defaults
from tinynet.layers import MultiHeadAttention

from ..strategies import seeds

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = dict(rtol=1e-10, atol=1e-12)


def tensor(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def trailing_padding(rng, N, T):
    """(N, T) 0/1, at least one real token first in each sample: no query is fully masked (PyTorch gives NaN)."""
    lengths = rng.integers(1, T + 1, size=N)
    return (np.arange(T)[None, :] < lengths[:, None]).astype(np.float64)


@settings(max_examples=20, deadline=None)
@given(
    N=st.integers(1, 3),
    h=st.integers(1, 3),
    T=st.integers(1, 6),
    d_k=st.integers(1, 5),
    d_v=st.integers(1, 5),
    masking=st.sampled_from(["none", "causal", "padding", "both"]),
    seed=seeds,
)
def test_core_matches_torch_sdpa(N, h, T, d_k, d_v, masking, seed):
    rng = np.random.default_rng(seed)
    q, k = rng.normal(size=(N, h, T, d_k)), rng.normal(size=(N, h, T, d_k))
    v, G = rng.normal(size=(N, h, T, d_v)), rng.normal(size=(N, h, T, d_v))
    causal = masking in ("causal", "both")
    padding = trailing_padding(rng, N, T) if masking in ("padding", "both") else None
    mask = ops.attention_mask(T, causal, padding)
    o, p = ops.scaled_dot_product_attention(q, k, v, mask)
    dq, dk, dv = ops.scaled_dot_product_attention_backward(G, q, k, v, p)

    tq, tk, tv = tensor(q), tensor(k), tensor(v)
    if masking == "causal":  # PyTorch's own causal flag
        to = F.scaled_dot_product_attention(tq, tk, tv, is_causal=True)
    elif mask is None:
        to = F.scaled_dot_product_attention(tq, tk, tv)
    else:  # a boolean attn_mask: True where attention is allowed, as ours
        to = F.scaled_dot_product_attention(
            tq, tk, tv, attn_mask=torch.tensor(np.broadcast_to(mask, p.shape))
        )
    to.backward(torch.tensor(G))
    np.testing.assert_allclose(o, to.detach().numpy(), **TOL)
    for ours, theirs in ((dq, tq), (dk, tk), (dv, tv)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), **TOL)


@settings(max_examples=15, deadline=None)
@given(
    N=st.integers(1, 3),
    T=st.integers(1, 6),
    h=st.integers(1, 3),
    head=st.integers(1, 3),
    causal=st.booleans(),
    padded=st.booleans(),
    seed=seeds,
)
def test_layer_matches_torch_multihead_attention(N, T, h, head, causal, padded, seed):
    # nn.MultiheadAttention has head size D / heads for queries, keys and values: key_dim = value_dim = D / h
    D = h * head
    rng = np.random.default_rng(seed)
    with float64_defaults():
        layer = MultiHeadAttention(h, head, causal=causal)
    layer.build((T, D))
    for p in layer.params.values():
        p[...] = rng.normal(size=p.shape) / np.sqrt(D)
    x, G = rng.normal(size=(N, T, D)), rng.normal(size=(N, T, D))
    mask = trailing_padding(rng, N, T) if padded else None
    y = layer([x, mask] if padded else x, training=True)
    dx = layer.backward(G)
    dx = dx[0] if padded else dx

    P = layer.params
    mha = torch.nn.MultiheadAttention(D, h, bias=True, batch_first=True, dtype=torch.float64)
    with torch.no_grad():  # torch keeps (out, in) matrices: the transposes of ours, stacked q, k, v
        mha.in_proj_weight.copy_(torch.tensor(np.concatenate([P["Wq"].T, P["Wk"].T, P["Wv"].T])))
        mha.in_proj_bias.copy_(torch.tensor(np.concatenate([P["bq"], P["bk"], P["bv"]])))
        mha.out_proj.weight.copy_(torch.tensor(P["Wo"].T))
        mha.out_proj.bias.copy_(torch.tensor(P["bo"]))
    tx = tensor(x)
    attn_mask = torch.tensor(np.triu(np.ones((T, T), bool), 1)) if causal else None  # True: not allowed
    key_padding_mask = torch.tensor(mask == 0) if padded else None  # True: padding
    ty, weights = mha(
        tx, tx, tx, attn_mask=attn_mask, key_padding_mask=key_padding_mask, average_attn_weights=False
    )
    ty.backward(torch.tensor(G))

    np.testing.assert_allclose(y, ty.detach().numpy(), **TOL)
    np.testing.assert_allclose(layer.attention_scores, weights.detach().numpy(), **TOL)
    np.testing.assert_allclose(dx, tx.grad.numpy(), **TOL)
    g_in, g_in_b = mha.in_proj_weight.grad.numpy(), mha.in_proj_bias.grad.numpy()
    grads = layer.grads
    np.testing.assert_allclose(np.concatenate([grads["Wq"].T, grads["Wk"].T, grads["Wv"].T]), g_in, **TOL)
    np.testing.assert_allclose(np.concatenate([grads["bq"], grads["bk"], grads["bv"]]), g_in_b, **TOL)
    np.testing.assert_allclose(grads["Wo"].T, mha.out_proj.weight.grad.numpy(), **TOL)
    np.testing.assert_allclose(grads["bo"], mha.out_proj.bias.grad.numpy(), **TOL)
