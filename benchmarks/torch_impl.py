"""The same workloads in PyTorch eager mode on the CPU (optional: skipped when torch is missing).

The loops are what a PyTorch user writes: ``randperm`` and indexing per epoch,
``zero_grad(set_to_none=True)``, ``backward``, ``step``, and ``loss.item()``
per batch (tinynet's ``fit`` also reads every batch's loss).  Integer labels
with ``CrossEntropyLoss`` are the same fused softmax cross-entropy as one-hot
targets.
"""

from __future__ import annotations

import itertools

import numpy as np

try:
    import torch
    from torch import nn
except ImportError:  # the comparison is optional
    torch = None


def available() -> bool:
    return torch is not None


def set_threads(n: int | None) -> None:
    """Match numpy's BLAS thread count, so that both use the same cores."""
    if torch is not None and n:
        torch.set_num_threads(n)


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class TorchTrainer:
    """A model, its loss and Adam; ``fit_epoch`` is one shuffled epoch of mini-batches."""

    def __init__(
        self, model, loss, x: np.ndarray, y: np.ndarray, batch: int, lr: float = 1e-3, seed: int = 0
    ):
        torch.manual_seed(seed)
        self.model, self.loss = model, loss
        self.opt = torch.optim.Adam(model.parameters(), lr=lr, eps=1e-7)  # tinynet's (Keras') epsilon
        self.x, self.y, self.batch = torch.from_numpy(x), torch.from_numpy(y), batch

    def fit_epoch(self) -> float:
        n, bs = len(self.x), self.batch
        order = torch.randperm(n)
        total = 0.0
        for lo in range(0, n, bs):
            idx = order[lo : lo + bs]
            xb, yb = self.x[idx], self.y[idx]
            self.opt.zero_grad(set_to_none=True)
            loss = self.loss(self.model(xb), yb)
            loss.backward()
            self.opt.step()
            total += loss.item() * len(idx)
        return total / n


def mlp_trainer(sizes, head, x, y, batch):
    """The W1/W2 model: Linear+ReLU layers, then softmax or sigmoid cross-entropy from the logits."""
    if head == "softmax":
        return TorchTrainer(_mlp(sizes), nn.CrossEntropyLoss(), x, y.argmax(axis=1).astype(np.int64), batch)
    return TorchTrainer(_mlp(sizes), nn.BCEWithLogitsLoss(), x, y, batch)


def cnn_trainer(image, filters, k, classes, x, y, batch):
    """The W3 model: Conv2d(same)+ReLU, MaxPool2d(2), Flatten, Linear; softmax cross-entropy."""
    c, h, w = image
    model = nn.Sequential(
        nn.Conv2d(c, filters, k, padding=k // 2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(filters * (h // 2) * (w // 2), classes),
    )
    return TorchTrainer(model, nn.CrossEntropyLoss(), x, y.argmax(axis=1).astype(np.int64), batch)


def mlp_predictor(sizes):
    """Inference of the W1 model, numpy in and out, softmax probabilities as tinynet returns."""
    model = _mlp(sizes).eval()

    def predict(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return torch.softmax(model(torch.from_numpy(x)), dim=1).numpy()

    return predict
