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
# # 7. Overfitting and regularization
#
# A network with enough parameters can memorize its training set, noise included, and then does worse
# on new data: it **overfits**.  This notebook provokes overfitting on purpose (a large network, few
# noisy samples), then derives and applies four remedies: **dropout**, **L2 regularization**, **early
# stopping** and **batch normalization**.

# %% [markdown]
# ## Prerequisites
#
# * Notebooks 1 (training curves), 2 (backward passes) and 4 (SGD).
# * Means and variances.

# %% [markdown]
# ## Learning goals
#
# After this notebook you can
#
# * provoke overfitting and diagnose it from training and validation curves;
# * derive dropout, L2 (weight decay) and early stopping, and relate early stopping to an L2 penalty;
# * derive batch normalization's backward pass;
# * compare the remedies on the same problem.

# %%
# %matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn

plt.rcParams.update({"figure.dpi": 80, "figure.figsize": (6.4, 3.6)})
np.set_printoptions(precision=4, suppress=True)
tn.set_seed(0)

# %% [markdown]
# ## A problem made to overfit
#
# Two interleaved half-moons with a lot of noise: 80 training points, and 400 fresh points from the same
# distribution to measure how well the model generalizes.  The network has two hidden layers of 128 units,
# about 17,000 parameters for 80 points.

# %%
x_train, y_train = tn.datasets.make_moons(80, noise=0.35, seed=0)
x_val, y_val = tn.datasets.make_moons(400, noise=0.35, seed=1)

def build(kind="plain", l2=1e-2, rate=0.5):
    tn.set_seed(0)                           # same initial weights and batches for every variant
    reg = tn.regularizers.l2(l2) if kind == "l2" else None
    act = None if kind == "batchnorm" else "relu"
    layers = []
    for i in range(2):
        layers.append(tn.layers.Dense(128, activation=act, kernel_regularizer=reg, **({"input_dim": 2} if i == 0 else {})))
        if kind == "batchnorm":
            layers += [tn.layers.BatchNormalization(), tn.layers.ReLU()]
        if kind == "dropout":
            layers.append(tn.layers.Dropout(rate))
    layers.append(tn.layers.Dense(1, activation="sigmoid"))
    model = tn.Sequential(layers)
    model.compile(loss="binary_crossentropy", optimizer=tn.optimizers.Adam(0.01), metrics=["accuracy"])
    return model

EPOCHS = 200
models, histories = {}, {}
models["plain"] = build()
histories["plain"] = models["plain"].fit(x_train, y_train, epochs=EPOCHS, batch_size=40,
                                         validation_data=(x_val, y_val), verbose=0).history
h = histories["plain"]
print(f"training loss {h['loss'][-1]:.3f}, validation loss: best {min(h['val_loss']):.3f} "
      f"(epoch {int(np.argmin(h['val_loss'])) + 1}), last {h['val_loss'][-1]:.3f}")


# %%
def boundary(model, ax, title):
    tn.plot.plot_decision_boundary(model, x_train, y_train, ax=ax, resolution=150)
    acc = tn.metrics.accuracy(y_val, model.predict(x_val))
    ax.set_title(f"{title}\nvalidation accuracy {acc:.3f}", fontsize=9)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
boundary(models["plain"], axes[0], "no regularization")
axes[1].plot(h["loss"], label="training loss"); axes[1].plot(h["val_loss"], label="validation loss")
axes[1].set_xlabel("epoch"); axes[1].set_ylim(0, 1.4); axes[1].legend()
fig.tight_layout()

# %% [markdown]
# The training loss keeps falling while the validation loss, after a minimum, climbs: the boundary bends
# around individual noisy points.  Each remedy below is a way to prefer simpler functions.
#
# ## Dropout
#
# During training, each unit of a layer's output is kept with probability $q = 1 - r$ and zeroed
# otherwise, independently for every sample and every step.  With a mask $m_i \sim \mathrm{Bernoulli}(q)$,
# **inverted** dropout scales the kept units by $1/q$:
#
# $$y_i = \frac{m_i}{q}\, x_i, \qquad \mathbb{E}[y_i] = \frac{q}{q}\, x_i = x_i ,$$
#
# so the expected activation is unchanged, and at inference the layer is simply the identity (no
# rescaling needed).  The backward pass is the same mask: $y$ is linear in $x$ with a fixed mask, so
#
# $$\frac{\partial L}{\partial x_i} = \frac{m_i}{q}\, \frac{\partial L}{\partial y_i}.$$
#
# A unit cannot rely on any particular other unit being present, which discourages co-adapted, fragile
# features; training effectively averages an ensemble of $2^{\#\text{units}}$ thinned networks that share
# weights.  A quick check of the expectation and of the two modes:

