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
# # 12. Recurrent networks and backpropagation through time
#
# A recurrent layer reads a sequence one step at a time and carries a **state** from step to step:
# $h_t = f(x_t W + h_{t-1} U + b)$.  Unrolled over $T$ steps it is a $T$-layer network whose layers
# share their weights, and its backward pass, **backpropagation through time** (BPTT), is the
# ordinary chain rule walked backwards along the steps.  In this notebook we
#
# 1. derive BPTT for a SimpleRNN, write it in a few lines of NumPy, and check it by central differences
#    and against `tinynet.layers.SimpleRNN`;
# 2. follow the LSTM's cell-state path, the reason it remembers;
# 3. *see* vanishing gradients across time: how much the last output depends on each earlier input;
# 4. train a character-level LSTM on 32,000 names and compare it with the bigram baseline.

# %%
# %matplotlib inline
import numpy as np
import matplotlib.pyplot as plt

import tinynet as tn
from tinynet.gradcheck import numerical_gradient, relative_error
from tinynet.layers import LSTM, Dense, Embedding, SimpleRNN

tn.set_default_dtype(np.float64)  # gradient checks need float64
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. A SimpleRNN by hand
#
# With $x_t$ of shape (N, D), $W$ (D, H), $U$ (H, H), $b$ (H,) and $h_0 = 0$:
#
# $$Z_t = x_t W + b + h_{t-1} U, \qquad h_t = \tanh(Z_t), \qquad t = 1, \dots, T.$$
#
# The input term does not depend on the state, so all steps can be projected in **one** matrix
# product $A = XW + b$ before the loop; only $h_{t-1}U$ has to wait for the previous step.
#
# **Backward.** Let $L = \sum_t \langle G_t, h_t\rangle$ for upstream gradients $G_t$ (a layer that
# returns the whole sequence receives one per step).  $h_t$ influences $L$ directly, through $G_t$,
# and through the next step, $Z_{t+1} = \dots + h_t U$.  So, walking backwards from $t = T$:
#
# $$\delta h_t = G_t + \delta Z_{t+1} U^\top, \qquad \delta Z_t = \delta h_t \odot (1 - h_t^2).$$
#
# The weights are shared by every step, so their gradients are **sums over the steps**:
#
# $$dW = \sum_t x_t^\top \delta Z_t, \quad dU = \sum_t h_{t-1}^\top \delta Z_t, \quad
# db = \sum_{t} \mathbf 1^\top \delta Z_t, \quad dx_t = \delta Z_t W^\top .$$

# %%
def rnn_forward(x, W, U, b):
    """x (N, T, D) -> states (T + 1, N, H), hs[0] = 0."""
    N, T, _ = x.shape
    A = x @ W + b  # (N, T, H): every step's input term at once
    hs = np.zeros((T + 1, N, U.shape[0]))
    for t in range(T):
        hs[t + 1] = np.tanh(A[:, t] + hs[t] @ U)
    return hs


def rnn_backward(x, hs, W, U, G):
    """BPTT: G (N, T, H) the upstream gradients of every state -> dx, dW, dU, db."""
    N, T, _ = x.shape
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros(U.shape[0])
    dx = np.zeros_like(x)
    dh_next = np.zeros((N, U.shape[0]))  # delta Z_{t+1} U^T, zero after the last step
    for t in reversed(range(T)):
        dh = G[:, t] + dh_next
        dZ = dh * (1 - hs[t + 1] ** 2)
        dW += x[:, t].T @ dZ
        dU += hs[t].T @ dZ
        db += dZ.sum(axis=0)
        dx[:, t] = dZ @ W.T
        dh_next = dZ @ U.T
    return dx, dW, dU, db


N, T, D, H = 3, 6, 4, 5
x = rng.normal(size=(N, T, D))
W, U, b = rng.normal(0, 0.5, (D, H)), rng.normal(0, 0.5, (H, H)), rng.normal(0, 0.5, H)
G = rng.normal(size=(N, T, H))  # a random upstream gradient: all ones would hide cancelling errors

hs = rnn_forward(x, W, U, b)
dx, dW, dU, db = rnn_backward(x, hs, W, U, G)


def f():
    return float(np.sum(rnn_forward(x, W, U, b)[1:].transpose(1, 0, 2) * G))


for name, analytic, array in [("x", dx, x), ("W", dW, W), ("U", dU, U), ("b", db, b)]:
    print(f"d{name}: relative error {relative_error(analytic, numerical_gradient(f, array)):.1e}")

