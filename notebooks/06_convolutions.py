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
# # 6. Convolutions
#
# A convolutional layer slides a small filter over an image and computes a weighted sum at every
# position.  This notebook writes the forward pass as **im2col** plus one matrix product, derives the
# backward pass (which turns out to be the `Dense` backward pass followed by **col2im**), checks both
# against `tinynet`'s `Conv2D`, and trains a small CNN on the handwritten digits, showing the filters
# it learns.

# %% [markdown]
# ## Prerequisites
#
# * Notebook 2 (the `Dense` backward pass, which the convolution reuses).
# * NumPy slicing, `reshape` and `transpose`; images as arrays $(N, C, H, W_{\mathrm{img}})$.

# %% [markdown]
# ## Learning goals
#
# After this notebook you can
#
# * write a convolution as nested loops and as im2col plus one matrix product;
# * derive its backward pass (the `Dense` backward on columns, then col2im) and check it against `Conv2D`;
# * compute how much memory im2col costs, exactly;
# * train a small CNN and read its filters and feature maps.

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
# Images are stored NCHW: (batch, channels, height, width), here $(N, C, H, W_{\mathrm{img}})$ (the width
# is $W_{\mathrm{img}}$ because $W$ is the kernel).  A `Conv2D` with $F$ filters of size
# $k_h \times k_w$ over $C$ input channels holds weights $W \in \mathbb{R}^{F \times C \times k_h \times k_w}$
# and a bias $b \in \mathbb{R}^F$.  With stride 1 and no padding, output pixel $(p, q)$ of filter $f$ for
# sample $n$ is
#
# $$Z_{nfpq} = b_f + \sum_{c=0}^{C-1} \sum_{i=0}^{k_h-1} \sum_{j=0}^{k_w-1} W_{fcij}\, X_{n,c,p+i,q+j},$$
#
# and the output is $(H - k_h + 1) \times (W_{\mathrm{img}} - k_w + 1)$.  (This is a cross-correlation; "convolution"
# would flip the kernel, which makes no difference for a kernel that is learned.)  Written as loops:

# %%
def conv_loops(X, W, b):
    N, C, H, Wd = X.shape
    F, _, kh, kw = W.shape
    Z = np.zeros((N, F, H - kh + 1, Wd - kw + 1))
    for n in range(N):
        for f in range(F):
            for p in range(Z.shape[2]):
                for q in range(Z.shape[3]):
                    Z[n, f, p, q] = b[f] + np.sum(W[f] * X[n, :, p:p + kh, q:q + kw])
    return Z

rng = np.random.default_rng(0)
X = rng.standard_normal((2, 3, 5, 5))      # 2 images, 3 channels, 5x5
W = rng.standard_normal((4, 3, 3, 3))      # 4 filters of 3x3
b = rng.standard_normal(4)
Z_loops = conv_loops(X, W, b)
Z_loops.shape


# %% [markdown]
# ## im2col: a convolution is a matrix product
#
# The formula is seven nested loops, over $n, f, p, q$ and the triple sum over $c, i, j$ (above, four in
# Python and the inner three inside `np.sum`), and loops are slow in Python.  The trick is to copy every receptive field (a $C \times k_h
# \times k_w$ patch) into one column of a matrix $X_{\mathrm{col}}$, with one column per (sample, output
# pixel):
#
# $$X_{\mathrm{col}}\big[(c, i, j),\ (n, p, q)\big] = X_{n, c, p+i, q+j} .$$
#
# Flattening each filter into a row, $W_{\mathrm{mat}} = W.\mathrm{reshape}(F,\ C k_h k_w)$, the triple sum
# becomes a single matrix product for the whole batch:
#
# $$Z_{\mathrm{col}} = W_{\mathrm{mat}}\, X_{\mathrm{col}} + b\,\mathbf{1}^\top
# \qquad (F \times C k_h k_w)\,(C k_h k_w \times N P Q) = F \times NPQ .$$
#
# The price is memory: each input pixel is copied up to $k_h k_w$ times (once per window that covers it;
# the exact ratio is measured below).

# %%
def im2col(X, kh, kw):
    N, C, H, Wd = X.shape
    P, Q = H - kh + 1, Wd - kw + 1
    cols = np.empty((C, kh, kw, N, P, Q))
    for i in range(kh):                 # one strided copy per kernel offset
        for j in range(kw):
            cols[:, i, j] = X[:, :, i:i + P, j:j + Q].transpose(1, 0, 2, 3)
    return cols.reshape(C * kh * kw, N * P * Q)

def conv_forward(X, W, b):
    N, C, H, Wd = X.shape
    F, _, kh, kw = W.shape
    P, Q = H - kh + 1, Wd - kw + 1
    X_col = im2col(X, kh, kw)
    Z_col = W.reshape(F, -1) @ X_col + b[:, None]          # (F, N*P*Q)
    Z = Z_col.reshape(F, N, P, Q).transpose(1, 0, 2, 3)    # back to NCHW
    return Z, X_col

Z, X_col = conv_forward(X, W, b)
print("X_col shape:", X_col.shape, " equal to the loops:", np.allclose(Z, Z_loops))

