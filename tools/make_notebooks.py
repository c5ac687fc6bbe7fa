"""Generate, execute and save the teaching notebooks in ``notebooks/``.

Each notebook is written here as a list of cells (Markdown with LaTeX, and code), so the
notebooks are reproducible and reviewable as plain Python.  Running the script builds each
notebook, executes it top to bottom with a fresh ``python3`` kernel (cwd ``notebooks/``,
``MPLBACKEND=Agg``, the repository root on ``PYTHONPATH``), strips the volatile metadata
(execution times, kernel ids) and writes it with its outputs, ready to commit.

    python tools/make_notebooks.py              # every notebook
    python tools/make_notebooks.py 03 05        # the notebooks whose names start with 03 or 05
    python tools/make_notebooks.py --no-execute # write the sources only, without outputs

Each notebook below is a function decorated with ``@notebook("NN_name.ipynb")`` that returns
its cells: a list of ``md(...)`` (Markdown, LaTeX in ``$...$`` and ``$$...$$``) and
``code(...)`` cells.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}


#: (file name, function returning the cells), in order.
NOTEBOOKS: list[tuple[str, Callable[[], list]]] = []


def notebook(name: str):
    """Register a function returning a notebook's cells under the file name ``name``."""

    def register(fn):
        NOTEBOOKS.append((name, fn))
        return fn

    return register


def md(text: str) -> tuple[str, str]:
    """A Markdown cell (the text is dedented and stripped)."""
    return ("md", dedent(text).strip("\n"))


def code(text: str) -> tuple[str, str]:
    """A code cell (the text is dedented and stripped)."""
    return ("code", dedent(text).strip("\n"))


def build(cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = []
    for kind, text in cells:
        if kind == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(text))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(text))
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)}
    for i, cell in enumerate(nb.cells):  # stable ids: no diff noise between runs
        cell["id"] = f"cell-{i:02d}"
    return nb


def kernel_env() -> dict[str, str]:
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")  # small matrices: threads only add overhead (as in tests/test_notebooks.py)
    return env


def execute(nb: nbformat.NotebookNode, timeout: int = 60) -> float:
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK_DIR)}}
    )
    start = time.perf_counter()
    client.execute(env=kernel_env())
    return time.perf_counter() - start


def clean(nb: nbformat.NotebookNode) -> None:
    """Drop execution timestamps and other per-run metadata."""
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)}
    for cell in nb.cells:
        cell.metadata = {}
        for out in cell.get("outputs", []):
            if "metadata" in out:
                out["metadata"] = {k: v for k, v in out["metadata"].items() if k not in ("execution",)}


# ======================================================================== notebooks
SETUP = """
%matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn

plt.rcParams.update({"figure.dpi": 80, "figure.figsize": (6.4, 3.6)})
np.set_printoptions(precision=4, suppress=True)
tn.set_seed(0)
"""


@notebook("01_training_to_deployment.ipynb")
def training_to_deployment():
    return [
        md(r"""
        # 1. From training to deployment

        The classic first Keras example, end to end with tinynet: a small network that predicts the onset of
        diabetes from eight medical measurements (the Pima Indians diabetes data).  We **fit** it, **evaluate**
        it on held-out patients, **save** it to a file, **load** it in a fresh Python process that knows nothing
        of this notebook, **predict** with it, and look at **what is inside the file**.
        """),
        code(
            SETUP
            + dedent(r"""
        import json, os, shutil, subprocess, sys, tempfile, zipfile
        from pathlib import Path

        start_dir = Path.cwd()
        workdir = Path(tempfile.mkdtemp(prefix="tinynet-nb01-"))   # files written below go here
        os.chdir(workdir)
        """)
        ),
        md(r"""
        ## The data

        768 patients, 8 numeric features each, and a binary label: tested positive for diabetes within five
        years (1) or not (0).
        """),
        code(r"""
        x, y, features, classes = tn.datasets.load_pima_diabetes(return_names=True)
        print(x.shape, y.shape, classes)
        print("positives:", int(y.sum()), f"({y.mean():.1%})")
        for name, col in zip(features, x.T):
            print(f"  {name:>18}: mean {col.mean():7.2f}, std {col.std():7.2f}, min {col.min():6.1f}, max {col.max():6.1f}")
        """),
        md(r"""
        The features live on very different scales (insulin in the hundreds, the pedigree function below 1).
        Gradient descent works best when every input has a comparable scale, so we **standardize** each feature,
        $z = (x - \mu)/\sigma$, with $\mu$ and $\sigma$ computed on the *training* set only (the test set must
        stay unseen).  20% of the patients are held out for the final test, stratified so both parts keep the
        same fraction of positives.
        """),
        code(r"""
        x_train_raw, x_test_raw, y_train, y_test = tn.datasets.train_test_split(x, y, test_size=0.2, seed=0, stratify=True)
        scaler = tn.datasets.Standardizer().fit(x_train_raw)
        x_train, x_test = scaler.transform(x_train_raw), scaler.transform(x_test_raw)
        print("train", x_train.shape, " test", x_test.shape)
        """),
        md(r"""
        ## The model

        Two `Dense` layers: 10 hidden units with ReLU, then one unit with a sigmoid that outputs the
        probability of a positive test,

        $$h = \mathrm{relu}(x W_1 + b_1), \qquad \hat p = \sigma(h W_2 + b_2) = \frac{1}{1 + e^{-(h W_2 + b_2)}} .$$

        It is trained by minimizing the binary cross-entropy
        $L = -\frac1N \sum_n \big[y_n \log \hat p_n + (1 - y_n) \log(1 - \hat p_n)\big]$ with the Adam optimizer
        (notebooks 3 and 4 derive both).  `tn.set_seed(0)` makes the initial weights, the shuffling, and so
        every number below reproducible.
        """),
        code(r"""
        tn.set_seed(0)
        model = tn.Sequential()
        model.add(tn.layers.Dense(10, input_dim=8, activation="relu"))
        model.add(tn.layers.Dense(1, activation="sigmoid"))
        model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
        model.summary()
        """),
        md(r"""
        $8 \cdot 10 + 10 = 90$ and $10 \cdot 1 + 1 = 11$ parameters.  Training: 150 passes over the data
        (epochs) in mini-batches of 10, keeping the last 20% of the training set aside to watch for
        overfitting.
        """),
        code(r"""
        history = model.fit(x_train, y_train, epochs=150, batch_size=10, validation_split=0.2, verbose=0)
        h = history.history
        print(f"after {len(h['loss'])} epochs: loss {h['loss'][-1]:.4f}, accuracy {h['accuracy'][-1]:.3f}, "
              f"val_loss {h['val_loss'][-1]:.4f}, val_accuracy {h['val_accuracy'][-1]:.3f}")
        """),
        code(r"""
        tn.plot.plot_history(history)
        """),
        md(r"""
        ## Evaluation on the held-out test set
        """),
        code(r"""
        loss, accuracy = model.evaluate(x_test, y_test)
        p_test = model.predict(x_test)
        print(f"test loss {loss:.4f}, accuracy {accuracy:.3f}")
        print(f"precision {tn.metrics.precision(y_test, p_test):.3f}, recall {tn.metrics.recall(y_test, p_test):.3f}, "
              f"F1 {tn.metrics.f1_score(y_test, p_test):.3f}, ROC AUC {tn.metrics.roc_auc(y_test, p_test):.3f}")
        print("confusion matrix (rows: true 0/1, columns: predicted 0/1):")
        print(tn.metrics.confusion_matrix(y_test, p_test))
        print(f"(always answering 'negative' would score {1 - y_test.mean():.3f} accuracy; notebook 5 looks closer)")
        """),
        md(r"""
        ## Making the model self-contained

        A deployed model receives raw measurements, so the standardization must travel with it.  Instead of
        shipping $\mu$ and $\sigma$ separately, we can fold them into the first layer: for
        $z = (x - \mu)/\sigma$,

        $$z W_1 + b_1 = \sum_i \frac{x_i - \mu_i}{\sigma_i} W_{1,i\cdot} + b_1
        = x \underbrace{\Big(\mathrm{diag}(1/\sigma)\, W_1\Big)}_{W_1'} + \underbrace{\Big(b_1 - (\mu/\sigma)\, W_1\Big)}_{b_1'} ,$$

        an ordinary `Dense` layer with new weights.  Parameters are updated in place (they are views into the
        model's parameter buffer).
        """),
        code(r"""
        first = model.layers[0]
        W1, b1 = first.params["W"].astype(np.float64), first.params["b"].astype(np.float64)
        mu, sigma = scaler.mean_, scaler.std_
        first.params["W"][...] = W1 / sigma[:, None]
        first.params["b"][...] = b1 - (mu / sigma) @ W1

        p_raw = model.predict(x_test_raw)           # raw measurements in, probability out
        print("largest difference from the standardized pipeline:", float(np.abs(p_raw - p_test).max()))
        """),
        md(r"""
        (The difference is float32 round-off: the model computes in float32 by default.)

        ## Saving

        `model.save(path)` writes one `.npz` file holding the architecture, the weights, the compile settings
        and the training state (optimizer moments, epoch count, random generator), so it can be used for
        prediction or to continue training (notebook 8).
        """),
        code(r"""
        model.save("diabetes.npz")
        print("diabetes.npz:", Path("diabetes.npz").stat().st_size, "bytes")
        np.save("x_test_raw.npy", x_test_raw)
        p_here = model.predict(x_test_raw)
        """),
        md(r"""
        ## Loading in a fresh process

        The real test of a saved model: a new Python interpreter, which has never seen this notebook's objects,
        loads the file and predicts.  We run one with `subprocess` and compare its predictions with ours, bit
        for bit.
        """),
        code(r'''
        script = """
        import numpy as np
        import tinynet as tn

        model = tn.load_model("diabetes.npz")
        x = np.load("x_test_raw.npy")
        p = model.predict(x)
        np.save("p_fresh.npy", p)
        model.summary()
        print("first three probabilities:", p[:3, 0])
        """
        result = subprocess.run([sys.executable, "-c", script.replace("\n        ", "\n")], capture_output=True, text=True, check=True)
        print(result.stdout)
        p_fresh = np.load("p_fresh.npy")
        print("identical to the notebook's predictions, bit for bit:", np.array_equal(p_fresh, p_here))
        '''),
        md(r"""
        ## Predicting for a new patient

        A single sample still needs the batch axis, shape `(1, 8)`:
        """),
        code(r"""
        patient = {"pregnancies": 2, "glucose": 150, "blood_pressure": 72, "skin_thickness": 30,
                   "insulin": 120, "bmi": 34.0, "diabetes_pedigree": 0.6, "age": 45}
        row = np.array([[patient[name] for name in features]])
        deployed = tn.load_model("diabetes.npz", compile=False)     # prediction only: no optimizer state
        print(f"probability of a positive test: {deployed.predict(row)[0, 0]:.3f}")
        """),
        md(r"""
        ## What is inside the file

        A model file is an ordinary `.npz`: a zip archive of `.npy` arrays, one per weight and per optimizer
        state array, plus `manifest.npy`, the bytes of a JSON document (stored as a `uint8` array) that
        describes the architecture, the compile settings, the training progress and every array's dtype,
        shape and SHA-256.  It is readable with nothing but NumPy and `json`.  Loading never unpickles anything: it only rebuilds layers from tinynet's
        registry of known classes, checks every shape, and verifies every array's SHA-256.
        """),
        code(r"""
        with zipfile.ZipFile("diabetes.npz") as z:
            for info in z.infolist():
                print(f"{info.filename:32} {info.file_size:6d} bytes")
        with np.load("diabetes.npz", allow_pickle=False) as arrays:
            manifest = json.loads(arrays["manifest"].tobytes())
        print("\nmanifest keys:", list(manifest))
        print("first layer:", json.dumps(manifest["layers"][0]))
        print("compile:", json.dumps(manifest["compile"]))
        print("one array:", manifest["arrays"][0])
        """),
        code(r"""
        with np.load("diabetes.npz", allow_pickle=False) as arrays:
            w_name = manifest["layers"][0]["params"]["W"]
            print(w_name, arrays[w_name].dtype, arrays[w_name].shape)
            print("same as the model's first kernel:", np.array_equal(arrays[w_name], model.layers[0].params["W"]))
        """),
        md(r"""
        `tn.inspect_model_file` reads the manifest and checks every checksum without building the model (the
        `tinynet inspect` command prints the same report):
        """),
        code(r"""
        print(tn.inspect_model_file("diabetes.npz"))
        """),
        code(r"""
        os.chdir(start_dir)
        shutil.rmtree(workdir)        # remove the files this notebook wrote
        """),
        md(r"""
        **Takeaways**

        * `Sequential` → `compile` → `fit` → `evaluate` → `predict`, exactly as in Keras.
        * Fit the standardization on the training set only, and ship it with the model (here folded into the
          first layer).
        * `model.save` writes one safe, checksummed `.npz`; `tn.load_model` restores it in any process, and the
          predictions are bit-identical.
        """),
    ]


