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
# # 17. Learning-rate schedules and more optimizers
#
# **Prerequisites.** [Notebook 4](04_optimizers.ipynb) (SGD, Momentum, RMSprop and Adam, their
# update rules and paths) and [notebook 7](07_overfitting_and_regularization.ipynb) (L2 weight
# penalties).
#
# **Learning goals.** After this notebook you can
#
# - say exactly which step index a learning-rate schedule is evaluated at in tinynet, and read
#   the `learning_rate` column of a training history;
# - write the update of Nesterov momentum and relate it to the look-ahead gradient;
# - say precisely what Adagrad's accumulator does to each coordinate's step size, and why its
#   steps only shrink;
# - derive why an L2 penalty inside Adam is not weight decay, and what AdamW does instead;
# - compare these choices on a small task.
#
# Notation: $\theta$ a parameter, $g$ its gradient, $\eta$ the learning rate. Steps: $s$ is the
# number of updates already taken (tinynet's `optimizer.iterations`), and $k = s + 1$ counts the
# update being made ($k = 1$ for the first); a subscript $g_k$ is the gradient of update $k$.

# %%
# %matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn
from tinynet import optimizers, schedules

plt.rcParams.update({"figure.dpi": 80})
np.set_printoptions(precision=4, suppress=True)
tn.set_seed(0)

# %% [markdown]
# ## Learning-rate schedules
#
# A schedule is a function of the step, passed where a learning rate goes:
# `tn.optimizers.Adam(learning_rate=schedules.CosineDecay(1e-3, 1000))`. Before every update the
# optimizer evaluates it at $s$ = `optimizer.iterations`, the number of updates **already** taken,
# and only then counts the new update. So update $k$ uses $\eta(k - 1)$: the first update uses
# $\eta(0)$, the initial rate. (Adam's bias corrections $1 - \beta^k$ in the same update use $k$.)
# Let us watch it happen with a parameter and a constant gradient:

# %%
schedule = schedules.ExponentialDecay(1.0, decay_steps=1, decay_rate=0.5)   # eta(s) = 0.5**s
opt = optimizers.SGD(learning_rate=schedule)
theta, g = np.zeros(1), np.ones(1)
for k in range(1, 5):
    s = opt.iterations
    before = theta.copy()
    opt.step({"theta": theta}, {"theta": g})
    print(f"update k={k}: iterations before = {s}, step taken = {before[0] - theta[0]:.4f}, "
          f"schedule(k-1) = {schedule(k - 1):.4f}, iterations after = {opt.iterations}")

# %% [markdown]
# `fit` records the rate in force at the **start** of each epoch as `learning_rate` in the
# history: with $B$ batches per epoch, epoch $e$ (counting from 0) starts after $eB$ updates and
# logs $\eta(eB)$, the rate of its first update.
#
# The four schedules (Keras' classes and formulas; $\eta_0$ the initial rate, $T$ =
# `decay_steps`):
#
# | schedule | $\eta(s)$ |
# |---|---|
# | `ExponentialDecay` | $\eta_0\, r^{s/T}$ (with `staircase=True`: $r^{\lfloor s/T\rfloor}$) |
# | `InverseTimeDecay` | $\eta_0 / (1 + r\, s / T)$ |
# | `PiecewiseConstantDecay` | a constant on each interval between the boundaries |
# | `CosineDecay` | optional linear warm-up over $W$ steps, then $\eta_\text{peak}\big((1-\alpha)\tfrac12(1 + \cos(\pi \min(s', T)/T)) + \alpha\big)$, with $s' = s - W$ |

