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
# # 1. From training to deployment
#
# The classic first Keras example, end to end with tinynet: a small network that predicts the onset of
# diabetes from eight medical measurements (the Pima Indians diabetes data).  We **fit** it, **evaluate**
# it on held-out patients, read its training curves (and stop it before it overfits), **save** it to a
# file, **load** it back and **predict** with it.  What is inside the model file, and loading it in a
# fresh process, are the engineering appendix: notebook
# [A1, inside the model file](A1_inside_the_model_file.ipynb).

# %% [markdown]
# ## Prerequisites
#
# * Python and NumPy arrays (shapes, indexing, `x.mean(axis=0)`).
# * No machine learning yet: the model, the loss and the optimizer are introduced here as recipes and
#   derived in notebooks 2 to 4.

# %% [markdown]
# ## Learning goals
#
# After this notebook you can
#
# * build, compile, fit, evaluate and use a Keras-style `Sequential` model on tabular data;
# * standardize features with statistics of the training set only, and say why;
# * read a training history, recognize overfitting in it, and stop training at the best validation
#   epoch with `EarlyStopping`;
# * fold the standardization into the first layer, save the model to a file and load it to predict.

# %%
# %matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn

plt.rcParams.update({"figure.dpi": 80, "figure.figsize": (6.4, 3.6)})
np.set_printoptions(precision=4, suppress=True)
tn.set_seed(0)

import os, shutil, tempfile
from pathlib import Path

start_dir = Path.cwd()
workdir = Path(tempfile.mkdtemp(prefix="tinynet-nb01-"))   # files written below go here
os.chdir(workdir)

# %% [markdown]
# ## The data
#
# 768 patients, 8 numeric features each, and a binary label: tested positive for diabetes within five
# years (1) or not (0).

# %%
x, y, features, classes = tn.datasets.load_pima_diabetes(return_names=True)
print(x.shape, y.shape, classes)
print("positives:", int(y.sum()), f"({y.mean():.1%})")
for name, col in zip(features, x.T):
    print(f"  {name:>18}: mean {col.mean():7.2f}, std {col.std():7.2f}, min {col.min():6.1f}, max {col.max():6.1f}")

# %% [markdown]
# The features live on very different scales (insulin in the hundreds, the pedigree function below 1).
# Gradient descent works best when every input has a comparable scale, so we **standardize** each feature,
# $z = (x - \mu)/\sigma$, with $\mu$ and $\sigma$ computed on the *training* set only (the test set must
# stay unseen).  20% of the patients are held out for the final test, stratified so both parts keep the
# same fraction of positives.

# %%
x_train_raw, x_test_raw, y_train, y_test = tn.datasets.train_test_split(x, y, test_size=0.2, seed=0, stratify=True)
scaler = tn.datasets.Standardizer().fit(x_train_raw)
x_train, x_test = scaler.transform(x_train_raw), scaler.transform(x_test_raw)
print("train", x_train.shape, " test", x_test.shape)

# %% [markdown]
# ## The model
#
# Two `Dense` layers: 10 hidden units with ReLU, then one unit with a sigmoid that outputs the
# probability of a positive test,
#
# $$h = \mathrm{relu}(x W_1 + b_1), \qquad \hat p = \sigma(h W_2 + b_2) = \frac{1}{1 + e^{-(h W_2 + b_2)}} .$$
#
# It is trained by minimizing the binary cross-entropy
# $L = -\frac1N \sum_n \big[y_n \log \hat p_n + (1 - y_n) \log(1 - \hat p_n)\big]$ with the Adam optimizer
# (notebooks 3 and 4 derive both).  `tn.set_seed(0)` makes the initial weights, the shuffling, and so
# every number below reproducible.

# %%
tn.set_seed(0)
model = tn.Sequential()
model.add(tn.layers.Dense(10, input_dim=8, activation="relu"))
model.add(tn.layers.Dense(1, activation="sigmoid"))
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
model.summary()

# %% [markdown]
# $8 \cdot 10 + 10 = 90$ and $10 \cdot 1 + 1 = 11$ parameters.  Training: 150 passes over the data
# (epochs) in mini-batches of 10, keeping the last 20% of the training set aside to watch for
# overfitting.

# %%
history = model.fit(x_train, y_train, epochs=150, batch_size=10, validation_split=0.2, verbose=0)
h = history.history
print(f"after {len(h['loss'])} epochs: loss {h['loss'][-1]:.4f}, accuracy {h['accuracy'][-1]:.3f}, "
      f"val_loss {h['val_loss'][-1]:.4f}, val_accuracy {h['val_accuracy'][-1]:.3f}")

# %%
tn.plot.plot_history(history)

# %% [markdown]
# ## Overfitting, and what to do about it
#
# Read the two loss curves together.  The training loss keeps falling for all 150 epochs, but the
# validation loss reaches its minimum around epoch 25 and then *rises*, while the validation accuracy
# drifts down: from there on the network is learning the noise of its 491 training patients (the
# particular patients, not the disease), which does not carry over to the 123 it does not train on.
# That is **overfitting**, and every epoch after the minimum makes the model worse on new patients.

# %%
val_loss = np.array(h["val_loss"])
best = int(np.argmin(val_loss))
print(f"lowest val_loss {val_loss[best]:.4f} at epoch {best + 1}; at epoch {len(val_loss)}: {val_loss[-1]:.4f}")
print(f"val_accuracy at epoch {best + 1}: {h['val_accuracy'][best]:.3f}; at epoch {len(val_loss)}: "
      f"{h['val_accuracy'][-1]:.3f}")

