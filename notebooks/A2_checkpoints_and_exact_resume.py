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
# # A2. Checkpoints and exact resume
#
# Engineering appendix (it was notebook 8).  Long training runs get interrupted: a crash, a time limit,
# a laptop lid.  A **checkpoint** is a file from which training continues as if nothing had happened,
# *bit for bit*.  This notebook works out what such a file must contain, shows that tinynet's model file
# resumes exactly (even in another process), shows what goes wrong with a weights-only "checkpoint", and
# what happens when a file is damaged.

# %% [markdown]
# ## Prerequisites
#
# * Notebook 1 (training, `model.save`, `tn.load_model`) and appendix
#   [A1](A1_inside_the_model_file.ipynb) (what the model file holds).
# * Notebook 4 (Adam's moments and bias correction) and notebook 7 (dropout).

# %% [markdown]
# ## Learning goals
#
# After this notebook you can
#
# * list every input of a training step, and so everything a checkpoint must store;
# * stop and resume training bit for bit, in another process and after a crash (`ModelCheckpoint`);
# * explain what a weights-only restart loses (Adam's moments and step count, the random generator);
# * say what tinynet does with corrupted, truncated or tampered files, and why.

# %%
# %matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn

plt.rcParams.update({"figure.dpi": 80, "figure.figsize": (6.4, 3.6)})
np.set_printoptions(precision=4, suppress=True)
tn.set_seed(0)

import os, shutil, subprocess, sys, tempfile
from pathlib import Path

start_dir = Path.cwd()
workdir = Path(tempfile.mkdtemp(prefix="tinynet-a2-"))   # files written below go here
os.chdir(workdir)

# %% [markdown]
# ## What determines the next step
#
# One training step $t$ of Adam on a mini-batch $B_t$ with a dropout mask $M_t$ is
#
# $$g_t = \nabla_\theta L(\theta_{t-1}; B_t, M_t), \quad
# m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \quad
# \theta_t = \theta_{t-1} - \eta_t\,\frac{m_t / (1-\beta_1^t)}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon}.$$
#
# To reproduce step $t$ exactly we need every input of this formula:
#
# * the **weights** $\theta_{t-1}$ (and non-trainable state such as batch-norm running averages);
# * the **optimizer state** $m_{t-1}, v_{t-1}$ *and the step count* $t$, which enters the bias corrections;
# * the **random generator state**, which decides the shuffling (hence $B_t$) and the dropout masks $M_t$;
# * the learning rate $\eta_t$: a schedule's position, $\eta_t = \text{schedule}(t - 1)$ (it is evaluated at
#   the number of steps already taken), and the hyper-parameters.
#
# A tinynet model file stores all of these.  Everything else (the data, the code) must of course be the
# same too.
#
# ## An uninterrupted run, and an interrupted one
#
# A network with dropout (so that randomness matters) on the digits, trained for 20 epochs in one go:

# %%
x, y = tn.datasets.load_digits()
x_train, x_test, y_train, y_test = tn.datasets.train_test_split(x, y, test_size=0.25, seed=0, stratify=True)
x_train, x_test = tn.datasets.standardize(x_train, x_test)

