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
# # 4. Optimizers
#
# Backpropagation gives the gradient $g = \nabla_\theta L$; the optimizer decides what step to take
# with it.  This notebook derives the update rules of **SGD**, **Momentum**, **RMSprop** and **Adam**
# (as `tinynet.optimizers` implements them, following `torch.optim`), watches their paths on two
# 2-D surfaces, and compares their training curves on a real data set.

# %% [markdown]
# ## Prerequisites
#
# * Notebooks 2 and 3 (where the gradient $g = \nabla_\theta L$ comes from).
# * Gradient descent as an idea; exponential moving averages are introduced here.

# %% [markdown]
# ## Learning goals
#
# After this notebook you can
#
# * write the update rules of SGD, Momentum, RMSprop and Adam, and derive Adam's bias correction;
# * predict how each behaves on a badly conditioned bowl and in a curved valley;
# * compare optimizers by their training curves on real data.

# %%
# %matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn

plt.rcParams.update({"figure.dpi": 80, "figure.figsize": (6.4, 3.6)})
np.set_printoptions(precision=4, suppress=True)
tn.set_seed(0)

# %% [markdown]
# ## The update rules
#
# **SGD.**  The first-order Taylor expansion $L(\theta + \Delta) \approx L(\theta) + g^\top \Delta$
# decreases fastest along $-g$; a small step of size $\eta$ (the learning rate) in that direction is
#
# $$\theta \leftarrow \theta - \eta\, g .$$
#
# On a quadratic $L = \tfrac12 \sum_i \lambda_i \theta_i^2$ the update is
# $\theta_i \leftarrow (1 - \eta \lambda_i)\theta_i$: it converges only if $\eta < 2/\lambda_{\max}$, and
# then the flattest direction shrinks by only $1 - \eta\lambda_{\min}$ per step.  With a condition
# number $\lambda_{\max}/\lambda_{\min}$ of 100, that is slow.
#
# **Momentum** (heavy ball).  Keep a running sum of past gradients, a velocity $b$ (zero at the start):
#
# $$b \leftarrow \mu\, b + g, \qquad \theta \leftarrow \theta - \eta\, b .$$
#
# Unrolled, $b_t = \sum_{s \le t} \mu^{t-s} g_s$: in a direction where the gradient keeps its sign, the
# steps add up to $\eta/(1-\mu)$ times the gradient (10 times for $\mu = 0.9$); in a direction where it
# flips sign from step to step (the walls of a valley), they cancel.
#
# **RMSprop.**  Scale each coordinate by a running root-mean-square of its own gradients
# ($v$ starts at 0, $\rho \approx 0.9$):
#
# $$v \leftarrow \rho\, v + (1 - \rho)\, g^2, \qquad
# \theta \leftarrow \theta - \eta\, \frac{g}{\sqrt{v} + \epsilon}.$$
#
# If a coordinate's gradient is steadily $g$, then $v \to g^2$ and the step is $\eta\,\mathrm{sign}(g)$:
# every direction moves at the same speed whatever its curvature, which undoes bad conditioning along
# the axes.
#
# **Adam** combines both: an exponential average of the gradient (momentum, $\beta_1 = 0.9$) and of its
# square (RMSprop, $\beta_2 = 0.999$), both starting at 0:
#
# $$m \leftarrow \beta_1 m + (1-\beta_1)\, g, \qquad v \leftarrow \beta_2 v + (1-\beta_2)\, g^2 .$$
#
# Starting at 0 biases them towards 0: with a constant gradient,
# $m_t = (1-\beta_1)\sum_{s=1}^{t} \beta_1^{t-s} g = (1 - \beta_1^t)\, g$.  Dividing by
# $1 - \beta_1^t$ removes exactly that bias (and likewise for $v$):
#
# $$\hat m = \frac{m}{1 - \beta_1^t}, \qquad \hat v = \frac{v}{1 - \beta_2^t}, \qquad
# \theta \leftarrow \theta - \eta\, \frac{\hat m}{\sqrt{\hat v} + \epsilon}.$$
#
# Every optimizer in tinynet has the same interface: `opt.step(params, grads)` updates the arrays of the
# dict `params` in place from the dict `grads`, and keeps its state (`b`, `v`, `m`) in `opt.state`.
# That lets us run them on any function, not just networks.  First, a check that `Adam` does what the
# formulas say:

# %%
theta = {"w": np.array([1.0, -2.0])}
grads = {"w": np.zeros(2)}
adam = tn.optimizers.Adam(learning_rate=0.1)
m = v = np.zeros(2); w = theta["w"].copy()
for t in range(1, 6):
    g = 2 * theta["w"]                  # gradient of |w|^2
    grads["w"][...] = g
    adam.step(theta, grads)
    m = 0.9 * m + 0.1 * g; v = 0.999 * v + 0.001 * g**2
    w = w - 0.1 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-7)  # epsilon 1e-7, as Keras
