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
# # 11. Why did the model say that?
#
# A trained network answers, but does not say why.  This notebook asks it, with the tool that
# trained it: the gradient.  Backpropagation computes $\partial L / \partial \theta$ for the weights;
# one more step down the chain rule gives $\partial f / \partial x$, how the output depends on each
# input feature.  We derive and use **saliency maps**, **integrated gradients** (and check their
# *completeness*), **occlusion** and **permutation importance** (`tinynet.explain`), and then turn
# the same gradient into an attack: **adversarial examples** (`tinynet.adversarial`), and the
# defence, adversarial training.

# %% [markdown]
# ## Prerequisites
#
# * Notebook 2 (backward passes: the input gradient is one more step), notebook 5 (metrics) and
#   notebook 6 (the digits CNN).

# %% [markdown]
# ## Learning goals
#
# After this notebook you can
#
# * compute and check a saliency map (the input gradient), SmoothGrad and integrated gradients, and
#   verify the completeness of integrated gradients;
# * use occlusion and permutation importance, which need no gradient;
# * craft adversarial examples with FGSM and PGD, explain them as the first-order view of the loss,
#   and train against them.

# %%
# %matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn
from tinynet import adversarial, explain, plot

plt.rcParams.update({"figure.dpi": 80})
np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## A digits classifier to explain
#
# The 8x8 handwritten digits, pixels scaled to $[0, 1]$, and a small CNN (a second or two of training).

# %%
x, y = tn.datasets.load_digits(as_images=True)
x = x / 16.0
x_train, x_test, y_train, y_test = tn.datasets.train_test_split(x, y, test_size=0.2, seed=0, stratify=True)


