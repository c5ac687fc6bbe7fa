"""Execute every notebook in ``notebooks/`` top to bottom; fail on any error or on a blown time budget.

Each notebook is one test (so ``pytest -n 2`` spreads them over the workers).  The kernel
runs with ``cwd=notebooks/``, ``MPLBACKEND=Agg`` and the repository root on ``PYTHONPATH``
(tinynet need not be installed).  The budget is enforced twice: nbclient's per-cell
timeout stops a cell that hangs, and a wall-clock check fails a notebook whose cells
together take longer than :data:`BUDGET_SECONDS`.

The executed copy is thrown away; the committed notebooks are regenerated with
``python tools/make_notebooks.py``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

#: Every notebook must run top to bottom within this many seconds (issue 6).
BUDGET_SECONDS = 60.0


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
