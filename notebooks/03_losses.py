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
# # 3. Losses
#
# The loss turns "how wrong is the network" into one number whose gradient drives training.
# This notebook compares the **mean squared error** with the **cross-entropy** on classification,
# derives the famous gradient $p - y$ of softmax followed by cross-entropy, and shows why tinynet
# computes that pair in a fused, numerically stable form.

# %% [markdown]
# ## Prerequisites
#
# * Notebook 2 (the chain rule through a layer, $G = \partial L/\partial Y$).
# * The sigmoid and the softmax; logarithms and exponentials.

# %% [markdown]
# ## Learning goals
#
# After this notebook you can
#
# * derive the gradients of MSE and cross-entropy through a sigmoid, and say why cross-entropy learns
#   where MSE stalls;
# * derive the softmax + cross-entropy gradient $p - y$ with respect to the logits, and its divisor
#   ($N$ rows, $N D$ sigmoid outputs, $N T$ sequence positions);
# * explain overflow in a naive softmax and the max-shift / log-sum-exp fix;
# * compare two losses fairly, accounting for the factor $2/K$ of an MSE averaged over $K$ outputs.

# %%
# %matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn

plt.rcParams.update({"figure.dpi": 80, "figure.figsize": (6.4, 3.6)})
np.set_printoptions(precision=4, suppress=True)
tn.set_seed(0)

# %% [markdown]
# ## Two losses for one probability
#
# Take a single sample with target $y \in \{0, 1\}$ and a network whose last layer outputs a logit
# $z$ turned into a probability by the sigmoid $p = \sigma(z) = 1/(1 + e^{-z})$, whose derivative is
# $\sigma'(z) = p(1-p)$.
#
# **Mean squared error**: $\ell_{\text{MSE}} = (p - y)^2$, so by the chain rule
#
# $$\frac{\partial \ell_{\text{MSE}}}{\partial z} = 2 (p - y)\, p (1 - p).$$
#
# **Binary cross-entropy** (the negative log-likelihood of a Bernoulli):
# $\ell_{\text{CE}} = -y \log p - (1 - y) \log (1 - p)$, so
#
# $$\frac{\partial \ell_{\text{CE}}}{\partial p} = -\frac{y}{p} + \frac{1 - y}{1 - p} = \frac{p - y}{p(1-p)},
# \qquad
# \frac{\partial \ell_{\text{CE}}}{\partial z} = \frac{p - y}{p(1-p)} \cdot p(1-p) = p - y .$$
#
# The factor $p(1-p)$ cancels.  With MSE it does not, and it is tiny when the sigmoid saturates: a
# network that is *confidently wrong* ($y = 1$, $z \ll 0$) gets almost no gradient from MSE, and a
# strong one from cross-entropy.

# %%
z = np.linspace(-8, 8, 401)
p = 1 / (1 + np.exp(-z))
target = 1.0
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
axes[0].plot(z, (p - target) ** 2, label="MSE $(p-y)^2$")
axes[0].plot(z, -np.log(p), label=r"cross-entropy $-\log p$")
axes[0].set_ylim(0, 5); axes[0].set_title("loss for target y = 1")
axes[1].plot(z, 2 * (p - target) * p * (1 - p), label="MSE")
axes[1].plot(z, p - target, label="cross-entropy")
axes[1].set_title(r"gradient $\partial \ell / \partial z$")
for ax in axes:
    ax.set_xlabel("logit z"); ax.legend()
fig.tight_layout()

# %% [markdown]
# tinynet's losses compute the same numbers; `loss.forward(y_true, y_pred)` returns the mean over the
# batch and `loss.backward()` the gradient with respect to `y_pred`.  At $z = -6$ (a confident mistake):

# %%
z0 = np.array([[-6.0]])
p0 = 1 / (1 + np.exp(-z0))
y1 = np.array([[1.0]])
mse, bce = tn.losses.MeanSquaredError(), tn.losses.BinaryCrossentropy()
mse.forward(y1, p0); bce.forward(y1, p0)
print(f"p = {p0[0, 0]:.5f}")
print(f"MSE: dL/dz = dL/dp * p(1-p) = {(mse.backward() * p0 * (1 - p0))[0, 0]:+.5f}")
print(f"BCE: dL/dz = dL/dp * p(1-p) = {(bce.backward() * p0 * (1 - p0))[0, 0]:+.5f}")

