"""The assertions pass on every built-in layer, every built-in loss and compiled models.

The layers come from ``tinynet.layers.LAYER_REGISTRY``: :data:`LAYER_CASES` gives, per
registered name, constructor arguments and input shapes.  A name in the table that is not
registered (yet) is skipped; a built-in layer in the registry that the table does not know
fails :func:`test_every_registered_builtin_layer_has_a_case`, so a new layer cannot be
forgotten.  To add one, append ``Case(kwargs, input_shape)`` entries under its name.
"""

import importlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import tinynet as tn
from tinynet.layers import LAYER_REGISTRY
from tinynet.testing import assert_layer_gradients, assert_loss_gradients, assert_model_gradients

# Layer modules written alongside this one; imported when present so their layers register.
for _module in ("conv", "pooling", "normalization", "reshape"):
    try:
        importlib.import_module(f"tinynet.layers.{_module}")
    except ImportError:
        pass


@dataclass
class Case:
    """One construction of a layer and the shape of a batch to check it on."""

    kwargs: dict[str, Any]
    shape: tuple[int, ...]
    training: bool = True
    label: str = field(default="")

    def id(self, name: str) -> str:
        args = ",".join(f"{k}={v}" for k, v in self.kwargs.items())
        mode = "" if self.training else "-inference"
        return f"{name}({args}){list(self.shape)}{mode}{self.label}"


LAYER_CASES: dict[str, list[Case]] = {
    "Dense": [
        Case({"units": 3}, (4, 5)),
        Case({"units": 1, "activation": "tanh", "use_bias": False}, (1, 3)),
        Case({"units": 4, "activation": "softmax"}, (3, 2, 5)),
        Case({"units": 2, "activation": "relu"}, (5, 1)),
    ],
    "Activation": [Case({"activation": name}, (3, 4)) for name in sorted(tn.layers.ACTIVATIONS)],
    "Linear": [Case({}, (2, 3))],
    "ReLU": [Case({}, (3, 5)), Case({}, (1, 2, 3))],
    "LeakyReLU": [Case({"negative_slope": 0.2}, (3, 5))],
    "ELU": [Case({}, (3, 5)), Case({"alpha": 0.5}, (2, 2))],
    "Sigmoid": [Case({}, (3, 5))],
    "Tanh": [Case({}, (3, 5))],
    "Softmax": [Case({}, (3, 5)), Case({}, (1, 1)), Case({}, (2, 3, 4))],
    "Softplus": [Case({}, (3, 5))],
    "GELU": [Case({}, (3, 5))],
    "Dropout": [Case({"rate": 0.4}, (4, 5)), Case({"rate": 0.4}, (4, 5), training=False)],
    "Flatten": [Case({}, (2, 3, 4)), Case({}, (1, 2, 1, 3))],
    "Reshape": [Case({"target_shape": (4, 3)}, (2, 12)), Case({"target_shape": (-1,)}, (3, 2, 2))],
    "Conv2D": [
        Case({"filters": 2, "kernel_size": 3}, (2, 3, 5, 4)),
        Case(
            {"filters": 3, "kernel_size": (2, 3), "strides": 2, "padding": "same", "activation": "tanh"},
            (1, 2, 5, 6),
        ),
        Case({"filters": 1, "kernel_size": 1, "padding": 1, "use_bias": False}, (2, 1, 3, 3)),
    ],
    "MaxPool2D": [
        Case({"pool_size": 2}, (2, 2, 4, 5)),
        Case({"pool_size": (2, 3), "strides": 1}, (1, 3, 4, 5)),
    ],
    "AvgPool2D": [
        Case({"pool_size": 2}, (2, 2, 4, 5)),
        Case({"pool_size": (3, 2), "strides": (1, 2)}, (1, 1, 5, 4)),
    ],
    "GlobalAveragePooling2D": [Case({}, (2, 3, 4, 5))],
    "BatchNormalization": [
        Case({}, (4, 3)),
        Case({"momentum": 0.5}, (2, 3, 3, 2)),
        Case({}, (4, 3), training=False),
    ],
    "LayerNormalization": [Case({}, (3, 5)), Case({}, (2, 3, 4))],
    "MultiHeadAttention": [
        Case({"num_heads": 2, "key_dim": 3}, (2, 4, 5)),
        Case({"num_heads": 1, "key_dim": 2, "value_dim": 3, "causal": True}, (3, 3, 4)),
        Case({"num_heads": 2, "key_dim": 2, "dropout": 0.3, "use_bias": False}, (2, 4, 3)),
    ],
    "PositionalEmbedding": [Case({"sequence_length": 6}, (2, 4, 3))],
    "SinePositionEncoding": [Case({}, (2, 4, 6))],
    "SimpleRNN": [Case({"units": 3}, (2, 4, 3)), Case({"units": 2, "return_sequences": True}, (3, 2, 2))],
    "LSTM": [
        Case({"units": 3}, (2, 4, 3)),
        Case({"units": 2, "return_sequences": True, "use_bias": False}, (1, 3, 2)),
    ],
    "GRU": [Case({"units": 3}, (2, 4, 3)), Case({"units": 2, "return_sequences": True}, (3, 2, 2))],
    # Embedding's input is integer token ids, which take no gradient (backward returns None), so
    # the input-gradient assertion does not apply: its scatter-add is checked by central differences
    # in tests/layers/test_recurrent.py::test_embedding_scatter_add_matches_central_differences
    "Embedding": [],
}