# %% [markdown]
# The simplest remedy is to let the validation data decide when to stop.  `EarlyStopping` watches
# `val_loss` after every epoch, stops when it has not improved for `patience` epochs, and with
# `restore_best_weights=True` puts back the weights of the best epoch.  The validation split is held out
# from training for exactly this purpose; the test set stays untouched until the end.  (Notebook 7
# derives early stopping and the other remedies, dropout, L2 and batch normalization, and compares them.)
#
# We train the same model again from the same initial weights, with early stopping, and keep this one.

# %%
overfit_model = model
tn.set_seed(0)
model = tn.Sequential()
model.add(tn.layers.Dense(10, input_dim=8, activation="relu"))
model.add(tn.layers.Dense(1, activation="sigmoid"))
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
stop = tn.callbacks.EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True)
history = model.fit(x_train, y_train, epochs=150, batch_size=10, validation_split=0.2, verbose=0,
                    callbacks=[stop])
print(f"stopped after {len(history.history['loss'])} epochs; weights of epoch {stop.best_epoch + 1} "
      f"(val_loss {stop.best:.4f}) restored")
tn.plot.plot_history(history)

# %% [markdown]
# ## Evaluation on the held-out test set
#
# Both models, on the 154 test patients that neither has seen:

# %%
for name, m in [("150 epochs (overfit)", overfit_model), ("early stopping", model)]:
    test_loss, test_accuracy = m.evaluate(x_test, y_test)
    print(f"{name:>21}: test loss {test_loss:.4f}, accuracy {test_accuracy:.3f}")

# %%
loss, accuracy = model.evaluate(x_test, y_test)
p_test = model.predict(x_test)
print(f"test loss {loss:.4f}, accuracy {accuracy:.3f}")
print(f"precision {tn.metrics.precision(y_test, p_test):.3f}, recall {tn.metrics.recall(y_test, p_test):.3f}, "
      f"F1 {tn.metrics.f1_score(y_test, p_test):.3f}, ROC AUC {tn.metrics.roc_auc(y_test, p_test):.3f}")
print("confusion matrix (rows: true 0/1, columns: predicted 0/1):")
print(tn.metrics.confusion_matrix(y_test, p_test))
print(f"(always answering 'negative' would score {1 - y_test.mean():.3f} accuracy; notebook 5 looks closer)")

# %% [markdown]
# ## Making the model self-contained
#
# A deployed model receives raw measurements, so the standardization must travel with it.  Instead of
# shipping $\mu$ and $\sigma$ separately, we can fold them into the first layer: for
# $z = (x - \mu)/\sigma$,
#
# $$z W_1 + b_1 = \sum_i \frac{x_i - \mu_i}{\sigma_i} W_{1,i\cdot} + b_1
# = x \underbrace{\Big(\mathrm{diag}(1/\sigma)\, W_1\Big)}_{W_1'} + \underbrace{\Big(b_1 - (\mu/\sigma)\, W_1\Big)}_{b_1'} ,$$
#
# an ordinary `Dense` layer with new weights.  Parameters are updated in place (they are views into the
# model's parameter buffer).

# %%
first = model.layers[0]
W1, b1 = first.params["W"].astype(np.float64), first.params["b"].astype(np.float64)
mu, sigma = scaler.mean_, scaler.std_
first.params["W"][...] = W1 / sigma[:, None]
first.params["b"][...] = b1 - (mu / sigma) @ W1

p_raw = model.predict(x_test_raw)           # raw measurements in, probability out
print("largest difference from the standardized pipeline:", float(np.abs(p_raw - p_test).max()))

# %% [markdown]
# (The difference is float32 round-off: the model computes in float32 by default.)
#
# ## Saving and loading
#
# `model.save(path)` writes one `.npz` file holding the architecture, the weights, the compile settings
# and the training state (optimizer moments, epoch count, random generator), so it can be used for
# prediction or to continue training (appendix [A2](A2_checkpoints_and_exact_resume.ipynb)).
# `tn.load_model(path)` rebuilds the model from it, in this process or any other.

# %%
model.save("diabetes.npz")
print("diabetes.npz:", Path("diabetes.npz").stat().st_size, "bytes")
loaded = tn.load_model("diabetes.npz")
print("the loaded model predicts the same, bit for bit:", np.array_equal(loaded.predict(x_test_raw), p_raw))

# %% [markdown]
# ## Predicting for a new patient
#
# A single sample still needs the batch axis, shape `(1, 8)`:

# %%
patient = {"pregnancies": 2, "glucose": 150, "blood_pressure": 72, "skin_thickness": 30,
           "insulin": 120, "bmi": 34.0, "diabetes_pedigree": 0.6, "age": 45}
row = np.array([[patient[name] for name in features]])
deployed = tn.load_model("diabetes.npz", compile=False)     # prediction only: no optimizer state
print(f"probability of a positive test: {deployed.predict(row)[0, 0]:.3f}")

# %%
os.chdir(start_dir)
shutil.rmtree(workdir)        # remove the files this notebook wrote

# %% [markdown]
# **Takeaways**
#
# * `Sequential` → `compile` → `fit` → `evaluate` → `predict`, exactly as in Keras.
# * Fit the standardization on the training set only, and ship it with the model (here folded into the
#   first layer).
# * Watch the validation loss: when it turns up while the training loss keeps falling, the model
#   overfits.  Stop there (`EarlyStopping(restore_best_weights=True)`), or regularize (notebook 7).
# * `model.save` writes one safe, checksummed `.npz`; `tn.load_model` restores it, and the predictions are
#   bit-identical.  Appendix A1 opens the file and loads it in a fresh process.