@notebook("02_one_layer_by_hand.ipynb")
def one_layer_by_hand():
    return [
        md(r"""
        # 2. One layer by hand

        A neural network is a chain of small functions, each with a **forward pass** (compute the
        output) and a **backward pass** (given how the loss changes with the output, say how it
        changes with the input and with the parameters).  This notebook writes the fully connected
        layer, `tinynet.layers.Dense`, out by hand in NumPy, derives its backward pass, and checks
        the derivation numerically with `tinynet.gradcheck`.
        """),
        code(SETUP),
        md(r"""
        ## The forward pass

        A batch of $N$ inputs with $D$ features each is a matrix $X \in \mathbb{R}^{N \times D}$.
        A `Dense(units=M)` layer holds a weight matrix $W \in \mathbb{R}^{D \times M}$ and a bias
        $b \in \mathbb{R}^{M}$, and computes

        $$Z = X W + \mathbf{1} b^\top, \qquad Y = f(Z),$$

        that is $Z_{nj} = \sum_i X_{ni} W_{ij} + b_j$ for sample $n$ and output unit $j$, followed by
        an element-wise activation $f$ (here $\tanh$).
        """),
        code(r"""
        def dense_forward(X, W, b):
            Z = X @ W + b          # broadcasting adds b to every row
            Y = np.tanh(Z)
            cache = (X, W, Y)      # what the backward pass will need
            return Y, cache

        rng = np.random.default_rng(0)
        N, D, M = 5, 3, 4
        X = rng.standard_normal((N, D))
        W = rng.standard_normal((D, M)) * 0.5
        b = rng.standard_normal(M) * 0.1
        Y, cache = dense_forward(X, W, b)
        Y
        """),
        md(r"""
        ## The backward pass, derived

        The layer sits somewhere inside a network whose loss $L$ is a number.  The layer above hands
        us $G = \partial L / \partial Y$, an $N \times M$ matrix.  We need three things:
        $\partial L/\partial W$ (to update $W$), $\partial L/\partial b$ (to update $b$) and
        $\partial L/\partial X$ (to pass on to the layer below).

        **Through the activation.**  $Y_{nj} = f(Z_{nj})$ depends only on $Z_{nj}$, so the chain rule has a
        single term:

        $$(G_Z)_{nj} = \frac{\partial L}{\partial Z_{nj}} = \frac{\partial L}{\partial Y_{nj}} f'(Z_{nj})
        \quad\Longrightarrow\quad G_Z = G \odot f'(Z).$$

        For $f = \tanh$, $f'(z) = 1 - \tanh^2 z = 1 - Y^2$: the derivative is read off the output.

        **The weights.**  $W_{ij}$ appears in $Z_{nj}$ for every sample $n$ (and in no other column),
        with $\partial Z_{nj} / \partial W_{ij} = X_{ni}$:

        $$\frac{\partial L}{\partial W_{ij}} = \sum_{n} \frac{\partial L}{\partial Z_{nj}} \frac{\partial Z_{nj}}{\partial W_{ij}}
        = \sum_n X_{ni} (G_Z)_{nj} \quad\Longrightarrow\quad dW = X^\top G_Z .$$

        **The bias.**  $\partial Z_{nj}/\partial b_j = 1$ for every $n$:

        $$\frac{\partial L}{\partial b_j} = \sum_n (G_Z)_{nj} \quad\Longrightarrow\quad db = \mathbf{1}^\top G_Z
        \ \text{(the column sums)}.$$

        **The input.**  $X_{ni}$ appears in $Z_{nj}$ for every unit $j$, with
        $\partial Z_{nj}/\partial X_{ni} = W_{ij}$:

        $$\frac{\partial L}{\partial X_{ni}} = \sum_j (G_Z)_{nj} W_{ij} \quad\Longrightarrow\quad dX = G_Z W^\top .$$

        A quick sanity check is the shapes: $dW$ is $(D \times N)(N \times M) = D \times M$ like $W$,
        and $dX$ is $(N \times M)(M \times D) = N \times D$ like $X$.
        """),
        code(r"""
        def dense_backward(G, cache):
            X, W, Y = cache
            GZ = G * (1.0 - Y**2)      # through tanh
            dW = X.T @ GZ
            db = GZ.sum(axis=0)
            dX = GZ @ W.T
            return dX, dW, db

        G = rng.standard_normal((N, M))     # some upstream gradient dL/dY
        dX, dW, db = dense_backward(G, cache)
        print("dW shape", dW.shape, " db shape", db.shape, " dX shape", dX.shape)
        """),
        md(r"""
        ## Checking the derivation numerically

        A derivative can be estimated without any calculus, by the **central difference**

        $$\frac{\partial f}{\partial \theta_i} \approx \frac{f(\theta + h e_i) - f(\theta - h e_i)}{2h},$$

        whose error is $O(h^2)$ (the $h^2$ terms of the two Taylor expansions cancel).  The layer's
        output is a matrix, not a number, so we check the scalar $f = \sum_{nj} G_{nj} Y_{nj}$: its
        gradient with respect to anything is exactly what the backward pass computes from $G$.
        `tn.gradcheck.numerical_gradient(f, array)` perturbs the array in place, one entry at a time.
        """),
        code(r"""
        def f():
            Y, _ = dense_forward(X, W, b)
            return float(np.sum(G * Y))

        numeric = {name: tn.gradcheck.numerical_gradient(f, arr) for name, arr in [("X", X), ("W", W), ("b", b)]}
        for name, analytic in [("X", dX), ("W", dW), ("b", db)]:
            err = tn.gradcheck.relative_error(analytic, numeric[name])
            print(f"d{name}: relative error {err:.2e}")
        """),
        md(r"""
        The error measure is the largest element-wise difference relative to the largest gradient
        entry,
        $e = \max_i |a_i - n_i| \,/\, \max(\max_i |a_i|, \max_i |n_i|)$: round-off gives about
        $10^{-10}$, a real mistake (a missing factor, a transposed matrix) gives something of order one.

        ### The same check against tinynet's `Dense`

        tinynet's layer must agree with our hand-written one when it is given the same weights.  Gradient
        checks need float64 (in float32 the central difference drowns in round-off), so we build the layer
        inside `tn.gradcheck.float64_defaults()`.
        """),
        code(r"""
        with tn.gradcheck.float64_defaults():
            layer = tn.layers.Dense(M, activation="tanh")
            layer.build((D,))
        layer.params["W"][...] = W        # in-place: params are views the model relies on
        layer.params["b"][...] = b

        Y_tn = layer.forward(X, training=True)
        dX_tn = layer.backward(G)
        print("forward matches:", np.allclose(Y_tn, Y))
        print("dX matches:", np.allclose(dX_tn, dX), "  dW matches:", np.allclose(layer.grads["W"], dW),
              "  db matches:", np.allclose(layer.grads["b"], db))
        tn.gradcheck.check_layer(layer, X)
        """),
        md(r"""
        `check_layer` draws its own random upstream gradient and returns the relative error for the input
        and for every parameter.  Let us look at the two gradients of $W$ side by side, and at their
        difference:
        """),
        code(r"""
        pairs = tn.gradcheck.layer_gradients(layer, X)
        analytic, numerical = pairs["W"]
        fig, axes = plt.subplots(1, 3, figsize=(9, 2.6))
        for ax, data, title in zip(axes, [analytic, numerical, analytic - numerical],
                                   ["analytic dW", "numerical dW", "difference"]):
            im = ax.imshow(data, cmap="RdBu_r")
            ax.set_title(title); ax.set_xticks([]); ax.set_yticks([]); ax.grid(False)
            fig.colorbar(im, ax=ax, shrink=0.8)
        fig.tight_layout()
        """),
        md(r"""
        ## What a bug looks like

        A classic mistake is to forget the activation's derivative, i.e. to use $G$ where $G \odot f'(Z)$
        is needed.  The check catches it at once: the error is of order one, not $10^{-10}$.
        """),
        code(r'''
        class ForgetfulDense(tn.layers.Dense):
            """A Dense layer whose backward pass skips the activation's derivative (a bug)."""
            def backward(self, grad_output):
                return self.backward_preactivation(grad_output)

        with tn.gradcheck.float64_defaults():
            buggy = ForgetfulDense(M, activation="tanh")
        tn.gradcheck.check_layer(buggy, X)
        '''),
        md(r"""
        ## Choosing the step $h$

        The central difference has two errors pulling in opposite directions: the truncation error
        $\approx \tfrac{h^2}{6} f'''$ shrinks with $h$, while the round-off error
        $\approx \varepsilon_{\text{mach}} |f| / h$ grows as $h$ shrinks ($\varepsilon_{\text{mach}}
        \approx 2.2 \times 10^{-16}$ in float64).  Their sum is smallest near
        $h \approx \varepsilon_{\text{mach}}^{1/3} \approx 10^{-5}$; tinynet uses $h = 10^{-6}$.
        """),
        code(r"""
        steps = np.logspace(-12, -1, 23)
        errors = [tn.gradcheck.relative_error(dW, tn.gradcheck.numerical_gradient(f, W, eps=h)) for h in steps]
        fig, ax = plt.subplots()
        ax.loglog(steps, errors, "o-")
        ax.axvline(1e-6, color="gray", ls="--", label="tinynet's default h")
        ax.set_xlabel("step h"); ax.set_ylabel("relative error of dW"); ax.legend()
        ax.set_title("truncation error (right) against round-off error (left)");
        """),
        md(r"""
        ## A whole model at once

        The backward pass of a model is the backward passes of its layers, run in reverse.
        `tn.gradcheck.check_model` checks the gradient of the *loss* with respect to every parameter of a
        compiled model (here with the sigmoid fused into the binary cross-entropy, see notebook 3):
        """),
        code(r"""
        with tn.gradcheck.float64_defaults():
            model = tn.Sequential([
                tn.layers.Dense(6, input_dim=D, activation="tanh"),
                tn.layers.Dense(4, activation="relu"),
                tn.layers.Dense(1, activation="sigmoid"),
            ])
            model.compile(loss="binary_crossentropy", optimizer="sgd")
        y = (X[:, 0] > 0).astype(float)
        tn.gradcheck.check_model(model, X, y)
        """),
        md(r"""
        Every error is around $10^{-9}$ or below: the three lines of calculus above, applied layer after
        layer, are all that training needs.  (ReLU has a kink at 0; the check is only unreliable when an
        input lands within $h$ of it, which random data essentially never does.)

        **Takeaways**

        * Forward: $Z = XW + \mathbf 1 b^\top$, $Y = f(Z)$.
        * Backward: $G_Z = G \odot f'(Z)$, $dW = X^\top G_Z$, $db = \mathbf 1^\top G_Z$, $dX = G_Z W^\top$.
        * Always check a hand-written gradient with central differences in float64.
        """),
    ]


