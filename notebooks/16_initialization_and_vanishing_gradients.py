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
# # 16. Initialization and vanishing gradients
#
# **Prerequisites.** [Notebook 15](15_backprop_through_a_network_by_hand.ipynb) (the backward
# pass through a whole network: $G_A = G_Z W^\top$ at every layer) and a little probability
# (the variance of a sum of independent variables).
#
# **Learning goals.** After this notebook you can
#
# - read a plot of per-layer activation and gradient statistics (`tn.plot.plot_layer_statistics`)
#   and tell a healthy deep network from one whose signal or gradient vanishes or explodes;
# - derive the Xavier/Glorot and He initializations from a variance argument, and say which
#   activation each one is for;
# - explain why deep sigmoid stacks train slowly even when well initialized, and how ReLU with
#   He initialization avoids it.
#
# Notation: a `Dense` layer computes $Z = A_{\text{in}} W + \mathbf 1 b^\top$, $A = f(Z)$, with
# $W$ of shape $(n_\text{in}, n_\text{out})$ (fan-in and fan-out); $G_A = \partial L/\partial A$
# and $G_Z = \partial L/\partial Z$.

# %%
# %matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn

plt.rcParams.update({"figure.dpi": 80})
np.set_printoptions(precision=4, suppress=True)
tn.set_seed(0)

x_all, y_all = tn.datasets.load_digits()
x_all = tn.datasets.standardize(x_all)            # 64 features, mean 0 and std 1 (constant pixels stay 0)
x, y = x_all[:256], y_all[:256]                   # one batch to look at

# %% [markdown]
# ## A deep network, looked at layer by layer
#
# Ten hidden `Dense` layers of 100 units and a softmax output, on a batch of 256 digits.
# `deep_model` builds it with a named initializer, or draws every hidden weight from
# $\mathcal N(0, \sigma^2)$ when given a number $\sigma$ (the biases start at 0).

