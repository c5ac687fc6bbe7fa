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
# # 13. Attention by hand
#
# Attention lets every position of a sequence look at every other position and take what it
# needs: a **weighted average of the other positions' values**, with weights computed from the
# data.  It is the core of the transformer.  This notebook writes scaled dot-product attention in
# NumPy, derives its backward pass (the softmax-attention backward) step by step, checks it with
# central differences against tinynet's op, adds the causal and padding masks, and finally trains
# two tiny models whose attention weights we can read: one that reverses a sequence and one that
# copies the previous step.

# %%
# %matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np

import tinynet as tn
from tinynet import ops
from tinynet.gradcheck import numerical_gradient, relative_error

plt.rcParams.update({"figure.dpi": 80, "figure.figsize": (6.4, 3.6)})
np.set_printoptions(precision=3, suppress=True)
tn.set_seed(0)

# %% [markdown]
# ## The forward pass
#
# One head, one sequence of $T$ positions.  Each position has a **query** $q_i$ (what it is
# looking for), a **key** $k_j$ (what it offers to be found by) and a **value** $v_j$ (what it
# hands over), the rows of $Q \in \mathbb R^{T \times d_k}$, $K \in \mathbb R^{T \times d_k}$,
# $V \in \mathbb R^{T \times d_v}$.  Query $i$ scores every key with a dot product, a softmax over
# the keys turns the scores into weights, and the output is the weighted average of the values:
#
# $$S = \frac{Q K^\top}{\sqrt{d_k}}, \qquad P_{ij} = \frac{e^{S_{ij}}}{\sum_l e^{S_{il}}}, \qquad O = P V .$$
#
# Row $i$ of $P$ is a probability vector: how much position $i$ attends to each position $j$.
# As for any softmax, we subtract each row's maximum before `exp` so that nothing overflows
# (softmax does not change when a constant is added to a row).


# %%
def softmax_rows(S):
    S = S - S.max(axis=-1, keepdims=True)  # every exponent <= 0: no overflow
    E = np.exp(S)
    return E / E.sum(axis=-1, keepdims=True)


def attention(Q, K, V):
    d_k = Q.shape[-1]
    S = Q @ K.T / np.sqrt(d_k)
    P = softmax_rows(S)
    return P @ V, P


rng = np.random.default_rng(0)
T, d_k, d_v = 5, 4, 3
Q, K, V = rng.normal(size=(T, d_k)), rng.normal(size=(T, d_k)), rng.normal(size=(T, d_v))
O, P = attention(Q, K, V)
print("attention weights P (rows sum to 1):\n", P)
print("row sums:", P.sum(axis=1))

# %% [markdown]
# tinynet's op, `tn.ops.scaled_dot_product_attention`, computes the same for a whole stack of
# (sample, head) pairs at once, arrays of shape $(N, h, T, d)$, with batched matrix products
# (no Python loop over samples or heads).

# %%
O_op, P_op = ops.scaled_dot_product_attention(Q[None, None], K[None, None], V[None, None])
print("largest difference, outputs:", np.abs(O_op[0, 0] - O).max(), " weights:", np.abs(P_op[0, 0] - P).max())

# %% [markdown]
# ### Why divide by $\sqrt{d_k}$?
#
# If the entries of $q$ and $k$ are independent with variance 1, the dot product $q \cdot k$ is a
# sum of $d_k$ such products and has variance $d_k$.  With $d_k = 64$ the scores are spread over
# about $\pm 16$, and a softmax of such numbers is nearly one-hot: its gradient
# $P_{ij}(\delta_{jl} - P_{il})$ is then nearly zero, and learning stalls.  Dividing by
# $\sqrt{d_k}$ brings the variance back to 1.

# %%
d = 64
q, k = rng.normal(size=(2000, d)), rng.normal(size=(2000, 16, d))
raw = np.einsum("nd,nkd->nk", q, k)
for name, scores in (("q.k", raw), ("q.k / sqrt(d_k)", raw / np.sqrt(d))):
    p = softmax_rows(scores)
    print(f"{name:16s} score std {scores.std():5.2f}   mean largest weight {p.max(axis=1).mean():.2f}")

