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
# # Exercises 4. Convolutions, max pooling and batch normalization
#
# **Prerequisites:** exercises 1 and 3; notebooks 6, *Convolutions*
# (`notebooks/06_convolutions.ipynb`), and 7, *Overfitting and regularization*
# (`notebooks/07_overfitting_and_regularization.ipynb`, for batch normalization).
#
# **You will:** write im2col and col2im, the forward and backward pass of a 2-D convolution
# built on them, the backward pass of max pooling, and the backward pass of batch normalization
# in training mode, each graded against tinynet (`tinynet.ops.conv`, `tinynet.ops.pooling`,
# `tinynet.ops.normalization`) with a hint when it is wrong.
#
# **How:** replace each `raise NotImplementedError`, run the check cell below it.
# No Python loop over images or pixels: a loop over the kernel offsets $(i, j)$ is fine.
# Estimated time: 90 minutes.

# %%
import numpy as np

from tinynet import exercises

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. im2col
#
# Images are NCHW, $X$ of shape $(N, C, H, W)$. Pad each image with $p$ rows and columns of zeros
# on **every** side (not the batch and channel axes): $\tilde X$ is $(N, C, H + 2p, W + 2p)$.
# A $k_h \times k_w$ window moved by strides $(s_h, s_w)$ gives
# $OH = \lfloor (H + 2p - k_h)/s_h \rfloor + 1$ output rows (and $OW$ likewise). im2col copies
# every window into a column:
#
# $$X_{\mathrm{col}}\big[(c, i, j),\ (n, r, q)\big] = \tilde X_{n,\,c,\,r s_h + i,\,q s_w + j},$$
#
# shape $(C k_h k_w,\ N \cdot OH \cdot OW)$, rows in the order of `W.reshape(F, -1)`'s columns
# ($c$ slowest, then $i$, then $j$), columns with $n$ slowest, then $r$, then $q$. Hint: for a
# fixed offset $(i, j)$, the pixels $\tilde X[:, :, i + r s_h, j + q s_w]$ for every $(r, q)$ are
# one strided slice. The check reads your matrix as $(C, k_h, k_w, N, OH, OW)$ and says
# `off-by-one` when your padding or output size is off by a row.


# %% nbgrader={"grade": false, "grade_id": "im2col", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def im2col(x, kernel_size, strides, padding):
    ### BEGIN SOLUTION
    (kh, kw), (sh, sw), p = kernel_size, strides, padding
    n, c, h, w = x.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    oh, ow = (h + 2 * p - kh) // sh + 1, (w + 2 * p - kw) // sw + 1
    cols = np.empty((c, kh, kw, n, oh, ow))
    for i in range(kh):
        for j in range(kw):
            window = x_pad[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]
            cols[:, i, j] = window.transpose(1, 0, 2, 3)
    return cols.reshape(c * kh * kw, n * oh * ow)
    ### END SOLUTION


# %%
print(exercises.check("im2col", im2col))

# %% [markdown]
# ## 2. col2im
#
# The backward pass of im2col. Each padded pixel was copied into every column whose window
# contains it, so its gradient is the **sum** of the gradients of its copies: add each column's
# values back where they came from (`+=`: windows overlap when the stride is smaller than the
# kernel), then cut the padding off, `[:, :, p:p + H, p:p + W]`. `x_col` has $X_{\mathrm{col}}$'s
# shape; return an array of shape `x_shape`.


# %% nbgrader={"grade": false, "grade_id": "col2im", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def col2im(x_col, x_shape, kernel_size, strides, padding):
    ### BEGIN SOLUTION
    (kh, kw), (sh, sw), p = kernel_size, strides, padding
    n, c, h, w = x_shape
    oh, ow = (h + 2 * p - kh) // sh + 1, (w + 2 * p - kw) // sw + 1
    cols = x_col.reshape(c, kh, kw, n, oh, ow)
    dx_pad = np.zeros((n, c, h + 2 * p, w + 2 * p))
    for i in range(kh):
        for j in range(kw):
            rows, columns = slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw)
            dx_pad[:, :, rows, columns] += cols[:, i, j].transpose(1, 0, 2, 3)
    return dx_pad[:, :, p : p + h, p : p + w]
    ### END SOLUTION


# %%
print(exercises.check("col2im", col2im))

# %% [markdown]
# ## 3. Conv2D forward and backward
#
# Kernels $W$ of shape $(F, C, k_h, k_w)$, bias $b$ $(F,)$. With $W_{\mathrm{mat}}$ =
# `W.reshape(F, -1)`, the convolution (a cross-correlation, as in every deep learning framework:
# the kernel is *not* flipped) is one matrix product,
# $Z_{\mathrm{mat}} = W_{\mathrm{mat}} X_{\mathrm{col}} + b\,\mathbf 1^\top$, of shape
# $(F, N \cdot OH \cdot OW)$, reshaped to $(N, F, OH, OW)$.
#
# On the columns the layer *is* a Dense layer, so with $G_{\mathrm{mat}}$ the $(F, N\cdot OH \cdot OW)$
# matrix of $G = \partial L/\partial Z$ (the same column order as $X_{\mathrm{col}}$):
#
# $$dW_{\mathrm{mat}} = G_{\mathrm{mat}} X_{\mathrm{col}}^\top,\qquad
# db = G_{\mathrm{mat}} \mathbf 1 = \sum_{n, r, q} G_{n, :, r, q},\qquad
# dX = \mathrm{col2im}\big(W_{\mathrm{mat}}^\top G_{\mathrm{mat}}\big).$$
#
# Use your `im2col` and `col2im`. The check names a rotated (flipped) kernel, a transposed kernel
# gradient $(C, F, k_h, k_w)$, a bias gradient forgotten or not summed over the pixels, and an
# off-by-one in the padding.