# %% [markdown]
# ## Softmax and cross-entropy: the gradient $p - y$
#
# With $K$ classes the last layer outputs logits $z \in \mathbb{R}^K$ and the softmax turns them into
# probabilities
#
# $$p_k = \frac{e^{z_k}}{\sum_j e^{z_j}} .$$
#
# Its Jacobian follows from the quotient rule:
# $\dfrac{\partial p_k}{\partial z_i} = p_k (\delta_{ki} - p_i)$.  The categorical cross-entropy with a
# one-hot (or any probability) target $y$, $\sum_k y_k = 1$, is $\ell = -\sum_k y_k \log p_k$, so
#
# $$\frac{\partial \ell}{\partial z_i} = -\sum_k \frac{y_k}{p_k} \frac{\partial p_k}{\partial z_i}
# = -\sum_k \frac{y_k}{p_k} p_k (\delta_{ki} - p_i)
# = -y_i + p_i \sum_k y_k = p_i - y_i .$$
#
# Even simpler is to write the loss with the logits directly:
# $\ell = -\sum_k y_k z_k + \log \sum_j e^{z_j}$; the derivative of the log-sum-exp is the softmax, so
# $\partial \ell / \partial z = p - y$ in one line.  Averaged over a batch of $N$ samples, the gradient
# is $(p - y)/N$ (row $n$ is $(p_n - y_n)/N$).  The divisor is the number of terms the loss averages:
# a binary cross-entropy with $D$ sigmoid outputs averages over $N D$ terms and its gradient is
# $(p - y)/(N D)$; over a sequence of $T$ positions, $(p - y)/(N T)$.  Let us check it numerically
# with `tn.gradcheck.check_loss`:

# %%
rng = np.random.default_rng(0)
logits = rng.standard_normal((4, 3)) * 2
labels = np.array([0, 2, 1, 2])
Y = tn.datasets.one_hot(labels, 3)

ce_logits = tn.losses.CategoricalCrossentropy(from_logits=True)
ce_logits.forward(Y, logits)
P = tn.losses.softmax(logits)
print("loss.backward() == (p - y)/N:", np.allclose(ce_logits.backward(), (P - Y) / len(Y)))
print("relative error against central differences:", tn.gradcheck.check_loss(ce_logits, Y, logits))


# %% [markdown]
# ## Why the fused, stable form matters
#
# Computed naively, the softmax exponentiates the logits.  In float64, $e^{z}$ overflows to `inf` for
# $z > 709$ (in float32 already for $z > 88$), and `inf / inf` is `nan`: the network's output, its loss,
# and after one update all its weights become `nan`.

# %%
def naive_softmax(z):
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)

big = np.array([[1000.0, 990.0, 0.0]])
with np.errstate(over="ignore", invalid="ignore"):
    print("naive softmax:", naive_softmax(big))
    print("float32, logit 100:", naive_softmax(np.array([[100.0, 0.0]], dtype=np.float32)))
print("stable softmax:", tn.losses.softmax(big))

# %% [markdown]
# The fix uses $\mathrm{softmax}(z) = \mathrm{softmax}(z - c)$ for any constant $c$ (the $e^{-c}$ cancels
# between numerator and denominator).  With $m = \max_j z_j$ every exponent is $\le 0$, so nothing
# overflows, and the largest term is $e^0 = 1$, so the sum never underflows to 0 either.  The same trick
# gives the log-probabilities without ever forming a probability:
#
# $$\log p_k = z_k - m - \log \sum_j e^{z_j - m}.$$
#
# The unfused path computes $p$ first and then $\log p$.  Probabilities that round to 0 would give
# $\log 0 = -\infty$, so Keras (and tinynet) clip $p$ to $[10^{-7}, 1 - 10^{-7}]$: the loss stays
# finite, but it is *wrong*, capped at $-\log 10^{-7} \approx 16.1$, and its gradient is zero where the
# clip is active, exactly when the network is most wrong.

