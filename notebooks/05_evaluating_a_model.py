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
# # 5. Evaluating a model
#
# "92% accurate" means little until we know what the classes are and how often each occurs.  This
# notebook evaluates a classifier on the **Pima Indians diabetes** data (768 patients, 35% of them
# positive: an imbalanced problem) with accuracy, precision, recall, F1, the confusion matrix and the
# ROC curve, and shows what moving the decision threshold does.

# %% [markdown]
# ## Prerequisites
#
# * Notebook 1 (training the Pima model, `predict` returning probabilities).
# * Basic probability: rates, conditional frequencies.

# %% [markdown]
# ## Learning goals
#
# After this notebook you can
#
# * judge an accuracy against the majority-class baseline;
# * compute and read a confusion matrix, precision, recall and F1, and the ROC curve and its AUC;
# * choose a decision threshold on validation data, never on the test set;
# * use class weights for an imbalanced problem.

# %%
# %matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn

plt.rcParams.update({"figure.dpi": 80, "figure.figsize": (6.4, 3.6)})
np.set_printoptions(precision=4, suppress=True)
tn.set_seed(0)

# %% [markdown]
# ## Data and model
#
# Three disjoint parts, all stratified (each keeps the 65/35 ratio): a training set to fit the weights, a
# validation set to make decisions (here: choose the threshold), and a test set used only for the final
# numbers.  Reusing the test set for decisions would make its numbers optimistic.

# %%
x, y, features, classes = tn.datasets.load_pima_diabetes(return_names=True)
print("classes:", classes, " counts:", np.bincount(y), f" positive rate {y.mean():.1%}")

x_rest, x_test, y_rest, y_test = tn.datasets.train_test_split(x, y, test_size=0.2, seed=0, stratify=True)
x_train, x_val, y_train, y_val = tn.datasets.train_test_split(x_rest, y_rest, test_size=0.25, seed=0, stratify=True)
scaler = tn.datasets.Standardizer().fit(x_train)        # statistics of the training set only
x_train, x_val, x_test = scaler.transform(x_train), scaler.transform(x_val), scaler.transform(x_test)
print("train / validation / test:", len(x_train), len(x_val), len(x_test))

tn.set_seed(0)
model = tn.Sequential([tn.layers.Dense(10, input_dim=8, activation="relu"),
                       tn.layers.Dense(1, activation="sigmoid")])
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=100, batch_size=32, verbose=0)
p_val, p_test = model.predict(x_val)[:, 0], model.predict(x_test)[:, 0]
print(f"test accuracy {tn.metrics.accuracy(y_test, p_test):.3f}")

# %% [markdown]
# ## Accuracy and its baseline
#
# A "model" that always answers *negative* is right on every negative sample:

# %%
always_negative = np.zeros_like(y_test)
print(f"always negative: accuracy {tn.metrics.accuracy(y_test, always_negative):.3f}, "
      f"recall {tn.metrics.recall(y_test, always_negative):.3f}")

# %% [markdown]
# 65% accuracy while finding no diabetic patient at all.  Accuracy on an imbalanced problem must always be
# compared with the majority-class rate, and it hides *which* mistakes are made.
#
# ## The confusion matrix
#
# Predicting class 1 when $p \ge \tau$ (here $\tau = 0.5$) sorts every test sample into one of four cells:
#
# |               | predicted 0 | predicted 1 |
# |---------------|:-----------:|:-----------:|
# | **true 0**    | TN          | FP          |
# | **true 1**    | FN          | TP          |
#
# and every classification metric is a ratio of these counts:
#
# $$\text{accuracy} = \frac{TP + TN}{N}, \qquad
# \text{precision} = \frac{TP}{TP + FP}, \qquad
# \text{recall} = \frac{TP}{TP + FN}.$$
#
# **Precision**: of the patients flagged, how many are ill.  **Recall** (sensitivity, true positive rate):
# of the ill patients, how many are flagged.  **F1** is their harmonic mean,
#
# $$F_1 = \frac{2}{1/\text{precision} + 1/\text{recall}} = \frac{2\,TP}{2\,TP + FP + FN},$$
#
# which, unlike the arithmetic mean, is low as soon as *either* is low (always answering positive gives
# recall 1 and precision 0.35, arithmetic mean 0.67 but $F_1 = 0.52$).  None of the three involves TN, the
# large, easy class.

# %%
cm = tn.metrics.confusion_matrix(y_test, p_test)
tn_, fp, fn, tp = cm.ravel()
print(cm)
print(f"precision = {tp}/({tp}+{fp}) = {tn.metrics.precision(y_test, p_test):.3f}")
print(f"recall    = {tp}/({tp}+{fn}) = {tn.metrics.recall(y_test, p_test):.3f}")
print(f"F1        = {tn.metrics.f1_score(y_test, p_test):.3f}")

tn.plot.plot_confusion_matrix(y_test, p_test, labels=["negative", "positive"])

# %% [markdown]
# ## What the threshold does
#
# The network outputs a probability; the threshold $\tau$ turns it into a decision.  Lowering $\tau$
# flags more patients: recall can only go up (more of the ill are caught) and precision usually goes down
# (more healthy patients are flagged too).  Which trade-off is right depends on the cost of each mistake
# (for a screening test, a missed patient is worse than a second opinion), not on the model.
#
# The histogram of predicted probabilities per true class shows why: the two classes overlap, and any
# vertical line through the overlap trades one kind of error for the other.

# %%
thresholds = np.linspace(0.05, 0.95, 91)
def scores(y_true, p, t):
    pred = (p >= t).astype(int)
    return (tn.metrics.precision(y_true, pred), tn.metrics.recall(y_true, pred), tn.metrics.f1_score(y_true, pred))