# %% [markdown]
# ## The backward pass, derived
#
# Given $G = \partial L/\partial O$ (same shape as $O$, $T \times d_v$), we want $dQ$, $dK$, $dV$.
# We go backwards through $O = PV$, then the softmax, then $S = c\,QK^\top$ with $c = 1/\sqrt{d_k}$.
#
# **1. Values.** $O_{ie} = \sum_j P_{ij} V_{je}$, so $\partial O_{ie}/\partial V_{je} = P_{ij}$, and
# the chain rule sums over every query $i$ that used value $j$:
#
# $$\frac{\partial L}{\partial V_{je}} = \sum_i P_{ij}\, G_{ie} \quad\Rightarrow\quad dV = P^\top G .$$
#
# **2. Weights.** Likewise $\partial O_{ie}/\partial P_{ij} = V_{je}$:
#
# $$\frac{\partial L}{\partial P_{ij}} = \sum_e G_{ie} V_{je} \quad\Rightarrow\quad dP = G V^\top .$$
#
# **3. Softmax, row by row.** Row $i$ of $P$ depends only on row $i$ of $S$, through the softmax
# Jacobian $\partial P_{ij}/\partial S_{il} = P_{ij}(\delta_{jl} - P_{il})$.  Hence
#
# $$dS_{il} = \sum_j dP_{ij}\, P_{ij}(\delta_{jl} - P_{il}) = P_{il}\Big(dP_{il} - \sum_j dP_{ij}P_{ij}\Big),
# \qquad dS = P \odot \big(dP - \operatorname{rowsum}(dP \odot P)\big).$$
#
# One dot product per row and one element-wise pass: the $T \times T$ Jacobian of each row is never
# built.
#
# **4. Queries and keys.** $S_{ij} = c \sum_a Q_{ia}K_{ja}$, so
#
# $$dQ = c\, dS\, K, \qquad dK = c\, dS^\top Q .$$
#
# Check the shapes: $P^\top G$ is $(T \times T)(T \times d_v)$, the shape of $V$; $dS\,K$ is
# $(T \times T)(T \times d_k)$, the shape of $Q$; $dS^\top Q$ the shape of $K$.


# %%
def attention_backward(G, Q, K, V, P):
    c = 1 / np.sqrt(Q.shape[-1])
    dV = P.T @ G  # step 1
    dP = G @ V.T  # step 2
    dS = P * (dP - (dP * P).sum(axis=1, keepdims=True))  # step 3
    dQ = c * dS @ K  # step 4
    dK = c * dS.T @ Q
    return dQ, dK, dV


G = rng.normal(size=(T, d_v))  # a random upstream gradient: all ones would hide errors
dQ, dK, dV = attention_backward(G, Q, K, V, P)

# %% [markdown]
# ## Checked by central differences
#
# The scalar $f = \sum_{ie} G_{ie} O_{ie}$ has exactly the gradients we derived.  Each partial
# derivative is estimated by $\big(f(x + h e_i) - f(x - h e_i)\big)/2h$ (notebook 2), and compared
# with the relative error of `tinynet.gradcheck` (largest difference over the largest gradient).


# %%
def f():
    return float(np.sum(attention(Q, K, V)[0] * G))


for name, analytic, x in (("dQ", dQ, Q), ("dK", dK, K), ("dV", dV, V)):
    print(f"{name}: relative error {relative_error(analytic, numerical_gradient(f, x)):.1e}")

# %% [markdown]
# And our hand-written backward against tinynet's op, `ops.scaled_dot_product_attention_backward`:

# %%
op_grads = ops.scaled_dot_product_attention_backward(
    G[None, None], Q[None, None], K[None, None], V[None, None], P[None, None]
)
for name, ours, theirs in zip(("dQ", "dK", "dV"), (dQ, dK, dV), op_grads, strict=True):
    print(f"{name}: largest difference {np.abs(ours - theirs[0, 0]).max():.1e}")

# %% [markdown]
# What a bug looks like: forget the row-sum term of step 3 (use $dS = P \odot dP$, the mistake of
# treating the softmax as element-wise) and the check fails loudly.

# %%
dS_wrong = P * (G @ V.T)
dQ_wrong = dS_wrong @ K / np.sqrt(d_k)
print(f"dQ without the row sum: relative error {relative_error(dQ_wrong, numerical_gradient(f, Q)):.2f}")

