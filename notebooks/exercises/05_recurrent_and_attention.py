# ---
# jupyter:
#   jupytext:
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
# # Exercises 5. Recurrent networks and attention
#
# **Prerequisites:** exercises 1 (tanh and softmax backward) and 3 (backpropagation through a
# network); notebooks 12, *Recurrent networks and backpropagation through time*
# (`notebooks/12_recurrent_networks_and_bptt.ipynb`), and 13, *Attention by hand*
# (`notebooks/13_attention_by_hand.ipynb`).
#
# **You will:** write one step of a tanh RNN, forward and backward; backpropagation through time
# over a whole sequence, with the weight gradients summed over the steps; the backward pass of one
# LSTM step from its forward cache (gates in Keras' order $[i, f, c, o]$); and scaled dot-product
# attention, forward and backward, with an optional causal mask; optionally, the backward pass of one
# GRU step. Each is graded against tinynet
# (`tinynet.ops.recurrent`, `tinynet.ops.attention`) with a hint when it is wrong.
#
# **Learning goals:** after this set you can (1) explain why a recurrent layer's weight gradients
# are sums over time and where the gradient of $h_{t-1}$ comes from, (2) follow the LSTM's two
# backward paths, through $h$ and through the cell state $c$, (3) push a gradient through a row-wise
# softmax with a mask, and (4) recognise the classic mistakes of each from their symptoms.
#
# **How:** replace each `raise NotImplementedError`, run the check cell below it. A loop over the
# time steps is fine (BPTT needs one); no loop over the samples of a batch.
# Estimated time: 90 minutes, and 20 more for the optional GRU step (§8).

# %%
import numpy as np

from tinynet import exercises

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. One RNN step, forward
#
# The notation of notebook 12: the input $x_t$ $(N, D)$, the previous state $h_{t-1}$ $(N, H)$, the
# kernel $W$ $(D, H)$, the recurrent kernel $U$ $(H, H)$ (called $W_{hh}$ in some texts), the bias
# $b$ $(H,)$:
#
# $$Z_t = x_t W + h_{t-1} U + b, \qquad h_t = \tanh Z_t .$$


# %% nbgrader={"grade": false, "grade_id": "rnn_step_forward", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def rnn_step_forward(x, h_prev, W, U, b):
    ### BEGIN SOLUTION
    return np.tanh(x @ W + h_prev @ U + b)
    ### END SOLUTION


# %%
print(exercises.check("rnn_step_forward", rnn_step_forward))

# %% [markdown]
# ## 2. One RNN step, backward
#
# Given $G = \partial L/\partial h_t$ and the step's output $h_t$ (`h`), go back through the tanh,
# then through the product, as in Dense (exercises 1):
#
# $$\delta Z_t = G \odot (1 - h_t^2), \qquad dx_t = \delta Z_t W^\top, \qquad dh_{t-1} = \delta Z_t U^\top,$$
#
# $$dW = x_t^\top \delta Z_t, \qquad dU = h_{t-1}^\top \delta Z_t, \qquad db = \mathbf 1^\top \delta Z_t .$$
#
# $U$ is square, so the shapes do not catch $\delta Z_t U$ for $\delta Z_t U^\top$, nor
# $\delta Z_t^\top h_{t-1}$ for $h_{t-1}^\top \delta Z_t$: the check does, and says which. Return
# `(dx, dh_prev, dW, dU, db)`.


# %% nbgrader={"grade": false, "grade_id": "rnn_step_backward", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def rnn_step_backward(x, h_prev, h, W, U, grad):
    ### BEGIN SOLUTION
    dz = grad * (1 - h**2)
    return dz @ W.T, dz @ U.T, x.T @ dz, h_prev.T @ dz, dz.sum(axis=0)
    ### END SOLUTION


# %%
print(exercises.check("rnn_step_backward", rnn_step_backward))

