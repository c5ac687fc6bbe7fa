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
# # A1. Inside the model file
#
# Engineering appendix.  Notebook 1 saved the Pima diabetes model with `model.save` and loaded it with
# `tn.load_model`.  This notebook opens the file: what it holds, how to read it with nothing but NumPy
# and `json`, why loading it is safe, and the real test of a saved model, a fresh Python process that
# loads it and predicts the same numbers bit for bit.  The full specification is the
# [file-format page](../docs/file-format.md).

# %% [markdown]
# ## Prerequisites
#
# * Notebook 1 (the Pima model, `model.save`, `tn.load_model`).
# * What a zip archive and a JSON document are; NumPy's `.npy` / `.npz` files (`np.save`, `np.load`).

# %% [markdown]
# ## Learning goals
#
# After this notebook you can
#
# * list what a tinynet model file contains: a zip of `.npy` arrays plus a JSON manifest;
# * read the manifest and any weight array with NumPy and `json` alone, and match them to the model;
# * explain why loading never unpickles anything and how the SHA-256 checksums are checked;
# * check that a saved model predicts bit-identically in a fresh process, and inspect a file with
#   `tn.inspect_model_file` or `tinynet inspect`.

# %%
import numpy as np
import tinynet as tn

np.set_printoptions(precision=4, suppress=True)

import json, os, shutil, subprocess, sys, tempfile, zipfile
from pathlib import Path

start_dir = Path.cwd()
workdir = Path(tempfile.mkdtemp(prefix="tinynet-a1-"))   # files written below go here
os.chdir(workdir)

# %% [markdown]
# ## The model of notebook 1
#
# The same recipe: standardized Pima data, Dense 10 relu, Dense 1 sigmoid, binary cross-entropy, Adam,
# stopped early on the validation loss.  Then the file.

# %%
x, y = tn.datasets.load_pima_diabetes()
x_train, x_test, y_train, y_test = tn.datasets.train_test_split(x, y, test_size=0.2, seed=0, stratify=True)
x_train, x_test = tn.datasets.standardize(x_train, x_test)
tn.set_seed(0)
model = tn.Sequential([tn.layers.Dense(10, input_dim=8, activation="relu"),
                       tn.layers.Dense(1, activation="sigmoid")])
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=150, batch_size=10, validation_split=0.2, verbose=0,
          callbacks=[tn.callbacks.EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True)])
model.save("diabetes.npz")
print("diabetes.npz:", Path("diabetes.npz").stat().st_size, "bytes")

# %% [markdown]
# ## What is inside the file
#
# A model file is an ordinary `.npz`: a zip archive of `.npy` arrays, one per weight and per optimizer
# state array, plus `manifest.npy`, the bytes of a JSON document (stored as a `uint8` array) that
# describes the architecture, the compile settings, the training progress and every array's dtype,
# shape and SHA-256.  It is readable with nothing but NumPy and `json`.  Loading never unpickles anything:
# it only rebuilds layers from tinynet's registry of known classes, checks every shape, and verifies
# every array's SHA-256.

# %%
with zipfile.ZipFile("diabetes.npz") as z:
    for info in z.infolist():
        print(f"{info.filename:32} {info.file_size:6d} bytes")
with np.load("diabetes.npz", allow_pickle=False) as arrays:
    manifest = json.loads(arrays["manifest"].tobytes())
print("\nmanifest keys:", list(manifest))
print("first layer:", json.dumps(manifest["layers"][0]))
print("compile:", json.dumps(manifest["compile"]))
print("one array:", manifest["arrays"][0])

# %%
with np.load("diabetes.npz", allow_pickle=False) as arrays:
    w_name = manifest["layers"][0]["params"]["W"]
    print(w_name, arrays[w_name].dtype, arrays[w_name].shape)
    print("same as the model's first kernel:", np.array_equal(arrays[w_name], model.layers[0].params["W"]))

# %% [markdown]
# `tn.inspect_model_file` reads the manifest and checks every checksum without building the model (the
# `tinynet inspect` command prints the same report):

# %%
print(tn.inspect_model_file("diabetes.npz"))

# %% [markdown]
# ## Loading in a fresh process
#
# The real test of a saved model: a new Python interpreter, which has never seen this notebook's objects,
# loads the file and predicts.  We run one with `subprocess` and compare its predictions with ours, bit
# for bit.

# %%
np.save("x_test.npy", x_test)
p_here = model.predict(x_test)
script = """
import numpy as np
import tinynet as tn

model = tn.load_model("diabetes.npz")
x = np.load("x_test.npy")
p = model.predict(x)
np.save("p_fresh.npy", p)
model.summary()
print("first three probabilities:", p[:3, 0])
"""
result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
print(result.stdout)
p_fresh = np.load("p_fresh.npy")
print("identical to the notebook's predictions, bit for bit:", np.array_equal(p_fresh, p_here))

# %%
os.chdir(start_dir)
shutil.rmtree(workdir)        # remove the files this notebook wrote

# %% [markdown]
# **Takeaways**
#
# * A model file is a zip of `.npy` arrays and a JSON manifest: open it with `zipfile`, `np.load` and
#   `json`, no tinynet needed.
# * Loading builds layers only from tinynet's registry, never unpickles, and checks every array's shape
#   and SHA-256 (`tn.inspect_model_file` does the checks without building the model).
# * A fresh process loads the file and predicts bit for bit what the original model predicted.
#   Appendix [A2](A2_checkpoints_and_exact_resume.ipynb) resumes *training* from such a file, exactly.
