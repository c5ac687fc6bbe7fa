"""W6: an LSTM language-model training epoch, tinynet against a minimal NumPy loop and PyTorch.

The model of the names test: Embedding(27, 16) -> LSTM(64, return_sequences=True) -> Dense(27,
softmax), the sparse categorical cross-entropy over every position (N, T) = (4,096, 16), Adam,
float32, batch 128: one epoch of ``fit`` is 32 training steps of 16 time steps each.

:class:`MinimalLSTM` is the reference: the same computation written as leanly as NumPy allows,
time-major throughout (no transposes), every array allocated once, ``out=`` where it helps, the
fused softmax cross-entropy gradient, the embedding's scatter-add with ``np.add.at``, and the
same flat Adam as the other references (:class:`benchmarks.minimal_numpy.FlatAdam`).
"""

from __future__ import annotations

import numpy as np

import tinynet as tn

from .minimal_numpy import FlatAdam

VOCAB, EMBED, UNITS, STEPS, SAMPLES, BATCH = 27, 16, 64, 16, 4096, 128


def data(seed: int = 0):
    """Random token sequences and their next-token targets (the cost does not depend on the text)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, VOCAB, size=(SAMPLES, STEPS + 1))
    return ids[:, :-1].copy(), ids[:, 1:].copy()


def tinynet_model() -> tn.Sequential:
    tn.set_seed(0)
    model = tn.Sequential(
        [
            tn.Input(shape=(STEPS,)),
            tn.layers.Embedding(VOCAB, EMBED),
            tn.layers.LSTM(UNITS, return_sequences=True),
            tn.layers.Dense(VOCAB, activation="softmax"),
        ]
    )
    model.compile(tn.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    return model


def _sigmoid(z: np.ndarray) -> None:
    """In place: sigma(z) = (1 + tanh(z / 2)) / 2."""
    z *= 0.5
    np.tanh(z, out=z)
    z *= 0.5
    z += 0.5


class MinimalLSTM:
    """The W6 computation by hand (module docstring)."""

    def __init__(self, batch: int = BATCH, seed: int = 0):
        V, E, H, T, B = VOCAB, EMBED, UNITS, STEPS, batch
        f32 = np.float32
        self.opt = FlatAdam(
            [(V, E), (E, 4 * H), (H, 4 * H), (4 * H,), (H, V), (V,)], f32, np.random.default_rng(seed)
        )
        self.Emb, self.W, self.U, self.b, self.Wd, self.bd = self.opt.params
        self.b[H : 2 * H] = 1.0  # the forget bias, as tinynet's unit_forget_bias
        self.B = B
        self.X = np.empty((T, B, E), f32)
        self.gates = np.empty((T, B, 4 * H), f32)
        self.hs = np.zeros((T + 1, B, H), f32)
        self.cs = np.zeros((T + 1, B, H), f32)
        self.phi_c = np.empty((T, B, H), f32)
        self.logits = np.empty((T * B, V), f32)
        self.dZ = np.empty((T, B, 4 * H), f32)
        self.dH = np.empty((T, B, H), f32)
        self.dX = np.empty((T, B, E), f32)
        self.dh = np.empty((B, H), f32)
        self.dc = np.empty((B, H), f32)
        self.tmp = np.empty((B, H), f32)
        self.rows = np.arange(T * B)

    def step(self, ids: np.ndarray, targets: np.ndarray) -> float:
        """One training step on time-major ``ids``, ``targets`` (T, B)."""
        E, H = EMBED, UNITS
        T, B = ids.shape
        X, gates, hs, cs, phi_c = self.X, self.gates, self.hs, self.cs, self.phi_c
        W, U, Wd = self.W, self.U, self.Wd
        dEmb, dW, dU, db, dWd, dbd = self.opt.grads
        # forward
        np.take(self.Emb, ids, axis=0, out=X)
        np.matmul(X.reshape(T * B, E), W, out=gates.reshape(T * B, 4 * H))
        gates += self.b
        for t in range(T):
            Z = gates[t]
            Z += hs[t] @ U
            _sigmoid(Z[:, : 2 * H])
            np.tanh(Z[:, 2 * H : 3 * H], out=Z[:, 2 * H : 3 * H])
            _sigmoid(Z[:, 3 * H :])
            np.multiply(Z[:, H : 2 * H], cs[t], out=cs[t + 1])
            np.multiply(Z[:, :H], Z[:, 2 * H : 3 * H], out=self.tmp)
            cs[t + 1] += self.tmp
            np.tanh(cs[t + 1], out=phi_c[t])
            np.multiply(Z[:, 3 * H :], phi_c[t], out=hs[t + 1])
        z = self.logits
        np.matmul(hs[1:].reshape(T * B, H), Wd, out=z)
        z += self.bd
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)  # p
        flat = targets.reshape(-1)
        loss = float(-np.log(z[self.rows, flat]).mean())
        z[self.rows, flat] -= 1.0
        z *= 1.0 / (T * B)  # dL/dlogits = (p - t) / (T B)
        # backward: the head
        np.matmul(hs[1:].reshape(T * B, H).T, z, out=dWd)
        np.sum(z, axis=0, out=dbd)
        np.matmul(z, Wd.T, out=self.dH.reshape(T * B, H))
        # BPTT
        dh, dc, tmp = self.dh, self.dc, self.tmp
        dh[...] = 0.0
        dc[...] = 0.0
        for t in range(T - 1, -1, -1):
            dh += self.dH[t]
            g = gates[t]
            i, f, gg, o = g[:, :H], g[:, H : 2 * H], g[:, 2 * H : 3 * H], g[:, 3 * H :]
            d = self.dZ[t]
            dZi, dZf, dZg, dZo = d[:, :H], d[:, H : 2 * H], d[:, 2 * H : 3 * H], d[:, 3 * H :]
            np.multiply(dh, phi_c[t], out=dZo)
            dZo *= o - o * o
            np.multiply(phi_c[t], phi_c[t], out=tmp)
            np.subtract(1.0, tmp, out=tmp)
            tmp *= o
            tmp *= dh
            dc += tmp
            np.multiply(dc, gg, out=dZi)
            dZi *= i - i * i
            np.multiply(dc, cs[t], out=dZf)
            dZf *= f - f * f
            np.multiply(dc, i, out=dZg)
            dZg *= 1.0 - gg * gg
            dc *= f
            np.matmul(d, U.T, out=dh)
        dZ2 = self.dZ.reshape(T * B, 4 * H)
        np.matmul(X.reshape(T * B, E).T, dZ2, out=dW)
        np.matmul(hs[:-1].reshape(T * B, H).T, dZ2, out=dU)
        np.sum(dZ2, axis=0, out=db)
        np.matmul(dZ2, W.T, out=self.dX.reshape(T * B, E))
        dEmb[...] = 0.0
        np.add.at(dEmb, ids.reshape(-1), self.dX.reshape(-1, E))
        self.opt.step()
        return loss

    def fit_epoch(self, x: np.ndarray, y: np.ndarray) -> float:
        """One shuffled epoch over (N, T) ids and targets (whole batches: N is a multiple of B)."""
        order = np.random.default_rng(self.opt.t).permutation(len(x))
        total = 0.0
        for lo in range(0, len(x), self.B):
            idx = order[lo : lo + self.B]
            total += self.step(np.ascontiguousarray(x[idx].T), np.ascontiguousarray(y[idx].T))
        return total


def torch_trainer(x: np.ndarray, y: np.ndarray, batch: int = BATCH):
    """The W6 model in PyTorch: Embedding, LSTM(batch_first), Linear, CrossEntropyLoss over every position."""
    import torch
    from torch import nn

    from .torch_impl import TorchTrainer

    class LanguageModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(VOCAB, EMBED)
            self.lstm = nn.LSTM(EMBED, UNITS, batch_first=True)
            self.head = nn.Linear(UNITS, VOCAB)

        def forward(self, ids):
            h, _ = self.lstm(self.embedding(ids))
            return self.head(h).reshape(-1, VOCAB)

    cross_entropy = nn.CrossEntropyLoss()

    def loss(logits, targets):
        return cross_entropy(logits, targets.reshape(-1))

    torch.manual_seed(0)
    return TorchTrainer(LanguageModel(), loss, x, y, batch)
