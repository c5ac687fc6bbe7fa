"""Check that the minimal NumPy loops compute what tinynet computes: ``python -m benchmarks.check_equivalence``.

The reference loops start from tinynet's initial weights and both take the same
training steps on the same batches; the losses and the updated parameters must
agree to float32 rounding (W1's bit for bit: the same operations in the same
order; W2's sigmoid and W3's channels-last layout round differently).  For W7,
the tiny GPT, the gradients of two steps are compared (see :func:`check_gpt`).
"""

from __future__ import annotations

import numpy as np

from . import bench_gpt
from .minimal_numpy import MinimalCNN, MinimalMLP
from .run_all import cnn_model_and_data, mlp_model_and_data


def check_mlp(sizes: list[int], head: str, n: int = 100, batch: int = 64) -> float:
    """Largest parameter difference after two steps (the last batch is partial)."""
    model, x, y = mlp_model_and_data(sizes, head, n)
    model.build()
    ref = MinimalMLP(sizes, head, batch)
    ref.opt.P[...] = model._flat_params  # the same flat layout: W1, b1, W2, b2, ...
    for lo in range(0, n, batch):
        a = model.train_step(x[lo : lo + batch], y[lo : lo + batch])
        b = ref.step(x[lo : lo + batch], y[lo : lo + batch])
        assert abs(a - b) <= 1e-6 * max(1.0, abs(a)), (a, b)
    return float(np.abs(model._flat_params - ref.opt.P).max())


def check_cnn(batch: int = 64) -> float:
    """Largest parameter difference after two steps, in the reference's layout."""
    model, x, y, _, _ = cnn_model_and_data()
    model.build()
    conv, _, _, dense = model.layers
    ref = MinimalCNN(x.shape[1:], 16, 3, 10, batch)
    f, c, h, w = conv.params["W"].shape[0], *model.layers[1].output_shape  # (F, H/2, W/2) after pooling

    def dense_rows(W):  # tinynet flattens (c, h, w), the reference (h, w, c)
        return W.reshape(c, h, w, -1).transpose(1, 2, 0, 3).reshape(c * h * w, -1)

    ref.Wc[...] = conv.params["W"].reshape(f, -1)
    ref.bc[...] = conv.params["b"]
    ref.Wd[...] = dense_rows(dense.params["W"])
    ref.bd[...] = dense.params["b"]
    for lo in (0, batch):
        a = model.train_step(x[lo : lo + batch], y[lo : lo + batch])
        b = ref.step(x[lo : lo + batch], y[lo : lo + batch])
        assert abs(a - b) <= 1e-5 * max(1.0, abs(a)), (a, b)
    return max(
        float(np.abs(conv.params["W"].reshape(f, -1) - ref.Wc).max()),
        float(np.abs(dense_rows(dense.params["W"]) - ref.Wd).max()),
    )


def check_gpt(steps: int = 2) -> float:
    """W7: the largest gradient difference of the tiny GPT over ``steps`` steps, relative to each array's largest entry.

    Before each step the reference takes tinynet's current weights, so both compute the gradients
    at the same point.  (The parameters themselves are not compared: Adam's first step moves every
    weight by ``lr * sign(g)``, so a gradient entry at the level of float32 round-off, which the two
    sides round differently, moves a weight by up to 2 lr = 2e-3 either way.)
    """
    x, y = bench_gpt.data()
    model = bench_gpt.tinynet_model()
    ref = bench_gpt.MinimalGPT()
    params = list(model.named_params().values())
    assert [p.shape for p in params] == [p.shape for p in ref.opt.params]  # the same order
    B, worst = bench_gpt.BATCH, 0.0
    for lo in range(0, steps * B, B):
        for mine, theirs in zip(ref.opt.params, params, strict=True):
            mine[...] = theirs
        b = ref.step(x[lo : lo + B], y[lo : lo + B])
        a = model.train_step(x[lo : lo + B], y[lo : lo + B])
        assert abs(a - b) <= 1e-5 * max(1.0, abs(a)), (a, b)
        for g, h in zip(model.named_grads().values(), ref.opt.grads, strict=True):
            worst = max(worst, float(np.abs(g - h).max() / max(float(np.abs(g).max()), 1e-30)))
    return worst


def main() -> None:
    print(f"W1 MLP: largest parameter difference after two steps {check_mlp([784, 256, 128, 10], 'softmax')}")
    print(f"W2 MLP: largest parameter difference after two steps {check_mlp([8, 10, 1], 'sigmoid')}")
    print(f"W3 CNN: largest parameter difference after two steps {check_cnn():.2g}")
    print(
        f"W7 GPT: largest gradient difference over two steps, relative to the array's largest {check_gpt():.2g}"
    )


if __name__ == "__main__":
    main()