# %% [markdown]
# ## Masks
#
# A mask $M_{ij} \in \{0, 1\}$ says which keys query $i$ may see; masked scores are set to
# $-\infty$ before the softmax, so they get weight $e^{-\infty} = 0$:
#
# - **causal** $M_{ij} = [j \le i]$: a position sees itself and the past, never the future.  A
#   language model predicting token $t+1$ from tokens $\le t$ needs exactly this, or it could cheat.
# - **padding**: sequences of different lengths are padded to a common $T$; the padded keys must
#   get no weight.  `tn.ops.attention_mask(T, causal, padding_mask)` combines both.
#
# The backward pass needs nothing new: a masked entry has $P_{ij} = 0$, so step 3 gives
# $dS_{ij} = 0$ there.  One corner case: a query that may see *no* key (causal attention with
# padding at the start) has no softmax at all ($0/0$).  tinynet defines its weights, output and
# gradient as 0: it attends to nothing and receives nothing (PyTorch returns NaN there).

# %%
padding = np.array([[0, 1, 1, 1, 1, 1]])  # one sample whose first position is padding
fig, axes = plt.subplots(1, 3, figsize=(9, 3))
masks = [
    ("causal", ops.attention_mask(6, causal=True)),
    ("padding", ops.attention_mask(6, padding_mask=padding)),
    ("causal and padding", ops.attention_mask(6, True, padding)),
]
for ax, (title, M) in zip(axes, masks, strict=True):
    ax.imshow(np.broadcast_to(M, (1, 1, 6, 6))[0, 0], cmap="Greys", vmin=0, vmax=1)
    ax.set(title=title, xlabel="key j", ylabel="query i")
fig.suptitle("black: may attend")
fig.tight_layout()

q3, k3, v3 = (rng.normal(size=(1, 1, 6, 3)) for _ in range(3))
_, P_masked = ops.scaled_dot_product_attention(q3, k3, v3, masks[2][1])
print("weights with causal + padding (row 0 sees nothing):\n", P_masked[0, 0])

# %% [markdown]
# The masked backward pass, checked the same way on a batch of 2 samples and 3 heads, with the
# padding at the end of the second sample:

# %%
q4, k4, v4 = (rng.normal(size=(2, 3, 6, 4)) for _ in range(3))
M4 = ops.attention_mask(6, True, np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]]))
o4, p4 = ops.scaled_dot_product_attention(q4, k4, v4, M4)
G4 = rng.normal(size=o4.shape)
grads = ops.scaled_dot_product_attention_backward(G4, q4, k4, v4, p4)


def f4():
    return float(np.sum(ops.scaled_dot_product_attention(q4, k4, v4, M4)[0] * G4))


for name, analytic, x in zip(("dQ", "dK", "dV"), grads, (q4, k4, v4), strict=True):
    print(f"{name}: relative error {relative_error(analytic, numerical_gradient(f4, x)):.1e}")

# %% [markdown]
# ## Multi-head attention
#
# `tn.layers.MultiHeadAttention(num_heads, key_dim)` wraps the op: it projects the input
# $X$ ($T \times D$) to $Q = XW_q + b_q$, $K = XW_k + b_k$, $V = XW_v + b_v$, splits the columns into
# `num_heads` heads that attend independently, concatenates their outputs and projects back with
# $W_o$.  Its backward pass is the op's plus Dense's, and $dX$ sums the three paths through
# $W_q, W_k, W_v$.  `tn.gradcheck.layer_gradients` compares every gradient with central differences:

# %%
with tn.gradcheck.float64_defaults():
    layer = tn.layers.MultiHeadAttention(num_heads=2, key_dim=3, causal=True)
pairs = tn.gradcheck.layer_gradients(layer, rng.normal(size=(2, 5, 4)))
for key, (analytic, numeric) in pairs.items():
    print(
        f"{key:5s} relative error {relative_error(analytic, numeric):.0e}   largest |gradient| {np.abs(numeric).max():.0e}"
    )

# %% [markdown]
# Every error is far below $10^{-6}$; one entry deserves a look: `bk`, the key bias, whose gradient
# is **zero**, exactly.  Adding $b_k$ to every key adds $q_i \cdot b_k$ to every score of row $i$, and a
# softmax ignores a constant added to a row (in step 3, the rows of $dS$ sum to zero).  So the layer
# leaves $b_k$ out of the scores altogether: the output does not depend on it, and both gradients are 0.
# It is kept as a parameter because Keras and PyTorch have it, so weights move between the three.

