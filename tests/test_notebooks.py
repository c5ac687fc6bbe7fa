"""The notebooks in ``notebooks/``: each ``.ipynb`` has the cells of its Jupytext source, and runs.

Every notebook is a pair: ``NN_name.py`` (Jupytext's percent format, the source people edit) and
``NN_name.ipynb`` (the same cells with their outputs, committed).  The pairing tests fail, with the
command that fixes it, when one of the two was edited and the other not.

Executing: each notebook is one test (so ``pytest -n 2`` spreads them over the workers).  The
kernel runs the committed ``.ipynb`` (whose cells the pairing tests tie to the ``.py``) with
``cwd=notebooks/``, ``MPLBACKEND=Agg`` and the repository root on ``PYTHONPATH`` (tinynet need not
be installed).  The budget is enforced twice: nbclient's per-cell timeout stops a cell that hangs,
and a wall-clock check fails a notebook whose cells together take longer than :data:`BUDGET_SECONDS`.

The executed copy is thrown away; the committed notebooks are rebuilt from their sources and
executed with ``python tools/make_notebooks.py``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
SOURCES = sorted(NOTEBOOK_DIR.glob("*.py"))

#: Every notebook must run top to bottom within this many seconds (issue 6).
BUDGET_SECONDS = 60.0


def rebuild_command(stem: str) -> str:
    return (
        f"After editing notebooks/{stem}.py, rebuild and execute the .ipynb with "
        f"`python tools/make_notebooks.py {stem[:2]}`; after editing notebooks/{stem}.ipynb in Jupyter "
        f"without Jupytext, write its cells to the .py with `jupytext --to py:percent notebooks/{stem}.ipynb`."
    )


def test_every_notebook_is_a_pair_of_a_py_source_and_an_ipynb() -> None:
    ipynb = {p.stem for p in NOTEBOOKS}
    py = {p.stem for p in SOURCES}
    assert ipynb, f"no notebook in {NOTEBOOK_DIR}"
    assert not ipynb - py, (
        f"notebooks without a Jupytext source: {sorted(ipynb - py)}; create each with "
        "`jupytext --set-formats ipynb,py:percent notebooks/NAME.ipynb`"
    )
    assert not py - ipynb, (
        f"Jupytext sources without their notebook: {sorted(py - ipynb)}; "
        "build each with `python tools/make_notebooks.py NN`"
    )


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_ipynb_has_the_cells_of_its_py_source(path: Path) -> None:
    pytest.importorskip("nbformat", reason="nbformat is not installed (pip install -e '.[dev]')")
    pytest.importorskip("jupytext", reason="jupytext is not installed (pip install -e '.[dev]')")
    import jupytext
    import nbformat

    target = path.with_suffix(".ipynb")
    if not target.exists():
        pytest.fail(f"notebooks/{target.name} is missing. {rebuild_command(path.stem)}")
    source = jupytext.read(path)
    assert source.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent", (
        f"{path.name}'s header must pair it with its notebook: `formats: ipynb,py:percent`"
    )
    want = [(cell.cell_type, cell.source) for cell in source.cells]
    have = [(cell.cell_type, cell.source) for cell in nbformat.read(target, as_version=4).cells]
    if want == have:
        return
    if len(want) != len(have):
        where = f"{path.name} has {len(want)} cells, {target.name} {len(have)}"
    else:
        first = next(i for i, (a, b) in enumerate(zip(want, have, strict=True)) if a != b)
        where = (
            f"cell {first + 1} differs: {path.name} has the {want[first][0]} cell\n{want[first][1]}\n"
            f"---- and {target.name} has the {have[first][0]} cell\n{have[first][1]}\n----"
        )
    pytest.fail(
        f"notebooks/{path.name} and notebooks/{target.name} are out of sync; {where}\n{rebuild_command(path.stem)}"
    )


def kernel_env() -> dict[str, str]:
    """The environment of the notebook kernel: headless matplotlib and tinynet importable."""
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("OMP_NUM_THREADS", "1")  # two notebooks in parallel on two cores
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_within_budget(path: Path) -> None:
    pytest.importorskip("nbformat", reason="nbformat is not installed (pip install -e '.[dev]')")
    pytest.importorskip("nbclient", reason="nbclient is not installed (pip install -e '.[dev]')")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install -e '.[dev]')")
    import nbformat
    from jupyter_client.kernelspec import NATIVE_KERNEL_NAME
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=int(BUDGET_SECONDS),  # per cell: no single cell may exceed the whole budget
        # "python3": jupyter_client starts it with sys.executable, the interpreter running pytest
        kernel_name=NATIVE_KERNEL_NAME,
        allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    start = time.perf_counter()
    try:
        client.execute(env=kernel_env(), cwd=str(NOTEBOOK_DIR))
    except CellTimeoutError as exc:
        pytest.fail(f"{path.name}: a cell ran longer than {BUDGET_SECONDS:.0f} s\n{exc}")
    except CellExecutionError as exc:
        pytest.fail(f"{path.name} raised an error while executing:\n{exc}")
    elapsed = time.perf_counter() - start
    assert elapsed < BUDGET_SECONDS, (
        f"{path.name} took {elapsed:.1f} s to run top to bottom; its budget is {BUDGET_SECONDS:.0f} s"
    )
