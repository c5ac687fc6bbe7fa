"""Model cards: saved in the manifest (format version 3), validated on load, shown by tinynet inspect."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

import tinynet as tn
from tinynet import layers as L
from tinynet.serialization import ModelFileError, inspect_model_file, load_model

from ..serialization.helpers import edit_manifest, manifest_of


def model() -> tn.Sequential:
    tn.set_seed(0)
    m = tn.Sequential([L.Dense(3, input_dim=2, activation="relu"), L.Dense(1, activation="sigmoid")])
    m.compile(loss="binary_crossentropy", optimizer="adam")
    m.build()
    return m


def card() -> tn.ModelCard:
    x = np.arange(6.0).reshape(3, 2)
    return tn.ModelCard(
        description="Predicts onset of diabetes.\nNot for clinical use.",
        data_name="pima-indians-diabetes",
        data_sha256=tn.ModelCard.sha256_of(x),
        metrics={"test_accuracy": np.float32(0.75), "epochs": 100},
    )


def save(m, **kwargs) -> bytes:
    buffer = io.BytesIO()
    tn.save_model(m, buffer, **kwargs)
    return buffer.getvalue()


def test_card_roundtrip_by_argument_and_attribute():
    m = model()
    data = save(m, card=card())
    manifest = manifest_of(data)
    assert manifest["format_version"] == 3 and manifest["training"]["callbacks"] == []
    assert all(layer["quantized"] == {} for layer in manifest["layers"])
    loaded = load_model(io.BytesIO(data))
    c = loaded.card
    assert isinstance(c, tn.ModelCard) and c.description == card().description
    assert c.data_name == "pima-indians-diabetes" and c.data_sha256 == card().data_sha256
    assert c.metrics == {"test_accuracy": 0.75, "epochs": 100.0}
    assert c.tinynet_version == tn.__version__ and c.numpy_version == np.__version__
    assert not loaded.quantized
    # model.card is saved when no card= is given, and survives another round trip
    assert save(loaded) == data
    m.card = card()
    assert save(m) == data
    # a dict of the fields works too
    assert load_model(io.BytesIO(save(model(), card={"description": "d"}))).card.description == "d"
    # without a card, the file stays version 1 and load gives card None
    plain = load_model(io.BytesIO(save(model())))
    assert plain.card is None and manifest_of(save(model()))["format_version"] == 1


def test_sha256_of_depends_on_values_dtype_and_shape():
    x = np.arange(6.0).reshape(3, 2)
    digests = {
        tn.ModelCard.sha256_of(x),
        tn.ModelCard.sha256_of(x.reshape(2, 3)),
        tn.ModelCard.sha256_of(x.astype(np.float32)),
        tn.ModelCard.sha256_of(x + 1),
        tn.ModelCard.sha256_of(x, x),
    }
    assert len(digests) == 5
    assert tn.ModelCard.sha256_of(np.asfortranarray(x)) == tn.ModelCard.sha256_of(x)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"description": 3}, "card.description"),
        ({"description": "x" * 10_001}, "10,000"),
        ({"data_name": ""}, "card.data.name"),
        ({"data_sha256": "ab" * 32}, "card.data.name"),
        ({"data_name": "d", "data_sha256": "AB" * 32}, "lowercase hex"),
        ({"metrics": {"acc": float("nan")}}, "finite"),
        ({"metrics": {"acc": "high"}}, "finite number"),
        ({"metrics": {"acc": True}}, "finite number"),
        ({"metrics": {"": 1.0}}, "card.metrics"),
        ({"metrics": {f"m{i}": 1.0 for i in range(101)}}, "at most 100"),
    ],
)
def test_a_bad_card_is_refused_when_made(fields, message):
    with pytest.raises(ValueError, match=message):
        tn.ModelCard(**fields)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c.update(description=["x"]), "card.description"),
        (lambda c: c.update(extra=1), "card' must be an object with keys"),
        (lambda c: c.pop("numpy_version"), "card' must be an object with keys"),
        (lambda c: c.update(numpy_version=None), "card.numpy_version"),
        (lambda c: c.update(tinynet_version="v" * 65), "card.tinynet_version"),
        (lambda c: c["data"].update(sha256="0" * 63), "card.data.sha256"),
        (lambda c: c["data"].update(url="http://x"), "card.data"),
        (lambda c: c["metrics"].update(acc=None), "finite number"),
        (lambda c: c.update(metrics=[1.0]), "card.metrics"),
    ],
)
def test_a_bad_card_in_a_file_is_refused(edit, message):
    data = edit_manifest(save(model(), card=card()), lambda m: edit(m["card"]))
    with pytest.raises(ModelFileError, match=message):
        load_model(io.BytesIO(data))
    with pytest.raises(ModelFileError, match=message):
        inspect_model_file(io.BytesIO(data))


def test_card_needs_version_3():
    def older(m):
        m["format_version"] = 2

    with pytest.raises(ModelFileError, match="unexpected 'card'"):
        load_model(io.BytesIO(edit_manifest(save(model(), card=card()), older)))


def test_save_refuses_something_else_as_card():
    with pytest.raises(TypeError, match="ModelCard"):
        save(model(), card="a description")


def test_inspect_shows_the_card_escaped(tmp_path, capsys):
    from tinynet.cli import main

    path = tmp_path / "m.npz"
    tn.save_model(model(), path, card=tn.ModelCard(description="line one\x1b[31m red", metrics={"acc": 0.5}))
    info = inspect_model_file(path)
    assert info.card["description"] == "line one\x1b[31m red"
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Card        line one\\x1b[31m red" in out and "\x1b" not in out
    assert "Metrics: acc 0.5" in out
    assert main(["inspect", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["manifest"]["card"]["metrics"] == {"acc": 0.5}
