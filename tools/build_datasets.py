"""Convert the shared data sets into the compressed files bundled with tinynet.

The CSVs become ``.npz`` files of arrays; the two text corpora (``names.txt``,
``tinyshakespeare.txt``) are gzip-compressed byte for byte, with no timestamp or file name in the
gzip header, so that rebuilding gives identical files.

Run once from the repository root (the output is committed, so users never need the CSVs)::

    python tools/build_datasets.py [path/to/shared/data]

The CSVs are parsed with the standard library's :mod:`csv` and :class:`float`, which round every
decimal string to the nearest double, so the stored values are exactly those of the CSVs.
``tests/datasets/test_real.py`` re-reads the CSVs with :func:`numpy.loadtxt` (an independent
parser) and checks that the bundled arrays are bit-identical.
"""

from __future__ import annotations

import csv
import gzip
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = REPO_ROOT / "tinynet" / "datasets" / "data"
DEFAULT_SRC = REPO_ROOT.parent / "shared" / "data"

# name of the .npz -> (CSV file, class names in label order, dtype used to store the features)
DATASETS: dict[str, tuple[str, list[str], type]] = {
    "pima_diabetes": ("pima-indians-diabetes.csv", ["tested_negative", "tested_positive"], np.float64),
    "breast_cancer": ("breast_cancer.csv", ["malignant", "benign"], np.float64),
    # Pixels are integers 0..16: uint8 stores them exactly in an eighth of the space.
    "digits": ("digits.csv", [str(d) for d in range(10)], np.uint8),
    "iris": ("iris.csv", ["setosa", "versicolor", "virginica"], np.float64),
    "wine": ("wine.csv", ["cultivar_0", "cultivar_1", "cultivar_2"], np.float64),
}


# name of the .gz under tinynet/datasets/data -> the text file in the shared folder
TEXTS: dict[str, str] = {"names.txt.gz": "names.txt", "tinyshakespeare.txt.gz": "tinyshakespeare.txt"}


def compress_texts(src_dir: Path, out_dir: Path = OUT_DIR) -> None:
    """Write each text corpus, unchanged, as a reproducible gzip file into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, filename in TEXTS.items():
        raw = (src_dir / filename).read_bytes()
        raw.decode("ascii")  # the loaders decode ASCII: refuse anything else here, not at load time
        packed = gzip.compress(raw, compresslevel=9, mtime=0)
        if gzip.decompress(packed) != raw:
            raise ValueError(f"{filename}: gzip round trip changed the bytes")
        (out_dir / name).write_bytes(packed)
        print(f"{filename}: {len(raw)} bytes -> {len(packed)} bytes")


def convert(src_dir: Path, out_dir: Path = OUT_DIR) -> None:
    """Write one ``<name>.npz`` per data set into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, (filename, class_names, x_dtype) in DATASETS.items():
        with open(src_dir / filename, newline="") as f:
            header, *rows = list(csv.reader(f))
        if header[-1] != "target":
            raise ValueError(f"{filename}: the last column should be 'target', got {header[-1]!r}")
        values = np.array([[float(v) for v in row] for row in rows], dtype=np.float64)
        x, y = values[:, :-1], values[:, -1]
        x_stored = x.astype(x_dtype)
        # Refuse to write anything that would not give back exactly the CSV values.
        if not np.array_equal(x_stored.astype(np.float64), x):
            raise ValueError(f"{filename}: features do not fit {np.dtype(x_dtype)} exactly")
        y_int = y.astype(np.int64)
        if not np.array_equal(y_int, y) or y_int.min() < 0 or y_int.max() >= len(class_names):
            raise ValueError(f"{filename}: targets must be integers 0..{len(class_names) - 1}")
        np.savez_compressed(
            out_dir / f"{name}.npz",
            x=x_stored,
            y=y_int.astype(np.uint8),
            feature_names=np.array(header[:-1], dtype=str),
            class_names=np.array(class_names, dtype=str),
        )
        print(f"{name}: x {x.shape} -> {(out_dir / f'{name}.npz').stat().st_size} bytes")


if __name__ == "__main__":
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SRC
    convert(src)
    compress_texts(src)