print("tinynet:", theta["w"], " by hand:", w, " equal:", np.allclose(theta["w"], w))

# %% [markdown]
# ## Paths on two surfaces
#
# The first surface is an elongated quadratic bowl, $f = \tfrac12 (x^2 + 25 y^2)$ (curvatures 1 and 25,
# so SGD needs $\eta < 2/25$), the second is Rosenbrock's banana, $f = (1 - x)^2 + 100 (y - x^2)^2$,
# whose minimum $(1, 1)$ lies at the end of a long, curved, flat-bottomed valley.  Each optimizer starts
# from the same point and takes the same number of steps through the same `opt.step(params, grads)`
# call, with the exact gradient of the surface.  `tn.plot.plot_optimizer_paths` runs and draws them; the
# learning rates (one per optimizer and surface) were chosen so that each shows its character without
# diverging:

# %%
for name in ["quadratic", "rosenbrock"]:
    surface = tn.plot.SURFACES[name]
    print(f"{name:>10}: {surface.steps} steps from {surface.start}, learning rates {dict(surface.learning_rates)}")

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
tn.plot.plot_optimizer_paths("quadratic", ax=axes[0])
tn.plot.plot_optimizer_paths("rosenbrock", ax=axes[1])
fig.tight_layout()

# %% [markdown]
# On the bowl, SGD's learning rate 0.075 sits just below the stability limit $2/25 = 0.08$ of the steep
# direction: each step overshoots the valley floor, and the $y$ error only shrinks by a factor
# $|1 - 25\eta| = 0.875$ per step, hence the long zigzag (a smaller $\eta$ would stop the zigzag but
# crawl along $x$, whose error shrinks by $1 - \eta$).  Momentum accumulates speed along $x$ and
# overshoots too, spiralling in.  RMSprop and Adam rescale each coordinate, so they head almost
# diagonally for the minimum.  On Rosenbrock all four drop quickly into the curved valley; along its
# floor the gradient is tiny, and plain SGD (whose learning rate is again capped by the steep walls) is
# still crawling after 1000 steps, while momentum and the adaptive methods travel along the valley
# towards the minimum.
#
# ## Training curves on a real data set
#
# Now the same four optimizers train the same network (64 → 32 relu → 10 softmax, identical initial
# weights and batches) on the handwritten digits.  For a network the learning rate matters at least as
# much as the optimizer, so each uses a typical value: SGD 0.05, Momentum 0.01 (its effective step is
# $\eta/(1-\mu) = 0.1$), RMSprop and Adam 0.001.

# %%
x, y = tn.datasets.load_digits()
x_train, x_test, y_train, y_test = tn.datasets.train_test_split(x, y, test_size=0.25, seed=0, stratify=True)
x_train, x_test = tn.datasets.standardize(x_train, x_test)

choices = {"SGD": tn.optimizers.SGD(0.05), "Momentum": tn.optimizers.Momentum(0.01),
           "RMSprop": tn.optimizers.RMSprop(0.001), "Adam": tn.optimizers.Adam(0.001)}
histories = {}
for name, opt in choices.items():
    tn.set_seed(0)
    model = tn.Sequential([tn.layers.Dense(32, input_dim=64, activation="relu"),
                           tn.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=opt, metrics=["accuracy"])
    histories[name] = model.fit(x_train, y_train, epochs=25, batch_size=32,
                                validation_data=(x_test, y_test), verbose=0).history
    print(f"{name:>8}: final training loss {histories[name]['loss'][-1]:.4f}, "
          f"test accuracy {histories[name]['val_accuracy'][-1]:.3f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
for name, h in histories.items():
    epochs = np.arange(1, len(h["loss"]) + 1)
    axes[0].semilogy(epochs, h["loss"], label=name)
    axes[1].plot(epochs, h["val_accuracy"], label=name)
axes[0].set_title("training loss"); axes[1].set_title("test accuracy")
for ax in axes:
    ax.set_xlabel("epoch"); ax.legend()
fig.tight_layout()

# %% [markdown]
# **Takeaways**
#
# * SGD: $\theta \leftarrow \theta - \eta g$; its learning rate is limited by the sharpest direction.
# * Momentum: $b \leftarrow \mu b + g$, $\theta \leftarrow \theta - \eta b$; speeds up consistent
#   directions, damps oscillating ones.
# * RMSprop: divide by $\sqrt{v}$, a running RMS of each coordinate's gradient.
# * Adam: momentum on $m$, RMSprop on $v$, both bias-corrected by $1 - \beta^t$.  A good default, but
#   well-tuned SGD with momentum often matches it.
