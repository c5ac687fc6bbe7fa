"""scikit-learn estimators around a tinynet model: :class:`KerasClassifier` and :class:`KerasRegressor`.

They follow the convention of scikeras (the wrappers Keras users know): ``model`` is a
function that builds (and may compile) a :class:`~tinynet.Sequential`, or a model itself;
the training settings (``epochs``, ``batch_size``, ``verbose``, ...) are estimator
parameters, so that ``cross_val_score``, ``GridSearchCV``, ``Pipeline`` and ``clone`` work::

    from sklearn.model_selection import GridSearchCV
    from tinynet.wrappers import KerasClassifier

    def build(units=8, meta=None):
        return tn.Sequential([tn.layers.Dense(units, input_dim=meta["n_features_in_"], activation="relu"),
                              tn.layers.Dense(meta["n_classes_"], activation="softmax")])

    clf = KerasClassifier(build, epochs=50, random_state=0)
    GridSearchCV(clf, {"model__units": [8, 16]}, cv=3).fit(x, y)

Parameters of the build function are estimator parameters spelled ``model__name``.  A build
function that takes a ``meta`` argument receives what ``fit`` learned from the data:
``n_features_in_``, ``feature_shape_`` (one sample's shape), ``n_outputs_`` and, for a
classifier, ``classes_`` and ``n_classes_``.

This module needs scikit-learn (``pip install "tinynet[sklearn]"``); ``import tinynet``
never imports it.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from . import _config, losses
from ._frames import to_frame
from .models import Sequential

__all__ = ["KerasClassifier", "KerasRegressor"]

_PREFIX = "model__"


@contextlib.contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    """Run with tinynet's generator seeded by ``seed``, then put the caller's generator back.

    ``random_state`` fixes the weights and the shuffling of one fit without changing the
    random stream of the code around it (``None`` leaves the global generator in use).
    """
    if seed is None:
        yield
        return
    saved = _config._state["rng"]
    _config._state["rng"] = np.random.default_rng(seed)
    try:
        yield
    finally:
        _config._state["rng"] = saved


class _KerasWrapper(BaseEstimator):
    """What the classifier and the regressor share: parameters, building, fitting."""

    _default_loss = "mse"

    def __init__(
        self,
        model: Callable[..., Sequential] | Sequential | None = None,
        *,
        optimizer: Any = "adam",
        loss: Any = None,
        metrics: Sequence[Any] | None = None,
        epochs: int = 1,
        batch_size: int = 32,
        verbose: int = 0,
        validation_split: float = 0.0,
        shuffle: bool = True,
        callbacks: Sequence[Any] | None = None,
        random_state: int | None = None,
        **model_params: Any,
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.epochs = epochs
        self.batch_size = batch_size
        self.verbose = verbose
        self.validation_split = validation_split
        self.shuffle = shuffle
        self.callbacks = callbacks
        self.random_state = random_state
        # checked by fit, not here: scikit-learn's convention is that __init__ only stores
        for key, value in model_params.items():
            setattr(self, key, value)

    # ------------------------------------------------------------------ parameters
    def _model_params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k.startswith(_PREFIX)}

    def _check_params(self) -> None:
        names = set(inspect.signature(_KerasWrapper.__init__).parameters)
        for key in vars(self):
            if not (key in names or key.startswith(_PREFIX) or key.startswith("_") or key.endswith("_")):
                raise TypeError(
                    f"{type(self).__name__} got an unexpected argument {key!r}; arguments of the "
                    f"build function are spelled {_PREFIX}name (e.g. {_PREFIX}{key})"
                )

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The estimator's parameters, the ``model__*`` ones included (scikit-learn's API)."""
        return {**super().get_params(deep=False), **self._model_params()}

    def set_params(self, **params: Any) -> _KerasWrapper:
        """Set parameters, ``model__*`` ones included (scikit-learn's API); returns ``self``."""
        own = {k: params.pop(k) for k in list(params) if k.startswith(_PREFIX)}
        for key, value in own.items():
            setattr(self, key, value)
        super().set_params(**params)
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = self.random_state is None
        return tags

    # ------------------------------------------------------------------ building
    def _meta(self) -> dict[str, Any]:
        return {
            "n_features_in_": self.n_features_in_,
            "feature_shape_": self.feature_shape_,
            "n_outputs_": self.n_outputs_,
        }

    def _build(self) -> Sequential:
        if self.model is None:
            raise ValueError(
                f"{type(self).__name__} needs model=: a function that returns a tinynet.Sequential "
                "(or a Sequential itself)"
            )
        if isinstance(self.model, Sequential):
            if self._model_params():
                raise ValueError(f"{_PREFIX}* parameters need model= to be a build function, not a model")
            model = copy.deepcopy(self.model)  # the parameter stays as given: refits start from it
        elif callable(self.model):
            kwargs = {k[len(_PREFIX) :]: v for k, v in self._model_params().items()}
            if "meta" in inspect.signature(self.model).parameters:
                kwargs["meta"] = self._meta()
            model = self.model(**kwargs)
            if not isinstance(model, Sequential):
                raise TypeError(
                    f"the build function must return a tinynet.Sequential, got {type(model).__name__}"
                )
        else:
            raise TypeError(
                f"model= must be a build function or a tinynet.Sequential, got {type(self.model).__name__}"
            )
        if not model.built:
            model.build(self.feature_shape_)
        if model.loss is None:
            model.compile(
                loss=self.loss or self._compile_loss(model), optimizer=self.optimizer, metrics=self.metrics
            )
        return model

    def _compile_loss(self, model: Sequential) -> str:
        return self._default_loss

    # ------------------------------------------------------------------ fitting
    def _check_xy(self, x: Any, y: Any, regression: bool) -> tuple[np.ndarray, np.ndarray]:
        self._check_params()
        x, y = validate_data(
            self,
            x,
            y,
            allow_nd=True,
            dtype=[np.float64, np.float32],
            multi_output=regression,
            y_numeric=regression,
        )
        self.feature_shape_ = tuple(x.shape[1:])
        return x, y

    def _check_x(self, x: Any) -> np.ndarray:
        arr = validate_data(self, x, reset=False, allow_nd=True, dtype=[np.float64, np.float32])
        if tuple(arr.shape[1:]) != self.feature_shape_:
            raise ValueError(
                f"X has samples of shape {arr.shape[1:]}; fit saw samples of shape {self.feature_shape_}"
            )
        return arr

    def _fit(self, x: np.ndarray, target: Callable[[Sequential], np.ndarray], sample_weight: Any) -> None:
        """Build the model and train it on ``(x, target(model))`` (the targets depend on its loss)."""
        if sample_weight is not None:
            sample_weight = column_or_1d(np.asarray(sample_weight, dtype=float))
            if len(sample_weight) != len(x):
                raise ValueError(f"sample_weight has {len(sample_weight)} entries for {len(x)} samples")
            if not np.all(np.isfinite(sample_weight)) or np.any(sample_weight < 0):
                raise ValueError("sample_weight must be finite and >= 0")
            if not sample_weight.sum() > 0:
                raise ValueError("sample_weight is zero for every sample: nothing to fit")
        with _seeded(self.random_state):
            model = self._build()
            self._check_model(model)
            model.fit(
                x,
                target(model),
                epochs=self.epochs,
                batch_size=self.batch_size,
                verbose=self.verbose,
                validation_split=self.validation_split,
                shuffle=self.shuffle,
                callbacks=None if self.callbacks is None else list(self.callbacks),
                sample_weight=sample_weight,
            )
        self.model_ = model
        self.history_ = model.history.history if model.history is not None else {}

    def _check_model(self, model: Sequential) -> None:
        """Reject a model that cannot fit these targets, before any training."""

    def _raw_predict(self, x: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.model_.predict(self._check_x(x))


class KerasClassifier(ClassifierMixin, _KerasWrapper):
    """A scikit-learn classifier around a tinynet model (scikeras' ``KerasClassifier`` convention).

    Labels of any kind (strings, integers) are encoded as ``0 .. K-1`` in the order of
    ``classes_``.  The model's last layer gives the probabilities: one sigmoid unit for
    two classes, or K softmax units.  An uncompiled model is compiled with ``loss`` (by
    default ``"binary_crossentropy"`` for one output unit, ``"sparse_categorical_crossentropy"``
    for more) and ``optimizer``.

    Parameters
    ----------
    model : callable or Sequential
        A function returning a :class:`~tinynet.Sequential` (its arguments are the
        ``model__*`` parameters, and ``meta`` if it takes one), or a model (copied at each fit).
    optimizer, loss, metrics
        Passed to ``compile`` when the built model is not compiled.
    epochs, batch_size, verbose, validation_split, shuffle, callbacks
        Passed to :meth:`tinynet.Sequential.fit`.
    random_state : int, optional
        Seeds the weights, the shuffling and dropout of each fit (and restores the global
        generator afterwards); ``None`` draws from tinynet's generator.
    **model_params
        ``model__name=value``: arguments of the build function, tunable by ``GridSearchCV``.

    Attributes
    ----------
    model_ : Sequential
        The trained model.
    classes_ : ndarray
        The class labels seen by ``fit``, sorted.
    n_features_in_, feature_names_in_, feature_shape_, history_
        The number of features (and their names for a DataFrame), one sample's shape,
        and the training history (``{"loss": [...], ...}``).
    """

    def _meta(self) -> dict[str, Any]:
        return {**super()._meta(), "classes_": self.classes_, "n_classes_": len(self.classes_)}

    def _compile_loss(self, model: Sequential) -> str:
        return (
            "binary_crossentropy"
            if tuple(model.output_shape or ()) == (1,)
            else "sparse_categorical_crossentropy"
        )

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> KerasClassifier:
        """Encode the labels, build the model and train it; returns ``self``."""
        x, y = self._check_xy(X, y, regression=False)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if type_of_target(y) not in ("binary", "multiclass"):
            raise ValueError(f"KerasClassifier handles binary and multiclass labels, got {type_of_target(y)}")
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"the classifier needs samples of at least 2 classes, got the one class {self.classes_[0]!r}"
            )
        self.n_outputs_ = 1 if len(self.classes_) == 2 else len(self.classes_)
        labels = encoder.transform(y)

        def target(model: Sequential) -> np.ndarray:
            if isinstance(model.loss, losses.SparseCategoricalCrossentropy):
                return labels
            if isinstance(model.loss, losses.CategoricalCrossentropy):
                return np.eye(len(self.classes_))[labels]
            return labels.astype(np.float64)

        self._fit(x, target, sample_weight)
        return self

    def _check_model(self, model: Sequential) -> None:
        out = tuple(model.output_shape)
        k = len(self.classes_)
        if out not in ((1,), (k,)) or (out == (1,) and k > 2):
            raise ValueError(
                f"the model's output shape {out} does not fit {k} classes: use Dense(1, activation='sigmoid') "
                f"for two classes or Dense({k}, activation='softmax')"
            )

    def predict_proba(self, X: Any, *, as_frame: bool = False) -> Any:
        """Class probabilities, shape (N, n_classes), columns in the order of ``classes_``.

        With ``as_frame=True`` and a pandas DataFrame ``X``, a DataFrame with ``X``'s index
        and the classes as columns.
        """
        p = self._raw_predict(X).astype(np.float64)
        p = p.reshape(p.shape[0], -1)
        if p.shape[1] == 1:
            p = np.hstack([1.0 - p, p])
        return to_frame(X, p, columns=list(self.classes_)) if as_frame else p

    def predict(self, X: Any, *, as_frame: bool = False) -> Any:
        """The most probable class of each sample, shape (N,) (a Series with ``X``'s index if ``as_frame``)."""
        proba = self.predict_proba(X)
        labels = self.classes_[np.argmax(proba, axis=1)]
        return to_frame(X, labels) if as_frame else labels


class KerasRegressor(RegressorMixin, _KerasWrapper):
    """A scikit-learn regressor around a tinynet model (scikeras' ``KerasRegressor`` convention).

    The parameters are those of :class:`KerasClassifier`; an uncompiled model is compiled
    with ``loss`` (default ``"mse"``).  ``predict`` returns shape (N,) when ``y`` was 1-D
    in ``fit``, else (N, outputs); ``score`` is :math:`R^2`.
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> KerasRegressor:
        """Build the model and train it on ``(X, y)``; returns ``self``."""
        x, y = self._check_xy(X, y, regression=True)
        y = np.asarray(y, dtype=np.float64)
        self._y_ndim = y.ndim
        self.n_outputs_ = 1 if y.ndim == 1 else int(np.prod(y.shape[1:]))
        self._fit(x, lambda model: y, sample_weight)
        return self

    def predict(self, X: Any, *, as_frame: bool = False) -> Any:
        """Predictions, shape (N,) or (N, outputs) (with ``X``'s index if ``as_frame``)."""
        y = self._raw_predict(X).astype(np.float64)
        if self._y_ndim == 1 and y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        return to_frame(X, y) if as_frame else y