# %%
steps = np.arange(1000)
examples = {
    "ExponentialDecay(1e-2, 100, 0.7)": schedules.ExponentialDecay(1e-2, 100, 0.7),
    "… staircase=True": schedules.ExponentialDecay(1e-2, 100, 0.7, staircase=True),
    "InverseTimeDecay(1e-2, 100, 1.0)": schedules.InverseTimeDecay(1e-2, 100, 1.0),
    "PiecewiseConstantDecay([300, 600], …)": schedules.PiecewiseConstantDecay([300, 600], [1e-2, 3e-3, 1e-3]),
    "CosineDecay(0, 900, warmup 100 to 1e-2)": schedules.CosineDecay(0.0, 900, warmup_target=1e-2, warmup_steps=100),
}
with tn.plot.style():
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for label, sched in examples.items():
        ax.plot(steps, [sched(s) for s in steps], label=label)
    ax.set_xlabel("step $s$ (updates already taken)")
    ax.set_ylabel(r"learning rate $\eta(s)$")
    ax.grid(True)
    ax.legend(fontsize="small")
    plt.show()

# %% [markdown]
# Why decay at all: with a constant rate, SGD on noisy mini-batch gradients does not converge to
# a minimum but keeps bouncing around it, in a region whose size grows with $\eta$. A large rate
# early moves fast; a small rate late settles. Why warm up: at the start Adam's second-moment
# estimate $v$ rests on a handful of gradients and the weights are random, so the first updates
# are the least reliable; a rate that starts small keeps them from throwing the network into a
# bad region (warm-up matters most for large models and large batches).
#
# ## Nesterov momentum
#
# Momentum (notebook 4) keeps a velocity $b$, the decaying sum of past gradients:
# $b \leftarrow \mu b + g(\theta)$, $\theta \leftarrow \theta - \eta b$. Nesterov's idea: since
# the step will move $\theta$ by about $-\eta\mu b$ anyway, take the gradient at that
# look-ahead point, $g(\theta - \eta\mu b)$, which corrects the velocity before it overshoots.
# Evaluating the gradient elsewhere than at the parameters is awkward in a training loop, so
# libraries (torch, and tinynet's `SGD(momentum=μ, nesterov=True)`) store the look-ahead point
# $\varphi = \theta - \eta\mu b$ as the parameter. From Nesterov's update,
# $b' = \mu b + g(\varphi)$ and $\theta' = \theta - \eta b'$, the new look-ahead point is
#
# $$\varphi' = \theta' - \eta\mu b' = \varphi + \eta\mu b - \eta b' - \eta\mu b' = \varphi - \eta\big(g(\varphi) + \mu b'\big),$$
#
# using $\eta\mu b - \eta b' = -\eta g(\varphi)$. Renaming $\varphi$ as the parameter $\theta$
# gives an update that needs only the gradient at the parameter:
#
# $$b \leftarrow \mu b + g, \qquad \theta \leftarrow \theta - \eta\,(g + \mu b).$$
#
# Compared with plain momentum's step $\eta b = \eta(\mu b_\text{old} + g)$, Nesterov's is
# $\eta(g + \mu b) = \eta\big((1 + \mu) g + \mu^2 b_\text{old}\big)$: the *current* gradient weighs
# $1 + \mu$ instead of 1, so a gradient that turns round takes effect one step sooner.
# Checked on one step of the real optimizer:

# %%
mu, eta = 0.9, 0.1
opt = optimizers.SGD(eta, momentum=mu, nesterov=True)
theta = np.array([1.0, -2.0])
by_hand, b = theta.copy(), np.zeros(2)
for g in (np.array([0.5, 0.3]), np.array([-0.4, 0.2]), np.array([0.1, -0.6])):
    b = mu * b + g
    by_hand = by_hand - eta * (g + mu * b)
    opt.step({"theta": theta}, {"theta": g})
    print("by hand", by_hand, "   tinynet", theta)

# %% [markdown]
# On the ill-conditioned bowl $f(x, y) = \tfrac12(x^2 + 25y^2)$ of notebook 4, with the same rate
# and $\mu = 0.9$, `tn.plot.plot_optimizer_paths` runs both (the real optimizer classes):

# %%
tn.plot.plot_optimizer_paths(
    "quadratic",
    {"Momentum": optimizers.SGD(0.02, momentum=0.9),
     "Nesterov": optimizers.SGD(0.02, momentum=0.9, nesterov=True)},
    steps=60,
)

