r"""The embedding lookup and its backward pass, a scatter-add.

**Forward.** An embedding table :math:`E` (V, D) holds one row per token id. For integer ids
:math:`k_{n,t} \in \{0, \dots, V-1\}` the output is the row of each id:

.. math:: Y_{n,t,:} = E_{k_{n,t},:} .

It is the same as a Dense layer without bias applied to one-hot vectors,
:math:`Y = \mathrm{onehot}(k)\, E`, computed without forming the one-hot matrix.

**Backward.** :math:`E_{v,j}` appears in :math:`Y_{n,t,j}` for every position :math:`(n, t)` whose id
is :math:`v`, with derivative 1, so the chain rule sums over those positions:

.. math::

    \frac{\partial L}{\partial E_{v,j}} = \sum_{(n,t):\ k_{n,t} = v} G_{n,t,j}
    \quad\Rightarrow\quad dE = \mathrm{onehot}(k)^\top G .

A token that occurs several times in the batch gets the sum of the gradients of all its
occurrences (a scatter-*add*: assigning instead of adding would keep only one of them), and a row
whose id does not occur gets 0. The ids are integers, so the layer has no input gradient.

**Shapes.** ``ids`` any shape :math:`S` (e.g. (N, T)); ``E`` (V, D); ``Y`` and :math:`G` :math:`S + (D,)`.
"""

from __future__ import annotations

import numpy as np


def embedding_forward(ids: np.ndarray, E: np.ndarray, out=None) -> np.ndarray:
    r"""The lookup :math:`Y = E[k]`: ``ids`` (shape S, integers in [0, V)) -> (S..., D)."""
    return np.take(E, ids, axis=0, out=out)


def embedding_backward(ids: np.ndarray, grad_output: np.ndarray, dE: np.ndarray) -> np.ndarray:
    r"""The scatter-add :math:`dE = \mathrm{onehot}(k)^\top G`, written into ``dE`` (module docstring).

    ``np.add.at`` adds every row of :math:`G` to the row of its id, so repeated ids accumulate.

    Parameters
    ----------
    ids : ndarray of int, shape S
    grad_output : ndarray, shape S + (D,)
    dE : ndarray, shape (V, D)
        Overwritten with the gradient.
    """
    dE[...] = 0.0
    np.add.at(dE, ids.reshape(-1), grad_output.reshape(-1, dE.shape[1]))
    return dE
