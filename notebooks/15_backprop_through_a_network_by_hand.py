# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 15. Backpropagation through a network by hand
#
# **Prerequisites.** [Notebook 2](02_one_layer_by_hand.ipynb) (one `Dense` layer's forward and
# backward pass, central differences) and [notebook 3](03_losses.ipynb) (softmax and
# cross-entropy, the gradient $(P - T)/N$ from the logits).
#
# **Learning goals.** After this notebook you can
#
# - draw the computational graph of a two-layer network and name the array on every edge;
# - write its forward pass and its whole backward pass in NumPy, one line per node, with every
#   shape;
# - say why a value used twice receives the *sum* of its gradients;
# - check your backward pass against `model.backward` and against central differences.
#
# Notation as in the [derivations](../docs/derivations.md): for an array $Y$, $G_Y = \partial L/\partial Y$
# has the shape of $Y$; $G_Z$ is the gradient with respect to a pre-activation $Z$; $T$ holds
# the one-hot targets.

# %%
# %matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn

plt.rcParams.update({"figure.dpi": 80})
np.set_printoptions(precision=4, suppress=True)
tn.set_seed(0)

# %% [markdown]
# ## The network and its graph
#
# A batch $X$ of $N$ samples with $D$ features goes through a hidden `Dense` layer of $M$ tanh
# units and an output `Dense` layer of $K$ softmax units, and the loss is the mean cross-entropy:
#
# $$
# Z_1 = X W_1 + \mathbf 1 b_1^\top,\quad H = \tanh(Z_1),\quad
# Z_2 = H W_2 + \mathbf 1 b_2^\top,\quad P = \operatorname{softmax}(Z_2),\quad
# L = -\frac1N \sum_{n,k} T_{nk} \log P_{nk}.
# $$
#
# Every node of the graph below is one of these lines. The forward pass walks it left to right
# and keeps what each node will need; the backward pass walks it right to left, and each node
# turns the gradient of its output into the gradients of its inputs (the chain rule, one node at a
# time).

# %%
nodes = {  # name: (x, y, label)
    "X": (0.0, 1.0, "$X$\n(N, D)"),
    "W1": (1.0, 2.0, "$W_1, b_1$"),
    "Z1": (2.0, 1.0, "$Z_1$\n(N, M)"),
    "H": (3.2, 1.0, "$H$\n(N, M)"),
    "W2": (4.2, 2.0, "$W_2, b_2$"),
    "Z2": (5.2, 1.0, "$Z_2$\n(N, K)"),
    "P": (6.4, 1.0, "$P$\n(N, K)"),
    "T": (6.4, 2.0, "$T$"),
    "L": (7.6, 1.0, "$L$"),
}
edges = [  # (from, to, operation)
    ("X", "Z1", "matmul"), ("W1", "Z1", ""), ("Z1", "H", "tanh"), ("H", "Z2", "matmul"),
    ("W2", "Z2", ""), ("Z2", "P", "softmax"), ("P", "L", "CE"), ("T", "L", ""),
]
backward_labels = {
    ("Z1", "H"): r"$G_{Z_1} = G_H \odot (1 - H^2)$",
    ("H", "Z2"): r"$G_H = G_{Z_2} W_2^\top$",
    ("Z2", "P"): r"$G_{Z_2} = (P - T)/N$",
}
with tn.plot.style():
    fig, ax = plt.subplots(figsize=(10, 3.2))
    for a, b, op in edges:
        (x0, y0, _), (x1, y1, _) = nodes[a], nodes[b]
        ax.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": "->", "lw": 1.4, "shrinkA": 18, "shrinkB": 18})
        if op:
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.12, op, ha="center", fontsize=9, color="0.3")
        if (a, b) in backward_labels:
            ax.text((x0 + x1) / 2, y0 - 0.45, backward_labels[(a, b)], ha="center", fontsize=9, color="C3")
    for x, y, label in nodes.values():
        ax.text(x, y, label, ha="center", va="center", fontsize=11,
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "k"})
    ax.annotate("", (0.6, 0.3), (7.2, 0.3), arrowprops={"arrowstyle": "->", "color": "C3", "lw": 1.2})
    ax.text(7.3, 0.3, "backward", color="C3", va="center", fontsize=9)
    ax.set_xlim(-0.5, 8.2)
    ax.set_ylim(0.1, 2.5)
    ax.axis("off")
    ax.set_title("forward (black, left to right) and backward (red, right to left)")
    plt.show()

# %% [markdown]
# ## The forward pass, caching what the backward pass needs
#
# Small sizes, float64 (gradient checks need it), and a random batch with random labels.

# %%
rng = np.random.default_rng(0)
N, D, M, K = 6, 4, 5, 3
X = rng.standard_normal((N, D))
T = np.eye(K)[rng.integers(0, K, N)]          # one-hot targets (N, K)
W1 = rng.standard_normal((D, M)) * np.sqrt(1 / D)
b1 = rng.standard_normal(M) * 0.1
W2 = rng.standard_normal((M, K)) * np.sqrt(1 / M)
b2 = rng.standard_normal(K) * 0.1


