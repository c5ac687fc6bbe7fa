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
# # 10. Deploying a model
#
# Notebook 1 saved a model to a file, and appendix A1 loaded it in another process and predicted with it,
# bit for bit.  Production asks for
# more: other **runtimes** (an ONNX graph that onnxruntime, phones and browsers run), a **service** that
# answers prediction requests over HTTP, **smaller files** (int8 weights), and a **record of what the model
# is** (a model card).  We do all four with the seed model of the course, the Pima diabetes network, and
# measure each step: how close the ONNX graph is, how fast the server answers, what quantization costs
# in accuracy and saves in bytes.  (The [deployment guide](../docs/deploying.md) has the reference.)

# %% [markdown]
# ## Prerequisites
#
# * Notebook 1 (the Pima model, saving and loading) and appendix A1 (the model file).
# * What an HTTP request is; running a command in a terminal.

# %% [markdown]
# ## Learning goals
#
# After this notebook you can
#
# * export a model to ONNX, run it in onnxruntime and measure how close it is;
# * serve a model with `tinynet serve` and call it over HTTP;
# * derive int8 weight quantization and measure its cost in accuracy and its saving in bytes;
# * carry a model card in the model file.

# %%
# %matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn

plt.rcParams.update({"figure.dpi": 80, "figure.figsize": (6.4, 3.2)})
np.set_printoptions(precision=4, suppress=True)
tn.set_seed(0)

import json, os, shutil, signal, subprocess, sys, tempfile, threading, time
import urllib.error, urllib.request
from pathlib import Path

start_dir = Path.cwd()
workdir = Path(tempfile.mkdtemp(prefix="tinynet-nb10-"))   # files written below go here
os.chdir(workdir)

# %% [markdown]
# ## The model, with its card
#
# The Keras example: Dense(10, relu) on 8 standardized measurements, then Dense(1, sigmoid).  Before
# saving, we attach a **model card**: what the model is for, which data trained it (a SHA-256 of the
# arrays identifies them exactly), and how it scored.  It travels inside the model file.

# %%
x, y = tn.datasets.load_pima_diabetes()
x_train, x_test, y_train, y_test = tn.datasets.train_test_split(x, y, test_size=0.2, seed=0, stratify=True)
x_train, x_test = tn.datasets.standardize(x_train, x_test)
x_train, x_test = x_train.astype(np.float32), x_test.astype(np.float32)

model = tn.Sequential([tn.layers.Dense(10, input_dim=8, activation="relu"), tn.layers.Dense(1, activation="sigmoid")])
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=100, batch_size=32, verbose=0)
loss, accuracy = model.evaluate(x_test, y_test)

model.card = tn.ModelCard(
    description="Predicts the onset of diabetes within five years from 8 standardized measurements. "
    "A teaching model: not for clinical use.",
    data_name="Pima Indians Diabetes (tinynet's bundled copy), 80% train split",
    data_sha256=tn.ModelCard.sha256_of(x_train, y_train),
    metrics={"test_accuracy": accuracy, "test_loss": loss},
)
model.save("diabetes.npz")
print(subprocess.run([sys.executable, "-m", "tinynet", "inspect", "diabetes.npz"],
                     capture_output=True, text=True).stdout)

# %% [markdown]
# ## 1. ONNX: the same model in another runtime
#
# ONNX describes a model as a graph of standard operators.  `tn.export_onnx` maps each layer to its
# operators: Dense is `MatMul` then `Add` then `Relu` or `Sigmoid`.  The result runs in
# [onnxruntime](https://onnxruntime.ai), an engine written in C++ that knows nothing of tinynet.  Are
# its answers the same?  Not bit for bit: another engine sums in another order and has its own
# `exp`.  But they should agree to float32 rounding.

# %%
import onnx, onnxruntime as ort

tn.export_onnx(model, "diabetes.onnx")              # opset 17 by default
graph = onnx.load("diabetes.onnx")
print("opset", graph.opset_import[0].version, "| nodes:", [node.op_type for node in graph.graph.node])

session = ort.InferenceSession("diabetes.onnx", providers=["CPUExecutionProvider"])
p_onnx = session.run(None, {"input": x_test})[0]
p_tinynet = model.predict(x_test)
print(f"max |onnxruntime - tinynet| over {len(x_test)} patients: {np.abs(p_onnx - p_tinynet).max():.2e}")