# %% [markdown]
# ## 3. Backpropagation through time
#
# Over a sequence, `x` $(N, T, D)$ with the states `h` $(N, T, H)$ $= h_1 \dots h_T$ (and
# $h_0 = 0$), the loss reaches every state directly, with `grad[:, t]` $= G_t$. But $h_t$ also feeds
# the next step, so walking the steps **backwards** from $t = T$:
#
# $$\delta h_t = G_t + \underbrace{\delta Z_{t+1} U^\top}_{\text{from step } t+1}, \qquad
# \delta Z_t = \delta h_t \odot (1 - h_t^2).$$
#
# That is your step backward with `grad` $= \delta h_t$: its `dh_prev` is what step $t-1$ receives.
# The weights are shared by every step, so their gradients are **sums** over the steps:
#
# $$dW = \sum_t x_t^\top \delta Z_t, \qquad dU = \sum_t h_{t-1}^\top \delta Z_t, \qquad
# db = \sum_t \mathbf 1^\top \delta Z_t, \qquad dx_t = \delta Z_t W^\top .$$
#
# Return `(dx, dW, dU, db)`, `dx` shaped like `x`. The check names a gradient that is not carried
# from $h_t$ to $h_{t-1}$ (BPTT truncated to one step) and weight gradients that hold one step only.


# %% nbgrader={"grade": false, "grade_id": "rnn_bptt", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def rnn_bptt(x, h, W, U, grad):
    ### BEGIN SOLUTION
    n, T, _ = x.shape
    h_prev = np.concatenate([np.zeros_like(h[:, :1]), h[:, :-1]], axis=1)
    dx = np.zeros_like(x)
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros(U.shape[0])
    dh_next = np.zeros((n, U.shape[0]))
    for t in range(T - 1, -1, -1):
        dx[:, t], dh_next, dW_t, dU_t, db_t = rnn_step_backward(
            x[:, t], h_prev[:, t], h[:, t], W, U, grad[:, t] + dh_next
        )
        dW, dU, db = dW + dW_t, dU + dU_t, db + db_t
    return dx, dW, dU, db
    ### END SOLUTION


# %%
print(exercises.check("rnn_bptt", rnn_bptt))

# %% [markdown]
# ## 4. One LSTM step, backward
#
# The LSTM's step computes $Z_t = x_t W + h_{t-1} U + b$, of width $4H$, and splits it into four
# blocks in **Keras' order** $[i, f, c, o]$ (the candidate written $g$): the input gate
# $i = \sigma(Z^i)$, the forget gate $f = \sigma(Z^f)$, the candidate $g = \tanh(Z^g)$, the output
# gate $o = \sigma(Z^o)$; then
#
# $$c_t = f \odot c_{t-1} + i \odot g, \qquad h_t = o \odot \tanh c_t .$$
#
# You get the forward cache: `gates` $= [i, f, g, o]$ (activated, $(N, 4H)$), the new cell state `c`,
# and the gradients `grad_h` $= G_h$ and `grad_c` $= G_c$ of $h_t$ and $c_t$ (from the next step and the
# loss). Backwards, in the order of notebook 12:
#
# 1. $h_t = o \odot \tanh c_t$: $\delta o = G_h \odot \tanh c_t$ and
#    $\delta c = G_c + G_h \odot o \odot (1 - \tanh^2 c_t)$: the cell gets gradient from **both** paths.
# 2. $c_t = f \odot c_{t-1} + i \odot g$: $\delta i = \delta c \odot g$, $\delta f = \delta c \odot c_{t-1}$,
#    $\delta g = \delta c \odot i$, and the cell-state path $dc_{t-1} = \delta c \odot f$.
# 3. Through the activations, from their outputs:
#    $\delta Z = [\delta i \odot i(1-i),\ \delta f \odot f(1-f),\ \delta g \odot (1-g^2),\ \delta o \odot o(1-o)]$.
# 4. The product, as in the RNN step: $dx_t = \delta Z W^\top$, $dh_{t-1} = \delta Z U^\top$,
#    $dW = x_t^\top \delta Z$, $dU = h_{t-1}^\top \delta Z$, $db = \mathbf 1^\top \delta Z$.
#
# Return `(dx, dh_prev, dc_prev, dW, dU, db)`. Several tutorials (cs231n among them) stack the gates
# as $[i, f, o, g]$: with Keras' weights that order is a mistake, which the check names.


