"""docs/file-format.md stays true: its reader works, and it documents every field tinynet writes."""

import io
import re
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn
from tinynet.layers.normalization import BatchNormalization

from .helpers import (
    build_zip,
    edit_manifest,
    manifest_of,
    members,
    npy,
    replace_member,
    small_model,
    to_bytes,
)

SPEC = Path(__file__).resolve().parents[2] / "docs" / "file-format.md"


@pytest.fixture(scope="module")
def reader() -> dict:
    """The spec's reader and predict function, executed from the page itself."""
    text = SPEC.read_text(encoding="utf-8")
    section = text[text.index("## 11. A reader") :]
    namespace: dict = {}
    for block in re.findall(r"```python\n(.*?)```", section, re.S):
        exec(compile(block, str(SPEC), "exec"), namespace)
    return namespace


def test_the_spec_reader_reads_a_model_file(reader, tmp_path):
    model = small_model(epochs=1)
    model.save(tmp_path / "m.npz")
    manifest, arrays = reader["read_model_file"](tmp_path / "m.npz")
    assert manifest == manifest_of((tmp_path / "m.npz").read_bytes())
    np.testing.assert_array_equal(arrays["layers/00_dense/W"], model.layers[0].params["W"])
    np.testing.assert_array_equal(arrays["optimizer/02_dense_1/b/v"], model.optimizer.state["dense_1/b"]["v"])
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    np.testing.assert_allclose(reader["predict"](manifest, arrays, x), model.predict(x), rtol=1e-6, atol=1e-7)


def test_the_spec_reader_refuses_bad_files(reader):
    good = to_bytes(small_model())
    altered = replace_member(good, "layers/00_dense/b.npy", npy(np.ones(5, np.float32)))
    with pytest.raises(ValueError, match="checksum mismatch"):
        reader["read_model_file"](io.BytesIO(altered))
    entries = [(n, c) for n, c, _ in members(good)]
    with pytest.raises(ValueError, match="do not match"):
        reader["read_model_file"](io.BytesIO(build_zip([entries[0], *entries])))
    with pytest.raises(ValueError, match="pickle"):
        reader["read_model_file"](
            io.BytesIO(replace_member(good, "layers/00_dense/b.npy", npy(np.array([None, 1], dtype=object))))
        )


def _keys(value, found: set) -> set:
    if isinstance(value, dict):
        for key, child in value.items():
            found.add(key)
            _keys(child, found)
    elif isinstance(value, list):
        for child in value:
            _keys(child, found)
    return found


def test_the_spec_documents_every_field_tinynet_writes():
    tn.set_seed(0)
    model = tn.Sequential([tn.layers.Dense(4, input_dim=2), BatchNormalization(), tn.layers.Dense(1)])
    model.compile(loss="mse", optimizer="adam", metrics=["mae"])
    model.fit(np.ones((4, 2), np.float32), np.ones(4, np.float32), epochs=1, verbose=0)
    manifest = manifest_of(to_bytes(model))
    for entry in manifest["layers"]:  # layer configs belong to the layers, not to the format
        entry["config"] = {}
    for part in ("loss", "optimizer"):
        manifest["compile"][part]["config"] = {}
    for entry in manifest["training"]["optimizer_state"]:
        entry["slots"] = {}
    for entry in manifest["layers"]:
        entry["params"], entry["state"] = {}, {}
    text = SPEC.read_text(encoding="utf-8")
    undocumented = sorted(key for key in _keys(manifest, set()) if f"`{key}`" not in text)
    assert not undocumented, f"fields missing from docs/file-format.md: {undocumented}"


