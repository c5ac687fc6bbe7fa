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
# # Exercises 1. The Dense layer and the activations' backward passes
#
# **Prerequisites:** NumPy (broadcasting, `@`, `sum(axis=...)`), the chain rule, notebook
# 2, *One layer by hand* (`notebooks/02_one_layer_by_hand.ipynb`).
#
# **You will:** write the forward and backward pass of a fully connected layer and the backward
# passes of sigmoid, tanh, ReLU and softmax, each as a pure NumPy function, and have each graded
# against tinynet's own implementation (`tinynet.ops`) with a hint when it is wrong.
#
# **How:** replace each `raise NotImplementedError` with your code, then run the check cell
# below it. A check prints `passed`, or what differs and a hint naming the likely mistake.
# Estimated time: 45 minutes.

# %%
import numpy as np

from tinynet import exercises

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. Dense forward
#
# A batch $X$ of $N$ rows with $D$ features, weights $W$ of shape $(D, U)$ and a bias $b$ of
# shape $(U,)$: $Z = X W + \mathbf 1 b^\top$, shape $(N, U)$.


# %% nbgrader={"grade": false, "grade_id": "dense_forward", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def dense_forward(x, W, b):
    # YOUR CODE HERE
    raise NotImplementedError


# %%
print(exercises.check("dense_forward", dense_forward))

# %% [markdown]
# ## 2. Dense backward
#
# Given $G_Z = \partial L/\partial Z$, return the three gradients, each shaped like what it is
# the gradient of:
#
# $$dX = G_Z W^\top, \qquad dW = X^\top G_Z, \qquad db = \mathbf 1^\top G_Z .$$


# %% nbgrader={"grade": false, "grade_id": "dense_backward", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def dense_backward(x, W, grad_z):
    # YOUR CODE HERE
    raise NotImplementedError


# %%
print(exercises.check("dense_backward", dense_backward))

# %% [markdown]
# ## 3. Sigmoid, tanh and ReLU backward
#
# Each receives the forward **output** $y$ and the upstream gradient $G = \partial L/\partial y$
# and returns $G \odot f'(x)$, with $f'$ written in terms of $y$:
# $\sigma' = y(1 - y)$, $\tanh' = 1 - y^2$, $\mathrm{relu}' = [y > 0]$.


# %% nbgrader={"grade": false, "grade_id": "elementwise", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def sigmoid_backward(y, grad):
    # YOUR CODE HERE
    raise NotImplementedError


def tanh_backward(y, grad):
    # YOUR CODE HERE
    raise NotImplementedError


def relu_backward(y, grad):
    # YOUR CODE HERE
    raise NotImplementedError


# %%
for name in ("sigmoid_backward", "tanh_backward", "relu_backward"):
    print(exercises.check(name, globals()[name]))

# %% [markdown]
# ## 4. Softmax backward
#
# Softmax is not element-wise: every output depends on every input of its row,
# $\partial y_i/\partial x_j = y_i(\delta_{ij} - y_j)$. Chain $G$ through that Jacobian without
# building it:
#
# $$\frac{\partial L}{\partial x_j} = y_j\Big(G_j - \sum_i G_i y_i\Big).$$


# %% nbgrader={"grade": false, "grade_id": "softmax_backward", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def softmax_backward(y, grad):
    # YOUR CODE HERE
    raise NotImplementedError


# %%
print(exercises.check("softmax_backward", softmax_backward))

# %% [markdown]
# ## Your score
#
# The same grade from the command line: save your functions in a `.py` file and run
# `tinynet exercises grade FILE.py`.

# %%
names = [
    "dense_forward",
    "dense_backward",
    "sigmoid_backward",
    "tanh_backward",
    "relu_backward",
    "softmax_backward",
]
results = exercises.grade(globals(), names=names)
print(f"{sum(r.passed for r in results)} of {len(results)} passed, score {sum(r.score for r in results):.2f}")