@notebook("03_losses.ipynb")
def losses():
    return [
        md(r"""
        # 3. Losses

        The loss turns "how wrong is the network" into one number whose gradient drives training.
        This notebook compares the **mean squared error** with the **cross-entropy** on classification,
        derives the famous gradient $p - y$ of softmax followed by cross-entropy, and shows why tinynet
        computes that pair in a fused, numerically stable form.
        """),
        code(SETUP),
        md(r"""
        ## Two losses for one probability

        Take a single sample with target $t \in \{0, 1\}$ and a network whose last layer outputs a logit
        $z$ turned into a probability by the sigmoid $p = \sigma(z) = 1/(1 + e^{-z})$, whose derivative is
        $\sigma'(z) = p(1-p)$.

        **Mean squared error**: $\ell_{\text{MSE}} = (p - t)^2$, so by the chain rule

        $$\frac{\partial \ell_{\text{MSE}}}{\partial z} = 2 (p - t)\, p (1 - p).$$

        **Binary cross-entropy** (the negative log-likelihood of a Bernoulli):
        $\ell_{\text{CE}} = -t \log p - (1 - t) \log (1 - p)$, so

        $$\frac{\partial \ell_{\text{CE}}}{\partial p} = -\frac{t}{p} + \frac{1 - t}{1 - p} = \frac{p - t}{p(1-p)},
        \qquad
        \frac{\partial \ell_{\text{CE}}}{\partial z} = \frac{p - t}{p(1-p)} \cdot p(1-p) = p - t .$$

        The factor $p(1-p)$ cancels.  With MSE it does not, and it is tiny when the sigmoid saturates: a
        network that is *confidently wrong* ($t = 1$, $z \ll 0$) gets almost no gradient from MSE, and a
        strong one from cross-entropy.
        """),
        code(r"""
        z = np.linspace(-8, 8, 401)
        p = 1 / (1 + np.exp(-z))
        t = 1.0
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
        axes[0].plot(z, (p - t) ** 2, label="MSE $(p-t)^2$")
        axes[0].plot(z, -np.log(p), label=r"cross-entropy $-\log p$")
        axes[0].set_ylim(0, 5); axes[0].set_title("loss for target t = 1")
        axes[1].plot(z, 2 * (p - t) * p * (1 - p), label="MSE")
        axes[1].plot(z, p - t, label="cross-entropy")
        axes[1].set_title(r"gradient $\partial \ell / \partial z$")
        for ax in axes:
            ax.set_xlabel("logit z"); ax.legend()
        fig.tight_layout()
        """),
        md(r"""
        tinynet's losses compute the same numbers; `loss.forward(y_true, y_pred)` returns the mean over the
        batch and `loss.backward()` the gradient with respect to `y_pred`.  At $z = -6$ (a confident mistake):
        """),
        code(r"""
        z0 = np.array([[-6.0]])
        p0 = 1 / (1 + np.exp(-z0))
        y1 = np.array([[1.0]])
        mse, bce = tn.losses.MeanSquaredError(), tn.losses.BinaryCrossentropy()
        mse.forward(y1, p0); bce.forward(y1, p0)
        print(f"p = {p0[0, 0]:.5f}")
        print(f"MSE: dL/dz = dL/dp * p(1-p) = {(mse.backward() * p0 * (1 - p0))[0, 0]:+.5f}")
        print(f"BCE: dL/dz = dL/dp * p(1-p) = {(bce.backward() * p0 * (1 - p0))[0, 0]:+.5f}")
        """),
        md(r"""
        ## Softmax and cross-entropy: the gradient $p - y$

        With $K$ classes the last layer outputs logits $z \in \mathbb{R}^K$ and the softmax turns them into
        probabilities

        $$p_k = \frac{e^{z_k}}{\sum_j e^{z_j}} .$$

        Its Jacobian follows from the quotient rule:
        $\dfrac{\partial p_k}{\partial z_i} = p_k (\delta_{ki} - p_i)$.  The categorical cross-entropy with a
        one-hot (or any probability) target $y$, $\sum_k y_k = 1$, is $\ell = -\sum_k y_k \log p_k$, so

        $$\frac{\partial \ell}{\partial z_i} = -\sum_k \frac{y_k}{p_k} \frac{\partial p_k}{\partial z_i}
        = -\sum_k \frac{y_k}{p_k} p_k (\delta_{ki} - p_i)
        = -y_i + p_i \sum_k y_k = p_i - y_i .$$

        Even simpler is to write the loss with the logits directly:
        $\ell = -\sum_k y_k z_k + \log \sum_j e^{z_j}$; the derivative of the log-sum-exp is the softmax, so
        $\partial \ell / \partial z = p - y$ in one line.  Averaged over a batch of $N$ samples, the gradient
        is $(P - Y)/N$.  Let us check it numerically with `tn.gradcheck.check_loss`:
        """),
        code(r"""
        rng = np.random.default_rng(0)
        logits = rng.standard_normal((4, 3)) * 2
        labels = np.array([0, 2, 1, 2])
        Y = tn.datasets.one_hot(labels, 3)

        ce_logits = tn.losses.CategoricalCrossentropy(from_logits=True)
        ce_logits.forward(Y, logits)
        P = tn.losses.softmax(logits)
        print("loss.backward() == (P - Y)/N:", np.allclose(ce_logits.backward(), (P - Y) / len(Y)))
        print("relative error against central differences:", tn.gradcheck.check_loss(ce_logits, Y, logits))
        """),
        md(r"""
        ## Why the fused, stable form matters

        Computed naively, the softmax exponentiates the logits.  In float64, $e^{z}$ overflows to `inf` for
        $z > 709$ (in float32 already for $z > 88$), and `inf / inf` is `nan`: the network's output, its loss,
        and after one update all its weights become `nan`.
        """),
        code(r"""
        def naive_softmax(z):
            e = np.exp(z)
            return e / e.sum(axis=-1, keepdims=True)

        big = np.array([[1000.0, 990.0, 0.0]])
        with np.errstate(over="ignore", invalid="ignore"):
            print("naive softmax:", naive_softmax(big))
            print("float32, logit 100:", naive_softmax(np.array([[100.0, 0.0]], dtype=np.float32)))
        print("stable softmax:", tn.losses.softmax(big))
        """),
        md(r"""
        The fix uses $\mathrm{softmax}(z) = \mathrm{softmax}(z - c)$ for any constant $c$ (the $e^{-c}$ cancels
        between numerator and denominator).  With $m = \max_j z_j$ every exponent is $\le 0$, so nothing
        overflows, and the largest term is $e^0 = 1$, so the sum never underflows to 0 either.  The same trick
        gives the log-probabilities without ever forming a probability:

        $$\log p_k = z_k - m - \log \sum_j e^{z_j - m}.$$

        The unfused path computes $p$ first and then $\log p$.  Probabilities that round to 0 would give
        $\log 0 = -\infty$, so Keras (and tinynet) clip $p$ to $[10^{-7}, 1 - 10^{-7}]$: the loss stays
        finite, but it is *wrong*, capped at $-\log 10^{-7} \approx 16.1$, and its gradient is zero where the
        clip is active, exactly when the network is most wrong.
        """),
        code(r"""
        y_true = np.array([[0.0, 0.0, 1.0]])      # the true class is the one with logit 0
        unfused = tn.losses.CategoricalCrossentropy()            # takes probabilities
        fused = tn.losses.CategoricalCrossentropy(from_logits=True)
        print("exact loss   (from logits):", fused.forward(y_true, big))
        print("clipped loss (from probs) :", unfused.forward(y_true, tn.losses.softmax(big)))
        print("gradient from logits:", fused.backward())
        print("gradient from probs :", unfused.backward())
        """),
        md(r"""
        The same holds for the sigmoid.  tinynet's binary cross-entropy from logits uses
        $\ell = \max(z, 0) - z t + \log(1 + e^{-|z|})$, which never exponentiates a positive number.  Below,
        the loss for $t = 1$ as a function of the logit, computed three ways in float32: naively
        ($-\log \sigma(z)$, which becomes `inf` once $\sigma(z)$ underflows to 0), from clipped
        probabilities (flat at 16.1), and fused (the exact line $-z$ for $z \ll 0$).
        """),
        code(r"""
        zs = np.linspace(-120, 10, 500, dtype=np.float32)[:, None]
        ones = np.ones_like(zs)
        with np.errstate(over="ignore", divide="ignore"):
            sig = (1 / (1 + np.exp(-zs))).astype(np.float32)
            naive = -np.log(sig)
        clipped = tn.losses.BinaryCrossentropy().per_sample(ones, sig)
        fused = tn.losses.BinaryCrossentropy(from_logits=True).per_sample(ones, zs)
        fig, ax = plt.subplots()
        ax.plot(zs, fused, lw=4, alpha=0.4, label="fused, from logits")
        ax.plot(zs, clipped, label="from clipped probabilities")
        ax.plot(zs, np.where(np.isfinite(naive), naive, np.nan), "--", label=r"naive $-\log\sigma(z)$")
        first_inf = zs[~np.isfinite(naive[:, 0]), 0].max()
        ax.axvline(first_inf, color="red", lw=0.8)
        ax.text(first_inf + 2, 90, f"naive = inf\nfor z < {first_inf:.0f}", color="red")
        ax.set_xlabel("logit z (target t = 1)"); ax.set_ylabel("loss"); ax.legend();
        """),
        md(r"""
        You do not have to choose: a `tn.Sequential` whose last activation is a sigmoid (or softmax) compiled
        with binary (or categorical) cross-entropy uses the fused form automatically.  The model still
        *outputs* probabilities; only the loss and its gradient are computed from the logits.

        ## On real data: MSE against cross-entropy

        The same two-layer network on the handwritten digits (8×8 images, 10 classes), trained with plain SGD,
        once with a softmax + MSE against one-hot targets and once with softmax + cross-entropy.  Everything
        else (data, initial weights, learning rate, batches) is identical.
        """),
        code(r"""
        x, y = tn.datasets.load_digits()
        x_train, x_test, y_train, y_test = tn.datasets.train_test_split(x, y, test_size=0.25, seed=0, stratify=True)
        x_train, x_test = tn.datasets.standardize(x_train, x_test)
        Y_train, Y_test = tn.datasets.one_hot(y_train, 10), tn.datasets.one_hot(y_test, 10)

        curves = {}
        for loss in ["mse", "categorical_crossentropy"]:
            tn.set_seed(0)
            model = tn.Sequential([tn.layers.Dense(32, input_dim=64, activation="relu"),
                                   tn.layers.Dense(10, activation="softmax")])
            model.compile(loss=loss, optimizer=tn.optimizers.SGD(0.05), metrics=["accuracy"])
            curves[loss] = model.fit(x_train, Y_train, epochs=30, batch_size=32,
                                     validation_data=(x_test, Y_test), verbose=0).history
            print(f"{loss:>25}: test accuracy {curves[loss]['val_accuracy'][-1]:.3f}")
        """),
        code(r"""
        fig, ax = plt.subplots()
        for loss, h in curves.items():
            ax.plot(np.arange(1, 31), h["val_accuracy"], label=loss)
        ax.set_xlabel("epoch"); ax.set_ylabel("test accuracy"); ax.set_title("digits, SGD(0.05)"); ax.legend();
        """),
        md(r"""
        With MSE every gradient carries the softmax Jacobian, which is small wherever the network is
        confident, so learning crawls; cross-entropy's $p - y$ is large exactly where the network is wrong.

        **Takeaways**

        * Sigmoid + binary cross-entropy and softmax + categorical cross-entropy both have the gradient
          $p - y$ with respect to the logits.
        * Compute them from the logits with the max-shift / log-sum-exp trick: finite for any input, exact,
          and cheaper than chaining through the activation.
        * For classification, prefer cross-entropy to MSE.
        """),
    ]