def forward(X, W1, b1, W2, b2, T):
    Z1 = X @ W1 + b1
    H = np.tanh(Z1)
    Z2 = H @ W2 + b2
    S = Z2 - Z2.max(axis=1, keepdims=True)      # shifted logits: same softmax, no overflow
    P = np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
    log_P = S - np.log(np.exp(S).sum(axis=1, keepdims=True))
    L = -(T * log_P).sum() / len(X)
    cache = (X, H, P)
    return L, cache


L, cache = forward(X, W1, b1, W2, b2, T)
print(f"loss {L:.4f}   (log K = {np.log(K):.4f}: a network that knows nothing scores about that)")

# %% [markdown]
# ## The backward pass, node by node
#
# Start at the loss and walk back. Each step is a rule you have met before:
#
# | node | gradient | shape |
# |---|---|---|
# | softmax + cross-entropy | $G_{Z_2} = (P - T)/N$ (notebook 3) | $(N, K)$ |
# | $Z_2 = H W_2 + \mathbf 1 b_2^\top$ | $dW_2 = H^\top G_{Z_2}$, $\;db_2 = \mathbf 1^\top G_{Z_2}$, $\;G_H = G_{Z_2} W_2^\top$ (notebook 2) | $(M, K)$, $(K,)$, $(N, M)$ |
# | $H = \tanh(Z_1)$ | $G_{Z_1} = G_H \odot (1 - H^2)$, since $\tanh' = 1 - \tanh^2$ | $(N, M)$ |
# | $Z_1 = X W_1 + \mathbf 1 b_1^\top$ | $dW_1 = X^\top G_{Z_1}$, $\;db_1 = \mathbf 1^\top G_{Z_1}$, $\;G_X = G_{Z_1} W_1^\top$ | $(D, M)$, $(M,)$, $(N, D)$ |
#
# Two things make this work for any depth. **The same rule at every layer:** a `Dense` layer
# does not care whether its upstream gradient came from a loss or from another layer; it only
# needs $G$ for its output and the input it cached. **Shapes check the algebra:** $dW$ always
# has the shape of $W$, and there is only one way to multiply $H^\top$ $(M, N)$ by
# $G_{Z_2}$ $(N, K)$ into an $(M, K)$ array. The $1/N$ of the mean is in $G_{Z_2}$ once, and
# flows down into every other gradient from there.

# %%
def backward(cache, W1, W2, T):
    X, H, P = cache
    G_Z2 = (P - T) / len(X)
    dW2 = H.T @ G_Z2
    db2 = G_Z2.sum(axis=0)
    G_H = G_Z2 @ W2.T
    G_Z1 = G_H * (1 - H**2)
    dW1 = X.T @ G_Z1
    db1 = G_Z1.sum(axis=0)
    G_X = G_Z1 @ W1.T
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "X": G_X, "H": G_H}


ours = backward(cache, W1, W2, T)
for name, g in ours.items():
    print(f"{'d' if name[0] in 'Wb' else 'G_'}{name:3s} shape {g.shape}")

# %% [markdown]
# ## Check 1: central differences
#
# Perturb one entry of a parameter by $\pm h$, rerun the *forward* pass, and divide the change
# in loss by $2h$ (notebook 2). This touches no backward code at all, so it is an independent
# referee. `tn.gradcheck.numerical_gradient` does the loop; `relative_error` is the largest
# difference relative to the largest gradient.

# %%
arrays = {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "X": X}


def loss_now():
    return forward(X, W1, b1, W2, b2, T)[0]


for name, array in arrays.items():
    numeric = tn.gradcheck.numerical_gradient(loss_now, array)   # perturbs `array` in place, restores it
    print(f"{'d' if name[0] in 'Wb' else 'G_'}{name:3s} relative error {tn.gradcheck.relative_error(ours[name], numeric):.1e}")

# %% [markdown]
# All below $10^{-6}$, tinynet's own standard: the hand-written backward pass is right. A real
# mistake gives an error of order one. Here is the classic one, forgetting the tanh's derivative
# (treating $H$ as if it were $Z_1$):

# %%
X_, H_, P_ = cache
G_H_ = ((P_ - T) / N) @ W2.T
wrong_dW1 = X_.T @ G_H_                      # G_Z1 = G_H: the (1 - H^2) factor is missing
print(f"dW1 without tanh': relative error {tn.gradcheck.relative_error(wrong_dW1, tn.gradcheck.numerical_gradient(loss_now, W1)):.2f}")

# %% [markdown]
# ## Check 2: tinynet's `model.backward`
#
# The same network in tinynet: two `Dense` layers, in float64, with *our* weights copied in.
# A training step (`compute_gradients`) runs forward, the loss, and `model.backward`, and fills
# every layer's `grads`; `model.backward` also returns the gradient for the input when asked.