# %% [markdown]
# tinynet's `Conv2D` computes the same product, transposed: $Z_{\mathrm{mat}} = X_{\mathrm{col}}^\top
# W_{\mathrm{mat}}^\top$, with one *row* per (sample, output pixel) and one column per filter (and
# `numpy.lib.stride_tricks.sliding_window_view` to gather the patches in a single copy).  That
# matrix is the output stored channels-last, $(N, P, Q, F)$, and `Conv2D` returns it as the NCHW view
# `.transpose(0, 3, 1, 2)` instead of copying it: you index it `Z[n, f, p, q]` as always, only the
# strides say that the channels are innermost in memory.  The layers after it keep that layout, so
# their element-wise loops run along contiguous channels.  Given the same weights it must agree:

# %%
with tn.gradcheck.float64_defaults():
    conv = tn.layers.Conv2D(4, kernel_size=3)
    conv.build(X.shape[1:])
conv.params["W"][...] = W
conv.params["b"][...] = b
Z_tn = conv.forward(X)
print("Conv2D agrees:", np.allclose(Z_tn, Z))
print("shape", Z_tn.shape, "strides in bytes", Z_tn.strides, "(channels innermost)")


# %% [markdown]
# ## The backward pass
#
# In column form the layer *is* a `Dense` layer (notebook 2) applied to the columns of $X_{\mathrm{col}}$,
# so the same three lines of calculus apply to $G_Z = \partial L/\partial Z$ laid out in columns,
# $G_{\mathrm{col}}[f, (n,p,q)] = (G_Z)_{nfpq}$ (this layer has no activation, so $G_Z = G = \partial L/\partial Y$):
#
# $$dW_{\mathrm{mat}} = G_{\mathrm{col}}\, X_{\mathrm{col}}^\top, \qquad
# db = G_{\mathrm{col}}\,\mathbf{1}, \qquad
# dX_{\mathrm{col}} = W_{\mathrm{mat}}^\top\, G_{\mathrm{col}} .$$
#
# Spelled out, $\partial L/\partial W_{fcij} = \sum_{n,p,q} (G_Z)_{nfpq} X_{n,c,p+i,q+j}$: the gradient of a
# filter is the correlation of the input with the output gradient.
#
# The last step returns from columns to pixels.  Pixel $X_{nchw}$ was copied into every column whose
# window covers it, i.e. for every $(i, j, p, q)$ with $p + i = h$ and $q + j = w$, and by the chain rule
# it receives the sum of their gradients:
#
# $$\frac{\partial L}{\partial X_{nchw}} = \sum_{\substack{i,j,p,q \\ p+i=h,\ q+j=w}} dX_{\mathrm{col}}\big[(c,i,j), (n,p,q)\big].$$
#
# This scatter-add is **col2im**, the adjoint (transpose) of the im2col gather.  Note that col2im is *not*
# the inverse of im2col: pixels covered by several windows accumulate several contributions.

# %%
def col2im(cols, X_shape, kh, kw):
    N, C, H, Wd = X_shape
    P, Q = H - kh + 1, Wd - kw + 1
    cols = cols.reshape(C, kh, kw, N, P, Q)
    dX = np.zeros(X_shape)
    for i in range(kh):
        for j in range(kw):
            dX[:, :, i:i + P, j:j + Q] += cols[:, i, j].transpose(1, 0, 2, 3)
    return dX

def conv_backward(G, X_col, X_shape, W):
    F, C, kh, kw = W.shape
    G_col = G.transpose(1, 0, 2, 3).reshape(F, -1)        # (F, N*P*Q)
    dW = (G_col @ X_col.T).reshape(W.shape)
    db = G_col.sum(axis=1)
    dX = col2im(W.reshape(F, -1).T @ G_col, X_shape, kh, kw)
    return dX, dW, db

G = rng.standard_normal(Z.shape)
dX, dW, db = conv_backward(G, X_col, X.shape, W)
conv.forward(X, training=True)
dX_tn = conv.backward(G)
print("dX, dW, db agree with Conv2D:", np.allclose(dX, dX_tn), np.allclose(dW, conv.grads["W"]), np.allclose(db, conv.grads["b"]))
print("central differences:", tn.gradcheck.check_layer(conv, X))

# %% [markdown]
# How many windows cover each pixel?  col2im applied to a matrix of ones answers it: the centre of the
# image is counted $k_h k_w = 9$ times, the corners once.  $X_{\mathrm{col}}$ holds one copy of a pixel
# per window that covers it, so its size over $X$'s is the *average* count,
#
# $$\frac{C k_h k_w \cdot N P Q}{N C H W_{\mathrm{img}}} = \frac{k_h k_w\, P Q}{H W_{\mathrm{img}}}
# = \frac{9 \cdot 3 \cdot 3}{5 \cdot 5} = 3.24$$
#
# here, not 9: a small image has many border pixels.  It approaches $k_h k_w$ for large images, and is
# exactly $k_h k_w$ with "same" padding measured against the unpadded input (every output pixel has a
# full window, $P Q = H W_{\mathrm{img}}$), as in the CNN below: 9 times the input.