# %%
drop = tn.layers.Dropout(0.5)
drop.rng = np.random.default_rng(0)
ones = np.ones((1000, 100), dtype=np.float32)
out = drop.forward(ones, training=True)
print("training: fraction zeroed", (out == 0).mean(), " kept values", np.unique(out), " mean", out.mean())
print("inference is the identity:", np.array_equal(drop.forward(ones, training=False), ones))

# %% [markdown]
# ## L2 regularization (weight decay)
#
# Add a penalty on the size of the weights to the loss:
#
# $$J(W) = L(W) + \lambda \sum_i W_i^2, \qquad \nabla_W J = \nabla_W L + 2\lambda W .$$
#
# With plain SGD the update becomes
#
# $$W \leftarrow W - \eta (\nabla L + 2\lambda W) = (1 - 2\eta\lambda)\, W - \eta \nabla L :$$
#
# before each ordinary step the weights shrink by a constant factor, hence the name *weight decay*.
# Small weights make a smoother function (for a ReLU network, smaller slopes), so the boundary cannot bend
# sharply around single points.  Probabilistically, $\lambda \sum W^2$ is the negative log of a Gaussian
# prior on the weights.  In tinynet (as in Keras) `Dense(..., kernel_regularizer=tn.regularizers.l2(lam))`
# adds $\lambda \sum W^2$ to the reported loss and $2 \lambda W$ to the gradient:

# %%
layer = tn.layers.Dense(3, input_dim=2, kernel_regularizer=tn.regularizers.l2(0.1))
layer.build((2,))
W = layer.params["W"]
print("penalty:", layer.regularization_loss(), " = 0.1 * sum(W^2) =", 0.1 * float(np.sum(W**2)))
grad = np.zeros_like(W)
layer.regularizers["W"].add_gradient(W, grad)
print("its gradient is 2*0.1*W:", np.allclose(grad, 0.2 * W))

# %% [markdown]
# ## Early stopping
#
# The simplest remedy uses the validation curve directly: stop when the validation loss has not improved
# for `patience` epochs, and put back the weights of the best epoch.  Training for fewer steps from small
# initial weights is itself a regularizer: for a linear model with squared loss, $t$ steps of gradient
# descent with learning rate $\eta$ from $W = 0$ behave much like L2.  Along an eigendirection of the
# loss's curvature $h$, gradient descent reaches $1 - (1 - \eta h)^t \approx 1 - e^{-\eta h t}$ of the
# optimum, and a penalty $\frac{\alpha}{2}\lVert W\rVert^2$ keeps $h/(h + \alpha)$ of it; for small $h$
# the two are $\eta h t$ and $h/\alpha$, equal when $\alpha = 1/(\eta t)$.  With this notebook's penalty
# $\lambda \sum W^2 = \frac{2\lambda}{2}\lVert W\rVert^2$, $\alpha = 2\lambda$, so early stopping after
# $t$ steps is like $\lambda \approx 1/(2\eta t)$.  The price is a validation set that the model never
# trains on.
#
# ## Batch normalization
#
# Batch normalization standardizes every feature over the mini-batch, then lets the network rescale it.
# For a feature with values $x_1, \dots, x_M$ in the batch:
#
# $$\mu = \frac1M \sum_k x_k, \qquad \sigma^2 = \frac1M \sum_k (x_k - \mu)^2, \qquad
# \hat x_k = \frac{x_k - \mu}{s},\ s = \sqrt{\sigma^2 + \epsilon}, \qquad y_k = \gamma \hat x_k + \beta .$$
#
# **Backward.**  With $G_k = \partial L / \partial y_k$, the parameters are easy:
# $\partial L/\partial \gamma = \sum_k G_k \hat x_k$ and $\partial L/\partial \beta = \sum_k G_k$.  For the
# input, every $x_k$ influences every $\hat x_l$ through $\mu$ and $s$.  Using
# $\partial \mu / \partial x_k = 1/M$ and
# $\partial s / \partial x_k = \frac{1}{2s}\cdot\frac{2}{M}(x_k - \mu) = \hat x_k / M$
# (the terms through $\mu$ in $\sigma^2$ sum to zero since $\sum_l (x_l - \mu) = 0$):
#
# $$\frac{\partial \hat x_l}{\partial x_k} = \frac{\delta_{lk} - 1/M}{s} - \frac{(x_l - \mu)}{s^2}\,\frac{\hat x_k}{M}
# = \frac{1}{s}\Big(\delta_{lk} - \frac1M - \frac{\hat x_l \hat x_k}{M}\Big).$$
#
# Then, with $\partial L/\partial \hat x_l = \gamma G_l$,
#
# $$\frac{\partial L}{\partial x_k} = \sum_l \gamma G_l \frac{\partial \hat x_l}{\partial x_k}
# = \frac{\gamma}{M s}\Big(M G_k - \sum_l G_l - \hat x_k \sum_l G_l \hat x_l\Big).$$
#
# The gradient is the upstream gradient with its mean and its component along $\hat x$ removed: shifting
# or scaling a feature's inputs cannot change its normalized output.  At inference the batch statistics
# are replaced by running averages collected during training, so a prediction does not depend on the
# other samples of the batch.  BN mainly speeds up and stabilizes training; its regularizing effect comes
# from the noise of the batch statistics (each sample is normalized with a slightly different $\mu, s$
# depending on its batch-mates).  A numerical check of the formula above:

