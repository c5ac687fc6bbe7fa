"""Verify gradients in your own tests: assertions for custom layers, losses, models and courses.

The gradient checks tinynet runs on itself, as assertions with readable failures:

:func:`assert_layer_gradients`
    A layer's input and parameter gradients against float64 central differences.
:func:`assert_loss_gradients`
    A loss's ``backward()`` against central differences of its ``forward``.
:func:`assert_model_gradients`
    Every parameter gradient of a compiled model against central differences of its loss.
:func:`assert_same_as`
    Two implementations of a layer (a student's and a reference) agree: outputs and all gradients.

On failure each raises an :class:`AssertionError` whose message is a table (each
array, its error, the worst element) followed by hints when the pattern suggests
a classic mistake (see :mod:`tinynet.testing.hints`).

:mod:`tinynet.testing.strategies` holds Hypothesis strategies for suitable inputs;
it is imported on its own (``from tinynet.testing.strategies import arrays``) and
only it needs Hypothesis.  This package imports neither Hypothesis nor pytest.

Example
-------
>>> import numpy as np
>>> import tinynet as tn
>>> from tinynet.testing import assert_layer_gradients
>>> x = np.random.default_rng(0).normal(size=(4, 3))
>>> errors = assert_layer_gradients(tn.layers.Dense(2, activation="tanh"), x)
>>> max(errors.values()) < 1e-6
True
"""

from .assertions import assert_layer_gradients, assert_loss_gradients, assert_model_gradients, assert_same_as
from .hints import KINDS, Context, Hint, diagnose

__all__ = [
    "KINDS",
    "Context",
    "Hint",
    "assert_layer_gradients",
    "assert_loss_gradients",
    "assert_model_gradients",
    "assert_same_as",
    "diagnose",
]
