"""The exercise notebooks: one teacher source, a student version built from it, both executed."""

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Each teacher source and how many exercises its check cells grade.
SOURCES = {
    ROOT / "notebooks" / "exercises" / "01_dense_and_activations.py": 6,
    ROOT / "notebooks" / "exercises" / "02_losses_and_optimizers.py": 8,
    ROOT / "notebooks" / "exercises" / "03_backprop_through_a_network.py": 2,
    ROOT / "notebooks" / "exercises" / "04_convolutions_pooling_batchnorm.py": 6,
    ROOT / "notebooks" / "exercises" / "05_recurrent_and_attention.py": 7,
}


def _tool():
    spec = importlib.util.spec_from_file_location("make_exercises", ROOT / "tools" / "make_exercises.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_exercises = _tool()


def test_solutions_become_stubs_at_their_indentation():
    text = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n\nprint(f)\n"
    assert make_exercises.student_text(text) == (
        "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError\n\nprint(f)\n"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("### BEGIN SOLUTION\nx = 1\n", "never closed"),
        ("x = 1\n### END SOLUTION\n", "without a BEGIN"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "inside the block opened on line 1"),
    ],
)
def test_unmatched_markers_are_refused_with_the_line(text, problem):
    with pytest.raises(make_exercises.MarkerError, match=problem):
        make_exercises.student_text(text, "nb.py")


def test_every_solution_cell_is_marked_for_nbgrader_and_the_student_version_has_no_solution():
    jupytext = pytest.importorskip("jupytext")
    for source in make_exercises.sources():
        nb = jupytext.read(source)
        for cell in nb.cells:
            if "### BEGIN SOLUTION" in cell.source:
                assert cell.metadata.get("nbgrader", {}).get("solution") is True, cell.source
                assert "solution" in cell.metadata.get("tags", []), cell.source
        for path, content in make_exercises.targets(source).items():
            assert "BEGIN SOLUTION" not in content and "raise NotImplementedError" in content, path


def _solution_lines(text: str) -> set[str]:
    """The code lines found only inside the marked solutions of ``text`` (stripped)."""
    inside, outside, opened = set(), set(), False
    for line in text.splitlines():
        if "### BEGIN SOLUTION" in line or "### END SOLUTION" in line:
            opened = "BEGIN" in line
            continue
        (inside if opened else outside).add(line.strip())
    return {line for line in inside - outside if line and not line.startswith("#")}


def test_no_line_of_a_solution_reaches_the_committed_student_files():
    for source in make_exercises.sources():
        hidden = _solution_lines(source.read_text(encoding="utf-8"))
        assert hidden, source
        for path in (
            make_exercises.STUDENT_DIR / source.name,
            make_exercises.STUDENT_DIR / (source.stem + ".ipynb"),
        ):
            student = path.read_text(encoding="utf-8")
            if path.suffix == ".ipynb":  # the code as the notebook holds it: JSON strings, one line each
                import json

                student = "\n".join("".join(c["source"]) for c in json.loads(student)["cells"])
            lines = {line.strip() for line in student.splitlines()}
            leaked = hidden & lines
            assert not leaked, f"{path.name} shows solution lines: {sorted(leaked)[:3]}"


def test_the_committed_student_versions_are_up_to_date():
    pytest.importorskip("jupytext")
    assert make_exercises.main(["--check"]) == 0, "run python tools/make_exercises.py"


def _execute(text: str):
    jupytext = pytest.importorskip("jupytext")
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from jupyter_client.kernelspec import NATIVE_KERNEL_NAME
    from nbclient import NotebookClient

    nb = jupytext.reads(text, fmt="py:percent")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("OMP_NUM_THREADS", "1")
    client = NotebookClient(nb, timeout=60, kernel_name=NATIVE_KERNEL_NAME, allow_errors=False)
    client.execute(env=env, cwd=str(ROOT / "notebooks" / "exercises"))
    return "".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )


def test_every_teacher_source_is_executed_here():
    assert set(SOURCES) == set(make_exercises.sources())


@pytest.mark.slow
@pytest.mark.parametrize(("source", "count"), SOURCES.items(), ids=[p.stem for p in SOURCES])
def test_the_teacher_notebook_passes_every_check(source, count):
    out = _execute(source.read_text(encoding="utf-8"))
    assert out.count(": passed (score 1.00)") == count, out
    assert "failed" not in out and "not implemented" not in out
    assert f"{count} of {count} passed, score {count}.00" in out


@pytest.mark.slow
@pytest.mark.parametrize(("source", "count"), SOURCES.items(), ids=[p.stem for p in SOURCES])
def test_the_student_notebook_runs_and_reports_not_implemented_cleanly(source, count):
    out = _execute(make_exercises.student_text(source.read_text(encoding="utf-8")))
    assert out.count(": not implemented (score 0.00)") == count, out
    assert "Traceback" not in out and f"0 of {count} passed" in out