val_scores = np.array([scores(y_val, p_val, t) for t in thresholds])
best = thresholds[np.argmax(val_scores[:, 2])]
screening = thresholds[val_scores[:, 1] >= 0.9].max()   # the largest threshold with recall >= 90%

fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
axes[0].hist([p_val[y_val == 0], p_val[y_val == 1]], bins=20, range=(0, 1), label=["true negative class", "true positive class"])
axes[0].set_xlabel("predicted probability"); axes[0].set_title("validation set"); axes[0].legend()
for k, name in enumerate(["precision", "recall", "F1"]):
    axes[1].plot(thresholds, val_scores[:, k], label=name)
for ax in axes:
    ax.axvline(0.5, color="gray", ls=":")
axes[1].axvline(best, color="red", ls="--", label=f"best F1 at {best:.2f}")
axes[1].set_xlabel("threshold"); axes[1].set_title("validation set"); axes[1].legend()
fig.tight_layout()

# %% [markdown]
# Two thresholds were chosen on the *validation* set: the one that maximizes $F_1$, and a "screening"
# threshold, the largest one that still catches 90% of the positive patients there.  Now, and only now,
# the test set tells us what to expect from them:

# %%
for t in [0.5, best, screening]:
    pred = (p_test >= t).astype(int)
    print(f"threshold {t:.2f}: accuracy {tn.metrics.accuracy(y_test, pred):.3f}  precision {tn.metrics.precision(y_test, pred):.3f}"
          f"  recall {tn.metrics.recall(y_test, pred):.3f}  F1 {tn.metrics.f1_score(y_test, pred):.3f}")
fig, axes = plt.subplots(1, 3, figsize=(11, 3.3))
for ax, t in zip(axes, [0.5, best, screening]):
    tn.plot.plot_confusion_matrix(y_test, (p_test >= t).astype(int), labels=["negative", "positive"], ax=ax)
    ax.set_title(f"threshold {t:.2f}")
fig.tight_layout()

# %% [markdown]
# ## The ROC curve
#
# Instead of one threshold, the **receiver operating characteristic** shows them all: for each $\tau$ it
# plots the true positive rate against the false positive rate,
#
# $$\mathrm{TPR}(\tau) = \frac{TP}{TP + FN} \ (\text{recall}), \qquad
# \mathrm{FPR}(\tau) = \frac{FP}{FP + TN},$$
#
# from $(0, 0)$ ($\tau = +\infty$, nothing flagged) to $(1, 1)$ (everything flagged).  A random score
# follows the diagonal.  The **area under the curve** has a neat meaning: sorting the samples by score,
# each positive contributes a vertical step and each negative a horizontal one, and the area counts the
# (positive, negative) pairs in the right order, so
#
# $$\mathrm{AUC} = P(\text{score of a random positive} > \text{score of a random negative}),$$
#
# independent of any threshold and of the class ratio.

# %%
fpr, tpr, thr = tn.metrics.roc_curve(y_test, p_test)
auc = tn.metrics.roc_auc(y_test, p_test)
pos, neg = p_test[y_test == 1], p_test[y_test == 0]
pairs = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
print(f"AUC = {auc:.4f};  fraction of correctly ordered (positive, negative) pairs = {pairs:.4f}")

fig, ax = plt.subplots(figsize=(4.6, 4.2))
tn.plot.plot_roc(y_test, p_test, ax=ax, label="model")
for t, marker in [(0.5, "o"), (best, "s"), (screening, "^")]:
    i = np.flatnonzero(thr >= t)[-1]        # the operating point of threshold t
    ax.plot(fpr[i], tpr[i], marker, ms=8, label=f"threshold {t:.2f}")
ax.set_xlabel("false positive rate"); ax.set_ylabel("true positive rate"); ax.legend(loc="lower right");

# %% [markdown]
# ## Class weights: the same trade-off, made during training
#
# Another common remedy for imbalance is to weight the loss, here by the inverse class frequency,
# $w_c = N / (2 N_c)$, so that both classes contribute equally.  Its main effect is to move the predicted
# probabilities up for the minority class, much as lowering the threshold does; the ranking (and so the
# AUC) barely changes.

# %%
counts = np.bincount(y_train)
weights = {c: float(len(y_train) / (2 * counts[c])) for c in (0, 1)}
tn.set_seed(0)
weighted = tn.Sequential([tn.layers.Dense(10, input_dim=8, activation="relu"),
                          tn.layers.Dense(1, activation="sigmoid")])
weighted.compile(loss="binary_crossentropy", optimizer="adam")
weighted.fit(x_train, y_train, epochs=100, batch_size=32, class_weight=weights, verbose=0)
pw = weighted.predict(x_test)[:, 0]
print("class weights:", {c: round(w, 3) for c, w in weights.items()})
for name, p in [("unweighted", p_test), ("class-weighted", pw)]:
    print(f"{name:>15}, threshold 0.5: precision {tn.metrics.precision(y_test, p):.3f}  "
          f"recall {tn.metrics.recall(y_test, p):.3f}  F1 {tn.metrics.f1_score(y_test, p):.3f}  AUC {tn.metrics.roc_auc(y_test, p):.3f}")

# %% [markdown]
# **Takeaways**
#
# * Compare accuracy with the majority-class rate; on imbalanced data look at precision, recall and F1.
# * The threshold is a decision, separate from the model: pick it on validation data, for the costs at
#   hand, and report test numbers at that threshold.
# * The ROC curve and its AUC describe the ranking quality over all thresholds at once.