@notebook("04_optimizers.ipynb")
def optimizers():
    return [
        md(r"""
        # 4. Optimizers

        Backpropagation gives the gradient $g = \nabla_\theta L$; the optimizer decides what step to take
        with it.  This notebook derives the update rules of **SGD**, **Momentum**, **RMSprop** and **Adam**
        (as `tinynet.optimizers` implements them, following `torch.optim`), watches their paths on two
        2-D surfaces, and compares their training curves on a real data set.
        """),
        code(SETUP),
        md(r"""
        ## The update rules

        **SGD.**  The first-order Taylor expansion $L(\theta + \Delta) \approx L(\theta) + g^\top \Delta$
        decreases fastest along $-g$; a small step of size $\eta$ (the learning rate) in that direction is

        $$\theta \leftarrow \theta - \eta\, g .$$

        On a quadratic $L = \tfrac12 \sum_i \lambda_i \theta_i^2$ the update is
        $\theta_i \leftarrow (1 - \eta \lambda_i)\theta_i$: it converges only if $\eta < 2/\lambda_{\max}$, and
        then the flattest direction shrinks by only $1 - \eta\lambda_{\min}$ per step.  With a condition
        number $\lambda_{\max}/\lambda_{\min}$ of 100, that is slow.

        **Momentum** (heavy ball).  Keep a running sum of past gradients, a velocity $b$ (zero at the start):

        $$b \leftarrow \mu\, b + g, \qquad \theta \leftarrow \theta - \eta\, b .$$

        Unrolled, $b_t = \sum_{s \le t} \mu^{t-s} g_s$: in a direction where the gradient keeps its sign, the
        steps add up to $\eta/(1-\mu)$ times the gradient (10 times for $\mu = 0.9$); in a direction where it
        flips sign from step to step (the walls of a valley), they cancel.

        **RMSprop.**  Scale each coordinate by a running root-mean-square of its own gradients
        ($v$ starts at 0, $\rho \approx 0.9$):

        $$v \leftarrow \rho\, v + (1 - \rho)\, g^2, \qquad
        \theta \leftarrow \theta - \eta\, \frac{g}{\sqrt{v} + \epsilon}.$$

        If a coordinate's gradient is steadily $g$, then $v \to g^2$ and the step is $\eta\,\mathrm{sign}(g)$:
        every direction moves at the same speed whatever its curvature, which undoes bad conditioning along
        the axes.

        **Adam** combines both: an exponential average of the gradient (momentum, $\beta_1 = 0.9$) and of its
        square (RMSprop, $\beta_2 = 0.999$), both starting at 0:

        $$m \leftarrow \beta_1 m + (1-\beta_1)\, g, \qquad v \leftarrow \beta_2 v + (1-\beta_2)\, g^2 .$$

        Starting at 0 biases them towards 0: with a constant gradient,
        $m_t = (1-\beta_1)\sum_{s=1}^{t} \beta_1^{t-s} g = (1 - \beta_1^t)\, g$.  Dividing by
        $1 - \beta_1^t$ removes exactly that bias (and likewise for $v$):

        $$\hat m = \frac{m}{1 - \beta_1^t}, \qquad \hat v = \frac{v}{1 - \beta_2^t}, \qquad
        \theta \leftarrow \theta - \eta\, \frac{\hat m}{\sqrt{\hat v} + \epsilon}.$$

        Every optimizer in tinynet has the same interface: `opt.step(params, grads)` updates the arrays of the
        dict `params` in place from the dict `grads`, and keeps its state (`b`, `v`, `m`) in `opt.state`.
        That lets us run them on any function, not just networks.  First, a check that `Adam` does what the
        formulas say:
        """),
        code(r"""
        theta = {"w": np.array([1.0, -2.0])}
        grads = {"w": np.zeros(2)}
        adam = tn.optimizers.Adam(learning_rate=0.1)
        m = v = np.zeros(2); w = theta["w"].copy()
        for t in range(1, 6):
            g = 2 * theta["w"]                  # gradient of |w|^2
            grads["w"][...] = g
            adam.step(theta, grads)
            m = 0.9 * m + 0.1 * g; v = 0.999 * v + 0.001 * g**2
            w = w - 0.1 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        print("tinynet:", theta["w"], " by hand:", w, " equal:", np.allclose(theta["w"], w))
        """),
        md(r"""
        ## Paths on two surfaces

        The first surface is an elongated quadratic bowl, $f = \tfrac12 (x^2 + 25 y^2)$ (curvatures 1 and 25,
        so SGD needs $\eta < 2/25$), the second is Rosenbrock's banana, $f = (1 - x)^2 + 100 (y - x^2)^2$,
        whose minimum $(1, 1)$ lies at the end of a long, curved, flat-bottomed valley.  Each optimizer starts
        from the same point and takes the same number of steps through the same `opt.step(params, grads)`
        call, with the exact gradient of the surface.  `tn.plot.plot_optimizer_paths` runs and draws them; the
        learning rates (one per optimizer and surface) were chosen so that each shows its character without
        diverging:
        """),
        code(r"""
        for name in ["quadratic", "rosenbrock"]:
            surface = tn.plot.SURFACES[name]
            print(f"{name:>10}: {surface.steps} steps from {surface.start}, learning rates {dict(surface.learning_rates)}")

        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        tn.plot.plot_optimizer_paths("quadratic", ax=axes[0])
        tn.plot.plot_optimizer_paths("rosenbrock", ax=axes[1])
        fig.tight_layout()
        """),
        md(r"""
        On the bowl, SGD's learning rate 0.075 sits just below the stability limit $2/25 = 0.08$ of the steep
        direction: each step overshoots the valley floor, and the $y$ error only shrinks by a factor
        $|1 - 25\eta| = 0.875$ per step, hence the long zigzag (a smaller $\eta$ would stop the zigzag but
        crawl along $x$, whose error shrinks by $1 - \eta$).  Momentum accumulates speed along $x$ and
        overshoots too, spiralling in.  RMSprop and Adam rescale each coordinate, so they head almost
        diagonally for the minimum.  On Rosenbrock all four drop quickly into the curved valley; along its
        floor the gradient is tiny, and plain SGD (whose learning rate is again capped by the steep walls) is
        still crawling after 1000 steps, while momentum and the adaptive methods travel along the valley
        towards the minimum.

        ## Training curves on a real data set

        Now the same four optimizers train the same network (64 → 32 relu → 10 softmax, identical initial
        weights and batches) on the handwritten digits.  For a network the learning rate matters at least as
        much as the optimizer, so each uses a typical value: SGD 0.05, Momentum 0.01 (its effective step is
        $\eta/(1-\mu) = 0.1$), RMSprop and Adam 0.001.
        """),
        code(r"""
        x, y = tn.datasets.load_digits()
        x_train, x_test, y_train, y_test = tn.datasets.train_test_split(x, y, test_size=0.25, seed=0, stratify=True)
        x_train, x_test = tn.datasets.standardize(x_train, x_test)

        choices = {"SGD": tn.optimizers.SGD(0.05), "Momentum": tn.optimizers.Momentum(0.01),
                   "RMSprop": tn.optimizers.RMSprop(0.001), "Adam": tn.optimizers.Adam(0.001)}
        histories = {}
        for name, opt in choices.items():
            tn.set_seed(0)
            model = tn.Sequential([tn.layers.Dense(32, input_dim=64, activation="relu"),
                                   tn.layers.Dense(10, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer=opt, metrics=["accuracy"])
            histories[name] = model.fit(x_train, y_train, epochs=25, batch_size=32,
                                        validation_data=(x_test, y_test), verbose=0).history
            print(f"{name:>8}: final training loss {histories[name]['loss'][-1]:.4f}, "
                  f"test accuracy {histories[name]['val_accuracy'][-1]:.3f}")
        """),
        code(r"""
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
        for name, h in histories.items():
            epochs = np.arange(1, len(h["loss"]) + 1)
            axes[0].semilogy(epochs, h["loss"], label=name)
            axes[1].plot(epochs, h["val_accuracy"], label=name)
        axes[0].set_title("training loss"); axes[1].set_title("test accuracy")
        for ax in axes:
            ax.set_xlabel("epoch"); ax.legend()
        fig.tight_layout()
        """),
        md(r"""
        **Takeaways**

        * SGD: $\theta \leftarrow \theta - \eta g$; its learning rate is limited by the sharpest direction.
        * Momentum: $b \leftarrow \mu b + g$, $\theta \leftarrow \theta - \eta b$; speeds up consistent
          directions, damps oscillating ones.
        * RMSprop: divide by $\sqrt{v}$, a running RMS of each coordinate's gradient.
        * Adam: momentum on $m$, RMSprop on $v$, both bias-corrected by $1 - \beta^t$.  A good default, but
          well-tuned SGD with momentum often matches it.
        """),
    ]