def test_the_spec_limits_are_the_code_limits():
    from tinynet import serialization as s

    text = SPEC.read_text(encoding="utf-8")
    assert s.MAX_MANIFEST_BYTES == 16 * 2**20 and "16 MiB of JSON (`MAX_MANIFEST_BYTES`)" in text
    assert f"{s.MAX_MEMBERS:,} (`MAX_MEMBERS`)" in text
    assert f"{s.MAX_MANIFEST_VALUES:,} JSON values (`MAX_MANIFEST_VALUES`)" in text
    assert f"holding at most {s.MAX_MANIFEST_VALUES:,} JSON values" in text
    assert f"{s.MAX_NAME_LENGTH} characters (`MAX_NAME_LENGTH`)" in text
    assert f"{s.MAX_NPY_HEADER} bytes (`MAX_NPY_HEADER`)" in text
    assert f"{s.MAX_NDIM} (`MAX_NDIM`)" in text
    assert f"{s.MAX_COMPRESSION_RATIO} (`MAX_COMPRESSION_RATIO`)" in text
    assert s.DEFAULT_MAX_BYTES == 8 * 2**30 and "8 GiB by default (`DEFAULT_MAX_BYTES`)" in text
    for dtype in s.ALLOWED_DTYPES:
        assert f"`{dtype}`" in text


def test_the_spec_lists_every_config_range():
    from tinynet.serialization._configs import _ranges

    text = SPEC.read_text(encoding="utf-8")
    section = text[text.index("### 5.4 Configuration values") : text.index("## 6. Checksums")]
    missing = sorted({key for _, key in _ranges() if f"`{key}`" not in section and f".{key}`" not in section})
    assert not missing, f"ranges missing from section 5.4: {missing}"


def test_the_spec_reader_reads_a_quantized_file_with_a_card(reader, tmp_path):
    tn.set_seed(0)
    model = tn.Sequential([tn.layers.Dense(4, input_dim=3, activation="tanh"), tn.layers.Dense(2)])
    model.build()
    quantized = tn.quantize(model)
    tn.save_model(quantized, tmp_path / "q.npz", card=tn.ModelCard(description="spec", data_name="d"))
    manifest, arrays = reader["read_model_file"](tmp_path / "q.npz")
    assert manifest["format_version"] == 6 and arrays["layers/00_dense/W"].dtype == np.int8
    assert "data" in manifest["packed"]  # a small model's buffer is embedded in the manifest
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    np.testing.assert_allclose(
        reader["predict"](manifest, arrays, x), quantized.predict(x), rtol=1e-6, atol=1e-7
    )
    for entry in manifest["layers"]:  # layer configs and parameter keys belong to the layers
        entry["config"], entry["params"], entry["state"] = {}, {}, {}
        entry["quantized"] = list(entry["quantized"].values())
    text = SPEC.read_text(encoding="utf-8")
    undocumented = sorted(key for key in _keys(manifest, set()) if f"`{key}`" not in text)
    assert not undocumented, f"fields missing from docs/file-format.md: {undocumented}"


def test_the_spec_reader_reads_a_stored_packed_buffer_and_refuses_bad_offsets(reader, tmp_path):
    tn.set_seed(1)
    model = tn.Sequential([tn.layers.Dense(90, input_dim=60, activation="relu"), tn.layers.Dense(3)])
    quantized = tn.quantize(model)  # 5,670 int8 weights: the buffer is stored as the array "packed"
    quantized.save(tmp_path / "q.npz")
    manifest, arrays = reader["read_model_file"](tmp_path / "q.npz")
    assert [entry["name"] for entry in manifest["arrays"]] == ["packed"]
    assert set(arrays) == {entry["name"] for entry in manifest["packed"]["arrays"]}
    x = np.random.default_rng(0).normal(size=(6, 60)).astype(np.float32)
    np.testing.assert_allclose(
        reader["predict"](manifest, arrays, x), quantized.predict(x), rtol=1e-5, atol=1e-6
    )
    moved = edit_manifest(to_bytes(quantized), lambda m: m["packed"]["arrays"][1].update(offset=5404))
    with pytest.raises(ValueError, match="wrong offset"):
        reader["read_model_file"](io.BytesIO(moved))
