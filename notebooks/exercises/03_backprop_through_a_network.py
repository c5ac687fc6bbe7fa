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
# # Exercises 3. Backpropagation through a whole network, by hand
#
# **Prerequisites:** exercises 1 and 2 (Dense, ReLU, softmax cross-entropy); notebook 15,
# *Backpropagation through a network by hand* (`notebooks/15_backprop_through_a_network_by_hand.ipynb`).
#
# **You will:** write the forward pass and the whole backward pass of a 2-layer network,
# Dense-ReLU-Dense-softmax with the cross-entropy loss, as one function that returns the loss and
# the gradient of every parameter. The grader builds the same network in tinynet
# (`tn.Sequential([Dense(5, activation="relu"), Dense(3, activation="softmax")])`), puts your
# weights in it, and compares your gradients with what `model.backward` computes.
#
# **How:** replace each `raise NotImplementedError`, run the check cell below it.
# Estimated time: 45 minutes.

# %%
import numpy as np

from tinynet import exercises

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. The forward pass
#
# For a batch $X$ of shape $(N, D)$, weights $W_1$ $(D, H)$, $b_1$ $(H,)$, $W_2$ $(H, K)$, $b_2$ $(K,)$:
#
# $$A = X W_1 + \mathbf 1 b_1^\top,\quad H = \max(A, 0),\quad Z = H W_2 + \mathbf 1 b_2^\top,
# \quad P = \mathrm{softmax}(Z)\ \text{(row by row)}.$$
#
# Return $P$, shape $(N, K)$. Subtract each row's maximum before `np.exp`.


# %% nbgrader={"grade": false, "grade_id": "two_layer_forward", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def two_layer_forward(x, W1, b1, W2, b2):
    ### BEGIN SOLUTION
    h = np.maximum(x @ W1 + b1, 0)
    z = h @ W2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
    ### END SOLUTION


# %%
print(exercises.check("two_layer_forward", two_layer_forward))

# %% [markdown]
# ## 2. The loss and the backward pass
#
# The loss is the mean cross-entropy against one-hot targets $T$:
# $L = -\frac1N \sum_{n,k} T_{nk} \log P_{nk}$. Walk the forward pass backwards, one step for each
# step, each gradient shaped like what it is the gradient of:
#
# | forward | backward |
# |---|---|
# | $P = \mathrm{softmax}(Z)$, loss $L$ | $G_Z = (P - T)/N$ (the fused softmax + cross-entropy gradient) |
# | $Z = H W_2 + \mathbf 1 b_2^\top$ | $dW_2 = H^\top G_Z$, $db_2 = \mathbf 1^\top G_Z$, $G_H = G_Z W_2^\top$ |
# | $H = \max(A, 0)$ | $G_A = G_H \odot [A > 0]$ |
# | $A = X W_1 + \mathbf 1 b_1^\top$ | $dW_1 = X^\top G_A$, $db_1 = \mathbf 1^\top G_A$ |
#
# Keep $A$ (or $H$) from the forward pass: the ReLU's mask needs it. Return
# `(loss, dW1, db1, dW2, db2)`. The classic mistakes, which the check names: the ReLU mask
# forgotten, a transposed weight gradient ($G^\top H$ for $H^\top G$), the $1/N$ missing, the
# bias gradients forgotten, $T - P$ for $P - T$.


# %% nbgrader={"grade": false, "grade_id": "two_layer_backward", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def two_layer_backward(x, t, W1, b1, W2, b2):
    ### BEGIN SOLUTION
    n = len(x)
    a = x @ W1 + b1
    h = np.maximum(a, 0)
    z = h @ W2 + b2
    s = z - z.max(axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    loss = -(t * log_p).sum() / n
    g_z = (np.exp(log_p) - t) / n
    dW2, db2 = h.T @ g_z, g_z.sum(axis=0)
    g_a = (g_z @ W2.T) * (a > 0)
    dW1, db1 = x.T @ g_a, g_a.sum(axis=0)
    return loss, dW1, db1, dW2, db2
    ### END SOLUTION


# %%
print(exercises.check("two_layer_backward", two_layer_backward))

# %% [markdown]
# ## 3. Train with your own gradients
#
# Gradient descent with your function on a small problem (three classes of points in the plane,
# lifted to 4 features). When your backward pass is right, the loss falls.

# %%
rng = np.random.default_rng(0)
centers = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
labels = rng.integers(0, 3, 150)
points = centers[labels] + rng.normal(scale=0.8, size=(150, 2))
x = np.hstack([points, points**2 / 4])
t = np.eye(3)[labels]
W1, b1 = rng.normal(scale=0.5, size=(4, 5)), np.zeros(5)
W2, b2 = rng.normal(scale=0.5, size=(5, 3)), np.zeros(3)
try:
    for step in range(201):
        loss, dW1, db1, dW2, db2 = two_layer_backward(x, t, W1, b1, W2, b2)
        W1, b1, W2, b2 = W1 - 0.5 * dW1, b1 - 0.5 * db1, W2 - 0.5 * dW2, b2 - 0.5 * db2
        if step % 50 == 0:
            print(f"step {step:3d}: loss {loss:.4f}")
    accuracy = np.mean(two_layer_forward(x, W1, b1, W2, b2).argmax(axis=1) == labels)
    print(f"training accuracy {accuracy:.2f}")
except NotImplementedError:
    print("write two_layer_forward and two_layer_backward first")

# %% [markdown]
# ## Your score
#
# From the command line: `tinynet exercises grade FILE.py` on a file with your functions.

# %%
results = exercises.grade(globals(), names=["two_layer_forward", "two_layer_backward"])
print(f"{sum(r.passed for r in results)} of {len(results)} passed, score {sum(r.score for r in results):.2f}")