@notebook("05_evaluating_a_model.ipynb")
def evaluating():
    return [
        md(r"""
        # 5. Evaluating a model

        "92% accurate" means little until we know what the classes are and how often each occurs.  This
        notebook evaluates a classifier on the **Pima Indians diabetes** data (768 patients, 35% of them
        positive: an imbalanced problem) with accuracy, precision, recall, F1, the confusion matrix and the
        ROC curve, and shows what moving the decision threshold does.
        """),
        code(SETUP),
        md(r"""
        ## Data and model

        Three disjoint parts, all stratified (each keeps the 65/35 ratio): a training set to fit the weights, a
        validation set to make decisions (here: choose the threshold), and a test set used only for the final
        numbers.  Reusing the test set for decisions would make its numbers optimistic.
        """),
        code(r"""
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
        """),
        md(r"""
        ## Accuracy and its baseline

        A "model" that always answers *negative* is right on every negative sample:
        """),
        code(r"""
        always_negative = np.zeros_like(y_test)
        print(f"always negative: accuracy {tn.metrics.accuracy(y_test, always_negative):.3f}, "
              f"recall {tn.metrics.recall(y_test, always_negative):.3f}")
        """),
        md(r"""
        65% accuracy while finding no diabetic patient at all.  Accuracy on an imbalanced problem must always be
        compared with the majority-class rate, and it hides *which* mistakes are made.

        ## The confusion matrix

        Predicting class 1 when $p \ge \tau$ (here $\tau = 0.5$) sorts every test sample into one of four cells:

        |               | predicted 0 | predicted 1 |
        |---------------|:-----------:|:-----------:|
        | **true 0**    | TN          | FP          |
        | **true 1**    | FN          | TP          |

        and every classification metric is a ratio of these counts:

        $$\text{accuracy} = \frac{TP + TN}{N}, \qquad
        \text{precision} = \frac{TP}{TP + FP}, \qquad
        \text{recall} = \frac{TP}{TP + FN}.$$

        **Precision**: of the patients flagged, how many are ill.  **Recall** (sensitivity, true positive rate):
        of the ill patients, how many are flagged.  **F1** is their harmonic mean,

        $$F_1 = \frac{2}{1/\text{precision} + 1/\text{recall}} = \frac{2\,TP}{2\,TP + FP + FN},$$

        which, unlike the arithmetic mean, is low as soon as *either* is low (always answering positive gives
        recall 1 and precision 0.35, arithmetic mean 0.67 but $F_1 = 0.52$).  None of the three involves TN, the
        large, easy class.
        """),
        code(r"""
        cm = tn.metrics.confusion_matrix(y_test, p_test)
        tn_, fp, fn, tp = cm.ravel()
        print(cm)
        print(f"precision = {tp}/({tp}+{fp}) = {tn.metrics.precision(y_test, p_test):.3f}")
        print(f"recall    = {tp}/({tp}+{fn}) = {tn.metrics.recall(y_test, p_test):.3f}")
        print(f"F1        = {tn.metrics.f1_score(y_test, p_test):.3f}")

        tn.plot.plot_confusion_matrix(y_test, p_test, labels=["negative", "positive"])
        """),
        md(r"""
        ## What the threshold does

        The network outputs a probability; the threshold $\tau$ turns it into a decision.  Lowering $\tau$
        flags more patients: recall can only go up (more of the ill are caught) and precision usually goes down
        (more healthy patients are flagged too).  Which trade-off is right depends on the cost of each mistake
        (for a screening test, a missed patient is worse than a second opinion), not on the model.

        The histogram of predicted probabilities per true class shows why: the two classes overlap, and any
        vertical line through the overlap trades one kind of error for the other.
        """),
        code(r"""
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
        """),
        md(r"""
        Two thresholds were chosen on the *validation* set: the one that maximizes $F_1$, and a "screening"
        threshold, the largest one that still catches 90% of the positive patients there.  Now, and only now,
        the test set tells us what to expect from them:
        """),
        code(r"""
        for t in [0.5, best, screening]:
            pred = (p_test >= t).astype(int)
            print(f"threshold {t:.2f}: accuracy {tn.metrics.accuracy(y_test, pred):.3f}  precision {tn.metrics.precision(y_test, pred):.3f}"
                  f"  recall {tn.metrics.recall(y_test, pred):.3f}  F1 {tn.metrics.f1_score(y_test, pred):.3f}")
        fig, axes = plt.subplots(1, 3, figsize=(11, 3.3))
        for ax, t in zip(axes, [0.5, best, screening]):
            tn.plot.plot_confusion_matrix(y_test, (p_test >= t).astype(int), labels=["negative", "positive"], ax=ax)
            ax.set_title(f"threshold {t:.2f}")
        fig.tight_layout()
        """),
        md(r"""
        ## The ROC curve

        Instead of one threshold, the **receiver operating characteristic** shows them all: for each $\tau$ it
        plots the true positive rate against the false positive rate,

        $$\mathrm{TPR}(\tau) = \frac{TP}{TP + FN} \ (\text{recall}), \qquad
        \mathrm{FPR}(\tau) = \frac{FP}{FP + TN},$$

        from $(0, 0)$ ($\tau = +\infty$, nothing flagged) to $(1, 1)$ (everything flagged).  A random score
        follows the diagonal.  The **area under the curve** has a neat meaning: sorting the samples by score,
        each positive contributes a vertical step and each negative a horizontal one, and the area counts the
        (positive, negative) pairs in the right order, so

        $$\mathrm{AUC} = P(\text{score of a random positive} > \text{score of a random negative}),$$

        independent of any threshold and of the class ratio.
        """),
        code(r"""
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
        """),
        md(r"""
        ## Class weights: the same trade-off, made during training

        Another common remedy for imbalance is to weight the loss, here by the inverse class frequency,
        $w_c = N / (2 N_c)$, so that both classes contribute equally.  Its main effect is to move the predicted
        probabilities up for the minority class, much as lowering the threshold does; the ranking (and so the
        AUC) barely changes.
        """),
        code(r"""
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
        """),
        md(r"""
        **Takeaways**

        * Compare accuracy with the majority-class rate; on imbalanced data look at precision, recall and F1.
        * The threshold is a decision, separate from the model: pick it on validation data, for the costs at
          hand, and report test numbers at that threshold.
        * The ROC curve and its AUC describe the ranking quality over all thresholds at once.
        """),
    ]


@notebook("06_convolutions.ipynb")
def convolutions():
    return [
        md(r"""
        # 6. Convolutions

        A convolutional layer slides a small filter over an image and computes a weighted sum at every
        position.  This notebook writes the forward pass as **im2col** plus one matrix product, derives the
        backward pass (which turns out to be the `Dense` backward pass followed by **col2im**), checks both
        against `tinynet`'s `Conv2D`, and trains a small CNN on the handwritten digits, showing the filters
        it learns.
        """),
        code(SETUP),
        md(r"""
        ## The forward pass

        Images are stored NCHW: (batch, channels, height, width).  A `Conv2D` with $F$ filters of size
        $k_h \times k_w$ over $C$ input channels holds weights $W \in \mathbb{R}^{F \times C \times k_h \times k_w}$
        and a bias $b \in \mathbb{R}^F$.  With stride 1 and no padding, output pixel $(p, q)$ of filter $f$ for
        sample $n$ is

        $$Z_{nfpq} = b_f + \sum_{c=0}^{C-1} \sum_{i=0}^{k_h-1} \sum_{j=0}^{k_w-1} W_{fcij}\, X_{n,c,p+i,q+j},$$

        and the output is $(H - k_h + 1) \times (W - k_w + 1)$.  (This is a cross-correlation; "convolution"
        would flip the kernel, which makes no difference for a kernel that is learned.)  Written as loops:
        """),
        code(r"""
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
        """),
        md(r"""
        ## im2col: a convolution is a matrix product

        Six nested loops are slow in Python.  The trick is to copy every receptive field (a $C \times k_h
        \times k_w$ patch) into one column of a matrix $X_{\mathrm{col}}$, with one column per (sample, output
        pixel):

        $$X_{\mathrm{col}}\big[(c, i, j),\ (n, p, q)\big] = X_{n, c, p+i, q+j} .$$

        Flattening each filter into a row, $W_{\mathrm{mat}} = W.\mathrm{reshape}(F,\ C k_h k_w)$, the triple sum
        becomes a single matrix product for the whole batch:

        $$Z_{\mathrm{col}} = W_{\mathrm{mat}}\, X_{\mathrm{col}} + b\,\mathbf{1}^\top
        \qquad (F \times C k_h k_w)\,(C k_h k_w \times N P Q) = F \times NPQ .$$

        The price is memory: each input pixel is copied up to $k_h k_w$ times.
        """),
        code(r"""
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
        """),
        md(r"""
        tinynet's `Conv2D` computes the same product, transposed: $Z_{\mathrm{mat}} = X_{\mathrm{col}}^\top
        W_{\mathrm{mat}}^\top$, with one *row* per (sample, output pixel) and one column per filter (and
        `numpy.lib.stride_tricks.sliding_window_view` to gather the patches in a single copy).  That
        matrix is the output stored channels-last, $(N, P, Q, F)$, and `Conv2D` returns it as the NCHW view
        `.transpose(0, 3, 1, 2)` instead of copying it: you index it `Z[n, f, p, q]` as always, only the
        strides say that the channels are innermost in memory.  The layers after it keep that layout, so
        their element-wise loops run along contiguous channels.  Given the same weights it must agree:
        """),
        code(r"""
        with tn.gradcheck.float64_defaults():
            conv = tn.layers.Conv2D(4, kernel_size=3)
            conv.build(X.shape[1:])
        conv.params["W"][...] = W
        conv.params["b"][...] = b
        Z_tn = conv.forward(X)
        print("Conv2D agrees:", np.allclose(Z_tn, Z))
        print("shape", Z_tn.shape, "strides in bytes", Z_tn.strides, "(channels innermost)")
        """),
        md(r"""
        ## The backward pass

        In column form the layer *is* a `Dense` layer (notebook 2) applied to the columns of $X_{\mathrm{col}}$,
        so the same three lines of calculus apply to $G_{\mathrm{col}}[f, (n,p,q)] = \partial L / \partial Z_{nfpq}$:

        $$dW_{\mathrm{mat}} = G_{\mathrm{col}}\, X_{\mathrm{col}}^\top, \qquad
        db = G_{\mathrm{col}}\,\mathbf{1}, \qquad
        dX_{\mathrm{col}} = W_{\mathrm{mat}}^\top\, G_{\mathrm{col}} .$$

        Spelled out, $\partial L/\partial W_{fcij} = \sum_{n,p,q} G_{nfpq} X_{n,c,p+i,q+j}$: the gradient of a
        filter is the correlation of the input with the output gradient.

        The last step returns from columns to pixels.  Pixel $X_{nchw}$ was copied into every column whose
        window covers it, i.e. for every $(i, j, p, q)$ with $p + i = h$ and $q + j = w$, and by the chain rule
        it receives the sum of their gradients:

        $$\frac{\partial L}{\partial X_{nchw}} = \sum_{\substack{i,j,p,q \\ p+i=h,\ q+j=w}} dX_{\mathrm{col}}\big[(c,i,j), (n,p,q)\big].$$

        This scatter-add is **col2im**, the adjoint (transpose) of the im2col gather.  Note that col2im is *not*
        the inverse of im2col: pixels covered by several windows accumulate several contributions.
        """),
        code(r"""
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
        """),
        md(r"""
        How many windows cover each pixel?  col2im applied to a matrix of ones answers it: the centre of the
        image is counted $k_h k_w = 9$ times, the corners once.  That is also how much more memory
        $X_{\mathrm{col}}$ takes than $X$.
        """),
        code(r"""
        counts = col2im(np.ones_like(X_col), X.shape, 3, 3)[0, 0]
        fig, ax = plt.subplots(figsize=(3, 3))
        ax.imshow(counts, cmap="viridis"); ax.grid(False); ax.set_xticks([]); ax.set_yticks([])
        for (i, j), v in np.ndenumerate(counts):
            ax.text(j, i, int(v), ha="center", va="center", color="white")
        ax.set_title("windows per pixel (3x3 on 5x5)");
        """),
        md(r"""
        ## A CNN on the handwritten digits

        The digits are 8×8 grey-level images (1797 of them, values 0 to 16).  The network: 16 filters of 3×3
        with "same" padding (the output stays 8×8) and ReLU, a 2×2 max pooling (each output is the largest of a
        2×2 window, which halves the resolution and passes the gradient to the winning pixel), then a dense
        softmax layer over the $16 \cdot 4 \cdot 4 = 256$ features.
        """),
        code(r"""
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
        """),
        code(r"""
        tn.plot.plot_history(history)
        """),
        md(r"""
        ## What the filters learned

        Each filter is a 3×3 pattern; positive weights (red) respond to bright pixels, negative ones (blue) to
        dark.  Many become small edge and stroke detectors.  Below them, the 16 feature maps (the ReLU outputs
        of the convolution) for one test digit: each lights up where its pattern occurs.
        """),
        code(r"""
        conv_layer = cnn.layers[0]
        filters = conv_layer.params["W"][:, 0]              # (16, 3, 3)
        fig, axes = plt.subplots(2, 8, figsize=(8, 2.3))
        lim = np.abs(filters).max()
        for k, ax in enumerate(axes.flat):
            ax.imshow(filters[k], cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_xticks([]); ax.set_yticks([]); ax.grid(False); ax.set_title(f"{k}", fontsize=8)
        fig.suptitle("learned 3x3 filters")
        fig.tight_layout()
        """),
        code(r"""
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
        """),
        md(r"""
        And a few test digits with the network's answers (mistakes in red):
        """),
        code(r"""
        pred = cnn.predict(x_test).argmax(axis=1)
        wrong = np.flatnonzero(pred != y_test)
        show = np.r_[np.arange(12 - min(4, len(wrong))), wrong[:4]]
        fig, axes = plt.subplots(1, 12, figsize=(10, 1.4))
        for ax, i in zip(axes, show):
            ax.imshow(x_test[i, 0], cmap="gray_r"); ax.set_xticks([]); ax.set_yticks([]); ax.grid(False)
            ax.set_title(f"{pred[i]} ({y_test[i]})", fontsize=8, color="red" if pred[i] != y_test[i] else "black")
        fig.suptitle("predicted (true)", fontsize=9, y=1.05);
        """),
        md(r"""
        **Takeaways**

        * im2col turns a convolution into one matrix product $W_{\mathrm{mat}} X_{\mathrm{col}}$, at the cost of
          copying each pixel up to $k_h k_w$ times.
        * The backward pass is the `Dense` backward pass on columns, $dW = G_{\mathrm{col}} X_{\mathrm{col}}^\top$,
          $dX_{\mathrm{col}} = W_{\mathrm{mat}}^\top G_{\mathrm{col}}$, followed by col2im, the scatter-add that is
          im2col's transpose.
        * A CNN with 16 filters and about 2,700 parameters classifies 8×8 digits well above 95%.
        """),
    ]