# %% nbgrader={"grade": false, "grade_id": "lstm_step_backward", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def lstm_step_backward(x, h_prev, c_prev, W, U, gates, c, grad_h, grad_c):
    ### BEGIN SOLUTION
    H = U.shape[0]
    i, f, g, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
    tanh_c = np.tanh(c)
    dc = grad_c + grad_h * o * (1 - tanh_c**2)
    dz = np.concatenate(
        [dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g**2), grad_h * tanh_c * o * (1 - o)],
        axis=1,
    )
    return dz @ W.T, dz @ U.T, dc * f, x.T @ dz, h_prev.T @ dz, dz.sum(axis=0)
    ### END SOLUTION


# %%
print(exercises.check("lstm_step_backward", lstm_step_backward))

# %% [markdown]
# ## 5. Attention, forward
#
# For each of $N$ sequences, queries $Q$ $(T, d_k)$, keys $K$ $(T, d_k)$, values $V$ $(T, d_v)$; the
# arrays have the batch axis first, `q` $(N, T, d_k)$, so use `@` and `np.swapaxes(k, -1, -2)` for
# $K^\top$:
#
# $$S = \frac{Q K^\top}{\sqrt{d_k}}, \qquad P = \operatorname{softmax}(S) \text{ over the keys (each row)}, \qquad O = P V .$$
#
# With `causal=True`, query $i$ may look at the keys $j \le i$ only: set the other scores to
# $-\infty$ **before** the softmax ($e^{-\infty} = 0$; `np.tril` builds the lower triangle), which
# then shares each row's weight among the visible keys. Subtract each row's maximum before `np.exp`.


# %% nbgrader={"grade": false, "grade_id": "attention_forward", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def attention_forward(q, k, v, causal):
    ### BEGIN SOLUTION
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if causal:
        T = s.shape[-1]
        s = np.where(np.tril(np.ones((T, T), dtype=bool)), s, -np.inf)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True) @ v
    ### END SOLUTION


# %%
print(exercises.check("attention_forward", attention_forward))

# %% [markdown]
# ## 6. Attention, backward
#
# From $G = \partial L/\partial O$ $(N, T, d_v)$, with $c = 1/\sqrt{d_k}$, backwards through
# $O = PV$, the softmax, and $S = c\,QK^\top$ (notebook 13 derives each line):
#
# $$dV = P^\top G, \qquad dP = G V^\top, \qquad dS = P \odot \big(dP - \operatorname{rowsum}(dP \odot P)\big),
# \qquad dQ = c\, dS\, K, \qquad dK = c\, dS^\top Q .$$
#
# The softmax's step is exercises 1's `softmax_backward`, row by row: every weight of a row depends
# on every score of the row. Recompute $P$ as in the forward pass, **with the mask**: its zeros
# make $dS = 0$ where a query may not look, so no gradient leaks to the keys it never saw.
# Return `(dq, dk, dv)`.


# %% nbgrader={"grade": false, "grade_id": "attention_backward", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def attention_backward(q, k, v, causal, grad):
    ### BEGIN SOLUTION
    c = 1 / np.sqrt(q.shape[-1])
    s = c * q @ np.swapaxes(k, -1, -2)
    if causal:
        T = s.shape[-1]
        s = np.where(np.tril(np.ones((T, T), dtype=bool)), s, -np.inf)
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    dv = np.swapaxes(p, -1, -2) @ grad
    dp = grad @ np.swapaxes(v, -1, -2)
    ds = p * (dp - np.sum(dp * p, axis=-1, keepdims=True))
    return c * ds @ k, c * np.swapaxes(ds, -1, -2) @ q, dv
    ### END SOLUTION


# %%
print(exercises.check("attention_backward", attention_backward))

# %% [markdown]
# ## 7. Your BPTT inside a tinynet layer, and how far back the gradient reaches
#
# tinynet's `SimpleRNN` computes the same gradients (its weights are named `kernel`,
# `recurrent_kernel` and `bias`, as in Keras). Then, with your `rnn_bptt`: a gradient on the **last**
# state only, and the size of the input gradient $\|\partial L/\partial x_t\|$ at every step. Each
# step back multiplies $\delta h$ by $\operatorname{diag}(1 - h_t^2)\,U^\top$, and the gradient from
# the early steps fades: the vanishing gradient of notebook 16, along the time axis.

# %%
import tinynet as tn