def digits_cnn():
    tn.set_seed(0)
    model = tn.Sequential(
        [
            tn.layers.Conv2D(8, 3, padding="same", activation="relu", input_shape=(1, 8, 8)),
            tn.layers.MaxPool2D(2),
            tn.layers.Flatten(),
            tn.layers.Dense(32, activation="relu"),
            tn.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


model = digits_cnn()
model.fit(x_train, y_train, epochs=40, batch_size=32, verbose=0)
print("test accuracy:", model.evaluate(x_test, y_test)[1])

# %% [markdown]
# ## Saliency: the gradient of the output with respect to the input
#
# Let $f_c(x)$ be the probability the model gives class $c$.  To first order, near $x$,
#
# $$f_c(x + \delta) \approx f_c(x) + \nabla_x f_c(x)^\top \delta ,$$
#
# so the gradient $g = \nabla_x f_c(x)$ says how much each pixel moves the output, and in which
# direction.  The model computes it with the backward pass it uses for training: start from
# $G = \partial f_c / \partial \hat y = e_c$ (a one-hot row) instead of the loss gradient, and
# `model.backward(G)` returns $G$ pulled back through every layer, $\nabla_x f_c$.  The **saliency
# map** (Simonyan et al., 2014) is $|g|$.  Gradient $\times$ input, $x_i g_i$, weighs the
# sensitivity by the pixel's value.
#
# First, the check every gradient in tinynet gets: central differences.  One catch: on a real digit
# the blank corners give many *equal* values inside a max-pooling window, where the function has a
# kink (the backward pass picks the first maximum, a finite difference sees another).  So the check
# runs at a point a little off the digits, where the model is differentiable.

# %%
from tinynet.gradcheck import numerical_gradient, relative_error

tn.set_default_dtype("float64")  # a float64 copy of the model, for a precise check
model64 = digits_cnn()
model64.build()
model64.set_weights(model.get_weights())
tn.set_default_dtype("float32")
probe = x_test[:3] + 0.01 * np.random.default_rng(0).standard_normal(x_test[:3].shape)
c = model64.predict(probe).argmax(axis=1)
analytic = explain.input_gradients(model64, probe, c)
numeric = numerical_gradient(lambda: model64.predict(probe)[np.arange(3), c].sum(), probe)
print("relative error of the input gradient:", relative_error(analytic, numeric))

# %%
images = x_test[:6]
predicted = model.predict(images).argmax(axis=1)
titles = [f"true {t}, said {p}" for t, p in zip(y_test[:6], predicted)]
plot.plot_saliency(images, explain.saliency(model, images), titles=titles)

# %% [markdown]
# Red marks the pixels whose change would move the predicted probability most.  Plain gradients are
# noisy: a ReLU network's gradient jumps from point to point.  **SmoothGrad** (Smilkov et al., 2017)
# averages the gradient over noisy copies $x + \varepsilon$, $\varepsilon \sim \mathcal N(0, \sigma^2 I)$,
# which keeps what is stable (seeded: the same `seed` gives the same map).

# %%
plot.plot_saliency(images, explain.smoothgrad(model, images, noise_level=0.15, n_samples=50, seed=0), titles=titles)

# %% [markdown]
# ## Integrated gradients, derived
#
# A gradient is local: a saturated pixel (the model is sure already) has gradient near 0 although it
# matters.  Integrated gradients (Sundararajan et al., 2017) compare $x$ with a **baseline** $x'$ that
# means "nothing" (here a blank image) and add up the gradient along the straight path
# $\gamma(\alpha) = x' + \alpha (x - x')$.  By the chain rule, $\frac{d}{d\alpha} f(\gamma(\alpha))
# = \nabla f(\gamma(\alpha))^\top (x - x')$, and by the fundamental theorem of calculus
#
# $$f(x) - f(x') = \int_0^1 \nabla f(\gamma(\alpha))^\top (x - x')\, d\alpha
#   = \sum_i \underbrace{(x_i - x'_i) \int_0^1 \frac{\partial f}{\partial x_i}(\gamma(\alpha))\, d\alpha}_{\mathrm{IG}_i(x)} .$$
#
# So the attributions add up exactly to the change of the output: **completeness**.  In practice the
# integral is a quadrature over $m$ steps (the trapezoid rule here), every path point's gradient
# computed in one batch.  Completeness is then a check of the quadrature:

# %%
target = model.predict(images).argmax(axis=1)
change = model.predict(images)[np.arange(6), target] - model.predict(np.zeros_like(images))[np.arange(6), target]
for steps in (4, 16, 64, 256):
    ig = explain.integrated_gradients(model, images, target, baseline=0.0, steps=steps)
    total = ig.sum(axis=(1, 2, 3))
    print(f"{steps:4d} steps: worst |sum IG - (f(x) - f(x'))| / |f(x) - f(x')| = {np.max(np.abs(total - change) / np.abs(change)):.4f}")

# %% [markdown]
# The error falls like $1/m$, not $1/m^2$ as the trapezoid rule promises for smooth functions: each
# ReLU that switches on along the path makes the integrand jump.  A few hundred steps bring it under 1%.

# %%
plot.plot_saliency(images, ig, titles=titles)

# %% [markdown]
# Blue pixels are evidence *against* the predicted class (ink where this digit has none), red pixels
# evidence for it.
#
# ## Occlusion: cover a patch and watch the output
#
# Occlusion needs no gradient: slide a $2\times 2$ grey-out patch over the image and record how much
# $f_c$ drops; a pixel's attribution is the mean drop of the patches that cover it.  All the occluded
# copies are built with array operations and predicted as batches.

# %%
plot.plot_saliency(images, explain.occlusion(model, images, patch_size=2, stride=1, baseline=0.0), titles=titles)

# %% [markdown]
# ## Tabular data: which measurements drive the diabetes prediction?
#
# On the Pima data, integrated gradients (from the mean patient, the zero vector after
# standardization) explain one patient; **permutation importance** (Breiman, 2001) explains the model
# over a data set: shuffle one column, breaking its link to the label, and measure how much the score
# drops, $I_j = s - s_{j}$, averaged over repeats.

# %%
xp, yp, names, _ = tn.datasets.load_pima_diabetes(return_names=True)
xp_train, xp_test, yp_train, yp_test = tn.datasets.train_test_split(xp, yp, test_size=0.2, seed=0, stratify=True)
xp_train, xp_test = tn.datasets.standardize(xp_train, xp_test)
tn.set_seed(0)
pima = tn.Sequential([tn.layers.Dense(12, input_dim=8, activation="relu"), tn.layers.Dense(1, activation="sigmoid")])
pima.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
pima.fit(xp_train, yp_train, epochs=30, verbose=0)

patient = xp_test[:1]
ig = explain.integrated_gradients(pima, patient, baseline=0.0, steps=1024)
print("p(diabetes) =", pima.predict(patient)[0, 0], " mean patient:", pima.predict(np.zeros((1, 8)))[0, 0])
print("sum of attributions:", ig.sum())
plot.plot_attributions(ig[0], names, title="integrated gradients, one patient")

# %%
result = explain.permutation_importance(pima, xp_test, yp_test, scoring="accuracy", n_repeats=20, seed=0)
plot.plot_attributions(result.importances_mean, names, errors=result.importances_std, title="permutation importance (accuracy)")

# %% [markdown]
# Glucose dominates, as in the medical literature.  The same numbers come from scikit-learn's
# `sklearn.inspection.permutation_importance` applied to `tinynet.wrappers.KerasClassifier` (the test
# suite compares them).
#
# ## The security angle: adversarial examples
#
# The first-order view that explains a prediction also attacks it.  For the loss $L(x)$ at the true
# label, $L(x + \delta) \approx L(x) + \nabla_x L^\top \delta$.  Over all changes with every pixel
# moved by at most $\epsilon$ ($\|\delta\|_\infty \le \epsilon$), the linear term is largest for
#
# $$\delta = \epsilon\, \mathrm{sign}(\nabla_x L), \qquad \text{gain} = \epsilon \|\nabla_x L\|_1 ,$$
#
# a sum over all the pixels: many changes too small to matter one by one add up.  This is the
# **fast gradient sign method** (FGSM, Goodfellow et al., 2015).  **PGD** (Madry et al., 2018) takes
# several smaller signed steps from a random point of the $\epsilon$-ball, projecting back onto the
# ball and onto the valid pixel range $[0, 1]$ after each.

# %%
eps = 0.1


def accuracy(m, inputs):
    return np.mean(m.predict(inputs).argmax(axis=1) == y_test)


x_fgsm = adversarial.fgsm(model, x_test, y_test, eps)
x_pgd = adversarial.pgd(model, x_test, y_test, eps, steps=10, seed=0)
print(f"clean accuracy {accuracy(model, x_test):.3f}, under FGSM {accuracy(model, x_fgsm):.3f}, under PGD {accuracy(model, x_pgd):.3f}")

# %%
fig, axes = plt.subplots(2, 6, figsize=(9, 3.4))
said = model.predict(x_pgd[:6]).argmax(axis=1)
for i in range(6):
    axes[0, i].imshow(x_test[i, 0], cmap="gray_r", vmin=0, vmax=1)
    axes[0, i].set_title(f"clean: {predicted[i]}", fontsize="small")
    axes[1, i].imshow(x_pgd[i, 0], cmap="gray_r", vmin=0, vmax=1)
    axes[1, i].set_title(f"attacked: {said[i]}", fontsize="small")
for a in axes.ravel():
    a.set_xticks([]), a.set_yticks([])
fig.tight_layout()

# %% [markdown]
# Every pixel moved by at most 0.1 of its range, and a person still reads the same digits.  A model
# deployed where inputs can be chosen by someone else (spam, fraud, a camera in the street) must be
# assumed attackable in this way, and its accuracy on clean test data says nothing about it.
#
# ## The defence: adversarial training
#
# Train on attacked copies of each batch, made against the current model: every step minimises
# $\tfrac12 L(B) + \tfrac12 L(B_\text{adv})$ (Goodfellow et al.'s mixture).  Same model, same budget
# of 40 epochs:

# %%
robust = digits_cnn()
adversarial.adversarial_fit(robust, x_train, y_train, eps, attack="fgsm", epochs=40, batch_size=32, seed=0)
x_fgsm_r = adversarial.fgsm(robust, x_test, y_test, eps)
x_pgd_r = adversarial.pgd(robust, x_test, y_test, eps, steps=10, seed=0)
print(f"adversarially trained: clean {accuracy(robust, x_test):.3f}, under FGSM {accuracy(robust, x_fgsm_r):.3f}, under PGD {accuracy(robust, x_pgd_r):.3f}")

# %% [markdown]
# Robustness rises a lot, at almost no clean accuracy, but not to the clean level, and PGD still
# does better than FGSM: a model trained against one attack is tested against a stronger one.  The
# robust model's integrated gradients, to compare with the ones above:

# %%
plot.plot_saliency(images, explain.integrated_gradients(robust, images, steps=64), titles=titles)

# %% [markdown]
# ## What to remember
#
# - The input gradient is one more step of backpropagation; check it with central differences like any gradient.
# - Integrated gradients satisfy completeness: the attributions add up to $f(x) - f(x')$, a built-in check of the computation.
# - Perturbation methods (occlusion, permutation importance) need only predictions.
# - The gradient that explains also attacks: $\epsilon\,\mathrm{sign}(\nabla_x L)$ is the worst small change to first order.
#   Measure robustness with a strong attack (PGD), and train against attacks if inputs can be adversarial.