@notebook("07_overfitting_and_regularization.ipynb")
def overfitting():
    return [
        md(r"""
        # 7. Overfitting and regularization

        A network with enough parameters can memorize its training set, noise included, and then does worse
        on new data: it **overfits**.  This notebook provokes overfitting on purpose (a large network, few
        noisy samples), then derives and applies four remedies: **dropout**, **L2 regularization**, **early
        stopping** and **batch normalization**.
        """),
        code(SETUP),
        md(r"""
        ## A problem made to overfit

        Two interleaved half-moons with a lot of noise: 80 training points, and 400 fresh points from the same
        distribution to measure how well the model generalizes.  The network has two hidden layers of 128 units,
        about 17,000 parameters for 80 points.
        """),
        code(r"""
        x_train, y_train = tn.datasets.make_moons(80, noise=0.35, seed=0)
        x_val, y_val = tn.datasets.make_moons(400, noise=0.35, seed=1)

        def build(kind="plain", l2=1e-2, rate=0.5):
            tn.set_seed(0)                           # same initial weights and batches for every variant
            reg = tn.regularizers.l2(l2) if kind == "l2" else None
            act = None if kind == "batchnorm" else "relu"
            layers = []
            for i in range(2):
                layers.append(tn.layers.Dense(128, activation=act, kernel_regularizer=reg, **({"input_dim": 2} if i == 0 else {})))
                if kind == "batchnorm":
                    layers += [tn.layers.BatchNormalization(), tn.layers.ReLU()]
                if kind == "dropout":
                    layers.append(tn.layers.Dropout(rate))
            layers.append(tn.layers.Dense(1, activation="sigmoid"))
            model = tn.Sequential(layers)
            model.compile(loss="binary_crossentropy", optimizer=tn.optimizers.Adam(0.01), metrics=["accuracy"])
            return model

        EPOCHS = 200
        models, histories = {}, {}
        models["plain"] = build()
        histories["plain"] = models["plain"].fit(x_train, y_train, epochs=EPOCHS, batch_size=40,
                                                 validation_data=(x_val, y_val), verbose=0).history
        h = histories["plain"]
        print(f"training loss {h['loss'][-1]:.3f}, validation loss: best {min(h['val_loss']):.3f} "
              f"(epoch {int(np.argmin(h['val_loss'])) + 1}), last {h['val_loss'][-1]:.3f}")
        """),
        code(r"""
        def boundary(model, ax, title):
            tn.plot.plot_decision_boundary(model, x_train, y_train, ax=ax, resolution=150)
            acc = tn.metrics.accuracy(y_val, model.predict(x_val))
            ax.set_title(f"{title}\nvalidation accuracy {acc:.3f}", fontsize=9)

        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        boundary(models["plain"], axes[0], "no regularization")
        axes[1].plot(h["loss"], label="training loss"); axes[1].plot(h["val_loss"], label="validation loss")
        axes[1].set_xlabel("epoch"); axes[1].set_ylim(0, 1.4); axes[1].legend()
        fig.tight_layout()
        """),
        md(r"""
        The training loss keeps falling while the validation loss, after a minimum, climbs: the boundary bends
        around individual noisy points.  Each remedy below is a way to prefer simpler functions.

        ## Dropout

        During training, each unit of a layer's output is kept with probability $q = 1 - r$ and zeroed
        otherwise, independently for every sample and every step.  With a mask $m_i \sim \mathrm{Bernoulli}(q)$,
        **inverted** dropout scales the kept units by $1/q$:

        $$y_i = \frac{m_i}{q}\, x_i, \qquad \mathbb{E}[y_i] = \frac{q}{q}\, x_i = x_i ,$$

        so the expected activation is unchanged, and at inference the layer is simply the identity (no
        rescaling needed).  The backward pass is the same mask: $y$ is linear in $x$ with a fixed mask, so

        $$\frac{\partial L}{\partial x_i} = \frac{m_i}{q}\, \frac{\partial L}{\partial y_i}.$$

        A unit cannot rely on any particular other unit being present, which discourages co-adapted, fragile
        features; training effectively averages an ensemble of $2^{\#\text{units}}$ thinned networks that share
        weights.  A quick check of the expectation and of the two modes:
        """),
        code(r"""
        drop = tn.layers.Dropout(0.5)
        drop.rng = np.random.default_rng(0)
        ones = np.ones((1000, 100), dtype=np.float32)
        out = drop.forward(ones, training=True)
        print("training: fraction zeroed", (out == 0).mean(), " kept values", np.unique(out), " mean", out.mean())
        print("inference is the identity:", np.array_equal(drop.forward(ones, training=False), ones))
        """),
        md(r"""
        ## L2 regularization (weight decay)

        Add a penalty on the size of the weights to the loss:

        $$J(W) = L(W) + \lambda \sum_i W_i^2, \qquad \nabla_W J = \nabla_W L + 2\lambda W .$$

        With plain SGD the update becomes

        $$W \leftarrow W - \eta (\nabla L + 2\lambda W) = (1 - 2\eta\lambda)\, W - \eta \nabla L :$$

        before each ordinary step the weights shrink by a constant factor, hence the name *weight decay*.
        Small weights make a smoother function (for a ReLU network, smaller slopes), so the boundary cannot bend
        sharply around single points.  Probabilistically, $\lambda \sum W^2$ is the negative log of a Gaussian
        prior on the weights.  In tinynet (as in Keras) `Dense(..., kernel_regularizer=tn.regularizers.l2(lam))`
        adds $\lambda \sum W^2$ to the reported loss and $2 \lambda W$ to the gradient:
        """),
        code(r"""
        layer = tn.layers.Dense(3, input_dim=2, kernel_regularizer=tn.regularizers.l2(0.1))
        layer.build((2,))
        W = layer.params["W"]
        print("penalty:", layer.regularization_loss(), " = 0.1 * sum(W^2) =", 0.1 * float(np.sum(W**2)))
        grad = np.zeros_like(W)
        layer.regularizers["W"].add_gradient(W, grad)
        print("its gradient is 2*0.1*W:", np.allclose(grad, 0.2 * W))
        """),
        md(r"""
        ## Early stopping

        The simplest remedy uses the validation curve directly: stop when the validation loss has not improved
        for `patience` epochs, and put back the weights of the best epoch.  Training for fewer steps from small
        initial weights is itself a regularizer: for a linear model with squared loss, $t$ steps of gradient
        descent with learning rate $\eta$ behave much like L2 with $\lambda \approx 1/(\eta t)$.  The price is a
        validation set that the model never trains on.

        ## Batch normalization

        Batch normalization standardizes every feature over the mini-batch, then lets the network rescale it.
        For a feature with values $x_1, \dots, x_M$ in the batch:

        $$\mu = \frac1M \sum_k x_k, \qquad \sigma^2 = \frac1M \sum_k (x_k - \mu)^2, \qquad
        \hat x_k = \frac{x_k - \mu}{s},\ s = \sqrt{\sigma^2 + \epsilon}, \qquad y_k = \gamma \hat x_k + \beta .$$

        **Backward.**  With $g_k = \partial L / \partial y_k$, the parameters are easy:
        $\partial L/\partial \gamma = \sum_k g_k \hat x_k$ and $\partial L/\partial \beta = \sum_k g_k$.  For the
        input, every $x_k$ influences every $\hat x_l$ through $\mu$ and $s$.  Using
        $\partial \mu / \partial x_k = 1/M$ and
        $\partial s / \partial x_k = \frac{1}{2s}\cdot\frac{2}{M}(x_k - \mu) = \hat x_k / M$
        (the terms through $\mu$ in $\sigma^2$ sum to zero since $\sum_l (x_l - \mu) = 0$):

        $$\frac{\partial \hat x_l}{\partial x_k} = \frac{\delta_{lk} - 1/M}{s} - \frac{(x_l - \mu)}{s^2}\,\frac{\hat x_k}{M}
        = \frac{1}{s}\Big(\delta_{lk} - \frac1M - \frac{\hat x_l \hat x_k}{M}\Big).$$

        Then, with $\partial L/\partial \hat x_l = \gamma g_l$,

        $$\frac{\partial L}{\partial x_k} = \sum_l \gamma g_l \frac{\partial \hat x_l}{\partial x_k}
        = \frac{\gamma}{M s}\Big(M g_k - \sum_l g_l - \hat x_k \sum_l g_l \hat x_l\Big).$$

        The gradient is the upstream gradient with its mean and its component along $\hat x$ removed: shifting
        or scaling a feature's inputs cannot change its normalized output.  At inference the batch statistics
        are replaced by running averages collected during training, so a prediction does not depend on the
        other samples of the batch.  BN mainly speeds up and stabilizes training; its regularizing effect comes
        from the noise of the batch statistics (each sample is normalized with a slightly different $\mu, s$
        depending on its batch-mates).  A numerical check of the formula above:
        """),
        code(r"""
        rng = np.random.default_rng(0)
        with tn.gradcheck.float64_defaults():
            bn = tn.layers.BatchNormalization()
            bn.build((4,))
        bn.params["gamma"][...] = rng.uniform(0.5, 2, 4)
        xb = rng.standard_normal((16, 4)) * 3 + 1
        g = rng.standard_normal((16, 4))
        y = bn.forward(xb, training=True)
        print("output mean per feature ~ beta = 0:", np.round(((y - bn.params["beta"]) / bn.params["gamma"]).mean(axis=0), 12))
        dx = bn.backward(g)
        xh, s, M = bn.x_hat, 1 / bn.inv_std, len(xb)
        by_hand = bn.params["gamma"] / (M * s) * (M * g - g.sum(0) - xh * (g * xh).sum(0))
        print("dx matches the formula:", np.allclose(dx, by_hand))
        print("central differences:", tn.gradcheck.check_layer(bn, xb))
        """),
        md(r"""
        ## All four on the same problem

        Same data, same initial weights, same batches; only the remedy differs.  Dropout rate 0.5 after each
        hidden layer; L2 with $\lambda = 10^{-2}$ on both hidden kernels; early stopping on the validation loss
        with patience 20 and the best weights restored; batch normalization between each hidden `Dense` and its
        ReLU.
        """),
        code(r"""
        for kind in ["dropout", "l2", "batchnorm"]:
            models[kind] = build(kind)
            histories[kind] = models[kind].fit(x_train, y_train, epochs=EPOCHS, batch_size=40,
                                               validation_data=(x_val, y_val), verbose=0).history
        stopper = tn.callbacks.EarlyStopping(monitor="val_loss", patience=20, restore_best_weights=True)
        models["early stopping"] = build()
        histories["early stopping"] = models["early stopping"].fit(x_train, y_train, epochs=EPOCHS, batch_size=40,
                                                                   validation_data=(x_val, y_val), verbose=0,
                                                                   callbacks=[stopper]).history
        print(f"early stopping: stopped after {len(histories['early stopping']['loss'])} epochs, "
              f"best epoch {stopper.best_epoch + 1}")
        for kind, model in models.items():
            loss, acc = model.evaluate(x_val, y_val)
            print(f"{kind:>15}: validation loss {loss:.3f}, accuracy {acc:.3f}")
        """),
        code(r"""
        fig, axes = plt.subplots(2, 3, figsize=(11, 6.6))
        for ax, (kind, model) in zip(axes.flat, models.items()):
            boundary(model, ax, kind)
        ax = axes.flat[-1]
        for kind, h in histories.items():
            ax.plot(h["val_loss"], label=kind)
        ax.set_ylim(0.2, 1.3); ax.set_xlabel("epoch"); ax.set_title("validation loss", fontsize=9); ax.legend(fontsize=8)
        fig.tight_layout()
        """),
        md(r"""
        Every remedy gives a smoother boundary than the plain network and a lower final validation loss.  Note
        that the validation loss, which punishes confident mistakes, reacts much more than the accuracy.  (The
        losses reported for the L2 model include the penalty $\lambda \sum W^2$, `val_loss` too, so its
        data loss alone is even a little lower.)

        **Takeaways**

        * Overfitting shows as a growing gap between training and validation loss.
        * Dropout: $y = x \odot m / q$ in training, identity at inference; gradient through the same mask.
        * L2: $J = L + \lambda \sum W^2$, gradient $+2\lambda W$, i.e. weight decay $(1 - 2\eta\lambda) W$.
        * Early stopping: keep the weights of the best validation epoch.
        * Batch normalization: $\partial L/\partial x = \frac{\gamma}{Ms}(M g - \sum g - \hat x \sum g\hat x)$;
          running averages at inference.
        """),
    ]