# %% [markdown]
# Nesterov's path oscillates less across the steep direction and reaches a lower $f$ in the same
# number of steps (legend).
#
# ## Adagrad: what its accumulator does
#
# Adagrad keeps, per coordinate, the **sum** of all squared gradients so far and divides by its
# square root:
#
# $$S_k = \sum_{j=1}^{k} g_j^2, \qquad \theta \leftarrow \theta - \eta\,\frac{g_k}{\sqrt{S_k} + \epsilon}.$$
#
# Three exact consequences, per coordinate:
#
# 1. **Scale-free.** Multiplying a coordinate's gradients by $c > 0$ multiplies $\sqrt{S_k}$ by $c$
#    too: the step does not change. A coordinate with a constant gradient $g_j = c$ moves
#    $\eta\, c/\sqrt{k c^2} = \eta/\sqrt k$ on update $k$, whatever $c$ is.
# 2. **Only shrinking.** $S_k$ never decreases, so a coordinate's effective rate
#    $\eta/\sqrt{S_k}$ never increases: after many updates every step is small, even if the
#    gradients stay large. That is why Adagrad stalls in long non-convex training, and why RMSprop
#    replaced the sum by a decaying average.
# 3. **Counted by non-zero gradients.** Updates where a coordinate's gradient is 0 add nothing
#    to its $S$ and do not move it. A coordinate with a gradient $c$ on only $m$ of $k$ updates
#    (a feature present in few samples, a rare word's embedding) moves $\eta/\sqrt m$ on its
#    $m$-th non-zero update, where a coordinate with the gradient $c$ on every update moves
#    $\eta/\sqrt k$. After $k = 100$ updates with $m = 10$, that is $\eta/\sqrt{10}$ against
#    $\eta/10$: a step 3.2 times larger for the coordinate that has been updated less.
#
# The real optimizer, with a coordinate that gets the gradient 5 on every update, one with 0.01 on
# every update, and one with 5 on every tenth update:

# %%
opt = optimizers.Adagrad(learning_rate=0.1, epsilon=1e-12)
theta = np.zeros(3)
steps_taken = []
for k in range(1, 101):
    g = np.array([5.0, 0.01, 5.0 if k % 10 == 0 else 0.0])
    before = theta.copy()
    opt.step({"theta": theta}, {"theta": g})
    steps_taken.append(before - theta)
steps_taken = np.array(steps_taken)
print("update 100: steps", steps_taken[-1], "  predicted: eta/sqrt(100) =", 0.1 / 10, ", eta/sqrt(10) =", 0.1 / np.sqrt(10))
with tn.plot.style():
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    k = np.arange(1, 101)
    ax.loglog(k, steps_taken[:, 0], label="gradient 5 on every update")
    ax.loglog(k, steps_taken[:, 1], "--", label="gradient 0.01 on every update")
    sparse = steps_taken[:, 2] > 0
    ax.loglog(k[sparse], steps_taken[sparse, 2], "o", label="gradient 5 on every 10th update")
    ax.loglog(k, 0.1 / np.sqrt(k), "k:", lw=1, label=r"$\eta/\sqrt{k}$")
    ax.set_xlabel("update $k$")
    ax.set_ylabel("step size")
    ax.grid(True)
    ax.legend(fontsize="small")
    plt.show()