# %%
def deep_model(activation, init, depth=10, width=100, seed=0):
    tn.set_seed(seed)
    named = init if isinstance(init, str) else "glorot_uniform"
    layers = [tn.layers.Dense(width, input_dim=64, activation=activation, kernel_initializer=named)]
    layers += [tn.layers.Dense(width, activation=activation, kernel_initializer=named) for _ in range(depth - 1)]
    model = tn.Sequential(layers + [tn.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=tn.optimizers.SGD(0.1))
    model.build()
    if not isinstance(init, str):
        rng = np.random.default_rng(seed)
        for layer in model.layers[:-1]:
            layer.params["W"][...] = rng.standard_normal(layer.params["W"].shape) * init
    return model


# %% [markdown]
# `tn.plot.layer_statistics(model, x, y)` runs one forward and backward pass (on a copy of the
# model: nothing changes) and returns, for every layer $l$, its output $A_l$ and the gradient
# $G_{A_l} = \partial L/\partial A_l$ it receives from above. `tn.plot.plot_layer_statistics`
# draws their histograms and their standard deviations by depth. First tanh with weights from
# $\mathcal N(0, 1)$, a "reasonable-looking" choice:

# %%
def per_layer_factor(stats):
    """How much the gradient's std grows per hidden layer, from the top hidden layer down to the first."""
    g = [s.gradient_std for s in stats[:-1]]
    return (g[0] / g[-1]) ** (1 / (len(g) - 1))


stats = tn.plot.layer_statistics(deep_model("tanh", 1.0), x, y)
print(f"fraction of activations with |A| > 0.99: {np.mean([np.mean(np.abs(s.activations) > 0.99) for s in stats[:-1]]):.2f}")
print(f"the gradient's std is multiplied by {per_layer_factor(stats):.2f} per layer on its way down")
tn.plot.plot_layer_statistics(stats)

# %% [markdown]
# Most activations sit at $\pm 1$: each unit sums 100 inputs with weights of variance 1, so $Z$
# has a standard deviation near 10 and tanh saturates. In the backward pass two factors act at
# every layer: the derivative, $G_Z = G_A \odot (1 - A^2)$, nearly 0 for a saturated unit, and
# $W^\top$, $G_{A_\text{in}} = G_Z W^\top$, whose 100 weights of variance 1 multiply the standard
# deviation by about 10. Here their product is larger than 1, so the gradient grows by a
# constant factor at each layer from the output down (read the right panel from right to left):
# it **explodes**: the first layers receive gradients thousands of times larger than the last
# hidden layer, while most of their units are saturated.
#
# Now the opposite, $\sigma = 0.01$:

# %%
tn.plot.plot_layer_statistics(deep_model("tanh", 0.01), x, y)

# %% [markdown]
# Each layer multiplies the standard deviation by about $\sqrt{100}\cdot 0.01 = 0.1$: after ten
# layers the signal is $10^{-10}$ of what went in, a straight line on the log scale. The
# backward pass multiplies by the same $W^\top$, so the gradients shrink from the top down the
# same way. Both failures come from one number: how each layer scales the variance.
#
# ## The variance argument (Glorot and Bengio, 2010)
#
# **Forward.** Take one unit, $Z_j = \sum_{i=1}^{n_\text{in}} A_i W_{ij}$, with the weights
# independent of the inputs, all of mean 0. The variance of a sum of independent terms is the sum
# of their variances, and for independent zero-mean $A, W$:
# $\operatorname{Var}(A W) = \operatorname{Var}(A)\operatorname{Var}(W)$. So
#
# $$\operatorname{Var}(Z) = n_\text{in}\,\operatorname{Var}(W)\,\operatorname{Var}(A).$$
#
# Near 0, tanh is the identity ($\tanh z \approx z$), so $\operatorname{Var}(A_\text{out}) \approx \operatorname{Var}(Z)$:
# the variance is preserved from layer to layer exactly when $n_\text{in}\operatorname{Var}(W) = 1$.
#
# **Backward.** $G_{A_\text{in}} = G_Z W^\top$ is the same kind of sum, now over the
# $n_\text{out}$ units that $A_i$ feeds: $(G_{A_\text{in}})_i = \sum_{j=1}^{n_\text{out}} (G_Z)_j W_{ij}$,
# and the gradient's variance is preserved when $n_\text{out}\operatorname{Var}(W) = 1$.
#
# Both hold only when $n_\text{in} = n_\text{out}$; Glorot and Bengio take the compromise
#
# $$\operatorname{Var}(W) = \frac{2}{n_\text{in} + n_\text{out}}.$$
#
# `glorot_normal` draws a (truncated) normal with that variance; `glorot_uniform`, tinynet's and
# Keras' default, draws $U(-l, l)$, whose variance is $l^2/3$, so $l = \sqrt{6/(n_\text{in} + n_\text{out})}$.
#
# **ReLU (He et al., 2015).** ReLU sets the negative half of a symmetric $Z$ to zero. Its output
# does not have mean 0, and what the next layer's sum sees is the second moment
# $\mathbb E[A^2] = \mathbb E[Z^2 [Z > 0]] = \tfrac12 \operatorname{Var}(Z)$ (by symmetry, half of
# $Z$'s second moment lies on each side). So $\operatorname{Var}(Z_\text{next}) = n_\text{in}\operatorname{Var}(W)\cdot\tfrac12\operatorname{Var}(Z)$,
# preserved when
#
# $$\operatorname{Var}(W) = \frac{2}{n_\text{in}},$$
#
# the He initialization (`he_normal`, `he_uniform` with $l = \sqrt{6/n_\text{in}}$). The
# backward pass loses the same factor $\tfrac12$ ($G_Z = G_A \odot [Z > 0]$ keeps half the
# entries), so the same factor 2 keeps the gradients' scale too.
#
# A quick check of the two formulas on random numbers, before trusting them in a network:

# %%
rng = np.random.default_rng(1)
n_in, n_out = 256, 256
A = rng.standard_normal((500, n_in))                     # inputs of variance 1
for name, f, var_w in [("tanh, Glorot", np.tanh, 2 / (n_in + n_out)),
                       ("ReLU, He", lambda z: np.maximum(z, 0), 2 / n_in),
                       ("ReLU, Glorot", lambda z: np.maximum(z, 0), 2 / (n_in + n_out))]:
    h, second_moments = A, []
    for _ in range(10):
        h = f(h @ (rng.standard_normal((n_in, n_out)) * np.sqrt(var_w)))
        second_moments.append(np.mean(h**2))
    print(f"{name:13s} E[A^2] after layers 1, 5, 10: {second_moments[0]:.3f}, {second_moments[4]:.3f}, {second_moments[9]:.4f}")

# %% [markdown]
# ReLU with He keeps $\mathbb E[A^2]$ near 1, the inputs' value, for all ten layers: the first
# layer's $Z$ has variance $n_\text{in} \cdot 2/n_\text{in} = 2$, of which ReLU keeps half, and
# so on (it drifts a little, since with finite widths each layer's factor is random around 1);
# ReLU with Glorot's variance, here $1/n_\text{in}$, halves it at every layer ($2^{-10} \approx 0.001$
# after ten). tanh with Glorot loses variance too, but ever more slowly: tanh is the identity only
# near 0 and squashes larger values, so each layer shrinks the signal a little, and less as the
# signal gets smaller.
#
# ## The same network, well initialized
#
# tanh with `glorot_uniform` (the default) and ReLU with `he_normal`:

# %%
tn.plot.plot_layer_statistics(deep_model("tanh", "glorot_uniform"), x, y)

# %%
tn.plot.plot_layer_statistics(deep_model("relu", "he_normal"), x, y)

# %% [markdown]
# Both keep the activations' and the gradients' standard deviations within a small factor over
# ten layers: no straight line down or up on the log scale.
#
# ## Sigmoid: vanishing gradients even with a good initialization
#
# The logistic sigmoid $\sigma(z) = 1/(1 + e^{-z})$ has $\sigma'(z) = \sigma(z)(1 - \sigma(z)) \le \tfrac14$,
# with the maximum at $z = 0$. Every sigmoid layer multiplies the backward signal by at most
# $\tfrac14$ (times what $W^\top$ does), and its outputs have mean about $\tfrac12$, not 0, which
# Glorot's argument assumed. Let us compare the gradient's standard deviation by depth for the
# three activations, each with its own best initializer, and for the two bad scales of tanh:

# %%
configurations = {
    "tanh, N(0, 1)": ("tanh", 1.0),
    "tanh, N(0, 0.01²)": ("tanh", 0.01),
    "sigmoid, Glorot": ("sigmoid", "glorot_uniform"),
    "tanh, Glorot": ("tanh", "glorot_uniform"),
    "ReLU, He": ("relu", "he_normal"),
}
depth = 20
with tn.plot.style():
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    for label, (activation, init) in configurations.items():
        stats = tn.plot.layer_statistics(deep_model(activation, init, depth=depth), x, y)
        hidden = stats[:-1]                                     # the output layer apart
        layers = np.arange(1, len(hidden) + 1)
        left.semilogy(layers, [s.activation_std for s in hidden], "o-", ms=3, label=label)
        right.semilogy(layers, [s.gradient_std for s in hidden], "o-", ms=3, label=label)
    left.set_title("std of the activations $A_l$")
    right.set_title(r"std of the gradients $\partial L/\partial A_l$")
    for a in (left, right):
        a.set_xlabel("hidden layer $l$ (input side first)")
        a.grid(True)
    right.legend(fontsize="small")
    plt.show()

# %% [markdown]
# Read the right panel from right to left, the way the gradient travels. With ReLU and He, and
# with tanh and Glorot, the first layer gets a gradient of about the same size as the last. With
# sigmoid, the gradient shrinks by roughly a constant factor per layer: after 20 layers the first
# layers receive a gradient orders of magnitude smaller than the last ones, so with one learning
# rate for all they barely move. The tanh stacks with $\sigma = 0.01$ and $\sigma = 1$ fail as
# we saw: with the first, signal and gradient vanish; with the second, the gradient explodes
# toward the input.
#
# ## What it does to training
#
# Eight epochs of plain SGD on the digits, for a network of 10 hidden layers of 64 units with each
# choice:

# %%
x_train, x_test, y_train, y_test = tn.datasets.train_test_split(x_all, y_all, test_size=0.25, seed=0)
with tn.plot.style():
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, (activation, init) in configurations.items():
        model = deep_model(activation, init, depth=10, width=64)
        history = model.fit(x_train, y_train, epochs=8, batch_size=32, verbose=0)
        accuracy = (model.predict(x_test).argmax(axis=1) == y_test).mean()
        ax.plot(np.arange(1, 9), history.history["loss"], "o-", ms=3, label=f"{label}: test accuracy {accuracy:.2f}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    ax.grid(True)
    ax.legend(fontsize="small")
    ax.set_title("10 hidden layers of 64 units, SGD(0.1)")
    plt.show()

# %% [markdown]
# The well-initialized tanh and ReLU networks learn from the first epochs (ReLU's curve is
# noisier at this learning rate). The deep sigmoid network and the tanh network with tiny
# weights (the two curves on top of each other) stay at the loss of guessing, $\log 10 \approx 2.30$:
# their first layers receive almost no gradient, and what reaches the output layer is almost no
# signal. The saturated $\mathcal N(0, 1)$ network learns something, since its output layer sees
# features, but slowly.
#
# What else fixes a deep network when initialization alone does not: batch normalization
# ([notebook 7](07_overfitting_and_regularization.ipynb)) re-standardizes $Z$ at every layer, and
# residual connections $A_{l+1} = A_l + f(A_l)$ give the gradient a path that multiplies by 1.
#
# ## Summary
#
# - A layer multiplies the variance of its signal by $n_\text{in}\operatorname{Var}(W)$ (times
#   what the activation keeps), and the variance of its backward gradient by
#   $n_\text{out}\operatorname{Var}(W)$ (times the squared derivative). Over $L$ layers those factors
#   are raised to the power $L$: anything but about 1 vanishes or explodes.
# - Glorot/Xavier, $\operatorname{Var}(W) = 2/(n_\text{in} + n_\text{out})$: for tanh (and linear)
#   layers. He, $\operatorname{Var}(W) = 2/n_\text{in}$: for ReLU, whose zero half halves the second moment.
# - Sigmoid's derivative is at most $\tfrac14$: deep sigmoid stacks lose gradient at every layer
#   even when initialized well.
# - Look before you train: `tn.plot.plot_layer_statistics(model, x, y)` on one batch shows it.
#
# **Exercise.** Change `depth` to 50 in the comparison above. Which configurations still pass
# a usable gradient to their first layer? Then try `he_normal` with tanh: what factor per layer
# does the variance argument predict, and does the plot agree?