@notebook("08_checkpoints_and_exact_resume.ipynb")
def checkpoints():
    return [
        md(r"""
        # 8. Checkpoints and exact resume

        Long training runs get interrupted: a crash, a time limit, a laptop lid.  A **checkpoint** is a file from
        which training continues as if nothing had happened, *bit for bit*.  This notebook works out what such a
        file must contain, shows that tinynet's model file resumes exactly (even in another process), shows
        what goes wrong with a weights-only "checkpoint", and what happens when a file is damaged.
        """),
        code(
            SETUP
            + dedent(r"""
        import os, shutil, subprocess, sys, tempfile
        from pathlib import Path

        start_dir = Path.cwd()
        workdir = Path(tempfile.mkdtemp(prefix="tinynet-nb08-"))   # files written below go here
        os.chdir(workdir)
        """)
        ),
        md(r"""
        ## What determines the next step

        One training step of Adam on a mini-batch $B_t$ with a dropout mask $D_t$ is

        $$g_t = \nabla_\theta L(\theta_{t-1}; B_t, D_t), \quad
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \quad
        \theta_t = \theta_{t-1} - \eta\,\frac{m_t / (1-\beta_1^t)}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon}.$$

        To reproduce step $t$ exactly we need every input of this formula:

        * the **weights** $\theta_{t-1}$ (and non-trainable state such as batch-norm running averages);
        * the **optimizer state** $m_{t-1}, v_{t-1}$ *and the step count* $t$, which enters the bias corrections;
        * the **random generator state**, which decides the shuffling (hence $B_t$) and the dropout masks $D_t$;
        * the learning-rate schedule's position (a function of $t$), and the hyper-parameters.

        A tinynet model file stores all of these.  Everything else (the data, the code) must of course be the
        same too.

        ## An uninterrupted run, and an interrupted one

        A network with dropout (so that randomness matters) on the digits, trained for 20 epochs in one go:
        """),
        code(r"""
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
        """),
        md(r"""
        Now the same run, stopped after 10 epochs and saved.  The second half runs in a **separate Python
        process** that only has the file and the data.
        """),
        code(r'''
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
        out = subprocess.run([sys.executable, "-c", script.replace("\n        ", "\n")], capture_output=True, text=True, check=True)
        print(out.stdout)

        resumed = tn.load_model("resumed.npz")
        same_weights = all(np.array_equal(a, b) for a, b in zip(straight.get_weights(), resumed.get_weights()))
        same_losses = np.array_equal(np.load("resumed_losses.npy"), h_straight["loss"][10:])
        same_adam = all(np.array_equal(straight.optimizer.state[k][s], resumed.optimizer.state[k][s])
                        for k in straight.optimizer.state for s in straight.optimizer.state[k])
        print("weights identical bit for bit:", same_weights)
        print("epoch losses 11-20 identical: ", same_losses)
        print("Adam's m and v identical:     ", same_adam, f"(t = {resumed.optimizer.iterations})")
        '''),
        md(r"""
        ## What a weights-only "checkpoint" does

        Saving only the weights (`model.save_weights`) is enough for prediction, but a run resumed from it
        starts with a fresh optimizer ($m = v = 0$, $t = 0$) and a fresh random generator.  With $t$ back at 1
        the bias corrections are large again, so the first resumed step is

        $$\theta \leftarrow \theta - \eta \frac{g_1}{|g_1| + \epsilon} \approx \theta - \eta\,\mathrm{sign}(g_1):$$

        a full-size step of $\eta$ in *every* coordinate, whatever Adam had learned about their scales.  And
        the batches and dropout masks differ from the uninterrupted run.  The result trains fine, but it is a
        different run:
        """),
        code(r"""
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
        """),
        md(r"""
        ## Checkpointing during training

        `tn.callbacks.ModelCheckpoint` saves the model at the end of every epoch (or only when a monitored value
        improves, with `save_best_only=True`).  Below, a run is "killed" by an exception during its 7th epoch;
        we resume from the newest checkpoint and still land exactly on the uninterrupted run's weights.
        """),
        code(r"""
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
        """),
        md(r"""
        The file is also written **atomically**: to a temporary file in the same folder, flushed to disk, then
        renamed over the target.  A crash *while saving* therefore leaves the previous checkpoint intact rather
        than half a file.

        ## Integrity checks

        Files get damaged: a disk error, an interrupted copy, a download cut short, someone editing a byte.
        Every array in a tinynet model file has its SHA-256 recorded in the manifest, and loading verifies
        them.  `tn.inspect_model_file` reports them without loading:
        """),
        code(r"""
        info = tn.inspect_model_file("checkpoint.npz")
        print("all checksums OK:", info.checksums_ok, f"({len(info.arrays)} arrays)")
        print(info.arrays[0])
        """),
        md(r"""
        ### One flipped bit

        We flip a single bit in the middle of the first layer's kernel, as a failing disk might, and try again:
        """),
        code(r"""
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
        """),
        md(r"""
        Without the checksum this file would load without complaint, and one weight (here changed by a factor
        that depends on which bit flipped) would silently change every prediction that passes through it.

        ### Truncated, garbage, and tampered files

        Every failure is a `tn.ModelFileError` (a subclass of `ValueError`) that names the file and the problem;
        nothing is unpickled, and nothing is allocated before its size has been checked.
        """),
        code(r"""
        good = Path("checkpoint.npz").read_bytes()
        Path("truncated.npz").write_bytes(good[: len(good) // 2])       # a download cut short
        Path("garbage.npz").write_bytes(b"this is not a model file\n" * 10)
        Path("notes.txt").write_text("model weights, trust me")

        for name in ["truncated.npz", "garbage.npz", "notes.txt"]:
            try:
                tn.load_model(name)
            except tn.ModelFileError as exc:
                print(f"{name}:\n  {type(exc).__name__}: {exc}\n")
        """),
        md(r"""
        A file whose manifest was edited to describe a different architecture (say 64 hidden units instead of
        32) no longer matches its own arrays, and is refused as well:
        """),
        code(r"""
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
        """),
        code(r"""
        os.chdir(start_dir)
        shutil.rmtree(workdir)        # remove the files this notebook wrote
        """),
        md(r"""
        **Takeaways**

        * Exact resume needs the weights, the optimizer's state *and step count*, the random generator state
          and the epoch count; tinynet's model file holds all of them, so `tn.load_model(...).fit(...)` continues
          bit for bit, in any process.
        * A weights-only file is for prediction; resuming from it restarts Adam's bias correction and the
          random sequence.
        * Checksums turn silent corruption into a clear error; treat every loaded file as untrusted.
        """),
    ]