#: Layers called on a list of tensors, which assert_layer_gradients (one input array) does not take:
#: their gradients are checked where named (float64, hypothesis shapes, random upstream gradient).
LIST_INPUT_LAYERS: dict[str, str] = {
    "Add": "tests/layers/test_merge.py",
    "Concatenate": "tests/layers/test_merge.py",
    "Multiply": "tests/layers/test_merge.py",
}


def builtin_layer_names() -> list[str]:
    return sorted(name for name, cls in LAYER_REGISTRY.items() if cls.__module__.startswith("tinynet.layers"))


def inputs(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Distinct values (no ties for max pooling), at least 0.1 away from 0 (the kink of ReLU)."""
    rng = np.random.default_rng([seed, 99])
    size = int(np.prod(shape))
    magnitude = 0.1 + 2.4 * (rng.permutation(size) + 0.5) / size
    sign = np.where(rng.permutation(size) % 2 == 0, 1.0, -1.0)
    return (magnitude * sign).reshape(shape)


def test_every_registered_builtin_layer_has_a_case():
    missing = [
        name for name in builtin_layer_names() if name not in LAYER_CASES and name not in LIST_INPUT_LAYERS
    ]
    assert not missing, f"add constructor arguments and input shapes for {missing} to LAYER_CASES"


def test_the_core_layers_are_registered():
    # the skips below are for layers not written yet, never for the core ones
    core = {"Dense", "Activation", "ReLU", "Sigmoid", "Tanh", "Softmax", "Dropout", "Flatten"}
    assert core <= set(LAYER_REGISTRY)


@pytest.mark.parametrize(
    ("name", "case"),
    [(name, case) for name, cases in LAYER_CASES.items() for case in cases],
    ids=[case.id(name) for name, cases in LAYER_CASES.items() for case in cases],
)
def test_layer_passes(name, case):
    if name not in LAYER_REGISTRY:
        pytest.skip(f"{name} is not registered in tinynet.layers.LAYER_REGISTRY (yet)")
    for seed in (0, 1):
        layer = LAYER_REGISTRY[name](**case.kwargs)
        errors = assert_layer_gradients(layer, inputs(case.shape, seed), training=case.training, seed=seed)
        assert "input" in errors and set(errors) == {"input", *layer.params}


# ---------------------------------------------------------------------------- losses
def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def loss_data(name: str, from_logits: bool, rng: np.random.Generator):
    """(y_true, y_pred) for a loss, away from its kinks and its clipping."""
    n, k = 5, 3
    if name == "mse":
        return rng.normal(size=(n, k)), rng.normal(size=(n, k))
    if name == "mae":
        y_true = rng.normal(size=(n, k))
        return y_true, y_true + inputs((n, k), int(rng.integers(100)))  # never y_pred = y_true
    if name == "binary_crossentropy":
        y_true = rng.uniform(size=(n, 1)).round()
        return y_true, rng.normal(size=(n, 1)) if from_logits else rng.uniform(0.05, 0.95, size=(n, 1))
    labels = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    y_pred = logits if from_logits else _softmax(logits)
    if name == "sparse_categorical_crossentropy":
        return labels, y_pred
    if name == "categorical_crossentropy":
        return np.eye(k)[labels], y_pred
    raise KeyError(name)


LOSS_CASES = [
    (name, from_logits)
    for name, cls in sorted(tn.losses.LOSSES.items())
    for from_logits in ((False, True) if cls.fusable_activation else (False,))
]


@pytest.mark.parametrize(("name", "from_logits"), LOSS_CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_passes(name, from_logits, weighted):
    rng = np.random.default_rng(4)
    try:
        y_true, y_pred = loss_data(name, from_logits, rng)
    except KeyError:
        pytest.fail(f"loss {name!r} has no data in loss_data(): add targets and predictions for it")
    loss = tn.losses.LOSSES[name](**({"from_logits": True} if from_logits else {}))
    weights = rng.uniform(0.5, 2.0, len(y_pred)) if weighted else None
    assert assert_loss_gradients(loss, y_true, y_pred, sample_weight=weights) < 1e-6


# ---------------------------------------------------------------------------- models
def _layer(name: str, **kwargs):
    if name not in LAYER_REGISTRY:
        pytest.skip(f"{name} is not registered (yet)")
    return LAYER_REGISTRY[name](**kwargs)


@dataclass
class ModelCase:
    """A compiled model to check; its layers are made lazily (some may not be registered yet)."""

    id: str
    layers: Any  # () -> list of layers
    loss: str
    optimizer: str
    x_shape: tuple[int, ...]
    targets: str  # "binary", "labels", "onehot" or "real"


def _dense(*args, **kwargs):
    return tn.layers.Dense(*args, **kwargs)


MODEL_CASES = [
    ModelCase(
        "tanh-dropout-sigmoid/bce/sgd",
        lambda: [
            _dense(5, input_dim=3, activation="tanh"),
            tn.layers.Dropout(0.3),
            _dense(2, activation="sigmoid"),
        ],
        "binary_crossentropy",
        "sgd",
        (4, 3),
        "binary",
    ),
    ModelCase(
        "gelu-softmax/sparse/adam",
        lambda: [_dense(4, input_dim=3, activation="gelu"), _dense(3, activation="softmax")],
        "sparse_categorical_crossentropy",
        "adam",
        (5, 3),
        "labels",
    ),
    ModelCase(
        "elu-softmax-layer/cce/adagrad",
        lambda: [_dense(4, input_dim=2, activation="elu"), _dense(3), tn.layers.Activation("softmax")],
        "categorical_crossentropy",
        "adagrad",
        (5, 2),
        "onehot",
    ),
    ModelCase(
        "softplus/mse/rmsprop",
        lambda: [_dense(3, input_dim=4, activation="softplus"), _dense(2)],
        "mse",
        "rmsprop",
        (1, 4),
        "real",
    ),
    ModelCase(
        "layernorm/mae/adamw",
        lambda: [_dense(4, input_dim=3), _layer("LayerNormalization"), _dense(2)],
        "mae",
        "adamw",
        (4, 3),
        "real",
    ),
    ModelCase(
        "batchnorm/mse/momentum",
        # no bias before batch normalization, which cancels it (see test_hints.py, round-off only)
        lambda: [
            _dense(4, input_dim=3, use_bias=False),
            _layer("BatchNormalization"),
            tn.layers.Tanh(),
            _dense(1),
        ],
        "mse",
        "momentum",
        (6, 3),
        "real",
    ),
    ModelCase(
        "conv-pool/cce/momentum",
        lambda: [
            _layer(
                "Conv2D", filters=2, kernel_size=3, padding="same", activation="tanh", input_shape=(1, 5, 4)
            ),
            _layer("MaxPool2D", pool_size=2),
            tn.layers.Flatten(),
            _dense(3, activation="softmax"),
        ],
        "categorical_crossentropy",
        "momentum",
        (2, 1, 5, 4),
        "onehot",
    ),
]


def targets(kind: str, n: int, k: int, rng: np.random.Generator):
    if kind == "binary":
        return rng.integers(0, 2, (n, k)).astype(float)
    if kind == "labels":
        return rng.integers(0, k, n)
    if kind == "onehot":
        return np.eye(k)[rng.integers(0, k, n)]
    return rng.normal(size=(n, k)) + 3.0  # far from the predictions: no kink of the absolute error


def compiled(build, loss, optimizer, seed=0):
    with tn.gradcheck.float64_defaults():
        tn.set_seed(seed)
        model = tn.Sequential(build())
        model.compile(loss=loss, optimizer=optimizer)
    return model


@pytest.mark.parametrize("case", MODEL_CASES, ids=[case.id for case in MODEL_CASES])
def test_model_passes(case):
    model = compiled(case.layers, case.loss, case.optimizer)
    rng = np.random.default_rng(8)
    x = inputs(case.x_shape, 3)
    model.build_for(x)
    y = targets(case.targets, case.x_shape[0], model.output_shape[-1], rng)
    errors = assert_model_gradients(model, x, y)
    assert set(errors) == set(model.named_params())


@pytest.mark.parametrize("optimizer", sorted(tn.optimizers.OPTIMIZERS))
def test_gradients_stay_right_after_the_optimizer_updates_the_flat_buffers(optimizer):
    model = compiled(
        lambda: [
            tn.layers.Dense(4, input_dim=3, activation="tanh"),
            tn.layers.Dense(2, activation="sigmoid"),
        ],
        "binary_crossentropy",
        optimizer,
    )
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(6, 3)), rng.integers(0, 2, (6, 2)).astype(float)
    for _ in range(3):
        model.train_step(x, y)
    assert_model_gradients(model, x, y)


def test_regularized_model_passes():
    if not hasattr(tn, "regularizers"):
        pytest.skip("tinynet.regularizers is not there (yet)")
    model = compiled(
        lambda: [
            tn.layers.Dense(3, input_dim=2, activation="tanh", kernel_regularizer="l2"),
            tn.layers.Dense(1),
        ],
        "mse",
        "sgd",
    )
    rng = np.random.default_rng(2)
    assert_model_gradients(model, rng.normal(size=(4, 2)), rng.normal(size=(4, 1)))