# %% [markdown]
# The first two curves lie on top of each other (scale-free) and on $\eta/\sqrt k$ (only
# shrinking); the rarely updated coordinate moves more on each of its updates than the others do
# at the same time.
#
# ## AdamW: weight decay is not an L2 penalty in Adam
#
# **With SGD they are the same.** An L2 penalty $\tfrac\lambda2\lVert\theta\rVert^2$ adds
# $\lambda\theta$ to the gradient, and the SGD step becomes
#
# $$\theta - \eta(g + \lambda\theta) = (1 - \eta\lambda)\,\theta - \eta g:$$
#
# first shrink every weight by the factor $1 - \eta\lambda$ ("weight decay"), then the usual step.
#
# **With Adam they are not.** The penalty's gradient $\lambda\theta$ goes into $m$ and $v$ with
# the loss gradient and is divided by $\sqrt{\hat v}$ like the rest. A weight whose loss gradients
# are large has a large $\hat v$ and is hardly decayed; a weight with small gradients is decayed
# strongly. In the extreme of a weight the loss does not depend on ($g = 0$), the total gradient
# is $\lambda\theta$, Adam normalizes it, and $\hat m/\sqrt{\hat v} \approx \operatorname{sign}(\theta)$:
# the weight moves by about $\eta$ per step toward 0, **whatever $\lambda$ is**.
#
# **AdamW** (Loshchilov and Hutter, 2019) decouples the two: it shrinks the weights
# *outside* Adam, $\theta \leftarrow \theta(1 - \eta\lambda)$, then takes the Adam step with the
# loss gradient alone. Every weight then decays by the same factor per step, as in SGD, and the
# decay never enters the moments. (tinynet follows torch: the decay is multiplied by the
# current learning rate, so a schedule scales it too.)
#
# The $g = 0$ case with the real optimizers: Adam given the gradient $\lambda\theta$ (an L2
# penalty) against AdamW with `weight_decay=λ`, for a large and a small $\lambda$:

# %%
eta, steps_n = 0.01, 200
with tn.plot.style():
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    for lam, style_ in [(0.1, "-"), (1e-3, "--")]:
        theta_l2, theta_w = np.array([1.0]), np.array([1.0])
        adam, adamw = optimizers.Adam(eta), optimizers.AdamW(eta, weight_decay=lam)
        path_l2, path_w = [1.0], [1.0]
        for _ in range(steps_n):
            adam.step({"p": theta_l2}, {"p": lam * theta_l2})           # L2: the penalty's gradient
            adamw.step({"p": theta_w}, {"p": np.zeros(1)})             # AdamW: the loss gradient (0)
            path_l2.append(theta_l2[0])
            path_w.append(theta_w[0])
        ax.plot(path_l2, "C0" + style_, label=f"Adam + L2, λ = {lam:g}")
        ax.plot(path_w, "C1" + style_, label=f"AdamW, λ = {lam:g}")
        print(f"λ = {lam:g}: after {steps_n} steps Adam+L2 {theta_l2[0]:.3f}, AdamW {theta_w[0]:.4f} "
              f"(= (1 - ηλ)^{steps_n} = {(1 - eta * lam) ** steps_n:.4f})")
    ax.set_xlabel("step")
    ax.set_ylabel(r"$\theta$ (no loss gradient)")
    ax.grid(True)
    ax.legend(fontsize="small")
    plt.show()

# %% [markdown]
# With the L2 penalty, Adam pulls the weight down by about $\eta = 0.01$ per step for *both*
# values of $\lambda$, a hundredfold apart: $\lambda$ hardly matters. AdamW decays it
# geometrically by exactly $(1 - \eta\lambda)$ per step, and $\lambda$ means what it says.
#
# ## Compared on a small task
#
# A 64-128-10 network on the digits, 20 epochs with batches of 32, each optimizer at a rate
# that suits it (chosen by a quick look, not tuned hard; the same initial weights for all):

# %%
x, y = tn.datasets.load_digits()
x_train, x_val, y_train, y_val = tn.datasets.train_test_split(x, y, test_size=0.25, seed=0)
x_train, x_val = tn.datasets.standardize(x_train, x_val)
epochs, batch_size = 20, 32
steps_per_epoch = int(np.ceil(len(x_train) / batch_size))
total = epochs * steps_per_epoch
# one epoch of linear warm-up from 1e-4 to 3e-3, then a cosine down to 0 at the last update
cosine = schedules.CosineDecay(1e-4, total - steps_per_epoch, warmup_target=3e-3, warmup_steps=steps_per_epoch)

