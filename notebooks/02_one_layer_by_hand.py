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
# # 2. One layer by hand
#
# A neural network is a chain of small functions, each with a **forward pass** (compute the
# output) and a **backward pass** (given how the loss changes with the output, say how it
# changes with the input and with the parameters).  This notebook writes the fully connected
# layer, `tinynet.layers.Dense`, out by hand in NumPy, derives its backward pass, and checks
# the derivation numerically with `tinynet.gradcheck`.

# %% [markdown]
# ## Prerequisites
#
# * Notebook 1 (what a `Dense` layer and a loss are, as a user).
# * Matrix products and their shapes; the chain rule of calculus for one variable.

# %% [markdown]
# ## Learning goals
#
# After this notebook you can
#
# * derive the forward and backward pass of `Dense` element by element and in matrix form,
#   $G_Z = G \odot f'(Z)$, $dW = X^\top G_Z$, $db = \mathbf 1^\top G_Z$, $dX = G_Z W^\top$, with every shape;
# * implement them in NumPy and check them against central differences with `tinynet.gradcheck`;
# * recognize what a gradient bug looks like in a check, and choose the finite-difference step $h$.

# %%
# %matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn

plt.rcParams.update({"figure.dpi": 80, "figure.figsize": (6.4, 3.6)})
np.set_printoptions(precision=4, suppress=True)
tn.set_seed(0)


# %% [markdown]
# ## The forward pass
#
# A batch of $N$ inputs with $D$ features each is a matrix $X \in \mathbb{R}^{N \times D}$.
# A `Dense(units=M)` layer holds a weight matrix $W \in \mathbb{R}^{D \times M}$ and a bias
# $b \in \mathbb{R}^{M}$, and computes
#
# $$Z = X W + \mathbf{1} b^\top, \qquad Y = f(Z),$$
#
# that is $Z_{nj} = \sum_i X_{ni} W_{ij} + b_j$ for sample $n$ and output unit $j$, followed by
# an element-wise activation $f$ (here $\tanh$).

# %%
def dense_forward(X, W, b):
    Z = X @ W + b          # broadcasting adds b to every row
    Y = np.tanh(Z)
    cache = (X, W, Y)      # what the backward pass will need
    return Y, cache

rng = np.random.default_rng(0)
N, D, M = 5, 3, 4
X = rng.standard_normal((N, D))
W = rng.standard_normal((D, M)) * 0.5
b = rng.standard_normal(M) * 0.1
Y, cache = dense_forward(X, W, b)
Y


# %% [markdown]
# ## The backward pass, derived
#
# The layer sits somewhere inside a network whose loss $L$ is a number.  The layer above hands
# us $G = \partial L / \partial Y$, an $N \times M$ matrix.  We need three things:
# $\partial L/\partial W$ (to update $W$), $\partial L/\partial b$ (to update $b$) and
# $\partial L/\partial X$ (to pass on to the layer below).
#
# **Through the activation.**  $Y_{nj} = f(Z_{nj})$ depends only on $Z_{nj}$, so the chain rule has a
# single term:
#
# $$(G_Z)_{nj} = \frac{\partial L}{\partial Z_{nj}} = \frac{\partial L}{\partial Y_{nj}} f'(Z_{nj})
# \quad\Longrightarrow\quad G_Z = G \odot f'(Z).$$
#
# For $f = \tanh$, $f'(z) = 1 - \tanh^2 z = 1 - Y^2$: the derivative is read off the output.
#
# **The weights.**  $W_{ij}$ appears in $Z_{nj}$ for every sample $n$ (and in no other column),
# with $\partial Z_{nj} / \partial W_{ij} = X_{ni}$:
#
# $$\frac{\partial L}{\partial W_{ij}} = \sum_{n} \frac{\partial L}{\partial Z_{nj}} \frac{\partial Z_{nj}}{\partial W_{ij}}
# = \sum_n X_{ni} (G_Z)_{nj} \quad\Longrightarrow\quad dW = X^\top G_Z .$$
#
# **The bias.**  $\partial Z_{nj}/\partial b_j = 1$ for every $n$:
#
# $$\frac{\partial L}{\partial b_j} = \sum_n (G_Z)_{nj} \quad\Longrightarrow\quad db = \mathbf{1}^\top G_Z
# \ \text{(the column sums)}.$$
#
# **The input.**  $X_{ni}$ appears in $Z_{nj}$ for every unit $j$, with
# $\partial Z_{nj}/\partial X_{ni} = W_{ij}$:
#
# $$\frac{\partial L}{\partial X_{ni}} = \sum_j (G_Z)_{nj} W_{ij} \quad\Longrightarrow\quad dX = G_Z W^\top .$$
#
# A quick sanity check is the shapes: $dW$ is $(D \times N)(N \times M) = D \times M$ like $W$,
# and $dX$ is $(N \times M)(M \times D) = N \times D$ like $X$.

