"""Build the teaching notebooks' ``.ipynb`` files from their Jupytext sources, executed.

Each notebook in ``notebooks/`` is a pair of files with the same cells:

- ``NN_name.py``, the source, in Jupytext's percent format: ``# %%`` starts a code cell,
  ``# %% [markdown]`` a Markdown cell whose lines are commented with ``# ``.  Edit this one: it
  reads, diffs and reviews as plain Python.
- ``NN_name.ipynb``, the same cells with their outputs, committed so that the notebook reads
  well on a code host.  Its metadata names the pairing (``formats: ipynb,py:percent``), so
  Jupyter with Jupytext installed saves both files when either is edited there.

This script reads each ``.py``, executes it top to bottom with a fresh ``python3`` kernel (cwd
``notebooks/``, ``MPLBACKEND=Agg``, the repository root on ``PYTHONPATH``), drops the volatile
metadata (execution times, kernel ids; cell ids become ``cell-00``, ``cell-01``, ...) so that a
rebuild changes only what the run itself changes (rebuilding notebooks 1 and 8, now A2, reproduced them byte
for byte; 4 and 9 differ in how stdout is chunked and in Hypothesis' examples), and writes the
``.ipynb`` next to it:

    python tools/make_notebooks.py              # every notebook (about 30 seconds)
    python tools/make_notebooks.py 03 05        # the notebooks whose names start with 03 or 05
    python tools/make_notebooks.py --no-execute # write the cells only, without outputs
    python tools/make_notebooks.py --check      # only check that each .py and .ipynb have the same cells

``tests/test_notebooks.py`` fails when a pair's cells differ, and executes every ``.ipynb``.
Jupytext's own ``jupytext --sync notebooks/NN_name.py`` also copies the cells into the
``.ipynb`` (keeping the old outputs of unchanged cells), but does not execute them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"

PAIRING = {"formats": "ipynb,py:percent"}
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}


def sources() -> list[Path]:
    """The notebooks' Jupytext sources, ``notebooks/NN_name.py``, in order."""
    return sorted(NOTEBOOK_DIR.glob("*.py"))


def cells(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """What must agree between the two files of a pair: each cell's type and source."""
    return [(cell.cell_type, cell.source) for cell in nb.cells]


def build(source: Path) -> nbformat.NotebookNode:
    """The notebook of a percent-format ``.py``, without outputs, with stable metadata and cell ids."""
    nb = jupytext.read(source)
    metadata(nb)
    for i, cell in enumerate(nb.cells):  # jupytext draws random ids: they would change at every build
        cell["id"] = f"cell-{i:02d}"
    return nb


def metadata(nb: nbformat.NotebookNode) -> None:
    """Set the notebook metadata to the pairing, the kernel and the language, nothing run-specific."""
    nb.metadata = {
        "jupytext": dict(PAIRING),
        "kernelspec": dict(KERNELSPEC),
        "language_info": dict(LANGUAGE_INFO),
    }


def kernel_env() -> dict[str, str]:
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")  # small matrices: threads only add overhead (as in tests/test_notebooks.py)
    return env


def execute(nb: nbformat.NotebookNode, timeout: int = 60) -> float:
    """Run every cell in a fresh kernel, storing the outputs in ``nb``; return the seconds it took."""
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK_DIR)}}
    )
    start = time.perf_counter()
    client.execute(env=kernel_env())
    return time.perf_counter() - start


def clean(nb: nbformat.NotebookNode) -> None:
    """Drop execution timestamps and other per-run metadata."""
    metadata(nb)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # nbclient's timestamps; tags and the like stay
        for out in cell.get("outputs", []):
            if "metadata" in out:
                out["metadata"] = {k: v for k, v in out["metadata"].items() if k not in ("execution",)}


def check(source: Path) -> str | None:
    """Why ``source`` and its ``.ipynb`` are out of sync, or None when they have the same cells."""
    target = source.with_suffix(".ipynb")
    if not target.exists():
        return f"{target.name} is missing"
    want, have = cells(jupytext.read(source)), cells(nbformat.read(target, as_version=4))
    if want == have:
        return None
    if len(want) != len(have):
        return f"{source.name} has {len(want)} cells, {target.name} {len(have)}"
    differing = ", ".join(str(i + 1) for i, (a, b) in enumerate(zip(want, have, strict=True)) if a != b)
    return f"{source.name} and {target.name} differ in cell {differing} (counting from 1)"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("prefixes", nargs="*", help="only the notebooks whose names start with these")
    parser.add_argument("--no-execute", action="store_true", help="write the notebooks without outputs")
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; fail if a .py and its .ipynb have different cells",
    )
    args = parser.parse_args(argv)

    def wanted(path: Path) -> bool:
        return not args.prefixes or path.name.startswith(tuple(args.prefixes))

    chosen = [source for source in sources() if wanted(source)]
    orphans = [
        nb for nb in sorted(NOTEBOOK_DIR.glob("*.ipynb")) if wanted(nb) and not nb.with_suffix(".py").exists()
    ]
    if not chosen and not orphans:
        print(f"no notebook source in {NOTEBOOK_DIR} matches {args.prefixes}", file=sys.stderr)
        return 1
    status = 0
    for orphan in orphans:  # an .ipynb edited or added without Jupytext
        print(
            f"OUT OF SYNC: {orphan.name} has no Jupytext source; write it with"
            f" jupytext --set-formats ipynb,py:percent notebooks/{orphan.name}",
            file=sys.stderr,
        )
        status = 1
    for source in chosen:
        if args.check:
            problem = check(source)
            if problem:
                print(f"OUT OF SYNC: {problem}", file=sys.stderr)
                status = 1
            else:
                print(f"{source.name}: in sync")
            continue
        nb = build(source)
        took = float("nan")
        if not args.no_execute:
            try:
                took = execute(nb)
            except Exception as exc:  # report and go on with the next notebook
                print(f"FAILED {source.name}: {type(exc).__name__}: {exc}"[:4000], file=sys.stderr)
                status = 1
                continue
        clean(nb)
        out = source.with_suffix(".ipynb")
        nbformat.write(nb, out)
        print(f"{out.name}: {took:5.1f} s, {out.stat().st_size / 1024:6.0f} KiB")
    if args.check and status:
        print(
            "rebuild an .ipynb from its .py with: python tools/make_notebooks.py NN; write the .py of an .ipynb"
            " edited without Jupytext with: jupytext --to py:percent notebooks/NN_name.ipynb",
            file=sys.stderr,
        )
    return status


if __name__ == "__main__":
    raise SystemExit(main())
