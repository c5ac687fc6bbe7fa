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
# # Exercises 2. Losses and optimizer steps
#
# **Prerequisites:** exercises 1; notebooks 3, *Losses*, and 4, *Optimizers*
# (`notebooks/03_losses.ipynb`, `notebooks/04_optimizers.ipynb`).
#
# **You will:** write mean squared error and softmax cross-entropy from logits (values and
# gradients), then one step of SGD, Momentum, RMSprop and Adam as pure functions, each graded
# against tinynet (`tinynet.ops`, `tinynet.optimizers`) with a hint when it is wrong.
#
# **How:** replace each `raise NotImplementedError`, run the check cell below it.
# Estimated time: 60 minutes.

# %%
import numpy as np

from tinynet import exercises

# %% [markdown]
# ## 1. Mean squared error
#
# Over $N$ samples of $D$ outputs, the mean over every element, and its gradient:
#
# $$\mathrm{MSE} = \frac{1}{ND}\sum_{n,d} (\hat y_{nd} - y_{nd})^2, \qquad
# \frac{\partial\,\mathrm{MSE}}{\partial \hat y} = \frac{2(\hat y - y)}{ND}.$$


# %% nbgrader={"grade": false, "grade_id": "mse", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def mse(y_true, y_pred):
    # YOUR CODE HERE
    raise NotImplementedError


def mse_grad(y_true, y_pred):
    # YOUR CODE HERE
    raise NotImplementedError


# %%
print(exercises.check("mse", mse))
print(exercises.check("mse_grad", mse_grad))

# %% [markdown]
# ## 2. Softmax cross-entropy from logits
#
# Per row, $\ell_n = \log\sum_k e^{z_{nk}} - \sum_k t_{nk} z_{nk}$: subtract the row's maximum
# before exponentiating (one test row has logits near 800). The gradient of the mean over the
# batch is $(\mathrm{softmax}(z) - t)/N$ for one-hot $t$.


# %% nbgrader={"grade": false, "grade_id": "cross_entropy", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def softmax_cross_entropy(z, t):
    # YOUR CODE HERE
    raise NotImplementedError


def softmax_cross_entropy_grad(z, t):
    # YOUR CODE HERE
    raise NotImplementedError


# %%
print(exercises.check("softmax_cross_entropy", softmax_cross_entropy))
print(exercises.check("softmax_cross_entropy_grad", softmax_cross_entropy_grad))

# %% [markdown]
# ## 3. Optimizer steps
#
# Each function returns `(new_param, new_state)` and modifies nothing. The state holds the
# optimizer's slots: `{}` (SGD), `{"momentum": b}`, `{"v": v}`, `{"m": m, "v": v, "t": t}` with `t`
# the steps taken so far (the step you compute is step $t + 1$).
#
# - SGD: $\theta \leftarrow \theta - \eta g$.
# - Momentum: $b \leftarrow \mu b + g$, $\theta \leftarrow \theta - \eta b$.
# - RMSprop: $v \leftarrow \rho v + (1 - \rho) g^2$, $\theta \leftarrow \theta - \eta\, g / (\sqrt v + \epsilon)$.
# - Adam: $m \leftarrow \beta_1 m + (1 - \beta_1) g$, $v \leftarrow \beta_2 v + (1 - \beta_2) g^2$,
#   $\hat m = m / (1 - \beta_1^t)$, $\hat v = v / (1 - \beta_2^t)$,
#   $\theta \leftarrow \theta - \eta\, \hat m / (\sqrt{\hat v} + \epsilon)$.


# %% nbgrader={"grade": false, "grade_id": "optimizers", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def sgd_step(param, grad, state, learning_rate):
    # YOUR CODE HERE
    raise NotImplementedError


def momentum_step(param, grad, state, learning_rate, momentum):
    # YOUR CODE HERE
    raise NotImplementedError


def rmsprop_step(param, grad, state, learning_rate, rho, epsilon):
    # YOUR CODE HERE
    raise NotImplementedError


def adam_step(param, grad, state, learning_rate, beta_1, beta_2, epsilon):
    # YOUR CODE HERE
    raise NotImplementedError


# %%
for name in ("sgd_step", "momentum_step", "rmsprop_step", "adam_step"):
    print(exercises.check(name, globals()[name]))

# %% [markdown]
# ## Your score
#
# From the command line: `tinynet exercises grade FILE.py` on a file with your functions.

# %%
names = [
    "mse",
    "mse_grad",
    "softmax_cross_entropy",
    "softmax_cross_entropy_grad",
    "sgd_step",
    "momentum_step",
    "rmsprop_step",
    "adam_step",
]
results = exercises.grade(globals(), names=names)
print(f"{sum(r.passed for r in results)} of {len(results)} passed, score {sum(r.score for r in results):.2f}")