# %%
counts = col2im(np.ones_like(X_col), X.shape, 3, 3)[0, 0]
fig, ax = plt.subplots(figsize=(3, 3))
ax.imshow(counts, cmap="viridis"); ax.grid(False); ax.set_xticks([]); ax.set_yticks([])
for (i, j), v in np.ndenumerate(counts):
    ax.text(j, i, int(v), ha="center", va="center", color="white")
ax.set_title("windows per pixel (3x3 on 5x5)");
print(f"X_col.size / X.size = {X_col.size / X.size:.2f} = mean count {counts.mean():.2f}, max {counts.max():.0f}")

# %% [markdown]
# ## A CNN on the handwritten digits
#
# The digits are 8×8 grey-level images (1797 of them, values 0 to 16).  The network: 16 filters of 3×3
# with "same" padding (the output stays 8×8) and ReLU, a 2×2 max pooling (each output is the largest of a
# 2×2 window, which halves the resolution and passes the gradient to the winning pixel), then a dense
# softmax layer over the $16 \cdot 4 \cdot 4 = 256$ features.

# %%
x, y = tn.datasets.load_digits(as_images=True)
x = x / 16.0
x_train, x_test, y_train, y_test = tn.datasets.train_test_split(x, y, test_size=0.25, seed=0, stratify=True)

tn.set_seed(0)
cnn = tn.Sequential([
    tn.layers.Conv2D(16, kernel_size=3, padding="same", activation="relu", input_shape=(1, 8, 8)),
    tn.layers.MaxPool2D(2),
    tn.layers.Flatten(),
    tn.layers.Dense(10, activation="softmax"),
])
cnn.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
cnn.summary()
history = cnn.fit(x_train, y_train, epochs=20, batch_size=32, validation_data=(x_test, y_test), verbose=0)
print(f"test accuracy: {cnn.evaluate(x_test, y_test)[1]:.3f}")

# %%
tn.plot.plot_history(history)

# %% [markdown]
# ## What the filters learned
#
# Each filter is a 3×3 pattern; positive weights (red) respond to bright pixels, negative ones (blue) to
# dark.  Many become small edge and stroke detectors.  Below them, the 16 feature maps (the ReLU outputs
# of the convolution) for one test digit: each lights up where its pattern occurs.

# %%
conv_layer = cnn.layers[0]
filters = conv_layer.params["W"][:, 0]              # (16, 3, 3)
fig, axes = plt.subplots(2, 8, figsize=(8, 2.3))
lim = np.abs(filters).max()
for k, ax in enumerate(axes.flat):
    ax.imshow(filters[k], cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_xticks([]); ax.set_yticks([]); ax.grid(False); ax.set_title(f"{k}", fontsize=8)
fig.suptitle("learned 3x3 filters")
fig.tight_layout()

# %%
sample = x_test[:1]
maps = conv_layer.forward(sample)[0]                # inference mode: a fresh array
fig, axes = plt.subplots(2, 9, figsize=(9, 2.4))
axes[0, 0].imshow(sample[0, 0], cmap="gray_r"); axes[0, 0].set_title(f"input ({y_test[0]})", fontsize=8)
axes[1, 0].axis("off")
for k in range(16):
    ax = axes[k % 2, 1 + k // 2]
    ax.imshow(maps[k], cmap="magma"); ax.set_title(f"map {k}", fontsize=8)
for ax in axes.flat:
    ax.set_xticks([]); ax.set_yticks([]); ax.grid(False)
fig.tight_layout()

# %% [markdown]
# And a few test digits with the network's answers (mistakes in red):

# %%
pred = cnn.predict(x_test).argmax(axis=1)
wrong = np.flatnonzero(pred != y_test)
show = np.r_[np.arange(12 - min(4, len(wrong))), wrong[:4]]
fig, axes = plt.subplots(1, 12, figsize=(10, 1.4))
for ax, i in zip(axes, show):
    ax.imshow(x_test[i, 0], cmap="gray_r"); ax.set_xticks([]); ax.set_yticks([]); ax.grid(False)
    ax.set_title(f"{pred[i]} ({y_test[i]})", fontsize=8, color="red" if pred[i] != y_test[i] else "black")
fig.suptitle("predicted (true)", fontsize=9, y=1.05);

# %% [markdown]
# **Takeaways**
#
# * im2col turns a convolution into one matrix product $W_{\mathrm{mat}} X_{\mathrm{col}}$, at the cost of
#   copying each pixel up to $k_h k_w$ times ($k_h k_w P Q / (H W_{\mathrm{img}})$ times the input's memory).
# * The backward pass is the `Dense` backward pass on columns, $dW = G_{\mathrm{col}} X_{\mathrm{col}}^\top$,
#   $dX_{\mathrm{col}} = W_{\mathrm{mat}}^\top G_{\mathrm{col}}$, followed by col2im, the scatter-add that is
#   im2col's transpose.
# * A CNN with 16 filters and about 2,700 parameters classifies 8×8 digits well above 95%.