# %% [markdown]
# ## A task where attention can be read: reversing a sequence
#
# Sequences of $T = 8$ tokens from an alphabet of 6, one-hot encoded; the target is the same
# sequence reversed, so output position $t$ must fetch the token at position $T-1-t$.  Nothing but
# attention moves information between positions here, and the model can only know *where* a
# token is through the learned `PositionalEmbedding`, added to the embedded tokens:
#
# `Dense(32)` (embedding) → `PositionalEmbedding(8)` → `MultiHeadAttention(1 head)` → `Dense(6, softmax)`.

# %%
T, V_size, N = 8, 6, 3000
tokens = rng.integers(0, V_size, size=(N, T))
X = np.eye(V_size, dtype=np.float32)[tokens]


def attention_model(causal=False):
    tn.set_seed(0)
    model = tn.Sequential(
        [
            tn.Input(shape=(T, V_size)),
            tn.layers.Dense(32),
            tn.layers.PositionalEmbedding(T),
            tn.layers.MultiHeadAttention(num_heads=1, key_dim=16, causal=causal),
            tn.layers.Dense(V_size, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer=tn.optimizers.Adam(0.01))
    return model


reverser = attention_model()
start = time.perf_counter()
history = reverser.fit(X, X[:, ::-1], epochs=8, batch_size=64, verbose=0)
print(
    f"trained in {time.perf_counter() - start:.1f} s; loss per epoch:",
    ", ".join(f"{v:.1e}" for v in history.history["loss"]),
)
test = rng.integers(0, V_size, size=(200, T))
predicted = reverser.predict(np.eye(V_size, dtype=np.float32)[test], verbose=0).argmax(-1)
print("token accuracy on new sequences:", (predicted == test[:, ::-1]).mean())
print("input:   ", test[0], "\npredicted:", predicted[0])

# %% [markdown]
# The attention weights of the last call are in `layer.attention_scores`, shape (N, heads, T, T).
# For reversal each query should put its weight on the mirrored key: an anti-diagonal.


# %%
def show_attention(model, x, title):
    model.predict(x, verbose=0)
    weights = model.layers[2].attention_scores[0, 0]
    fig, ax = plt.subplots(figsize=(3.6, 3.2))
    im = ax.imshow(weights, cmap="viridis", vmin=0, vmax=1)
    ax.set(title=title, xlabel="key position j", ylabel="query position i")
    fig.colorbar(im)
    fig.tight_layout()


show_attention(reverser, np.eye(V_size, dtype=np.float32)[test[:1]], "reversing: weights P")

# %% [markdown]
# ## With the causal mask: copying the previous step
#
# Now the target at position $t$ is the token at $t-1$ (and token 0 at position 0).  A causal
# model may look only at positions $\le t$, which is enough here; we expect the weights on the
# first sub-diagonal, and nothing above the diagonal (the mask forbids it).

# %%
shifted = np.zeros_like(X)
shifted[:, 1:] = X[:, :-1]
shifted[:, 0, 0] = 1.0
copier = attention_model(causal=True)
start = time.perf_counter()
history = copier.fit(X, shifted, epochs=15, batch_size=64, verbose=0)
print(f"trained in {time.perf_counter() - start:.1f} s; final loss {history.history['loss'][-1]:.4f}")
predicted = copier.predict(np.eye(V_size, dtype=np.float32)[test], verbose=0).argmax(-1)
print("token accuracy on positions 1..7:", (predicted[:, 1:] == test[:, :-1]).mean())
show_attention(copier, np.eye(V_size, dtype=np.float32)[test[:1]], "copy previous (causal): weights P")

# %% [markdown]
# ## Summary
#
# - Attention is $O = \operatorname{softmax}(QK^\top/\sqrt{d_k})\,V$: a weighted average of values,
#   with weights from query-key similarity; the $\sqrt{d_k}$ keeps the softmax out of saturation.
# - Its backward pass is three matrix products and the softmax's Jacobian-vector product,
#   $dS = P \odot (dP - \operatorname{rowsum}(dP \odot P))$; the derivation is on the
#   [attention docs page](../docs/attention.md) and in `tinynet/ops/attention.py`.
# - Masks are scores set to $-\infty$; they need no backward pass of their own.
# - Next: notebook 14 stacks attention, MLPs, residual connections and layer normalization into a
#   tiny GPT.
