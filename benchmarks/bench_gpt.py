"""W7: a tiny-GPT training epoch, tinynet against a minimal NumPy loop and PyTorch.

The model of the names test (:func:`tinynet.text.gpt`): token Embedding(27, 64) plus a learned
position embedding (16, 64), two pre-norm transformer blocks (LayerNorm, causal 4-head attention
with head size 16, residual Add; LayerNorm, Dense(256, gelu_tanh), Dense(64), residual Add), a
final LayerNorm and Dense(27, softmax), the sparse categorical cross-entropy over every position
(N, T) = (4,096, 16), Adam, float32, batch 128: one epoch of ``fit`` is 32 training steps.

:class:`MinimalGPT` is the reference: the same computation written as leanly as NumPy allows,
batch-major throughout ((B*T, D) rows for every per-position map), the causal mask as one
precomputed additive matrix of 0 and -inf, the GELU's sigmoid kept from the forward pass for the
backward (``0.5 (1 + tanh u)``, one ufunc), the layer norms' compact backward, the fused softmax
cross-entropy gradient, the embedding's scatter-add with ``np.add.at``, and the same flat Adam as
the other references (:class:`benchmarks.minimal_numpy.FlatAdam`).  Its parameters are in
tinynet's order, so :func:`benchmarks.check_equivalence.check_gpt` copies them across one to one.
"""

from __future__ import annotations

import math

import numpy as np

import tinynet as tn

from .minimal_numpy import FlatAdam

VOCAB, CONTEXT, WIDTH, HEADS, LAYERS, SAMPLES, BATCH = 27, 16, 64, 4, 2, 4096, 128
HIDDEN = 4 * WIDTH
EPS = 1e-5  # the layer norms' epsilon
_C, _K = math.sqrt(2.0 / math.pi), 0.044715  # the tanh GELU's constants


def data(seed: int = 0):
    """Random token sequences and their next-token targets (the cost does not depend on the text)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, VOCAB, size=(SAMPLES, CONTEXT + 1))
    return ids[:, :-1].copy(), ids[:, 1:].copy()


def tinynet_model() -> tn.Model:
    tn.set_seed(0)
    model = tn.text.gpt(VOCAB, CONTEXT, d_model=WIDTH, num_heads=HEADS, num_layers=LAYERS)
    model.compile(tn.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    return model


def param_shapes() -> list[tuple[int, ...]]:
    """The parameters in tinynet's order: embeddings, then per block LN, MHA, LN, Dense, Dense; LN, head."""
    V, T, D, F = VOCAB, CONTEXT, WIDTH, HIDDEN
    shapes: list[tuple[int, ...]] = [(V, D), (T, D)]
    for _ in range(LAYERS):
        shapes += [(D,), (D,)]  # gamma, beta
        shapes += [(D, D), (D,)] * 4  # Wq, bq, Wk, bk, Wv, bv, Wo, bo
        shapes += [(D,), (D,), (D, F), (F,), (F, D), (D,)]  # gamma, beta, W1, b1, W2, b2
    return [*shapes, (D,), (D,), (D, V), (V,)]