@notebook("09_custom_layers.ipynb")
def custom_layers():
    return [
        md(r"""
        # 9. A custom layer, end to end

        This notebook writes a new layer from scratch: **Swish** with a trainable slope $\beta$,

        $$y = x\,\sigma(\beta x), \qquad \sigma(z) = \frac{1}{1 + e^{-z}}.$$

        We derive its backward pass by hand, prove the derivation with `tinynet.testing`'s gradient
        assertions over shapes drawn by Hypothesis, register the layer so that model files can name it,
        train a model with it, and save, load and predict.  It is the notebook version of the guide
        *Write a custom layer* (`docs/custom-layers.md`); the finished layer is `examples/swish.py`.
        """),
        code(SETUP),
        md(r"""
        ## The function

        $\beta$ sets the shape: $\beta = 0$ gives the line $x/2$, $\beta = 1$ is SiLU, and as
        $\beta \to \infty$, $\sigma(\beta x)$ becomes a step and Swish becomes ReLU.  Unlike ReLU it is
        smooth everywhere and dips slightly below zero for negative $x$.  With $\beta$ trainable, each
        layer of a network picks its own activation.
        """),
        code(r"""
        from tinynet.layers.activations import stable_sigmoid

        z = np.linspace(-4, 4, 401)
        fig, ax = plt.subplots()
        for beta in [0.0, 0.5, 1.0, 2.0, 10.0]:
            ax.plot(z, z * stable_sigmoid(beta * z), label=fr"$\beta = {beta:g}$")
        ax.plot(z, np.maximum(z, 0), "k:", label="ReLU")
        ax.set_xlabel("x"); ax.set_ylabel("y"); ax.set_title(r"Swish $x\,\sigma(\beta x)$"); ax.legend()
        plt.show()
        """),
        md(r"""
        ## The backward pass, derived

        The layer receives $G = \partial L/\partial y$, an array shaped like $y$, and must return
        $\partial L/\partial x$ and write $\partial L/\partial \beta$.  Write $s = \sigma(\beta x)$
        element-wise and recall $\sigma'(z) = \sigma(z)(1 - \sigma(z))$.

        **Input.**  $y_k = x_k s_k$ depends on $x_k$ directly and through $s_k$.  The product rule and
        the chain rule give

        $$\frac{\partial y_k}{\partial x_k} = s_k + x_k \frac{\partial s_k}{\partial x_k}
          = s_k + \beta x_k\, s_k (1 - s_k).$$

        No other output depends on $x_k$, so the chain rule's sum has a single term:

        $$\frac{\partial L}{\partial x} = G \odot \big(s + \beta x\, s (1 - s)\big).$$

        **Parameter.**  $\partial s_k / \partial \beta = x_k s_k (1 - s_k)$, so
        $\partial y_k/\partial\beta = x_k^2 s_k (1 - s_k)$.  *Every* output depends on the one
        $\beta$, so the chain rule sums over all of them, every sample and every feature:

        $$\frac{\partial L}{\partial \beta} = \sum_k G_k\, x_k^2\, s_k (1 - s_k).$$

        **Shapes.**  $x, s, y, G$ and $\partial L/\partial x$ share one shape; $\beta$ and its
        gradient have shape $(1,)$.  The cache (what `forward` keeps for `backward`) is $x$ and $s$.
        """),
        md(r"""
        ## The code

        A layer subclasses `tinynet.layers.Layer`: `build` creates the parameters with `add_param`,
        `forward` returns the output and keeps the cache, `backward` **writes** the parameter gradients
        into `self.grads` *in place* and **returns** the input gradient, and `get_config` returns the
        constructor's arguments.  `@tn.register_layer` adds the class to
        `tinynet.layers.LAYER_REGISTRY`, which model files are loaded from.
        """),
        code(r'''
        from tinynet.layers import Layer


        @tn.register_layer
        class Swish(Layer):
            """Swish activation with a trainable slope: y = x * sigmoid(beta * x)."""

            def __init__(self, beta: float = 1.0, **kwargs) -> None:
                super().__init__(**kwargs)
                self.beta = float(beta)

            def build(self, input_shape):
                super().build(input_shape)
                self.add_param("beta", np.full((1,), self.beta))

            def forward(self, x, training=False):
                beta = self.params["beta"]
                s = stable_sigmoid(beta * x)
                self.x, self.s = x, s  # the cache: what backward needs
                return x * s

            def backward(self, grad_output):
                x, s, beta = self.x, self.s, self.params["beta"]
                ds = s * (1.0 - s)  # sigma'(beta x)
                self.grads["beta"][...] = np.sum(grad_output * x * x * ds)  # in place: never rebind grads
                return grad_output * (s + beta * x * ds)

            def get_config(self):
                return {**super().get_config(), "beta": self.beta}


        Swish(beta=2.0)
        '''),
        md(r"""
        ## Prove it

        The derivation is a claim; numerical derivatives test it.  `assert_layer_gradients` builds the
        layer in float64, draws a random upstream gradient $G$ and compares the backward pass with
        central differences of $f = \sum_k G_k y_k$,

        $$\frac{\partial f}{\partial \theta_i} \approx \frac{f(\theta + h e_i) - f(\theta - h e_i)}{2h}, \qquad h = 10^{-6},$$

        for every element of the input and of $\beta$.  It returns the error of each array,

        $$e = \frac{\max_i |a_i - n_i|}{\max(\max_i |a_i|, \max_i |n_i|)},$$

        and fails when one exceeds $10^{-6}$.
        """),
        code(r"""
        from tinynet.testing import assert_layer_gradients

        x = np.random.default_rng(1).normal(size=(4, 3))
        assert_layer_gradients(Swish(beta=0.7), x)
        """),
        md(r"""
        One batch proves little.  Hypothesis draws many: shapes with one to three axes after the batch
        axis (batch size 1 and odd sizes included) and slopes $\beta \in [-3, 3]$.  In a test file pytest
        would call `test_swish_backward`; here we call it ourselves.  It returns nothing when all 25
        examples pass.
        """),
        code(r"""
        import hypothesis.strategies as st
        from hypothesis import given

        from tinynet.testing.strategies import arrays, gradient_settings

        shapes_seen = []


        @gradient_settings(database=None)  # a notebook keeps no database of failing examples
        @given(x=arrays(max_dims=3, max_side=4), beta=st.floats(-3.0, 3.0))
        def test_swish_backward(x, beta):
            shapes_seen.append(x.shape)
            assert_layer_gradients(Swish(beta=beta), x)


        test_swish_backward()
        print(len(shapes_seen), "examples, e.g.", sorted(set(shapes_seen))[:6])
        """),
        md(r"""
        ## What a wrong derivation looks like

        Forget the $\beta$ in $\partial y/\partial x$ (an easy slip: it is right for SiLU, $\beta = 1$)
        and the check fails with a table: each array, its error, the element where the analytic and
        the numerical gradient differ most, and both values there.
        """),
        code(r"""
        class SwishWithoutBeta(Swish):
            def backward(self, grad_output):
                x, s = self.x, self.s
                ds = s * (1.0 - s)
                self.grads["beta"][...] = np.sum(grad_output * x * x * ds)
                return grad_output * (s + x * ds)  # beta forgotten


        try:
            assert_layer_gradients(SwishWithoutBeta(beta=0.5), x)
        except AssertionError as failure:
            print(failure)
        """),
        md(r"""
        When the error has a recognisable pattern, the message adds a hint.  Forgetting to multiply by
        the upstream gradient $G$ (the chain rule) is one:
        """),
        code(r"""
        class SwishWithoutUpstream(Swish):
            def backward(self, grad_output):
                x, s, beta = self.x, self.s, self.params["beta"]
                ds = s * (1.0 - s)
                self.grads["beta"][...] = np.sum(grad_output * x * x * ds)
                return s + beta * x * ds  # G forgotten


        try:
            assert_layer_gradients(SwishWithoutUpstream(beta=0.5), x)
        except AssertionError as failure:
            print(failure)
        """),
        md(r"""
        ## In a model

        Inside a model the parameters and gradients are views into the model's flat buffers (which is
        why `backward` writes `self.grads["beta"][...]` in place), and the loss is the real one.
        `assert_model_gradients` checks every parameter of a compiled model against central
        differences of its loss.
        """),
        code(r"""
        from tinynet.testing import assert_model_gradients

        with tn.gradcheck.float64_defaults():
            tn.set_seed(0)
            check = tn.Sequential([tn.layers.Dense(4, input_dim=2), Swish(), tn.layers.Dense(1, activation="sigmoid")])
            check.compile("binary_crossentropy", "adam")
        rng = np.random.default_rng(0)
        assert_model_gradients(check, rng.normal(size=(5, 2)), rng.integers(0, 2, (5, 1)))
        """),
        md(r"""
        ## Train

        Two interleaving moons and a small network with a Swish after each hidden layer.  We train one
        epoch at a time to watch the two slopes $\beta$ learn.
        """),
        code(r"""
        x_all, y_all = tn.datasets.make_moons(400, noise=0.15, seed=0)
        x_train, x_test, y_train, y_test = tn.datasets.train_test_split(x_all, y_all, test_size=0.25, seed=0)

        tn.set_seed(0)
        model = tn.Sequential([
            tn.layers.Dense(16, input_dim=2),
            Swish(),
            tn.layers.Dense(16),
            Swish(beta=0.5),
            tn.layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(loss="binary_crossentropy", optimizer=tn.optimizers.Adam(0.02), metrics=["accuracy"])
        swishes = [layer for layer in model.layers if isinstance(layer, Swish)]

        betas = []
        for epoch in range(60):
            model.fit(x_train, y_train, epochs=1, batch_size=32, verbose=0)
            betas.append([float(layer.params["beta"][0]) for layer in swishes])
        loss, accuracy = model.evaluate(x_test, y_test)
        print(f"test accuracy {accuracy:.3f}; learned betas {np.round(betas[-1], 3)}")

        fig, ax = plt.subplots()
        ax.plot(np.arange(1, 61), betas, label=["first Swish (from 1.0)", "second Swish (from 0.5)"])
        ax.set_xlabel("epoch"); ax.set_ylabel(r"$\beta$"); ax.set_title(r"The slopes $\beta$ during training")
        ax.legend()
        plt.show()
        """),
        md(r"""
        The optimizer updates $\beta$ like any weight: after an early dip both slopes grow, the activations become more
        ReLU-like, and the network separates the moons.

        ## Save, load, predict

        The model file records each layer's registered name and `get_config()` together with the
        weights, trained $\beta$ included.  Loading looks `"Swish"` up in `LAYER_REGISTRY`, which is
        why the layer must be registered (and its code run) before a file using it is loaded.
        """),
        code(r"""
        import tempfile
        from pathlib import Path

        from tinynet.serialization import load_model

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "swish_moons.npz"
            model.save(path)
            loaded = load_model(path)

        print([type(layer).__name__ for layer in loaded.layers])
        print("betas after loading:", [round(float(l.params["beta"][0]), 3) for l in loaded.layers if isinstance(l, Swish)])
        print("identical predictions:", np.array_equal(loaded.predict(x_test), model.predict(x_test)))
        """),
        md(r"""
        ## Checklist for any custom layer

        1. Write the forward formula; derive $\partial L/\partial x$ and every $\partial L/\partial\theta$
           element by element with the chain rule, summing over every output an element influences.
        2. `build` creates parameters with `add_param`; `forward` keeps the cache; `backward` writes
           `self.grads[key][...]` and returns the input gradient; neither modifies its arguments.
        3. `get_config` returns the constructor's arguments; decorate the class with `@tn.register_layer`.
        4. Prove the backward pass with `assert_layer_gradients` over Hypothesis shapes, then
           `assert_model_gradients` on a small model.
        5. Train, save, load, predict.
        6. For an `activation=` argument like Dense's, subclass `tn.layers.ActivatedLayer`: compute $Z$ into
           a buffer of your own, return `self.activate(z, training)`, implement `backward_preactivation`
           from $\partial L/\partial Z$; the model then fuses a sigmoid or softmax head with the loss itself.
        """),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("prefixes", nargs="*", help="only the notebooks whose names start with these")
    parser.add_argument("--no-execute", action="store_true", help="write the notebooks without outputs")
    args = parser.parse_args(argv)

    NOTEBOOK_DIR.mkdir(exist_ok=True)
    status = 0
    for name, cells in NOTEBOOKS:
        if args.prefixes and not any(name.startswith(p) for p in args.prefixes):
            continue
        nb = build(cells())
        took = float("nan")
        if not args.no_execute:
            try:
                took = execute(nb)
            except Exception as exc:  # report and go on with the next notebook
                print(f"FAILED {name}: {type(exc).__name__}: {exc}"[:4000], file=sys.stderr)
                status = 1
                continue
        clean(nb)
        out = NOTEBOOK_DIR / name
        nbformat.write(nb, out)
        print(f"{name}: {took:5.1f} s, {out.stat().st_size / 1024:6.0f} KiB")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