# %%
def dense_backward(G, cache):
    X, W, Y = cache
    GZ = G * (1.0 - Y**2)      # through tanh
    dW = X.T @ GZ
    db = GZ.sum(axis=0)
    dX = GZ @ W.T
    return dX, dW, db

G = rng.standard_normal((N, M))     # some upstream gradient dL/dY
dX, dW, db = dense_backward(G, cache)
print("dW shape", dW.shape, " db shape", db.shape, " dX shape", dX.shape)


# %% [markdown]
# ## Checking the derivation numerically
#
# A derivative can be estimated without any calculus, by the **central difference**
#
# $$\frac{\partial f}{\partial \theta_i} \approx \frac{f(\theta + h e_i) - f(\theta - h e_i)}{2h},$$
#
# whose error is $O(h^2)$ (the $h^2$ terms of the two Taylor expansions cancel).  The layer's
# output is a matrix, not a number, so we check the scalar $f = \sum_{nj} G_{nj} Y_{nj}$: its
# gradient with respect to anything is exactly what the backward pass computes from $G$.
# `tn.gradcheck.numerical_gradient(f, array)` perturbs the array in place, one entry at a time.

# %%
def f():
    Y, _ = dense_forward(X, W, b)
    return float(np.sum(G * Y))

numeric = {name: tn.gradcheck.numerical_gradient(f, arr) for name, arr in [("X", X), ("W", W), ("b", b)]}
for name, analytic in [("X", dX), ("W", dW), ("b", db)]:
    err = tn.gradcheck.relative_error(analytic, numeric[name])
    print(f"d{name}: relative error {err:.2e}")

# %% [markdown]
# The error measure is the largest element-wise difference relative to the largest gradient
# entry,
# $e = \max_i |a_i - n_i| \,/\, \max(\max_i |a_i|, \max_i |n_i|)$: round-off gives about
# $10^{-10}$, a real mistake (a missing factor, a transposed matrix) gives something of order one.
#
# ### The same check against tinynet's `Dense`
#
# tinynet's layer must agree with our hand-written one when it is given the same weights.  Gradient
# checks need float64 (in float32 the central difference drowns in round-off), so we build the layer
# inside `tn.gradcheck.float64_defaults()`.

# %%
with tn.gradcheck.float64_defaults():
    layer = tn.layers.Dense(M, activation="tanh")
    layer.build((D,))
layer.params["W"][...] = W        # in-place: params are views the model relies on
layer.params["b"][...] = b

Y_tn = layer.forward(X, training=True)
dX_tn = layer.backward(G)
print("forward matches:", np.allclose(Y_tn, Y))
print("dX matches:", np.allclose(dX_tn, dX), "  dW matches:", np.allclose(layer.grads["W"], dW),
      "  db matches:", np.allclose(layer.grads["b"], db))
tn.gradcheck.check_layer(layer, X)

# %% [markdown]
# `check_layer` draws its own random upstream gradient and returns the relative error for the input
# and for every parameter.  Let us look at the two gradients of $W$ side by side, and at their
# difference:

# %%
pairs = tn.gradcheck.layer_gradients(layer, X)
analytic, numerical = pairs["W"]
fig, axes = plt.subplots(1, 3, figsize=(9, 2.6))
for ax, data, title in zip(axes, [analytic, numerical, analytic - numerical],
                           ["analytic dW", "numerical dW", "difference"]):
    im = ax.imshow(data, cmap="RdBu_r")
    ax.set_title(title); ax.set_xticks([]); ax.set_yticks([]); ax.grid(False)
    fig.colorbar(im, ax=ax, shrink=0.8)
fig.tight_layout()


# %% [markdown]
# ## What a bug looks like
#
# A classic mistake is to forget the activation's derivative, i.e. to use $G$ where $G \odot f'(Z)$
# is needed.  The check catches it at once: the error is of order one, not $10^{-10}$.

# %%
class ForgetfulDense(tn.layers.Dense):
    """A Dense layer whose backward pass skips the activation's derivative (a bug)."""
    def backward(self, grad_output):
        return self.backward_preactivation(grad_output)

with tn.gradcheck.float64_defaults():
    buggy = ForgetfulDense(M, activation="tanh")
tn.gradcheck.check_layer(buggy, X)

# %% [markdown]
# ## Choosing the step $h$
#
# The central difference has two errors pulling in opposite directions: the truncation error
# $\approx \tfrac{h^2}{6} f'''$ shrinks with $h$, while the round-off error
# $\approx \varepsilon_{\text{mach}} |f| / h$ grows as $h$ shrinks ($\varepsilon_{\text{mach}}
# \approx 2.2 \times 10^{-16}$ in float64).  Their sum $\tfrac{h^2}{6}|f'''| + \varepsilon_{\text{mach}}|f|/h$
# is smallest at $h^* = (3\varepsilon_{\text{mach}} |f| / |f'''|)^{1/3}$, which is
# $\varepsilon_{\text{mach}}^{1/3} \approx 6 \times 10^{-6}$ times a factor $(3|f|/|f'''|)^{1/3}$ of order 1
# for a well-scaled function; tinynet uses $h = 10^{-6}$, and the relative error stays near its
# minimum over a wide range of $h$ around it:

# %%
steps = np.logspace(-12, -1, 23)
errors = [tn.gradcheck.relative_error(dW, tn.gradcheck.numerical_gradient(f, W, eps=h)) for h in steps]
fig, ax = plt.subplots()
ax.loglog(steps, errors, "o-")
ax.axvline(1e-6, color="gray", ls="--", label="tinynet's default h")
ax.set_xlabel("step h"); ax.set_ylabel("relative error of dW"); ax.legend()
ax.set_title("truncation error (right) against round-off error (left)");
print(f"eps_mach ** (1/3) = {np.finfo(np.float64).eps ** (1 / 3):.1e}; "
      f"smallest error {min(errors):.1e} at h = {steps[int(np.argmin(errors))]:.0e}, "
      f"error {errors[int(np.argmin(np.abs(steps - 1e-6)))]:.1e} at h = 1e-06")

# %% [markdown]
# ## A whole model at once
#
# The backward pass of a model is the backward passes of its layers, run in reverse.
# `tn.gradcheck.check_model` checks the gradient of the *loss* with respect to every parameter of a
# compiled model (here with the sigmoid fused into the binary cross-entropy, see notebook 3):

# %%
with tn.gradcheck.float64_defaults():
    model = tn.Sequential([
        tn.layers.Dense(6, input_dim=D, activation="tanh"),
        tn.layers.Dense(4, activation="relu"),
        tn.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(loss="binary_crossentropy", optimizer="sgd")
y = (X[:, 0] > 0).astype(float)
tn.gradcheck.check_model(model, X, y)

# %% [markdown]
# Every error is around $10^{-9}$ or below: the three lines of calculus above, applied layer after
# layer, are all that training needs.  (ReLU has a kink at 0; the check is only unreliable when an
# input lands within $h$ of it, which random data essentially never does.)
#
# **Takeaways**
#
# * Forward: $Z = XW + \mathbf 1 b^\top$, $Y = f(Z)$.
# * Backward: $G_Z = G \odot f'(Z)$, $dW = X^\top G_Z$, $db = \mathbf 1^\top G_Z$, $dX = G_Z W^\top$.
# * Always check a hand-written gradient with central differences in float64.