# %%
rng = np.random.default_rng(0)
with tn.gradcheck.float64_defaults():
    bn = tn.layers.BatchNormalization()
    bn.build((4,))
bn.params["gamma"][...] = rng.uniform(0.5, 2, 4)
xb = rng.standard_normal((16, 4)) * 3 + 1
g = rng.standard_normal((16, 4))
y = bn.forward(xb, training=True)
print("output mean per feature ~ beta = 0:", np.round(((y - bn.params["beta"]) / bn.params["gamma"]).mean(axis=0), 12))
dx = bn.backward(g)
xh, s, M = bn.x_hat, 1 / bn.inv_std, len(xb)
by_hand = bn.params["gamma"] / (M * s) * (M * g - g.sum(0) - xh * (g * xh).sum(0))
print("dx matches the formula:", np.allclose(dx, by_hand))
print("central differences:", tn.gradcheck.check_layer(bn, xb))

# %% [markdown]
# ## All four on the same problem
#
# Same data, same initial weights, same batches; only the remedy differs.  Dropout rate 0.5 after each
# hidden layer; L2 with $\lambda = 10^{-2}$ on both hidden kernels; early stopping on the validation loss
# with patience 20 and the best weights restored; batch normalization between each hidden `Dense` and its
# ReLU.

# %%
for kind in ["dropout", "l2", "batchnorm"]:
    models[kind] = build(kind)
    histories[kind] = models[kind].fit(x_train, y_train, epochs=EPOCHS, batch_size=40,
                                       validation_data=(x_val, y_val), verbose=0).history
stopper = tn.callbacks.EarlyStopping(monitor="val_loss", patience=20, restore_best_weights=True)
models["early stopping"] = build()
histories["early stopping"] = models["early stopping"].fit(x_train, y_train, epochs=EPOCHS, batch_size=40,
                                                           validation_data=(x_val, y_val), verbose=0,
                                                           callbacks=[stopper]).history
print(f"early stopping: stopped after {len(histories['early stopping']['loss'])} epochs, "
      f"best epoch {stopper.best_epoch + 1}")
for kind, model in models.items():
    loss, acc = model.evaluate(x_val, y_val)
    print(f"{kind:>15}: validation loss {loss:.3f}, accuracy {acc:.3f}")

# %%
fig, axes = plt.subplots(2, 3, figsize=(11, 6.6))
for ax, (kind, model) in zip(axes.flat, models.items()):
    boundary(model, ax, kind)
ax = axes.flat[-1]
for kind, h in histories.items():
    ax.plot(h["val_loss"], label=kind)
ax.set_ylim(0.2, 1.3); ax.set_xlabel("epoch"); ax.set_title("validation loss", fontsize=9); ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# Every remedy gives a smoother boundary than the plain network and a lower final validation loss.  Note
# that the validation loss, which punishes confident mistakes, reacts much more than the accuracy.  (The
# losses reported for the L2 model include the penalty $\lambda \sum W^2$, `val_loss` too, so its
# data loss alone is even a little lower.)
#
# **Takeaways**
#
# * Overfitting shows as a growing gap between training and validation loss.
# * Dropout: $y = x \odot m / q$ in training, identity at inference; gradient through the same mask.
# * L2: $J = L + \lambda \sum W^2$, gradient $+2\lambda W$, i.e. weight decay $(1 - 2\eta\lambda) W$.
# * Early stopping: keep the weights of the best validation epoch.
# * Batch normalization: $\partial L/\partial x = \frac{\gamma}{Ms}(M g - \sum g - \hat x \sum g\hat x)$;
#   running averages at inference.