rng = np.random.default_rng(0)
N, T, D, H = 8, 30, 3, 16
x = rng.standard_normal((N, T, D))
with tn.gradcheck.float64_defaults():
    tn.set_seed(0)
    layer = tn.layers.SimpleRNN(H, return_sequences=True)
    layer.build((T, D))
W, U, b = layer.get_weights()
h = layer.forward(x, training=True)
G = np.zeros_like(h)
G[:, -1] = 1.0  # the loss reads the last state only
dx_layer = layer.backward(G)
try:
    dx, dW, dU, db = rnn_bptt(x, h, W, U, G)
    print("same gradients as tinynet's SimpleRNN:", np.allclose(dx, dx_layer),
          np.allclose(dW, layer.grads["kernel"]), np.allclose(dU, layer.grads["recurrent_kernel"]),
          np.allclose(db, layer.grads["bias"]))
    size = np.linalg.norm(dx, axis=2).mean(axis=0)
    for back in (0, 1, 2, 5, 10, 20, 29):
        print(f"{back:2d} steps before the last: |dL/dx_t| = {size[T - 1 - back]:.2e}")
except NotImplementedError:
    print("write rnn_step_backward and rnn_bptt first")

# %% [markdown]
# ## 8. Optional: one GRU step, backward
#
# tinynet's GRU (Keras' `reset_after=True`, as in cuDNN and PyTorch) has two biases, $b_x$ on the
# input product and $b_h$ on the recurrent one, and gates in the order $[z, r, \tilde h]$:
#
# $$A = x_t W + b_x, \quad R = h_{t-1} U + b_h, \quad z = \sigma(A^z + R^z), \quad r = \sigma(A^r + R^r),$$
#
# $$\tilde h = \tanh\big(A^{\tilde h} + r \odot R^{\tilde h}\big), \qquad h_t = z \odot h_{t-1} + (1 - z) \odot \tilde h .$$
#
# The cache: `gates` $= [z, r, \tilde h]$ (activated) and `rec_h` $= R^{\tilde h}$. Backwards from
# $G = \partial L/\partial h_t$: $\delta a = G \odot (1 - z) \odot (1 - \tilde h^2)$ for the candidate,
# $\delta Z^z = G \odot (h_{t-1} - \tilde h) \odot z(1 - z)$,
# $\delta Z^r = \delta a \odot R^{\tilde h} \odot r(1 - r)$; the input product gets
# $\delta A = [\delta Z^z, \delta Z^r, \delta a]$, the recurrent one
# $\delta R = [\delta Z^z, \delta Z^r, r \odot \delta a]$ (the reset gate multiplies its candidate
# block). Then $dx_t = \delta A W^\top$, $dW = x_t^\top \delta A$, $dU = h_{t-1}^\top \delta R$,
# `db` $= [\mathbf 1^\top \delta A, \mathbf 1^\top \delta R]$ (shape $(2, 3H)$), and
# $dh_{t-1} = G \odot z + \delta R\, U^\top$: like the LSTM's cell, the GRU has a direct path through time.


# %% nbgrader={"grade": false, "grade_id": "gru_step_backward", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def gru_step_backward(x, h_prev, W, U, gates, rec_h, grad):
    ### BEGIN SOLUTION
    H = U.shape[0]
    z, r, hh = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H :]
    da = grad * (1 - z) * (1 - hh**2)
    dA = np.concatenate([grad * (h_prev - hh) * z * (1 - z), da * rec_h * r * (1 - r), da], axis=1)
    dR = np.concatenate([dA[:, : 2 * H], da * r], axis=1)
    db = np.stack([dA.sum(axis=0), dR.sum(axis=0)])
    return dA @ W.T, grad * z + dR @ U.T, x.T @ dA, h_prev.T @ dR, db
    ### END SOLUTION


# %%
print(exercises.check("gru_step_backward", gru_step_backward))

# %% [markdown]
# ## Your score
#
# From the command line: `tinynet exercises grade FILE.py` on a file with your functions.

# %%
names = [
    "rnn_step_forward",
    "rnn_step_backward",
    "rnn_bptt",
    "lstm_step_backward",
    "gru_step_backward",
    "attention_forward",
    "attention_backward",
]
results = exercises.grade(globals(), names=names)
print(f"{sum(r.passed for r in results)} of {len(results)} passed, score {sum(r.score for r in results):.2f}")