# %% [markdown]
# Every error is around $10^{-10}$: float64 rounding, not a mistake (a wrong transpose or a missing
# term gives an error of order one).  tinynet's `SimpleRNN` computes the same thing, with Keras'
# weight names (`kernel`, `recurrent_kernel`, `bias`), time-major arrays and the parameter sums done
# as one matrix product over all steps after the loop (`tinynet/ops/recurrent.py`):

# %%
layer = SimpleRNN(H, return_sequences=True)
layer.build((T, D))
layer.set_weights([W, U, b])
out = layer.forward(x, training=True)
dx_layer = layer.backward(G)
print("outputs agree:", np.allclose(out, hs[1:].transpose(1, 0, 2)))
print("gradients agree:", np.allclose(dx_layer, dx), np.allclose(layer.grads["kernel"], dW),
      np.allclose(layer.grads["recurrent_kernel"], dU), np.allclose(layer.grads["bias"], db))

# %% [markdown]
# ## 2. The LSTM and its cell-state path
#
# The LSTM adds a second state, the cell $c_t$, and three gates (Keras' order $[i, f, c, o]$,
# the candidate written $g$), all from one product $Z_t = x_t W + h_{t-1} U + b$ of width $4H$:
#
# $$i, f, o = \sigma(Z^{i,f,o}_t), \quad g = \tanh(Z^g_t), \quad
# c_t = f \odot c_{t-1} + i \odot g, \quad h_t = o \odot \tanh(c_t).$$
#
# Backward at step $t$, given $\delta h_t$ and $\delta c_t$ from the step after:
#
# 1. $\delta o = \delta h_t \odot \tanh c_t$, and $\delta c_t \mathrel{+}= \delta h_t \odot o \odot (1 - \tanh^2 c_t)$;
# 2. $\delta i = \delta c_t \odot g$, $\delta g = \delta c_t \odot i$, $\delta f = \delta c_t \odot c_{t-1}$, and
#    $$\delta c_{t-1} = \delta c_t \odot f ;$$
# 3. through the gates: $\delta Z^i = \delta i \odot i(1-i)$, ..., $\delta Z^g = \delta g \odot (1 - g^2)$;
# 4. $\delta h_{t-1} \mathrel{+}= \delta Z_t U^\top$.
#
# Line 2's last formula is the **cell-state path**: from $c_t$ to $c_{t-1}$ the gradient is only
# multiplied by the forget gate, with no weight matrix and no $\tanh'$ in between.  When $f \approx 1$
# it passes many steps almost unchanged; that is why Keras starts the forget bias at 1
# (`unit_forget_bias=True`).  tinynet's `LSTM` implements exactly these four lines
# (`tinynet.ops.lstm_backward`); here is its check, the final states' gradients included
# (`return_state=True` gives `[output, h, c]`):

# %%
lstm = LSTM(4, return_sequences=True, return_state=True)
lstm.build((T, D))
outputs = lstm.forward(x, training=True)
grads = [rng.normal(size=o.shape) for o in outputs]
dx = lstm.backward(grads)
analytic = {k: g.copy() for k, g in lstm.grads.items()}


def f():
    return float(sum(np.sum(o * g) for o, g in zip(lstm.forward(x, training=True), grads)))


print(f"dx: {relative_error(dx, numerical_gradient(f, x)):.1e}")
for key, p in lstm.params.items():
    print(f"d{key}: {relative_error(analytic[key], numerical_gradient(f, p)):.1e}")

# %% [markdown]
# ## 3. Vanishing gradients across time
#
# How much does the **last** state $h_T$ depend on the input at step $t$?  Feed a gradient only
# to the last output and read the input gradient $\partial \langle G, h_T\rangle / \partial x_t$ at
# every step.  In a SimpleRNN each step back multiplies $\delta h$ by
# $\mathrm{diag}(1 - h_t^2)\,U^\top$; with saturating units and an orthogonal $U$ its norm is below 1,
# and the gradient from early steps decays geometrically.  The LSTM's cell path decays only by
# the forget gates.

# %%
T_long, D_in, units = 60, 8, 32
x_long = rng.normal(size=(16, T_long, D_in))


def gradient_per_step(layer):
    tn.set_seed(1)
    layer.build((T_long, D_in))
    out = layer.forward(x_long, training=True)
    dx = layer.backward(np.ones_like(out))  # a gradient on the last state only
    return np.linalg.norm(dx, axis=2).mean(axis=0)  # |d h_T / d x_t| averaged over the batch