class MinimalGPT:
    """The W7 computation by hand (module docstring)."""

    def __init__(self, batch: int = BATCH, seed: int = 0):
        B, T, D, F, V, H = batch, CONTEXT, WIDTH, HIDDEN, VOCAB, HEADS
        f32 = np.float32
        self.opt = FlatAdam(param_shapes(), f32, np.random.default_rng(seed))
        P, G = self.opt.params, self.opt.grads
        self.Emb, self.Pos = P[0], P[1]
        self.dEmb, self.dPos = G[0], G[1]
        self.blocks = [P[2 + 16 * i : 2 + 16 * (i + 1)] for i in range(LAYERS)]
        self.dblocks = [G[2 + 16 * i : 2 + 16 * (i + 1)] for i in range(LAYERS)]
        self.gf, self.bf, self.Wh, self.bh = P[-4:]
        self.dgf, self.dbf, self.dWh, self.dbh = G[-4:]
        for p in (*(b[k] for b in self.blocks for k in (0, 10)), self.gf):
            p[...] = 1.0  # layer-norm gains
        self.B, self.M = B, B * T
        self.scale = 1.0 / math.sqrt(D // H)
        self.mask = np.where(np.tril(np.ones((T, T), bool)), 0.0, -np.inf).astype(f32)
        M = self.M
        # per block: the stream before each half, the norms, attention, the MLP's pre-activation and sigmoid
        self.x = np.empty((2 * LAYERS + 1, M, D), f32)
        self.xhat = np.empty((2 * LAYERS + 1, M, D), f32)
        self.inv = np.empty((2 * LAYERS + 1, M, 1), f32)
        self.h = np.empty((2 * LAYERS + 1, M, D), f32)
        self.q = np.empty((LAYERS, 3, M, D), f32)  # q, k, v
        self.p = np.empty((LAYERS, B, H, T, T), f32)
        self.o = np.empty((LAYERS, M, D), f32)
        self.z = np.empty((LAYERS, M, F), f32)
        self.s = np.empty((LAYERS, M, F), f32)
        self.g = np.empty((LAYERS, M, F), f32)
        self.logits = np.empty((M, V), f32)
        self.dx = np.empty((M, D), f32)
        self.dh = np.empty((M, D), f32)
        self.dz = np.empty((M, F), f32)
        self.dqkv = np.empty((3, M, D), f32)
        self.tmp = np.empty((M, D), f32)
        self.scratch = np.empty((M, D), f32)  # the norms' backward
        self.ones_M = np.ones(M, f32)
        self.rows = np.arange(M)

    def _heads(self, a: np.ndarray) -> np.ndarray:
        """(B*T, D) -> (B, H, T, D/H), a view."""
        return a.reshape(self.B, CONTEXT, HEADS, WIDTH // HEADS).transpose(0, 2, 1, 3)

    def _merge(self, a: np.ndarray, out: np.ndarray) -> np.ndarray:
        """(B, H, T, D/H) -> (B*T, D) into ``out``."""
        out.reshape(self.B, CONTEXT, HEADS, WIDTH // HEADS)[...] = a.transpose(0, 2, 1, 3)
        return out

    def _norm(self, i: int, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
        x, xhat, inv = self.x[i], self.xhat[i], self.inv[i]
        np.subtract(x, (x @ self._mean_D)[:, None], out=xhat)
        np.sqrt((np.square(xhat) @ self._mean_D)[:, None] + EPS, out=inv)
        np.divide(1.0, inv, out=inv)
        xhat *= inv
        np.multiply(xhat, gamma, out=self.h[i])
        self.h[i] += beta
        return self.h[i]

    def _norm_backward(self, i: int, g: np.ndarray, gamma: np.ndarray, dgamma, dbeta) -> np.ndarray:
        """dL/dx of layer norm ``i`` from ``g`` = dL/dh, into self.dh; the gains' gradients too."""
        xhat, t = self.xhat[i], self.scratch
        np.matmul(self.ones_M, g, out=dbeta)
        np.multiply(g, xhat, out=t)
        np.matmul(self.ones_M, t, out=dgamma)
        mean_gx = (t @ (gamma * self._mean_D))[:, None]  # mean(ghat xhat), ghat = g gamma
        ghat = np.multiply(g, gamma, out=self.dh)
        mean_g = (ghat @ self._mean_D)[:, None]
        np.multiply(xhat, mean_gx, out=t)
        ghat -= t
        ghat -= mean_g
        ghat *= self.inv[i]
        return ghat

    _mean_D = np.full(WIDTH, 1.0 / WIDTH, np.float32)

    def step(self, ids: np.ndarray, targets: np.ndarray) -> float:
        """One training step on ``ids``, ``targets`` (B, T)."""
        M, D = self.M, WIDTH
        x = self.x
        # forward: embeddings
        np.take(self.Emb, ids.reshape(-1), axis=0, out=x[0])
        x[0].reshape(self.B, CONTEXT, D)[...] += self.Pos
        for layer, block in enumerate(self.blocks):
            g1, b1, Wq, bq, Wk, _bk, Wv, bv, Wo, bo, g2, b2, W1, c1, W2, c2 = block
            i = 2 * layer
            h = self._norm(i, g1, b1)
            q, k, v = self.q[layer]
            np.matmul(h, Wq, out=q)
            q += bq
            np.matmul(h, Wk, out=k)  # the key bias cancels in the softmax (tinynet leaves it out too)
            np.matmul(h, Wv, out=v)
            v += bv
            p = self.p[layer]
            np.matmul(self._heads(q), self._heads(k).transpose(0, 1, 3, 2), out=p)
            p *= self.scale
            p += self.mask
            p -= p.max(axis=-1, keepdims=True)
            np.exp(p, out=p)
            p /= p.sum(axis=-1, keepdims=True)
            o = self._merge(p @ self._heads(v), self.o[layer])
            np.matmul(o, Wo, out=x[i + 1])
            x[i + 1] += bo
            x[i + 1] += x[i]
            h = self._norm(i + 1, g2, b2)
            z, s, g = self.z[layer], self.s[layer], self.g[layer]
            np.matmul(h, W1, out=z)
            z += c1
            np.multiply(z, z, out=s)  # s = (1 + tanh(c (z + k z^3))) / 2
            s *= _K
            s += 1.0
            s *= z
            s *= _C
            np.tanh(s, out=s)
            s += 1.0
            s *= 0.5
            np.multiply(z, s, out=g)
            np.matmul(g, W2, out=x[i + 2])
            x[i + 2] += c2
            x[i + 2] += x[i + 1]
        last = 2 * LAYERS
        h = self._norm(last, self.gf, self.bf)
        zl = self.logits
        np.matmul(h, self.Wh, out=zl)
        zl += self.bh
        zl -= zl.max(axis=1, keepdims=True)
        np.exp(zl, out=zl)
        zl /= zl.sum(axis=1, keepdims=True)  # p
        flat = targets.reshape(-1)
        loss = float(-np.log(zl[self.rows, flat]).mean())
        zl[self.rows, flat] -= 1.0
        zl *= 1.0 / M  # dL/dlogits = (p - t) / (B T)
        # backward: the head and the final norm
        np.matmul(h.T, zl, out=self.dWh)
        np.matmul(self.ones_M, zl, out=self.dbh)
        np.matmul(zl, self.Wh.T, out=self.dx)
        dx = self.dx
        dx[...] = self._norm_backward(last, dx, self.gf, self.dgf, self.dbf)
        for layer in range(LAYERS - 1, -1, -1):
            g1, b1, Wq, bq, Wk, _bk, Wv, bv, Wo, bo, g2, b2, W1, c1, W2, c2 = self.blocks[layer]
            grads = self.dblocks[layer]
            dg1, db1, dWq, dbq, dWk, dbk, dWv, dbv, dWo, dbo, dg2, db2, dW1, dc1, dW2, dc2 = grads
            i = 2 * layer
            # the MLP: dx flows on through the residual and into the branch
            z, s, g, dz = self.z[layer], self.s[layer], self.g[layer], self.dz
            np.matmul(g.T, dx, out=dW2)
            np.matmul(self.ones_M, dx, out=dc2)
            np.matmul(dx, W2.T, out=dz)  # dL/dg
            # gelu'(z) = s + z (1 - t^2) c (1 + 3k z^2) / 2 with t = 2s - 1: (1 - t^2)/2 = 2 s (1 - s)
            np.multiply(z, z, out=g)  # g is free now
            g *= 3.0 * _K
            g += 1.0
            g *= z
            g *= 2.0 * _C
            np.subtract(1.0, s, out=z)  # so is z
            z *= s
            g *= z
            g += s
            dz *= g
            np.matmul(self.h[i + 1].T, dz, out=dW1)
            np.matmul(self.ones_M, dz, out=dc1)
            np.matmul(dz, W1.T, out=self.tmp)
            dx += self._norm_backward(i + 1, self.tmp, g2, dg2, db2)
            # attention
            np.matmul(self.o[layer].T, dx, out=dWo)
            np.matmul(self.ones_M, dx, out=dbo)
            do = self._heads(np.matmul(dx, Wo.T, out=self.tmp))
            q, k, v = (self._heads(a) for a in self.q[layer])
            p = self.p[layer]
            dq, dk, dv = self.dqkv
            self._merge(p.transpose(0, 1, 3, 2) @ do, dv)
            dp = do @ v.transpose(0, 1, 3, 2)
            dp -= np.einsum("bhij,bhij->bhi", dp, p)[..., None]
            dp *= p
            dp *= self.scale
            self._merge(dp @ k, dq)
            self._merge(dp.transpose(0, 1, 3, 2) @ q, dk)
            h = self.h[i]
            np.matmul(h.T, dq, out=dWq)
            np.matmul(self.ones_M, dq, out=dbq)
            np.matmul(h.T, dk, out=dWk)
            dbk[...] = 0.0
            np.matmul(h.T, dv, out=dWv)
            np.matmul(self.ones_M, dv, out=dbv)
            dh = np.matmul(dq, Wq.T, out=self.tmp)
            dh += dk @ Wk.T
            dh += dv @ Wv.T
            dx += self._norm_backward(i, dh, g1, dg1, db1)
        # the embeddings
        np.add.reduce(dx.reshape(self.B, CONTEXT, D), axis=0, out=self.dPos)
        self.dEmb[...] = 0.0
        np.add.at(self.dEmb, ids.reshape(-1), dx)
        self.opt.step()
        return loss

    def fit_epoch(self, x: np.ndarray, y: np.ndarray) -> float:
        """One shuffled epoch over (N, T) ids and targets (whole batches: N is a multiple of B)."""
        order = np.random.default_rng(self.opt.t).permutation(len(x))
        total = 0.0
        for lo in range(0, len(x), self.B):
            idx = order[lo : lo + self.B]
            total += self.step(x.take(idx, axis=0), y.take(idx, axis=0))
        return total


def torch_trainer(x: np.ndarray, y: np.ndarray, batch: int = BATCH):
    """The W7 model in PyTorch: the same pre-norm blocks with ``F.scaled_dot_product_attention(is_causal=True)``."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    from .torch_impl import TorchTrainer

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(WIDTH, eps=EPS), nn.LayerNorm(WIDTH, eps=EPS)
            self.q, self.k, self.v, self.o = (nn.Linear(WIDTH, WIDTH) for _ in range(4))
            self.up, self.down = nn.Linear(WIDTH, HIDDEN), nn.Linear(HIDDEN, WIDTH)

        def forward(self, x):
            B, T, D = x.shape
            h = self.norm1(x)
            q, k, v = (f(h).view(B, T, HEADS, D // HEADS).transpose(1, 2) for f in (self.q, self.k, self.v))
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.o(a.transpose(1, 2).reshape(B, T, D))
            return x + self.down(F.gelu(self.up(self.norm2(x)), approximate="tanh"))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(VOCAB, WIDTH)
            self.position = nn.Parameter(torch.zeros(CONTEXT, WIDTH))
            self.blocks = nn.Sequential(*(Block() for _ in range(LAYERS)))
            self.norm = nn.LayerNorm(WIDTH, eps=EPS)
            self.head = nn.Linear(WIDTH, VOCAB)

        def forward(self, ids):
            h = self.blocks(self.embedding(ids) + self.position)
            return self.head(self.norm(h)).reshape(-1, VOCAB)

    cross_entropy = nn.CrossEntropyLoss()

    def loss(logits, targets):
        return cross_entropy(logits, targets.reshape(-1))

    torch.manual_seed(0)
    return TorchTrainer(GPT(), loss, x, y, batch)
