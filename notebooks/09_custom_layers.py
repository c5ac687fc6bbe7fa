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
# # 9. A custom layer, end to end
#
# This notebook writes a new layer from scratch: **Swish** with a trainable slope $\beta$,
#
# $$y = x\,\sigma(\beta x), \qquad \sigma(z) = \frac{1}{1 + e^{-z}}.$$
#
# We derive its backward pass by hand, prove the derivation with `tinynet.testing`'s gradient
# assertions over shapes drawn by Hypothesis, register the layer so that model files can name it,
# train a model with it, and save, load and predict.  It is the notebook version of the guide
# *Write a custom layer* (`docs/custom-layers.md`); the finished layer is `examples/swish.py`.

# %% [markdown]
# ## Prerequisites
#
# * Notebook 2 (deriving and checking a backward pass).
# * Python classes (subclassing, `__init__`, methods).

# %% [markdown]
# ## Learning goals
#
# After this notebook you can
#
# * write a new layer with a trainable parameter on tinynet's `Layer` protocol;
# * derive its backward pass for the input and for the parameter;
# * prove it with `tinynet.testing`'s gradient assertions over shapes drawn by Hypothesis;
# * register it so that model files can name it, and train, save and load a model that uses it.

# %%
# %matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn

plt.rcParams.update({"figure.dpi": 80, "figure.figsize": (6.4, 3.6)})
np.set_printoptions(precision=4, suppress=True)
tn.set_seed(0)

# %% [markdown]
# ## The function
#
# $\beta$ sets the shape: $\beta = 0$ gives the line $x/2$, $\beta = 1$ is SiLU, and as
# $\beta \to \infty$, $\sigma(\beta x)$ becomes a step and Swish becomes ReLU.  Unlike ReLU it is
# smooth everywhere and dips slightly below zero for negative $x$.  With $\beta$ trainable, each
# layer of a network picks its own activation.

# %%
from tinynet.layers.activations import stable_sigmoid

z = np.linspace(-4, 4, 401)
fig, ax = plt.subplots()
for beta in [0.0, 0.5, 1.0, 2.0, 10.0]:
    ax.plot(z, z * stable_sigmoid(beta * z), label=fr"$\beta = {beta:g}$")
ax.plot(z, np.maximum(z, 0), "k:", label="ReLU")
ax.set_xlabel("x"); ax.set_ylabel("y"); ax.set_title(r"Swish $x\,\sigma(\beta x)$"); ax.legend()
plt.show()

# %% [markdown]
# ## The backward pass, derived
#
# The layer receives $G = \partial L/\partial y$, an array shaped like $y$, and must return
# $\partial L/\partial x$ and write $\partial L/\partial \beta$.  Write $s = \sigma(\beta x)$
# element-wise and recall $\sigma'(z) = \sigma(z)(1 - \sigma(z))$.
#
# **Input.**  $y_k = x_k s_k$ depends on $x_k$ directly and through $s_k$.  The product rule and
# the chain rule give
#
# $$\frac{\partial y_k}{\partial x_k} = s_k + x_k \frac{\partial s_k}{\partial x_k}
#   = s_k + \beta x_k\, s_k (1 - s_k).$$
#
# No other output depends on $x_k$, so the chain rule's sum has a single term:
#
# $$\frac{\partial L}{\partial x} = G \odot \big(s + \beta x\, s (1 - s)\big).$$
#
# **Parameter.**  $\partial s_k / \partial \beta = x_k s_k (1 - s_k)$, so
# $\partial y_k/\partial\beta = x_k^2 s_k (1 - s_k)$.  *Every* output depends on the one
# $\beta$, so the chain rule sums over all of them, every sample and every feature:
#
# $$\frac{\partial L}{\partial \beta} = \sum_k G_k\, x_k^2\, s_k (1 - s_k).$$
#
# **Shapes.**  $x, s, y, G$ and $\partial L/\partial x$ share one shape; $\beta$ and its
# gradient have shape $(1,)$.  The cache (what `forward` keeps for `backward`) is $x$ and $s$.