# %% [markdown]
# A difference of about $10^{-7}$ on probabilities is float32 rounding: one unit in the last place is
# $2^{-24} \approx 6 \times 10^{-8}$ near 1.  No patient changes class.

# %% [markdown]
# ## 2. A prediction service over HTTP
#
# `tinynet serve` answers `POST /predict` with JSON, in the style of TensorFlow Serving:
# `{"instances": [[...8 numbers...], ...]}` in, `{"predictions": [[p], ...]}` out.  We start it as
# a separate process, as a deployment would.  `--port 0` lets the system pick a free port, which the
# server prints.  Then we call it with a real HTTP client, `urllib` from the standard library.

# %%
server = subprocess.Popen([sys.executable, "-m", "tinynet", "serve", "diabetes.npz", "--port", "0"],
                          stdout=subprocess.PIPE, text=True)
first_line = server.stdout.readline().strip()
print(first_line)
url = first_line.rsplit(" ", 1)[1]


def call(path, body=None, content_type="application/json"):
    """(status, decoded JSON answer) of a GET (no body) or a POST."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:          # 4xx and 5xx answers carry a JSON error too
        return error.code, json.loads(error.read())


print(call("/health"))
print(json.dumps(call("/metadata")[1]["model"]["card"], indent=1)[:400], "...")

# %%
status, answer = call("/predict", {"instances": x_test[:3].tolist()})
print(status, answer)
served = np.array(call("/predict", {"instances": x_test.tolist()})[1]["predictions"], dtype=np.float32)
print("identical to model.predict:", np.array_equal(served, p_tinynet))

# %% [markdown]
# The predictions are *identical*, not just close: the server runs the same tinynet on the same
# weights, and a float32 printed by JSON reads back as the same float32.
#
# A service must also survive bad requests.  Each one gets a status and a message that says what is
# wrong, and the server keeps serving:

# %%
for body in ({"instances": [[1, 2, 3]]}, {"instances": [[float("nan")] * 8]}, {"rows": []}):
    print(call("/predict", body))
print(call("/predict", {"instances": [[0] * 8]}, content_type="text/plain"))
print(call("/nowhere"))

# %% [markdown]
# How fast is it?  We send 200 one-patient requests from one client and from 4 at a time.  Every
# request opens a new connection, and the JSON is parsed and printed on both sides, so this measures
# the whole path.  On a 2-core machine the clients and the server share the cores.

# %%
from concurrent.futures import ThreadPoolExecutor

one_patient = {"instances": x_test[:1].tolist()}
for clients in (1, 4):
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        statuses = list(pool.map(lambda _: call("/predict", one_patient)[0], range(200)))
    elapsed = time.perf_counter() - start
    print(f"{clients} client(s): {200 / elapsed:5.0f} requests/s, all OK: {set(statuses) == {200}}")

server.send_signal(signal.SIGTERM)            # a clean stop, as a process manager would do it
print("server exit status:", server.wait(timeout=10), "|", server.stdout.read().strip())

# %% [markdown]
# Most of the time goes to HTTP and JSON, not to the 101 weights.  For production, run the same
# application (`tinynet.serving.make_wsgi_app(model)`) in gunicorn or waitress, with one model per
# worker process.  The guide shows how.

# %% [markdown]
# ## 3. int8 weights: a quarter of the bytes
#
# Post-training quantization stores each kernel weight as an 8-bit integer.  Each output channel $j$ gets
# a scale $s_j = \max_i |W_{ij}| / 127$, and the weights are stored as
# $q_{ij} = \mathrm{round}(W_{ij}/s_j) \in \{-127, \dots, 127\}$.  Loading gives back
# $\hat W_{ij} = q_{ij} s_j$.  Rounding moves a weight by at most half a step:
#
# $$|W_{ij} - \hat W_{ij}| \le \tfrac{s_j}{2} = \frac{\max_i |W_{ij}|}{254}.$$
#
# Biases stay float32.  They are few, and an error in a bias shifts every output of its unit.

# %%
small = tn.quantize(model)          # a copy: its kernels hold q * s; saving stores q and s
W, W_hat = model.layers[0].params["W"], small.layers[0].params["W"]
bound = np.abs(W).max(axis=0) / 254
print("largest error / its bound, per unit:", (np.abs(W - W_hat).max(axis=0) / bound).round(2))

fig, ax = plt.subplots()
ax.scatter(W.ravel(), (W_hat - W).ravel(), s=10)
ax.set(xlabel="weight $W_{ij}$ (first layer)", ylabel=r"$\hat W_{ij} - W_{ij}$",
       title="int8 rounding error: at most half a step per unit")
plt.show()

# %% [markdown]
# What does it cost, and what does it save?  We compare accuracy, and the size of the files: the float32
# model saved as `model.save` writes it by default (stored) and compressed, both without the optimizer
# state (the int8 copy has none), and the int8 file.

# %%
small.save("diabetes-int8.npz")
tn.save_model(model, "diabetes-float32.npz", include_compile=False)
tn.save_model(model, "diabetes-float32-compressed.npz", include_compile=False, compress=True)
print(f"accuracy float32 {accuracy:.4f}  int8 {tn.metrics.accuracy(y_test, small.predict(x_test)):.4f}")
baseline = os.path.getsize("diabetes-float32.npz")
for name in ("diabetes-float32.npz", "diabetes-float32-compressed.npz", "diabetes-int8.npz"):
    print(f"{name:32s} {os.path.getsize(name):6,} bytes  {os.path.getsize(name) / baseline:6.1%}")

# %% [markdown]
# The accuracy is unchanged, and the int8 file is under a third of the float32 one (31% here, where both
# files carry the card's few hundred bytes of text; about 29% without a card, the figure the deployment
# guide reports).  That is not obvious for a model this small: its 101 weights take 404 bytes in float32, 101 as int8, but a model
# file also holds a manifest (architecture, training progress, the card) and, for each array, a zip
# entry, an NPY header and a SHA-256, some 400 bytes an array.  Stored array by array, the int8 file
# would be *larger* than the float32 one: quantizing saves 303 bytes of weights and adds two scale
# arrays.  So a quantized model's file is **packed** (format version 6): every array lies in one byte
# buffer with one checksum, the manifest says where (dtype, shape and offset, all checked when the
# file is loaded), a buffer this small is embedded in the manifest, and the file is deflated.  The
# file has a single member:

# %%
import zipfile

with zipfile.ZipFile("diabetes-int8.npz") as zf:
    for member in zf.infolist():
        print(f"{member.filename}: {member.file_size:,} bytes, {member.compress_size:,} deflated")
info = tn.inspect_model_file("diabetes-int8.npz")
for entry in info.manifest["packed"]["arrays"]:
    print(entry)
print(str(info).splitlines()[-2])

# %% [markdown]
# For larger models the fixed part hardly matters and the ratio approaches the int8/float32 ratio,
# 25%.  Here is one with 200,000 weights (its 200 KB buffer is stored as one array rather than
# embedded):

# %%
big = tn.Sequential([tn.layers.Dense(256, input_dim=784, activation="relu"), tn.layers.Dense(10, activation="softmax")])
big.build()
tn.save_model(big, "big-float32.npz", include_compile=False)
tn.quantize(big).save("big-int8.npz")
ratio = os.path.getsize("big-int8.npz") / os.path.getsize("big-float32.npz")
print(f"{os.path.getsize('big-float32.npz'):,} -> {os.path.getsize('big-int8.npz'):,} bytes: {ratio:.1%}")

# %% [markdown]
# About a quarter.  The quantized file records its format (version 6) and the scales.  Loading
# dequantizes the weights, so everything downstream stays the same: `tinynet predict`, `tinynet serve`,
# and `tn.export_onnx`, which exports $\hat W$ in float32.

# %%
loaded = tn.load_model("diabetes-int8.npz")
print("quantized:", loaded.quantized, "| predictions identical to the quantized copy:",
      np.array_equal(loaded.predict(x_test), small.predict(x_test)))
print("card kept:", loaded.card.description[:60], "...")

# %%
os.chdir(start_dir)
shutil.rmtree(workdir)

# %% [markdown]
# ## What we measured
#
# - **ONNX**: onnxruntime agrees with tinynet to about $10^{-7}$ (float32 rounding).  The tests check
#   every layer type to $10^{-5}$.
# - **Serving**: the answers are identical to `model.predict`, bad requests get clear 4xx errors, and
#   a 2-core machine serves several hundred small requests a second.
# - **int8**: no change in accuracy here.  The packed int8 file is under a third of the float32 file
#   even for 101 weights, and about 25% for large models.
# - **Model card**: the description, data hash and metrics travel inside the file and are shown by
#   `tinynet inspect` and `GET /metadata`.