# %%
with tn.gradcheck.float64_defaults():
    model = tn.Sequential([
        tn.layers.Dense(M, input_dim=D, activation="tanh"),
        tn.layers.Dense(K, activation="softmax"),
    ])
model.compile(loss="categorical_crossentropy", optimizer="sgd")
model.set_weights([W1, b1, W2, b2])

loss = model.compute_gradients(X, T)
print(f"tinynet's loss {loss:.12f}\nour loss       {L:.12f}")
grads = model.named_grads()
first, second = (layer.name for layer in model.layers)
for ours_name, theirs in [("W1", f"{first}/W"), ("b1", f"{first}/b"), ("W2", f"{second}/W"), ("b2", f"{second}/b")]:
    print(f"d{ours_name}: max |ours - tinynet| = {np.abs(ours[ours_name] - grads[theirs]).max():.1e}")

# %%
y_pred = model.forward(X, training=True)
model.loss.forward(T, y_pred)
G_X_tinynet = model.backward(model.loss.backward())         # input_grad=True by default
print(f"G_X: max |ours - tinynet| = {np.abs(ours['X'] - G_X_tinynet).max():.1e}")

# %% [markdown]
# The differences are round-off ($10^{-17}$ or so). What tinynet does is what we wrote: its
# `Sequential.backward` is a loop `for layer in reversed(layers): grad = layer.backward(grad)`,
# and each `Dense.backward` is the rows of the table for its layer. Like our first line, tinynet
# fuses the softmax with the cross-entropy: the loss hands $G_{Z_2} = (P - T)/N$ to the output
# layer below its softmax, never the $-T/(NP)$ of the probabilities (`tinynet.engine`, the fused head).
#
# `tn.plot.layer_statistics` (used in [notebook 16](16_initialization_and_vanishing_gradients.ipynb))
# records the gradient each layer *receives*; for the hidden layer that is our $G_H$:

# %%
stats = tn.plot.layer_statistics(model, X, T)
print(f"G_H: max |ours - layer_statistics| = {np.abs(stats[0].gradients - ours['H']).max():.1e}")

# %% [markdown]
# ## A value used twice: gradients add
#
# In a chain every value feeds one node. In a general graph (a residual connection
# $Y = X + f(X)$, a weight shared between two layers) a value $u$ feeds several nodes
# $v_1, \dots, v_m$, and the chain rule sums over the paths:
#
# $$\frac{\partial L}{\partial u} = \sum_{i=1}^{m} \frac{\partial L}{\partial v_i}\,\frac{\partial v_i}{\partial u}.$$
#
# A backward pass therefore *accumulates* into a gradient that several nodes write (`+=`), and
# overwriting instead of adding is a classic bug. The smallest example,
# $L = \sum (X \odot X + X)$, where $X$ feeds a product twice and a sum once, so
# $\partial L/\partial X = X + X + 1$:

# %%
x = rng.standard_normal(4)
G_x = np.zeros_like(x)
G_x += 1.0 * x      # path 1: the first factor of x * x
G_x += x * 1.0      # path 2: the second factor
G_x += 1.0          # path 3: the "+ x"
numeric = tn.gradcheck.numerical_gradient(lambda: float(np.sum(x * x + x)), x)
print(G_x, "\n", numeric)

# %% [markdown]
# ## What it costs
#
# Count the matrix products: the forward pass has 2 ($XW_1$, $HW_2$), each layer one. The
# backward pass has 2 per layer, one for the weights and one for the gradient handed down
# ($H^\top G_{Z_2}$ and $G_{Z_2} W_2^\top$; $X^\top G_{Z_1}$ and $G_{Z_1} W_1^\top$), each of the
# same size as the layer's forward product. Backpropagation costs about twice a forward pass,
# *whatever the number of parameters*, where central differences need two forward passes per
# parameter. That is why it trains networks and central differences only
# check them. (tinynet's training step skips the last product: nothing uses the gradient for
# the data, see `tinynet.engine`.)
#
# ## Summary
#
# - A network is a graph of small functions; backpropagation is the chain rule applied node by
#   node from the loss back, each node turning $G$ of its output into $G$ of its inputs.
# - For this network: $G_{Z_2} = (P-T)/N$, then per `Dense` layer $dW = A^\top G_Z$,
#   $db = \mathbf 1^\top G_Z$, $G_A = G_Z W^\top$, and through tanh $G_Z = G_A \odot (1 - A^2)$.
# - A value used several times receives the sum of its gradients.
# - Check a backward pass twice: central differences (independent of the backward code) and a
#   trusted implementation (`model.backward`).
#
# **Exercise.** Replace tanh by ReLU ($G_{Z_1} = G_H \odot [Z_1 > 0]$, so cache $Z_1$ too), and
# rerun both checks. Then add a third `Dense` layer and write its three lines of backward pass:
# nothing else changes.
