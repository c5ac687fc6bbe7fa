r"""Merging several tensors into one: sum, element-wise product, concatenation, and their backward passes.

A merge takes :math:`k` inputs :math:`X^{(1)}, \dots, X^{(k)}` (the same batch size) and returns one
output :math:`Y`; its backward pass returns one gradient per input, each of that input's shape.

**Sum.** :math:`Y = \sum_i X^{(i)}` (equal shapes). Every input enters with coefficient 1, so
:math:`\partial Y/\partial X^{(i)} = I` and

.. math::

    \frac{\partial L}{\partial X^{(i)}} = G \qquad\text{for every } i,

the upstream gradient :math:`G` handed unchanged to each input: the sum *copies* the gradient. (A residual
block :math:`Y = X + F(X)` is why deep networks train: the identity branch carries :math:`G` down unchanged.)

**Product.** :math:`Y = \prod_i X^{(i)}` element-wise (equal shapes). Element :math:`Y_m` depends on
:math:`X^{(i)}_m` only, through the product of the other factors:

.. math::

    \frac{\partial L}{\partial X^{(i)}} = G \odot \prod_{j \ne i} X^{(j)} .

The product of the others is formed directly, never as :math:`Y / X^{(i)}`, which fails at zeros.

**Concatenation** along an axis: :math:`Y` is the inputs laid side by side; element :math:`m` of
:math:`X^{(i)}` *is* an element of :math:`Y`, so its gradient is the matching element of :math:`G`:

.. math::

    \frac{\partial L}{\partial X^{(i)}} = G[\ldots, o_i : o_i + d_i, \ldots],

the slice of :math:`G` at input :math:`i`'s offset :math:`o_i = \sum_{j<i} d_j` and width :math:`d_i` along the axis.

**Shapes.** Every input :math:`(N, \ldots)`; sum and product: equal shapes, :math:`Y` the same; concatenation:
equal shapes except along ``axis``, where :math:`Y` has the sum of the widths.
"""

from __future__ import annotations

import numpy as np


def add(xs: list[np.ndarray], out: np.ndarray | None = None) -> np.ndarray:
    r""":math:`Y = \sum_i X^{(i)}` of equal-shaped arrays (into ``out`` when given)."""
    out = np.add(xs[0], xs[1], out=out)  # a merge has at least two inputs
    for x in xs[2:]:
        np.add(out, x, out=out)
    return out


def add_backward(grad_output: np.ndarray, n_inputs: int) -> list[np.ndarray]:
    r"""One gradient per input, each :math:`G` itself (the same array, not a copy: read it, do not write it)."""
    return [grad_output] * n_inputs


def multiply(xs: list[np.ndarray], out: np.ndarray | None = None) -> np.ndarray:
    r""":math:`Y = \prod_i X^{(i)}` element-wise, of equal-shaped arrays (into ``out`` when given)."""
    out = np.multiply(xs[0], xs[1], out=out)
    for x in xs[2:]:
        np.multiply(out, x, out=out)
    return out


def multiply_backward(
    grad_output: np.ndarray, xs: list[np.ndarray], outs: list[np.ndarray] | None = None
) -> list[np.ndarray]:
    r""":math:`\partial L/\partial X^{(i)} = G \odot \prod_{j \ne i} X^{(j)}` for every input (into ``outs``)."""
    grads = []
    for i in range(len(xs)):
        others = [x for j, x in enumerate(xs) if j != i]
        g = np.multiply(grad_output, others[0], out=None if outs is None else outs[i])
        for x in others[1:]:
            np.multiply(g, x, out=g)
        grads.append(g)
    return grads


def concatenate(xs: list[np.ndarray], axis: int, out: np.ndarray | None = None) -> np.ndarray:
    """The inputs side by side along ``axis`` (an axis of the batch arrays, ``-1`` the last)."""
    return np.concatenate(xs, axis=axis, out=out)


def concatenate_backward(grad_output: np.ndarray, widths: list[int], axis: int) -> list[np.ndarray]:
    r"""The slices :math:`G[\ldots, o_i : o_i + d_i, \ldots]` of ``widths`` :math:`d_i` along ``axis`` (views of :math:`G`)."""
    axis = axis % grad_output.ndim
    grads, offset = [], 0
    for d in widths:
        index = (slice(None),) * axis + (slice(offset, offset + d),)
        grads.append(grad_output[index])
        offset += d
    return grads