# %%
y_true = np.array([[0.0, 0.0, 1.0]])      # the true class is the one with logit 0
unfused = tn.losses.CategoricalCrossentropy()            # takes probabilities
fused = tn.losses.CategoricalCrossentropy(from_logits=True)
print("exact loss   (from logits):", fused.forward(y_true, big))
print("clipped loss (from probs) :", unfused.forward(y_true, tn.losses.softmax(big)))
print("gradient from logits:", fused.backward())
print("gradient from probs :", unfused.backward())

# %% [markdown]
# The same holds for the sigmoid.  tinynet's binary cross-entropy from logits uses
# $\ell = \max(z, 0) - z y + \log(1 + e^{-|z|})$, which never exponentiates a positive number.  Below,
# the loss for $y = 1$ as a function of the logit, computed three ways in float32: naively
# ($-\log \sigma(z)$, which becomes `inf` once $\sigma(z)$ underflows to 0), from clipped
# probabilities (flat at 16.1), and fused (the exact line $-z$ for $z \ll 0$).

# %%
zs = np.linspace(-120, 10, 500, dtype=np.float32)[:, None]
ones = np.ones_like(zs)
with np.errstate(over="ignore", divide="ignore"):
    sig = (1 / (1 + np.exp(-zs))).astype(np.float32)
    naive = -np.log(sig)
clipped = tn.losses.BinaryCrossentropy().per_sample(ones, sig)
fused = tn.losses.BinaryCrossentropy(from_logits=True).per_sample(ones, zs)
fig, ax = plt.subplots()
ax.plot(zs, fused, lw=4, alpha=0.4, label="fused, from logits")
ax.plot(zs, clipped, label="from clipped probabilities")
ax.plot(zs, np.where(np.isfinite(naive), naive, np.nan), "--", label=r"naive $-\log\sigma(z)$")
first_inf = zs[~np.isfinite(naive[:, 0]), 0].max()
ax.axvline(first_inf, color="red", lw=0.8)
ax.text(first_inf + 2, 90, f"naive = inf\nfor z < {first_inf:.0f}", color="red")
ax.set_xlabel("logit z (target y = 1)"); ax.set_ylabel("loss"); ax.legend();

# %% [markdown]
# You do not have to choose: a `tn.Sequential` whose last activation is a sigmoid (or softmax) compiled
# with binary (or categorical) cross-entropy uses the fused form automatically.  The model still
# *outputs* probabilities; only the loss and its gradient are computed from the logits.
#
# ## On real data: MSE against cross-entropy
#
# The same two-layer network on the handwritten digits (8×8 images, $K = 10$ classes), trained with plain
# SGD, once with a softmax + MSE against one-hot targets and once with softmax + cross-entropy.
#
# Before comparing, count the factors.  Like Keras, tinynet's MSE *averages over the $K$ outputs* of a
# sample, $\ell_n = \frac1K \sum_k (p_{nk} - y_{nk})^2$, so
#
# $$\frac{\partial L_{\text{MSE}}}{\partial p_{nk}} = \frac{2}{N K}(p_{nk} - y_{nk})
# = \frac{1}{5}\cdot\frac{p_{nk} - y_{nk}}{N} \qquad (K = 10),$$
#
# five times smaller than the cross-entropy's $(p - y)/N$ *before* the softmax Jacobian even enters.
# At the same learning rate MSE therefore takes steps about 5 times shorter for a reason that has
# nothing to do with the softmax.  Then the Jacobian multiplies:
# $\partial L/\partial z_i = p_i\big(g_i - \sum_k g_k p_k\big)$ with $g = \partial L/\partial p$: every entry
# is scaled by a probability, about $1/K$ while the classes are near uniform and close to 0 for the
# classes the softmax is confident about.  Both effects, measured on the untrained network:

# %%
x, y = tn.datasets.load_digits()
x_train, x_test, y_train, y_test = tn.datasets.train_test_split(x, y, test_size=0.25, seed=0, stratify=True)
x_train, x_test = tn.datasets.standardize(x_train, x_test)
Y_train, Y_test = tn.datasets.one_hot(y_train, 10), tn.datasets.one_hot(y_test, 10)

def digits_model(loss, learning_rate):
    tn.set_seed(0)                      # the same initial weights and batches for every run
    model = tn.Sequential([tn.layers.Dense(32, input_dim=64, activation="relu"),
                           tn.layers.Dense(10, activation="softmax")])
    model.compile(loss=loss, optimizer=tn.optimizers.SGD(learning_rate), metrics=["accuracy"])
    return model

P0 = digits_model("mse", 0.05).predict(x_train)           # the untrained network's probabilities
N, K = P0.shape
g_ce = (P0 - Y_train) / N                                  # cross-entropy, dL/dz
g_p = 2 * (P0 - Y_train) / (N * K)                         # MSE, dL/dp
g_mse = P0 * (g_p - np.sum(g_p * P0, axis=1, keepdims=True))   # MSE, dL/dz through the softmax Jacobian
print(f"|dL/dp| of MSE / |dL/dz| of cross-entropy: {np.linalg.norm(g_p) / np.linalg.norm(g_ce):.3f}  (= 2/K)")
print(f"|dL/dz| of MSE / |dL/dz| of cross-entropy: {np.linalg.norm(g_mse) / np.linalg.norm(g_ce):.3f}  "
      f"(the softmax Jacobian's share: {np.linalg.norm(g_mse) / np.linalg.norm(g_p):.3f})")

# %% [markdown]
# So a fair comparison gives MSE a learning rate $K/2 = 5$ times larger, which undoes the averaging
# factor and leaves only the Jacobian.  Three runs, everything else (data, initial weights, batches)
# identical: cross-entropy at 0.05, MSE at 0.05, and MSE at 0.25.

# %%
runs = {"cross-entropy, SGD(0.05)": ("categorical_crossentropy", 0.05),
        "MSE, SGD(0.05)": ("mse", 0.05),
        "MSE, SGD(0.25): the 2/K undone": ("mse", 0.25)}
curves = {}
for name, (loss, learning_rate) in runs.items():
    curves[name] = digits_model(loss, learning_rate).fit(
        x_train, Y_train, epochs=30, batch_size=32, validation_data=(x_test, Y_test), verbose=0).history
    acc = curves[name]["val_accuracy"]
    print(f"{name:>32}: test accuracy {acc[0]:.3f} after 1 epoch, {acc[-1]:.3f} after 30")

# %%
fig, ax = plt.subplots()
for name, h in curves.items():
    ax.plot(np.arange(1, 31), h["val_accuracy"], label=name)
ax.set_xlabel("epoch"); ax.set_ylabel("test accuracy"); ax.set_title("digits, plain SGD"); ax.legend();

# %% [markdown]
# A good part of MSE's slowness at the same learning rate is the factor $2/K = 1/5$ of its average over
# the outputs, which has nothing to do with the softmax: multiplying the learning rate by 5 removes it,
# and MSE then learns far faster than before.  What remains is the softmax Jacobian, which with MSE
# multiplies every gradient by probabilities (here a further factor of about 0.12 at the start, and close
# to 0 for a confidently wrong class), so MSE still starts slower and ends lower than cross-entropy,
# whose $p - y$ is large exactly where the network is wrong.
#
# **Takeaways**
#
# * Sigmoid + binary cross-entropy and softmax + categorical cross-entropy both have the gradient
#   $p - y$ with respect to the logits, divided by the number of terms the loss averages ($N$ rows,
#   or $N D$ sigmoid outputs).
# * Compute them from the logits with the max-shift / log-sum-exp trick: finite for any input, exact,
#   and cheaper than chaining through the activation.
# * Compare losses at matched step sizes: MSE averaged over $K$ outputs has a gradient $2/K$ times the
#   size of $(p - y)/N$ before any Jacobian.  For classification, prefer cross-entropy to MSE.