rnn_norms = gradient_per_step(SimpleRNN(units))
lstm_norms = gradient_per_step(LSTM(units))
steps_back = T_long - 1 - np.arange(T_long)
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.semilogy(steps_back, rnn_norms, label="SimpleRNN")
ax.semilogy(steps_back, lstm_norms, label="LSTM (forget bias 1)")
ax.set_xlabel("steps before the last one, $T - t$")
ax.set_ylabel(r"$\|\partial L / \partial x_t\|$")
ax.set_title("How far back the gradient reaches")
ax.legend()
plt.show()
print(f"gradient 30 steps back relative to the last step: SimpleRNN {rnn_norms[-31] / rnn_norms[-1]:.1e}, "
      f"LSTM {lstm_norms[-31] / lstm_norms[-1]:.1e}")

# %% [markdown]
# ## 4. A character-level LSTM on names
#
# The names data set (32,033 first names) and the **bigram baseline**, $P(b \mid a)$ from pair counts:
# 2.4499 nats per character on a seeded 10% validation split.  The LSTM reads a name one character
# at a time and predicts the next at every step.  Each name becomes one right-padded sequence,
# $x = [\,.\,, c_1, \dots, c_L, \text{pad}]$, $y = [c_1, \dots, c_L, \,.\,, -1, \dots]$, and
# `SparseCategoricalCrossentropy(ignore_class=-1)` leaves the padded positions out: the loss is the
# mean over the $L + 1$ real predictions of each name, the same quantity the bigram's NLL measures.

# %%
names = tn.datasets.load_names()
train, val = tn.text.split_names(names, sizes=(0.9, 0.1), seed=0)
tok = tn.text.CharTokenizer(boundary=".").fit(names)
bigram = tn.text.bigram_model(train, tok)
print(f"bigram validation NLL: {bigram.nll(val):.4f} nats per character")

T_names = 16  # the longest name (15) plus the boundary in front


def padded_names(names, tokenizer, context):
    lengths = np.array([len(name) for name in names])
    chars = tokenizer.encode("".join(names))
    rows = np.repeat(np.arange(len(names)), lengths)
    cols = np.arange(chars.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    x = np.zeros((len(names), context), dtype=np.int64)
    y = np.full((len(names), context), -1, dtype=np.int64)
    x[rows, cols + 1] = chars
    y[rows, cols] = chars
    y[np.arange(len(names)), lengths] = 0  # the end of the name
    return x, y


x_train, y_train = padded_names(train, tok, T_names)
x_val, y_val = padded_names(val, tok, T_names)
print(train[0], x_train[0], y_train[0], sep="\n")

# %%
tn.set_default_dtype(np.float32)
tn.set_seed(0)
model = tn.Sequential([
    tn.Input(shape=(T_names,)),
    Embedding(tok.vocab_size, 16),
    LSTM(64, return_sequences=True),
    Dense(tok.vocab_size, activation="softmax"),
])
model.compile(tn.optimizers.Adam(0.01), tn.losses.SparseCategoricalCrossentropy(ignore_class=-1))
history = model.fit(x_train, y_train, epochs=2, batch_size=128, validation_data=(x_val, y_val), verbose=0)
print("validation NLL per epoch:", [round(v, 4) for v in history.history["val_loss"]])
print(f"LSTM {history.history['val_loss'][-1]:.3f} against the bigram's {bigram.nll(val):.3f} nats per character")

# %% [markdown]
# The LSTM sees the whole name so far, not only the last character, and beats the bigram by about
# 0.3 nats per character after two epochs.  To sample, `tn.text.generate` asks the model for the next
# character again and again.  The model takes 16 positions, so a small adapter right-pads the
# sequence and reads the position of its last real character (the LSTM never looks ahead, so the
# padding changes nothing):

# %%
class NextCharacter:
    def __init__(self, model, context):
        self.model, self.context = model, context

    def predict(self, ids):
        k = ids.shape[1]
        x = np.zeros((1, self.context), dtype=np.int64)
        x[0, :k] = ids[0]
        return self.model.predict(x, verbose=0)[:, k - 1]


sampler = NextCharacter(model, T_names)
print("LSTM:  ", ", ".join(tn.text.generate(sampler, "", 15, seed=s, tokenizer=tok) for s in range(12)))
print("bigram:", ", ".join(tn.text.generate(bigram, "", 15, seed=s, tokenizer=tok, context=1) for s in range(12)))

# %% [markdown]
# ## Summary
#
# - BPTT is the chain rule on the unrolled network: $\delta h_t = G_t + \delta Z_{t+1}U^\top$, and
#   the shared weights sum their gradients over the steps.
# - The LSTM's cell-state path, $\delta c_{t-1} = \delta c_t \odot f$, carries gradients across
#   many steps; a SimpleRNN's gradient vanishes geometrically with the distance.
# - With padding masked in the loss (`ignore_class`), a small LSTM learns names well beyond the
#   bigram.  The derivations of Embedding, SimpleRNN, LSTM and GRU are on the docs' *Sequence layers*
#   page.
