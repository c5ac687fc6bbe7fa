"""The code of docs/testing.md, docs/custom-layers.md, docs/teaching.md and examples/swish.py runs,
and the failure messages the pages show are the real ones."""

import os
import re
import subprocess
import sys
import types

import numpy as np
import pytest

import tinynet as tn
from tinynet.testing import assert_layer_gradients, assert_same_as

from .conftest import ROOT, doc_block, python_blocks


def env_with_examples() -> dict[str, str]:
    """This environment, without pytest's own variables (an xdist worker's would leak into the child
    pytest), with the repository and ``examples/`` on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), str(ROOT / "examples"), env.get("PYTHONPATH", "")) if p
    )
    return env


# ------------------------------------------------------------------------- docs/testing.md
def test_the_ten_line_file_passes_under_plain_pytest(tmp_path):
    code = doc_block("testing.md", "ten-line-test")
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    (tmp_path / "test_swish.py").write_text(code)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", "test_swish.py"],
        cwd=tmp_path,
        env=env_with_examples(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_the_ten_line_file_catches_a_wrong_derivative(swish, monkeypatch):
    class SwishWithoutBeta(swish.Swish):  # not registered: a subclass for this test only
        def backward(self, grad_output):
            x, s = self.x, self.s
            ds = s * (1.0 - s)
            self.grads["beta"][...] = np.sum(grad_output * x * x * ds)
            return grad_output * (s + x * ds)  # beta forgotten: right only for beta = 1

    monkeypatch.setitem(sys.modules, "swish", types.SimpleNamespace(Swish=SwishWithoutBeta))
    namespace: dict = {}
    exec(compile(doc_block("testing.md", "ten-line-test"), "test_swish.py", "exec"), namespace)
    body = namespace["test_swish_backward"].hypothesis.inner_test  # the test without its @given
    body(x=np.random.default_rng(0).normal(size=(3, 4)), beta=1.0)  # beta = 1 hides the mistake
    with pytest.raises(AssertionError, match="SwishWithoutBeta: the backward pass disagrees"):
        body(x=np.random.default_rng(0).normal(size=(3, 4)), beta=0.5)


def test_the_failure_shown_in_the_testing_guide_is_real(swish):
    namespace = {"Swish": swish.Swish, "np": np, "assert_layer_gradients": assert_layer_gradients}
    with pytest.raises(AssertionError) as info:
        exec(doc_block("testing.md", "swish-bug"), namespace)
    assert str(info.value) == doc_block("testing.md", "swish-bug-output").rstrip("\n")


def test_the_loss_and_model_examples_run():
    namespace: dict = {}
    exec(doc_block("testing.md", "losses-and-models") + doc_block("testing.md", "models"), namespace)
    assert set(namespace["errors"]) == {"dense/W", "dense/b", "dense_1/W", "dense_1/b"}


def test_the_parametrized_example_runs(swish):
    namespace: dict = {}
    exec(doc_block("testing.md", "parametrized"), namespace)
    for shape in [(1, 1), (2, 3, 5)]:
        namespace["test_swish_backward"](shape, -1.5)


# -------------------------------------------------------------------- docs/custom-layers.md
def test_the_guides_class_is_the_example_module():
    block = doc_block("custom-layers.md", "swish-class")
    source = (ROOT / "examples" / "swish.py").read_text()
    cut = block.index("@tn.register_layer")
    assert block[cut:] in source, "the Swish class of docs/custom-layers.md differs from examples/swish.py"
    for line in block[:cut].splitlines():
        assert line in source.splitlines(), line


def test_the_custom_layer_guide_runs_top_to_bottom(tmp_path):
    pytest.importorskip("tinynet.serialization")
    (tmp_path / "guide.py").write_text("\n\n".join(python_blocks("custom-layers.md")))
    result = subprocess.run(
        [sys.executable, "-W", "error", "guide.py"],
        cwd=tmp_path,
        env=env_with_examples(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "True"  # the model check
    match = re.search(r"test accuracy (\S+), learned betas \[(\S+) +(\S+)\]", result.stdout)
    assert match, result.stdout
    accuracy, betas = float(match[1]), (float(match[2]), float(match[3]))
    assert accuracy >= 0.97  # "about 0.99"
    assert abs(betas[0] - 1.8) < 0.15 and abs(betas[1] - 1.7) < 0.15  # "about 1.8 and 1.7"
    assert lines[-2:] == ["['Dense', 'Swish', 'Dense', 'Swish', 'Dense']", "True"]


def test_the_example_trains_saves_loads_and_predicts(swish, tmp_path):
    pytest.importorskip("tinynet.serialization")
    result = swish.main(directory=tmp_path)
    assert (tmp_path / "swish_moons.npz").is_file()
    assert result["same_predictions"] and result["accuracy"] >= 0.97
    assert result["layers"] == ["Dense", "Swish", "Dense", "Swish", "Dense"]
    assert all(abs(b - start) > 0.1 for b, start in zip(result["betas"], (1.0, 0.5), strict=True))
    assert tn.layers.LAYER_REGISTRY["Swish"] is swish.Swish


# ------------------------------------------------------------------------ docs/teaching.md
def student_module(backward: str | None = None) -> types.ModuleType:
    """The skeleton of docs/teaching.md, with its backward replaced by ``backward`` when given."""
    source = doc_block("teaching.md", "student-skeleton")
    if backward is not None:
        source = source[: source.index("    def backward")] + backward
    module = types.ModuleType("student_dense")
    exec(compile(source, "student_dense.py", "exec"), module.__dict__)
    return module


def grader(module, monkeypatch) -> dict:
    """The grader's namespace, importing ``module`` as the student's ``student_dense``."""
    monkeypatch.setitem(sys.modules, "student_dense", module)
    namespace: dict = {}
    exec(compile(doc_block("teaching.md", "grader"), "test_student_dense.py", "exec"), namespace)
    return namespace


def test_the_model_answer_passes_the_grader(monkeypatch):
    tests = grader(student_module(doc_block("teaching.md", "model-answer")), monkeypatch)
    tests["test_same_as_tinynet"]()
    tests["test_backward_matches_central_differences"]()


def test_the_skeleton_fails_the_grader(monkeypatch):
    tests = grader(student_module(), monkeypatch)
    with pytest.raises(NotImplementedError, match="your derivation here"):
        tests["test_same_as_tinynet"].hypothesis.inner_test(shape=(3, 2), units=2)


def test_the_students_mistakes_fail_the_grader(monkeypatch):
    tests = grader(student_module(doc_block("teaching.md", "student-mistakes")), monkeypatch)
    with pytest.raises(AssertionError, match="extra 1/N"):
        tests["test_same_as_tinynet"].hypothesis.inner_test(shape=(3, 2), units=2)
    with pytest.raises(AssertionError, match="extra 1/N"):
        x = np.random.default_rng(0).normal(size=(3, 2))
        tests["test_backward_matches_central_differences"].hypothesis.inner_test(x=x, units=2)


def test_the_output_shown_to_students_is_real():
    module = student_module(doc_block("teaching.md", "student-mistakes"))
    with pytest.raises(AssertionError) as info:
        assert_same_as(module.StudentDense(2), tn.layers.Dense(2), (4, 3), seeds=(0, 1))
    assert str(info.value) == doc_block("teaching.md", "student-mistakes-output").rstrip("\n")
