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
# Take a single sample with target $t \in \{0, 1\}$ and a network whose last layer outputs a logit
# $z$ turned into a probability by the sigmoid $p = \sigma(z) = 1/(1 + e^{-z})$, whose derivative is
# $\sigma'(z) = p(1-p)$.
#
# **Mean squared error**: $\ell_{\text{MSE}} = (p - t)^2$, so by the chain rule
#
# $$\frac{\partial \ell_{\text{MSE}}}{\partial z} = 2 (p - t)\, p (1 - p).$$
#
# **Binary cross-entropy** (the negative log-likelihood of a Bernoulli):
# $\ell_{\text{CE}} = -t \log p - (1 - t) \log (1 - p)$, so
#
# $$\frac{\partial \ell_{\text{CE}}}{\partial p} = -\frac{t}{p} + \frac{1 - t}{1 - p} = \frac{p - t}{p(1-p)},
# \qquad
# \frac{\partial \ell_{\text{CE}}}{\partial z} = \frac{p - t}{p(1-p)} \cdot p(1-p) = p - t .$$
#
# The factor $p(1-p)$ cancels.  With MSE it does not, and it is tiny when the sigmoid saturates: a
# network that is *confidently wrong* ($t = 1$, $z \ll 0$) gets almost no gradient from MSE, and a
# strong one from cross-entropy.

# %%
z = np.linspace(-8, 8, 401)
p = 1 / (1 + np.exp(-z))
t = 1.0
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
axes[0].plot(z, (p - t) ** 2, label="MSE $(p-t)^2$")
axes[0].plot(z, -np.log(p), label=r"cross-entropy $-\log p$")
axes[0].set_ylim(0, 5); axes[0].set_title("loss for target t = 1")
axes[1].plot(z, 2 * (p - t) * p * (1 - p), label="MSE")
axes[1].plot(z, p - t, label="cross-entropy")
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
# is $(P - Y)/N$.  Let us check it numerically with `tn.gradcheck.check_loss`:

# %%
rng = np.random.default_rng(0)
logits = rng.standard_normal((4, 3)) * 2
labels = np.array([0, 2, 1, 2])
Y = tn.datasets.one_hot(labels, 3)

ce_logits = tn.losses.CategoricalCrossentropy(from_logits=True)
ce_logits.forward(Y, logits)
P = tn.losses.softmax(logits)
print("loss.backward() == (P - Y)/N:", np.allclose(ce_logits.backward(), (P - Y) / len(Y)))
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
# $\ell = \max(z, 0) - z t + \log(1 + e^{-|z|})$, which never exponentiates a positive number.  Below,
# the loss for $t = 1$ as a function of the logit, computed three ways in float32: naively
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
ax.set_xlabel("logit z (target t = 1)"); ax.set_ylabel("loss"); ax.legend();

# %% [markdown]
# You do not have to choose: a `tn.Sequential` whose last activation is a sigmoid (or softmax) compiled
# with binary (or categorical) cross-entropy uses the fused form automatically.  The model still
# *outputs* probabilities; only the loss and its gradient are computed from the logits.
#
# ## On real data: MSE against cross-entropy
#
# The same two-layer network on the handwritten digits (8×8 images, 10 classes), trained with plain SGD,
# once with a softmax + MSE against one-hot targets and once with softmax + cross-entropy.  Everything
# else (data, initial weights, learning rate, batches) is identical.

# %%
x, y = tn.datasets.load_digits()
x_train, x_test, y_train, y_test = tn.datasets.train_test_split(x, y, test_size=0.25, seed=0, stratify=True)
x_train, x_test = tn.datasets.standardize(x_train, x_test)
Y_train, Y_test = tn.datasets.one_hot(y_train, 10), tn.datasets.one_hot(y_test, 10)

curves = {}
for loss in ["mse", "categorical_crossentropy"]:
    tn.set_seed(0)
    model = tn.Sequential([tn.layers.Dense(32, input_dim=64, activation="relu"),
                           tn.layers.Dense(10, activation="softmax")])
    model.compile(loss=loss, optimizer=tn.optimizers.SGD(0.05), metrics=["accuracy"])
    curves[loss] = model.fit(x_train, Y_train, epochs=30, batch_size=32,
                             validation_data=(x_test, Y_test), verbose=0).history
    print(f"{loss:>25}: test accuracy {curves[loss]['val_accuracy'][-1]:.3f}")

# %%
fig, ax = plt.subplots()
for loss, h in curves.items():
    ax.plot(np.arange(1, 31), h["val_accuracy"], label=loss)
ax.set_xlabel("epoch"); ax.set_ylabel("test accuracy"); ax.set_title("digits, SGD(0.05)"); ax.legend();

# %% [markdown]
# With MSE every gradient carries the softmax Jacobian, which is small wherever the network is
# confident, so learning crawls; cross-entropy's $p - y$ is large exactly where the network is wrong.
#
# **Takeaways**
#
# * Sigmoid + binary cross-entropy and softmax + categorical cross-entropy both have the gradient
#   $p - y$ with respect to the logits.
# * Compute them from the logits with the max-shift / log-sum-exp trick: finite for any input, exact,
#   and cheaper than chaining through the activation.
# * For classification, prefer cross-entropy to MSE.
