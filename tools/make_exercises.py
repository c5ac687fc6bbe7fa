"""Build the student versions of the exercise notebooks from their teacher sources.

The teacher source of each exercise notebook is ``notebooks/exercises/NN_name.py``, in Jupytext's
percent format (see ``tools/make_notebooks.py``), with every solution marked the way nbgrader marks
it: the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines, in a cell whose metadata
holds ``nbgrader: {solution: true, ...}`` and the tag ``solution``.  A teacher who uses nbgrader can
take the source as it is (``jupytext --to ipynb``, then ``nbgrader generate_assignment``).

This script does what ``generate_assignment`` does to the code, without nbgrader: each marked
block becomes ``# YOUR CODE HERE`` and ``raise NotImplementedError`` at the marker's indentation,
and writes ``notebooks/exercises/student/NN_name.py`` and ``.ipynb`` (without outputs, stable cell
ids).  The student runs a check cell and reads ``not implemented`` until the stub is written.

    python tools/make_exercises.py           # write the student versions
    python tools/make_exercises.py --check   # only check that the committed ones are up to date
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIR = ROOT / "notebooks" / "exercises"
STUDENT_DIR = SOURCE_DIR / "student"

BEGIN = re.compile(r"^(\s*)### BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*### END SOLUTION\s*$")


class MarkerError(ValueError):
    """A ``### BEGIN SOLUTION`` without its ``### END SOLUTION``, or the other way round."""


def student_text(text: str, name: str = "source") -> str:
    """``text`` with every marked solution replaced by a stub that raises ``NotImplementedError``."""
    out: list[str] = []
    opened: int | None = None
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        begin = BEGIN.match(line)
        if begin:
            if opened is not None:
                raise MarkerError(
                    f"{name}, line {number}: BEGIN SOLUTION inside the block opened on line {opened}"
                )
            opened = number
            indent = begin.group(1)
            out.append(f"{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError\n")
        elif END.match(line):
            if opened is None:
                raise MarkerError(f"{name}, line {number}: END SOLUTION without a BEGIN SOLUTION")
            opened = None
        elif opened is None:
            out.append(line)
    if opened is not None:
        raise MarkerError(f"{name}, line {opened}: BEGIN SOLUTION is never closed by END SOLUTION")
    return "".join(out)


def sources() -> list[Path]:
    """The teacher sources, ``notebooks/exercises/NN_name.py``, in order."""
    return sorted(SOURCE_DIR.glob("[0-9][0-9]_*.py"))


def notebook_json(student_py: str) -> str:
    """The student ``.ipynb`` (as JSON text) of a student ``.py``: no outputs, stable ids and metadata."""
    import jupytext
    import nbformat

    nb = jupytext.reads(student_py, fmt="py:percent")
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python", "pygments_lexer": "ipython3"},
    }
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    return nbformat.writes(nb) + "\n"


def targets(source: Path) -> dict[Path, str]:
    """The student files of ``source`` and their contents."""
    text = student_text(source.read_text(encoding="utf-8"), source.name)
    py = STUDENT_DIR / source.name
    return {py: text, py.with_suffix(".ipynb"): notebook_json(text)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="write nothing; fail if a student file is stale")
    args = parser.parse_args(argv)
    status = 0
    for source in sources():
        try:
            files = targets(source)
        except MarkerError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
            continue
        for path, content in files.items():
            current = path.read_text(encoding="utf-8") if path.exists() else None
            if args.check:
                if current != content:
                    print(
                        f"OUT OF DATE: {path.relative_to(ROOT)}; rebuild with python tools/make_exercises.py",
                        file=sys.stderr,
                    )
                    status = 1
            elif current != content:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content, encoding="utf-8")
                print(f"wrote {path.relative_to(ROOT)}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