def build():
    tn.set_seed(0)
    model = tn.Sequential([tn.layers.Dense(32, input_dim=64, activation="relu"),
                           tn.layers.Dropout(0.2),
                           tn.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model

straight = build()
h_straight = straight.fit(x_train, y_train, epochs=20, batch_size=32, verbose=0).history
print(f"20 epochs in one go: final loss {h_straight['loss'][-1]:.6f}")

# %% [markdown]
# Now the same run, stopped after 10 epochs and saved.  The second half runs in a **separate Python
# process** that only has the file and the data.

# %%
first_half = build()
first_half.fit(x_train, y_train, epochs=10, batch_size=32, verbose=0)
first_half.save("checkpoint.npz")
np.save("x_train.npy", x_train); np.save("y_train.npy", y_train)

script = """
import numpy as np
import tinynet as tn

model = tn.load_model("checkpoint.npz")
print("resuming after", model.epochs_done, "epochs and", model.optimizer.iterations, "optimizer steps")
history = model.fit(np.load("x_train.npy"), np.load("y_train.npy"), epochs=10, batch_size=32, verbose=0)
np.save("resumed_losses.npy", history.history["loss"])
model.save("resumed.npz")
"""
out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
print(out.stdout)

resumed = tn.load_model("resumed.npz")
same_weights = all(np.array_equal(a, b) for a, b in zip(straight.get_weights(), resumed.get_weights()))
same_losses = np.array_equal(np.load("resumed_losses.npy"), h_straight["loss"][10:])
same_adam = all(np.array_equal(straight.optimizer.state[k][s], resumed.optimizer.state[k][s])
                for k in straight.optimizer.state for s in straight.optimizer.state[k])
print("weights identical bit for bit:", same_weights)
print("epoch losses 11-20 identical: ", same_losses)
print("Adam's m and v identical:     ", same_adam, f"(t = {resumed.optimizer.iterations})")

# %% [markdown]
# ## What a weights-only "checkpoint" does
#
# Saving only the weights (`model.save_weights`) is enough for prediction, but a run resumed from it
# starts with a fresh optimizer ($m = v = 0$, $t = 0$) and a fresh random generator.  With $t$ back at 1
# the bias corrections are large again, so the first resumed step is
#
# $$\theta \leftarrow \theta - \eta \frac{g_1}{|g_1| + \epsilon} \approx \theta - \eta\,\mathrm{sign}(g_1):$$
#
# a full-size step of $\eta$ in *every* coordinate, whatever Adam had learned about their scales.  And
# the batches and dropout masks differ from the uninterrupted run.  The result trains fine, but it is a
# different run:

# %%
first_half.save_weights("weights_only.npz")
restarted = build()                       # same architecture, fresh optimizer and generator
restarted.load_weights("weights_only.npz")
restarted.reseed(1)                       # a new process would not have the old generator state
h_restarted = restarted.fit(x_train, y_train, epochs=10, batch_size=32, verbose=0).history
gap = max(float(np.abs(a - b).max()) for a, b in zip(straight.get_weights(), restarted.get_weights()))
print(f"largest weight difference from the uninterrupted run: {gap:.3f}")

epochs = np.arange(1, 21)
fig, ax = plt.subplots()
ax.plot(epochs, h_straight["loss"], "k-", lw=3, alpha=0.3, label="uninterrupted")
ax.plot(epochs[10:], np.load("resumed_losses.npy"), "o", ms=4, label="resumed from the model file")
ax.plot(epochs[10:], h_restarted["loss"], "x-", label="restarted from weights only")
ax.axvline(10.5, color="gray", ls=":"); ax.set_xlabel("epoch"); ax.set_ylabel("training loss")
window = np.r_[h_straight["loss"][7:], h_restarted["loss"]]
ax.set_xlim(7.5, 20.5); ax.set_ylim(0.95 * window.min(), 1.05 * window.max()); ax.legend();


# %% [markdown]
# ## Checkpointing during training
#
# `tn.callbacks.ModelCheckpoint` saves the model at the end of every epoch (or only when a monitored value
# improves, with `save_best_only=True`).  Below, a run is "killed" by an exception during its 7th epoch;
# we resume from the newest checkpoint and still land exactly on the uninterrupted run's weights.

# %%
class Crash(tn.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 6:
            raise KeyboardInterrupt("power cut during epoch 7")

victim = build()
try:
    victim.fit(x_train, y_train, epochs=20, batch_size=32, verbose=0,
               callbacks=[tn.callbacks.ModelCheckpoint("ckpt/epoch-{epoch:02d}.npz"), Crash()])
except KeyboardInterrupt as exc:
    print("interrupted:", exc)

files = sorted(Path("ckpt").glob("*.npz"))
print("checkpoints on disk:", [f.name for f in files])
survivor = tn.load_model(files[-1])
survivor.fit(x_train, y_train, epochs=20 - survivor.epochs_done, batch_size=32, verbose=0)
print("after resuming: identical to the uninterrupted run:",
      all(np.array_equal(a, b) for a, b in zip(straight.get_weights(), survivor.get_weights())))

# %% [markdown]
# The file is also written **atomically**: to a temporary file in the same folder, flushed to disk, then
# renamed over the target.  A crash *while saving* therefore leaves the previous checkpoint intact rather
# than half a file.
#
# ## Integrity checks
#
# Files get damaged: a disk error, an interrupted copy, a download cut short, someone editing a byte.
# Every array in a tinynet model file has its SHA-256 recorded in the manifest, and loading verifies
# them.  `tn.inspect_model_file` reports them without loading:

# %%
info = tn.inspect_model_file("checkpoint.npz")
print("all checksums OK:", info.checksums_ok, f"({len(info.arrays)} arrays)")
print(info.arrays[0])

# %% [markdown]
# ### One flipped bit
#
# We flip a single bit in the middle of the first layer's kernel, as a failing disk might, and try again:

# %%
data = bytearray(Path("checkpoint.npz").read_bytes())
kernel = first_half.layers[0].params["W"].tobytes()
where = bytes(data).find(kernel) + len(kernel) // 2        # a byte inside the stored kernel
data[where] ^= 0b00000100
Path("bitflip.npz").write_bytes(bytes(data))

info = tn.inspect_model_file("bitflip.npz")
print("all checksums OK:", info.checksums_ok)
print([check.name for check in info.arrays if not check.ok])
try:
    tn.load_model("bitflip.npz")
except tn.ModelFileError as exc:
    print(f"\n{type(exc).__name__}: {exc}")

# %% [markdown]
# Without the checksum this file would load without complaint, and one weight (here changed by a factor
# that depends on which bit flipped) would silently change every prediction that passes through it.
#
# ### Truncated, garbage, and tampered files
#
# Every failure is a `tn.ModelFileError` (a subclass of `ValueError`) that names the file and the problem;
# nothing is unpickled, and nothing is allocated before its size has been checked.

# %%
good = Path("checkpoint.npz").read_bytes()
Path("truncated.npz").write_bytes(good[: len(good) // 2])       # a download cut short
Path("garbage.npz").write_bytes(b"this is not a model file\n" * 10)
Path("notes.txt").write_text("model weights, trust me")

for name in ["truncated.npz", "garbage.npz", "notes.txt"]:
    try:
        tn.load_model(name)
    except tn.ModelFileError as exc:
        print(f"{name}:\n  {type(exc).__name__}: {exc}\n")

# %% [markdown]
# A file whose manifest was edited to describe a different architecture (say 64 hidden units instead of
# 32) no longer matches its own arrays, and is refused as well:

# %%
import json

with np.load("checkpoint.npz", allow_pickle=False) as arrays:
    members = {name: arrays[name] for name in arrays.files}
manifest = json.loads(members["manifest"].tobytes())
manifest["layers"][0]["config"]["units"] = 64
members["manifest"] = np.frombuffer(json.dumps(manifest, indent=1).encode("ascii"), dtype=np.uint8)
np.savez("tampered.npz", **members)

try:
    tn.load_model("tampered.npz")
except tn.ModelFileError as exc:
    print(f"{type(exc).__name__}: {exc}")

# %%
os.chdir(start_dir)
shutil.rmtree(workdir)        # remove the files this notebook wrote

# %% [markdown]
# **Takeaways**
#
# * Exact resume needs the weights, the optimizer's state *and step count*, the random generator state
#   and the epoch count; tinynet's model file holds all of them, so `tn.load_model(...).fit(...)` continues
#   bit for bit, in any process.
# * A weights-only file is for prediction; resuming from it restarts Adam's bias correction and the
#   random sequence.
# * Checksums turn silent corruption into a clear error; treat every loaded file as untrusted.
