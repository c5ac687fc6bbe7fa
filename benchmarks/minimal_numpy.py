"""Minimal hand-written NumPy training loops: the speed limit tinynet is measured against.

Each class computes exactly what the corresponding tinynet model computes in
``fit`` (same shapes, same fused loss gradient, same Adam rule, the loss value
of every batch, a permutation and a ``take`` per epoch) and nothing else, as
leanly as NumPy allows: every array is allocated once, every operation writes
with ``out=``, the last partial batch uses views of the buffers, every view a
step needs is made once per batch size and looked up after that (as tinynet's
layers do), the first layer's input gradient is never computed, and the
floating-point error state is set once per epoch.  Only the initial weights' scheme differs (plain scaled
normals): it does not change the cost.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def first_rows(cache: dict, n: int, arrays) -> tuple:
    """The first ``n`` rows of each of ``arrays`` (an array itself when it has ``n`` rows),
    made once per ``n`` and kept in ``cache``: a step looks its views up instead of slicing."""
    views = cache.get(n)
    if views is None:
        views = cache[n] = tuple(a if len(a) == n else a[:n] for a in arrays)
    return views


class FlatAdam:
    """Adam (torch's form) on one flat parameter buffer, with gradients and moments flat too.

    ``theta -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)``: the rule of
    :class:`tinynet.optimizers.Adam`, in the same ufunc passes, with its default ``eps`` (Keras' 1e-7).
    """

    #: elements per chunk of the update, as tinynet's (the passes then stay in the cache)
    chunk = 65536

    def __init__(self, sizes: list[tuple[int, ...]], dtype, rng, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7):
        total = sum(math.prod(s) for s in sizes)
        self.P = np.empty(total, dtype)
        self.G = np.zeros(total, dtype)
        self.m, self.v = np.zeros(total, dtype), np.zeros(total, dtype)
        tmp, c = np.empty(min(total, self.chunk), dtype), self.chunk
        self.chunks = [
            (
                self.P[i : i + c],
                self.G[i : i + c],
                self.m[i : i + c],
                self.v[i : i + c],
                tmp[: min(c, total - i)],
            )
            for i in range(0, total, c)
        ]
        self.params, self.grads, offset = [], [], 0
        for shape in sizes:
            n = math.prod(shape)
            p = self.P[offset : offset + n].reshape(shape)
            fan_in = shape[0] if len(shape) == 2 else math.prod(shape[1:])
            p[...] = rng.standard_normal(shape) * math.sqrt(2.0 / fan_in) if len(shape) > 1 else 0.0
            self.params.append(p)
            self.grads.append(self.G[offset : offset + n].reshape(shape))
            offset += n
        self.lr, self.b1, self.b2, self.eps, self.t = lr, b1, b2, eps, 0

    def step(self) -> None:
        self.t += 1
        for chunk in self.chunks:
            self._update(*chunk)

    def _update(self, p, g, m, v, tmp) -> None:
        b1, b2 = self.b1, self.b2
        m *= b1
        np.multiply(g, 1.0 - b1, out=tmp)
        m += tmp
        v *= b2
        np.square(g, out=tmp)
        tmp *= 1.0 - b2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp *= 1.0 / math.sqrt(1.0 - b2**self.t)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= self.lr / (1.0 - b1**self.t)
        p -= tmp


class SoftmaxCE:
    """Softmax + categorical cross-entropy from the logits, value and fused gradient ``(p - t)/N``."""

    def __init__(self, batch: int, k: int, dtype):
        self.m = np.empty((batch, 1), dtype)  # row maxima and sums, as columns that broadcast
        self.s = np.empty((batch, 1), dtype)
        self.rows: dict[int, tuple] = {}

    def value_and_grad(self, z: np.ndarray, t: np.ndarray, g: np.ndarray) -> float:
        n = len(z)
        m, s = first_rows(self.rows, n, (self.m, self.s))
        np.maximum.reduce(z, axis=1, keepdims=True, out=m)
        np.subtract(z, m, out=g)  # shifted logits z - max
        # loss_n = log sum_j e^{z_nj - m_n} - sum_k t_nk (z_nk - m_n), for rows of t summing to 1
        dot = float(np.vdot(t, g))
        np.exp(g, out=g)
        np.add.reduce(g, axis=1, keepdims=True, out=s)
        g /= s
        g -= t
        g *= 1.0 / n
        np.log(s, out=s)
        return (float(np.add.reduce(s, axis=None, dtype=np.float64)) - dot) / n


class SigmoidBCE:
    """Sigmoid + binary cross-entropy from the logits, value and fused gradient ``(p - t)/N``.

    With ``e = e^{-|z|}``: ``p = 1/(1+e)`` where ``z >= 0`` and ``e/(1+e)`` elsewhere, and
    the loss is ``A(z) - z t`` with ``A(z) = log(1 + e^z) = max(z, 0) + log(1 + e)``: no
    exponential of a positive number.  (Of the forms measured, the fastest: a masked
    ``np.multiply(..., where=)`` for ``e/(1+e)`` took about a quarter longer at batch 32.)
    """

    def __init__(self, batch: int, k: int, dtype):
        self.e = np.empty((batch, k), dtype)
        self.den = np.empty((batch, k), dtype)
        self.A = np.empty((batch, k), dtype)
        self.nonneg = np.empty((batch, k), bool)
        self.rows: dict[int, tuple] = {}

    def value_and_grad(self, z: np.ndarray, t: np.ndarray, g: np.ndarray) -> float:
        e, den, A, nonneg = first_rows(self.rows, len(z), (self.e, self.den, self.A, self.nonneg))
        np.abs(z, out=e)
        np.negative(e, out=e)
        np.exp(e, out=e)  # e = e^{-|z|}
        np.add(e, 1.0, out=den)
        np.copyto(g, e)
        np.copyto(g, 1.0, where=np.greater_equal(z, 0, out=nonneg))
        np.divide(g, den, out=g)  # p
        np.log1p(e, out=A)
        np.maximum(z, 0, out=den)  # 1 + e is no longer needed
        A += den
        loss = (float(np.add.reduce(A, axis=None)) - float(np.vdot(z, t))) / z.size
        g -= t
        g *= 1.0 / z.size
        return loss


class EpochLoop:
    """The epoch both reference models share: a permutation, then ``step`` on each batch.

    A subclass sets ``rng``, ``batch``, the batch buffers ``xb`` and ``yb``, and
    ``step(x, t) -> loss``.  A full batch fills the buffers themselves, the last,
    smaller one views of their first rows.
    """

    def fit_epoch(self, x: np.ndarray, y: np.ndarray) -> float:
        n, bs = len(x), self.batch
        order = self.rng.permutation(n)
        total = 0.0
        batch_rows: dict[int, tuple] = {}
        with np.errstate(over="ignore", under="ignore"):
            for lo in range(0, n, bs):
                idx = order[lo : lo + bs]
                k = len(idx)
                xb_rows, yb_rows = first_rows(batch_rows, k, (self.xb, self.yb))
                xb = x.take(idx, axis=0, out=xb_rows)
                yb = y.take(idx, axis=0, out=yb_rows)
                total += self.step(xb, yb) * k
        return total / n


class MinimalMLP(EpochLoop):
    """Dense layers with ReLU, then a fused softmax or sigmoid cross-entropy head, trained by Adam.

    Parameters
    ----------
    sizes : list of int
        Units per layer, inputs first: ``[784, 256, 128, 10]``.
    head : {"softmax", "sigmoid"}
    batch : int
    dtype, seed, lr
    """

    def __init__(self, sizes, head, batch, dtype=np.float32, seed=0, lr=1e-3):
        self.rng = np.random.default_rng(seed)
        shapes = []
        for fan_in, fan_out in itertools.pairwise(sizes):
            shapes += [(fan_in, fan_out), (fan_out,)]
        self.opt = FlatAdam(shapes, dtype, self.rng, lr)
        self.W, self.b = self.opt.params[0::2], self.opt.params[1::2]
        self.dW, self.db = self.opt.grads[0::2], self.opt.grads[1::2]
        self.z = [np.empty((batch, k), dtype) for k in sizes[1:]]  # pre-activations, ReLU in place
        self.dz = [np.empty((batch, k), dtype) for k in sizes[1:]]
        self.mask = [np.empty((batch, k), bool) for k in sizes[1:-1]]
        self.zeros = [np.zeros((batch, k), dtype) for k in sizes[1:-1]]
        self.ones = np.ones(batch, dtype)
        self.xb = np.empty((batch, sizes[0]), dtype)
        self.yb = np.empty((batch, sizes[-1]), dtype)
        self.loss = (SoftmaxCE if head == "softmax" else SigmoidBCE)(batch, sizes[-1], dtype)
        self.batch = batch
        self.rows: dict[int, tuple] = {}  # batch size -> the work arrays' views, made once

    def step(self, x: np.ndarray, t: np.ndarray) -> float:
        n, last = len(x), len(self.W) - 1
        rows = self.rows.get(n)
        if rows is None:
            groups = (self.z, self.dz, self.mask, self.zeros, (self.ones,))
            rows = self.rows[n] = tuple(first_rows({}, n, group) for group in groups)
        z, dz, mask, zeros, (ones,) = rows
        h = x
        for i, (W, b) in enumerate(zip(self.W, self.b, strict=True)):
            zi = z[i]
            np.matmul(h, W, out=zi)
            zi += b
            if i < last:
                np.maximum(zi, zeros[i], out=zi)
            h = zi
        g = dz[last]
        loss = self.loss.value_and_grad(h, t, g)
        for i in range(last, -1, -1):
            h_in = x if i == 0 else z[i - 1]
            np.matmul(h_in.T, g, out=self.dW[i])
            np.matmul(ones, g, out=self.db[i])
            if i:  # the first layer's input gradient is never needed
                g_in = dz[i - 1]
                np.matmul(g, self.W[i].T, out=g_in)
                np.greater(h_in, 0.0, out=mask[i - 1])
                np.multiply(g_in, mask[i - 1], out=g_in)
                g = g_in
        self.opt.step()
        return loss

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Inference on fresh arrays (as ``Sequential.predict`` returns a fresh array)."""
        last = len(self.W) - 1
        h = x
        for i, (W, b) in enumerate(zip(self.W, self.b, strict=True)):
            z = h @ W
            z += b
            if i < last:
                np.maximum(z, 0.0, out=z)
            h = z
        np.subtract(h, np.maximum.reduce(h, axis=1)[:, None], out=h)
        np.exp(h, out=h)
        h /= np.add.reduce(h, axis=1)[:, None]
        return h


class MinimalCNN(EpochLoop):
    """Conv2D(F, k x k, same, ReLU) -> MaxPool 2x2 -> Flatten -> Dense(K) + softmax cross-entropy, Adam.

    Images are NCHW on input, as tinynet's.  The lean layout: the im2col matrix
    ``X_col`` (C*k*k, N*H*W) is copied with its inner loop along image rows, and
    the convolution is the one GEMM ``X_col^T W^T``, whose result is already
    channels-last (N, H, W, F); pooling and flattening then work on that layout
    (the Dense weights are just permuted relative to an NCHW flatten, which
    changes nothing in the cost).
    Pooling is ``np.maximum`` over the four strided window positions, with the
    first maximum winning ties (as tinynet) and the winner's position kept as
    a running ``np.maximum`` (a masked ``np.copyto`` is several times slower on
    random masks); its backward writes each position's share through a mask,
    with no scatter, since 2x2 windows of stride 2 tile the image.
    """

    def __init__(self, image, filters, k, classes, batch, dtype=np.float32, seed=0, lr=1e-3):
        self.rng = np.random.default_rng(seed)
        c, h, w = image
        assert h % 2 == 0 and w % 2 == 0, "2x2 pooling without remainder"
        self.c, self.h, self.w, self.f, self.k = c, h, w, filters, k
        flat = (h // 2) * (w // 2) * filters
        self.opt = FlatAdam(
            [(filters, c * k * k), (filters,), (flat, classes), (classes,)], dtype, self.rng, lr
        )
        self.Wc, self.bc, self.Wd, self.bd = self.opt.params
        self.dWc, self.dbc, self.dWd, self.dbd = self.opt.grads
        p = k // 2
        self.pad = np.zeros((batch, c, h + 2 * p, w + 2 * p), dtype)  # the border stays zero
        # im2col rows (c, i, j), columns (n, y, x): the copy's inner loop runs along image rows,
        # and a flat buffer's prefix serves the last, smaller batch
        self.col_flat = np.empty(c * k * k * batch * h * w, dtype)
        self.z = np.empty((batch, h, w, filters), dtype)
        self.zeros = np.zeros((batch, h, w, filters), dtype)
        self.y = np.empty((batch, h // 2, w // 2, filters), dtype)
        self.arg = np.empty((batch, h // 2, w // 2, filters), np.int8)
        self.arg_tmp = np.empty((batch, h // 2, w // 2, filters), np.int8)
        self.won = np.empty((batch, h // 2, w // 2, filters), bool)
        self.logits = np.empty((batch, classes), dtype)
        self.g = np.empty((batch, classes), dtype)
        self.gy = np.empty((batch, flat), dtype)
        self.gz = np.empty((batch, h, w, filters), dtype)
        self.mask = np.empty((batch, h, w, filters), bool)
        self.ones = np.ones(batch, dtype)
        self.ones_pix = np.ones(batch * h * w, dtype)
        self.xb = np.empty((batch, *image), dtype)
        self.yb = np.empty((batch, classes), dtype)
        self.loss = SoftmaxCE(batch, classes, dtype)
        self.batch = batch
        self.rows: dict[int, tuple] = {}  # batch size -> a step's views (_views)

    @staticmethod
    def _windows(a: np.ndarray) -> tuple[np.ndarray, ...]:
        """The four (N, H/2, W/2, F) strided views of a 2x2 pooling, in raster order."""
        return tuple(a[:, i::2, j::2] for i in (0, 1) for j in (0, 1))

    def _views(self, n: int) -> tuple:
        """Every view a step of ``n`` images uses, made once per batch size."""
        views = self.rows.get(n)
        if views is None:
            c, h, w, f, k = self.c, self.h, self.w, self.f, self.k
            p = k // 2
            pad = self.pad[:n]
            col = self.col_flat[: c * k * k * n * h * w].reshape(c, k, k, n, h, w)
            # the window view of the padding buffer, whose copy into col is the im2col
            windows = sliding_window_view(pad, (k, k), axis=(2, 3)).transpose(1, 4, 5, 0, 2, 3)
            col2 = col.reshape(c * k * k, n * h * w)
            z, y, gz = self.z[:n], self.y[:n], self.gz[:n]
            views = self.rows[n] = (
                pad[:, :, p : p + h, p : p + w],  # the interior the images are copied into
                (col, windows, col2.T),
                (z, z.reshape(n * h * w, f), self.zeros[:n], self._windows(z)),
                (y, self.arg[:n], self.won[:n], self.arg_tmp[:n], y.reshape(n, -1)),
                (self.logits[:n], self.g[:n], self.ones[:n], self.gy[:n], self.gy[:n].reshape(y.shape)),
                (gz, self.mask[:n], self._windows(gz), gz.reshape(n * h * w, f), self.ones_pix[: n * h * w]),
            )
        return views

    def step(self, x: np.ndarray, t: np.ndarray) -> float:
        interior, (col, windows, col_t), conv, pool, dense, back = self._views(len(x))
        z, z_rows, zeros, wins = conv
        y, arg, won, tmp, flat = pool
        logits, g, ones, gy_flat, gy = dense
        gz, mask, gz_wins, gz_rows, ones_pix = back
        np.copyto(interior, x)
        np.copyto(col, windows)
        np.matmul(col_t, self.Wc.T, out=z_rows)  # channels-last result
        z += self.bc
        np.maximum(z, zeros, out=z)
        np.copyto(y, wins[0])
        arg.fill(0)
        for pos in (1, 2, 3):
            # a strict ">" keeps the first maximum; positions grow, so arg = max(arg, pos * won)
            # records the last strict winner without a branchy masked copy
            np.greater(wins[pos], y, out=won)
            np.maximum(y, wins[pos], out=y)
            np.multiply(won, pos, out=tmp)
            np.maximum(arg, tmp, out=arg)
        np.matmul(flat, self.Wd, out=logits)
        logits += self.bd
        loss = self.loss.value_and_grad(logits, t, g)
        np.matmul(flat.T, g, out=self.dWd)
        np.matmul(ones, g, out=self.dbd)
        np.matmul(g, self.Wd.T, out=gy_flat)
        for pos, view in enumerate(gz_wins):
            np.equal(arg, pos, out=won)
            np.multiply(gy, won, out=view)
        np.greater(z, 0.0, out=mask)
        np.multiply(gz, mask, out=gz)
        np.matmul(gz_rows.T, col_t, out=self.dWc)
        np.matmul(ones_pix, gz_rows, out=self.dbc)
        self.opt.step()
        return loss