candidates = {
    "SGD 0.05": lambda: optimizers.SGD(0.05),
    "Momentum 0.9": lambda: optimizers.SGD(0.01, momentum=0.9),
    "Nesterov 0.9": lambda: optimizers.SGD(0.01, momentum=0.9, nesterov=True),
    "Adagrad 0.05": lambda: optimizers.Adagrad(0.05),
    "Adam 1e-3": lambda: optimizers.Adam(1e-3),
    "AdamW 1e-3, λ=0.01": lambda: optimizers.AdamW(1e-3, weight_decay=0.01),
    "Adam + cosine (warm-up)": lambda: optimizers.Adam(cosine),
}
histories = {}
for name, make in candidates.items():
    tn.set_seed(0)
    model = tn.Sequential([tn.layers.Dense(128, input_dim=64, activation="relu"),
                           tn.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=make(), metrics=["accuracy"])
    histories[name] = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size,
                                validation_data=(x_val, y_val), verbose=0).history

with tn.plot.style():
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    for name, h in histories.items():
        left.semilogy(np.arange(1, epochs + 1), h["loss"], label=name)
        right.plot(np.arange(1, epochs + 1), h["val_accuracy"], label=name)
    left.set_title("training loss")
    right.set_title("validation accuracy")
    for a in (left, right):
        a.set_xlabel("epoch")
        a.grid(True)
    right.legend(fontsize="small")
    plt.show()

for name, h in histories.items():
    print(f"{name:24s} final training loss {h['loss'][-1]:.4f}, validation accuracy {h['val_accuracy'][-1]:.3f}")

# %% [markdown]
# The logged rate of the cosine run shows the schedule at the start of each epoch, $\eta(eB)$
# with $B$ = `steps_per_epoch`:

# %%
print("logged         ", np.array(histories["Adam + cosine (warm-up)"]["learning_rate"][:5]))
print("cosine(e * B)  ", np.array([cosine(e * steps_per_epoch) for e in range(5)]))

# %% [markdown]
# On a problem this small every optimizer reaches about the same validation accuracy (97 to 98 %);
# what differs is how fast the training loss falls:
#
# - Adagrad at 0.05 drives the training loss lowest. Its first update moves every weight by
#   $\eta = 0.05$ times the sign of its gradient (consequence 1: $g_1/\sqrt{g_1^2}$), a large step,
#   and its shrinking steps (consequence 2) then act as a built-in decay schedule; over 20 epochs
#   that has not yet become a stall.
# - The cosine schedule takes Adam below constant-rate Adam: the same optimizer, with a larger
#   rate in the middle and a vanishing one at the end.
# - Momentum and Nesterov lie nearly on top of each other: their steps differ in the weight of
#   the current gradient, which matters when the velocity overshoots, as on the bowl above; at
#   this rate the training curve shows no overshoot to correct.
# - Adam and AdamW lie on top of each other too: with $\eta\lambda = 10^{-5}$ per step, the 860
#   updates of 20 epochs shrink the weights by under 1 %. Weight decay is a regularizer; it shows
#   on a model that overfits (notebook 7), not on the training loss of this one.
#
# These are one run each on one small data set, with rates picked by a quick look: the lessons are
# the mechanisms above, not the ranking.
#
# ## Summary
#
# - tinynet evaluates a schedule at $s$ = `optimizer.iterations`, the number of updates already
#   taken: update $k$ uses $\eta(k - 1)$; the history's `learning_rate` is the rate of each
#   epoch's first update.
# - Nesterov: $b \leftarrow \mu b + g$, $\theta \leftarrow \theta - \eta(g + \mu b)$, the
#   look-ahead gradient in a form that needs only $g(\theta)$.
# - Adagrad divides each coordinate's gradient by the square root of the sum of all its squared
#   gradients: scale-free per coordinate, step sizes that only shrink (like $\eta/\sqrt k$ for a
#   constant gradient), larger steps for coordinates with fewer non-zero gradients.
# - In Adam an L2 penalty is normalized away with the gradient; AdamW decays every weight by
#   $(1 - \eta\lambda)$ per step outside the moments, which is the weight decay SGD has.
#
# **Exercise.** Add `InverseTimeDecay` with SGD to the comparison. Then give Adam an L2 penalty
# through `kernel_regularizer=tn.regularizers.l2(...)` on the hidden layer and compare its
# weights' norm after training with AdamW's.