# %% [markdown]
# ## The code
#
# A layer subclasses `tinynet.layers.Layer`: `build` creates the parameters with `add_param`,
# `forward` returns the output and keeps the cache, `backward` **writes** the parameter gradients
# into `self.grads` *in place* and **returns** the input gradient, and `get_config` returns the
# constructor's arguments.  `@tn.register_layer` adds the class to
# `tinynet.layers.LAYER_REGISTRY`, which model files are loaded from.

# %%
from tinynet.layers import Layer


@tn.register_layer
class Swish(Layer):
    """Swish activation with a trainable slope: y = x * sigmoid(beta * x)."""

    def __init__(self, beta: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.beta = float(beta)

    def build(self, input_shape):
        super().build(input_shape)
        self.add_param("beta", np.full((1,), self.beta))

    def forward(self, x, training=False):
        beta = self.params["beta"]
        s = stable_sigmoid(beta * x)
        self.x, self.s = x, s  # the cache: what backward needs
        return x * s

    def backward(self, grad_output):
        x, s, beta = self.x, self.s, self.params["beta"]
        ds = s * (1.0 - s)  # sigma'(beta x)
        self.grads["beta"][...] = np.sum(grad_output * x * x * ds)  # in place: never rebind grads
        return grad_output * (s + beta * x * ds)

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


Swish(beta=2.0)

# %% [markdown]
# ## Prove it
#
# The derivation is a claim; numerical derivatives test it.  `assert_layer_gradients` builds the
# layer in float64, draws a random upstream gradient $G$ and compares the backward pass with
# central differences of $f = \sum_k G_k y_k$,
#
# $$\frac{\partial f}{\partial \theta_i} \approx \frac{f(\theta + h e_i) - f(\theta - h e_i)}{2h}, \qquad h = 10^{-6},$$
#
# for every element of the input and of $\beta$.  It returns the error of each array,
#
# $$e = \frac{\max_i |a_i - n_i|}{\max(\max_i |a_i|, \max_i |n_i|)},$$
#
# and fails when one exceeds $10^{-6}$.

# %%
from tinynet.testing import assert_layer_gradients

x = np.random.default_rng(1).normal(size=(4, 3))
assert_layer_gradients(Swish(beta=0.7), x)

# %% [markdown]
# One batch proves little.  Hypothesis draws many: shapes with one to three axes after the batch
# axis (batch size 1 and odd sizes included) and slopes $\beta \in [-3, 3]$.  In a test file pytest
# would call `test_swish_backward`; here we call it ourselves.  It returns nothing when all 25
# examples pass.

# %%
import hypothesis.strategies as st
from hypothesis import given

from tinynet.testing.strategies import arrays, gradient_settings

shapes_seen = []


@gradient_settings(database=None)  # a notebook keeps no database of failing examples
@given(x=arrays(max_dims=3, max_side=4), beta=st.floats(-3.0, 3.0))
def test_swish_backward(x, beta):
    shapes_seen.append(x.shape)
    assert_layer_gradients(Swish(beta=beta), x)


test_swish_backward()
print(len(shapes_seen), "examples, e.g.", sorted(set(shapes_seen))[:6])


# %% [markdown]
# ## What a wrong derivation looks like
#
# Forget the $\beta$ in $\partial y/\partial x$ (an easy slip: it is right for SiLU, $\beta = 1$)
# and the check fails with a table: each array, its error, the element where the analytic and
# the numerical gradient differ most, and both values there.

# %%
class SwishWithoutBeta(Swish):
    def backward(self, grad_output):
        x, s = self.x, self.s
        ds = s * (1.0 - s)
        self.grads["beta"][...] = np.sum(grad_output * x * x * ds)
        return grad_output * (s + x * ds)  # beta forgotten


try:
    assert_layer_gradients(SwishWithoutBeta(beta=0.5), x)
except AssertionError as failure:
    print(failure)


# %% [markdown]
# When the error has a recognisable pattern, the message adds a hint.  Forgetting to multiply by
# the upstream gradient $G$ (the chain rule) is one:

# %%
class SwishWithoutUpstream(Swish):
    def backward(self, grad_output):
        x, s, beta = self.x, self.s, self.params["beta"]
        ds = s * (1.0 - s)
        self.grads["beta"][...] = np.sum(grad_output * x * x * ds)
        return s + beta * x * ds  # G forgotten


try:
    assert_layer_gradients(SwishWithoutUpstream(beta=0.5), x)
except AssertionError as failure:
    print(failure)

# %% [markdown]
# ## In a model
#
# Inside a model the parameters and gradients are views into the model's flat buffers (which is
# why `backward` writes `self.grads["beta"][...]` in place), and the loss is the real one.
# `assert_model_gradients` checks every parameter of a compiled model against central
# differences of its loss.

# %%
from tinynet.testing import assert_model_gradients

with tn.gradcheck.float64_defaults():
    tn.set_seed(0)
    check = tn.Sequential([tn.layers.Dense(4, input_dim=2), Swish(), tn.layers.Dense(1, activation="sigmoid")])
    check.compile(optimizer="adam", loss="binary_crossentropy")
rng = np.random.default_rng(0)
assert_model_gradients(check, rng.normal(size=(5, 2)), rng.integers(0, 2, (5, 1)))

# %% [markdown]
# ## Train
#
# Two interleaving moons and a small network with a Swish after each hidden layer.  We train one
# epoch at a time to watch the two slopes $\beta$ learn.

# %%
x_all, y_all = tn.datasets.make_moons(400, noise=0.15, seed=0)
x_train, x_test, y_train, y_test = tn.datasets.train_test_split(x_all, y_all, test_size=0.25, seed=0)

tn.set_seed(0)
model = tn.Sequential([
    tn.layers.Dense(16, input_dim=2),
    Swish(),
    tn.layers.Dense(16),
    Swish(beta=0.5),
    tn.layers.Dense(1, activation="sigmoid"),
])
model.compile(loss="binary_crossentropy", optimizer=tn.optimizers.Adam(0.02), metrics=["accuracy"])
swishes = [layer for layer in model.layers if isinstance(layer, Swish)]

betas = []
for epoch in range(60):
    model.fit(x_train, y_train, epochs=1, batch_size=32, verbose=0)
    betas.append([float(layer.params["beta"][0]) for layer in swishes])
loss, accuracy = model.evaluate(x_test, y_test)
print(f"test accuracy {accuracy:.3f}; learned betas {np.round(betas[-1], 3)}")

fig, ax = plt.subplots()
ax.plot(np.arange(1, 61), betas, label=["first Swish (from 1.0)", "second Swish (from 0.5)"])
ax.set_xlabel("epoch"); ax.set_ylabel(r"$\beta$"); ax.set_title(r"The slopes $\beta$ during training")
ax.legend()
plt.show()

# %% [markdown]
# The optimizer updates $\beta$ like any weight: after an early dip both slopes grow, the activations become more
# ReLU-like, and the network separates the moons.
#
# ## Save, load, predict
#
# The model file records each layer's registered name and `get_config()` together with the
# weights, trained $\beta$ included.  Loading looks `"Swish"` up in `LAYER_REGISTRY`, which is
# why the layer must be registered (and its code run) before a file using it is loaded.

# %%
import tempfile
from pathlib import Path

from tinynet.serialization import load_model

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "swish_moons.npz"
    model.save(path)
    loaded = load_model(path)

print([type(layer).__name__ for layer in loaded.layers])
print("betas after loading:", [round(float(l.params["beta"][0]), 3) for l in loaded.layers if isinstance(l, Swish)])
print("identical predictions:", np.array_equal(loaded.predict(x_test), model.predict(x_test)))

# %% [markdown]
# ## Checklist for any custom layer
#
# 1. Write the forward formula; derive $\partial L/\partial x$ and every $\partial L/\partial\theta$
#    element by element with the chain rule, summing over every output an element influences.
# 2. `build` creates parameters with `add_param`; `forward` keeps the cache; `backward` writes
#    `self.grads[key][...]` and returns the input gradient; neither modifies its arguments.
# 3. `get_config` returns the constructor's arguments; decorate the class with `@tn.register_layer`.
# 4. Prove the backward pass with `assert_layer_gradients` over Hypothesis shapes, then
#    `assert_model_gradients` on a small model.
# 5. Train, save, load, predict.
# 6. For an `activation=` argument like Dense's, subclass `tn.layers.ActivatedLayer`: compute $Z$ into
#    a buffer of your own, return `self.activate(z, training)`, implement `backward_preactivation`
#    from $\partial L/\partial Z$; the model then fuses a sigmoid or softmax head with the loss itself.