# %% nbgrader={"grade": false, "grade_id": "conv2d", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def conv2d_forward(x, W, b, strides, padding):
    ### BEGIN SOLUTION
    f, _, kh, kw = W.shape
    x_col = im2col(x, (kh, kw), strides, padding)
    z = W.reshape(f, -1) @ x_col + b[:, None]
    oh = (x.shape[2] + 2 * padding - kh) // strides[0] + 1
    return z.reshape(f, len(x), oh, -1).transpose(1, 0, 2, 3)
    ### END SOLUTION


def conv2d_backward(x, W, grad, strides, padding):
    ### BEGIN SOLUTION
    f, _, kh, kw = W.shape
    g = grad.transpose(1, 0, 2, 3).reshape(f, -1)
    x_col = im2col(x, (kh, kw), strides, padding)
    dW = (g @ x_col.T).reshape(W.shape)
    db = grad.sum(axis=(0, 2, 3))
    dx = col2im(W.reshape(f, -1).T @ g, x.shape, (kh, kw), strides, padding)
    return dx, dW, db
    ### END SOLUTION


# %%
print(exercises.check("conv2d_forward", conv2d_forward))
print(exercises.check("conv2d_backward", conv2d_backward))

# %% [markdown]
# ## 4. Max-pool backward
#
# Windows of `pool_size` $(k_h, k_w)$ moved by `strides` (no padding). Each output is the maximum
# of its window, so its gradient goes to that one input; an input that is the maximum of several
# overlapping windows receives the sum. Find the winners from `x` (the test inputs have no
# ties) and return $\partial L/\partial X$, shaped like `x`, from `grad` $= \partial L/\partial Y$.


# %% nbgrader={"grade": false, "grade_id": "max_pool_backward", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def max_pool_backward(x, grad, pool_size, strides):
    ### BEGIN SOLUTION
    (kh, kw), (sh, sw) = pool_size, strides
    oh, ow = grad.shape[2:]
    best = None
    for i in range(kh):
        for j in range(kw):
            view = x[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]
            best = view.copy() if best is None else np.maximum(best, view)
    dx = np.zeros_like(x)
    for i in range(kh):
        for j in range(kw):
            rows, columns = slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw)
            dx[:, :, rows, columns] += grad * (x[:, :, rows, columns] == best)
    return dx
    ### END SOLUTION


# %%
print(exercises.check("max_pool_backward", max_pool_backward))

# %% [markdown]
# ## 5. Batch normalization backward, training mode
#
# For a batch $X$ of shape $(N, D)$, per feature: $\mu$ and $\sigma^2$ the batch mean and biased
# variance, $s = \sqrt{\sigma^2 + \epsilon}$, $\hat x = (x - \mu)/s$, $y = \gamma \hat x + \beta$.
# In training mode $\mu$ and $\sigma^2$ depend on every $x$ of the batch, which adds two terms to
# the gradient. With $\hat g = \gamma G$ and means over the batch:
#
# $$dx = \frac1s\Big(\hat g - \operatorname{mean}(\hat g) - \hat x\,\operatorname{mean}(\hat g\,\hat x)\Big),
# \qquad d\gamma = \sum_n G \hat x, \qquad d\beta = \sum_n G.$$
#
# The inference formula $\gamma G / s$ (statistics held constant) is the classic mistake here.


# %% nbgrader={"grade": false, "grade_id": "batchnorm_backward", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["solution"]
def batchnorm_backward(x, gamma, grad, epsilon):
    ### BEGIN SOLUTION
    s = np.sqrt(x.var(axis=0) + epsilon)
    x_hat = (x - x.mean(axis=0)) / s
    g_hat = grad * gamma
    dx = (g_hat - g_hat.mean(axis=0) - x_hat * (g_hat * x_hat).mean(axis=0)) / s
    return dx, (grad * x_hat).sum(axis=0), grad.sum(axis=0)
    ### END SOLUTION


# %%
print(exercises.check("batchnorm_backward", batchnorm_backward))

# %% [markdown]
# ## Your score
#
# From the command line: `tinynet exercises grade FILE.py` on a file with your functions.

# %%
names = ["im2col", "col2im", "conv2d_forward", "conv2d_backward", "max_pool_backward", "batchnorm_backward"]
results = exercises.grade(globals(), names=names)
print(f"{sum(r.passed for r in results)} of {len(results)} passed, score {sum(r.score for r in results):.2f}")
