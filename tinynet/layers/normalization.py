r"""Batch and layer normalization: :math:`y = \gamma \hat x + \beta` with :math:`\hat x` a standardized group.

The standardization and its backward pass, derived step by step, are in
:mod:`tinynet.ops.normalization`; the two layers differ only in what a group
is (a feature across the batch, or a sample across its features).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .base import Layer, register_layer


@register_layer
class BatchNormalization(Layer):
    r"""Batch normalization (Ioffe and Szegedy, 2015) for (N, F) or (N, C, H, W) inputs.

    Each feature of an (N, F) batch, or each channel of an (N, C, H, W) batch,
    is one group of the module docstring: :math:`M = N` for (N, F) and
    :math:`M = N H W` for images (every pixel of every sample of the channel).

    Training: :math:`\mu, \sigma^2` are the batch's (the biased variance, dividing
    by :math:`M`), and the running averages move toward them,

    .. math::
        \mu_{\text{run}} \leftarrow m\, \mu_{\text{run}} + (1 - m)\, \mu, \qquad
        \sigma^2_{\text{run}} \leftarrow m\, \sigma^2_{\text{run}} + (1 - m)\, \sigma^2

    (momentum :math:`m`; :math:`\mu_{\text{run}}` starts at 0 and
    :math:`\sigma^2_{\text{run}}` at 1; the biased batch variance is used here
    too, as Keras does).  Backward is the compact form of the module docstring:

    .. math::
        \frac{\partial L}{\partial x} = \frac{\gamma}{M s}
            \Big(M g - \textstyle\sum g - \hat x \sum g \hat x\Big), \qquad
        \frac{\partial L}{\partial \gamma} = \textstyle\sum g \hat x, \qquad
        \frac{\partial L}{\partial \beta} = \textstyle\sum g,

    sums over the group's :math:`M` entries.

    Inference: the running averages replace the batch statistics; they are
    constants, so the layer is the affine map
    :math:`y = \gamma (x - \mu_{\text{run}})/s + \beta` with
    :math:`s = \sqrt{\sigma^2_{\text{run}} + \epsilon}` and backward
    :math:`\partial L/\partial x = \gamma g / s` (same :math:`\gamma, \beta` gradients).

    Shapes: ``x``, ``y``, ``x_hat`` (cache) and the gradients share the input's
    shape; ``gamma``, ``beta`` and the state ``moving_mean``,
    ``moving_variance`` are (F,) or (C,).  Cache: ``x_hat``, ``inv_std``
    :math:`= 1/s` per feature, and whether the last forward was in training mode.

    Frozen (``trainable=False``, as in Keras): the layer runs as in inference
    even while the model trains, normalizing with the running averages and
    leaving them unchanged, so that fine-tuning the layers above it does not
    disturb the statistics learned before.

    Parameters
    ----------
    momentum : float
        :math:`m` in [0, 1); 0.99 as Keras (PyTorch's ``momentum=0.1`` is :math:`1 - m`).
    epsilon : float
        :math:`\epsilon > 0`, added to the variance; 1e-3 as Keras (PyTorch: 1e-5).
    """

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, **kwargs) -> None:
        super().__init__(**kwargs)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"BatchNormalization momentum must be in [0, 1), got {momentum!r}")
        if not self.epsilon > 0.0:
            raise ValueError(f"BatchNormalization epsilon must be positive, got {epsilon!r}")

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) not in (1, 3):
            raise ValueError(
                f"{self._describe()} normalizes (batch, features) or (batch, channels, height, width) "
                f"inputs, but got samples of shape {tuple(input_shape)}"
            )
        return tuple(input_shape)

    def build(self, input_shape: tuple[int, ...]) -> None:
        super().build(input_shape)
        features = self.input_shape[0]
        self.add_param("gamma", "ones", (features,))
        self.add_param("beta", "zeros", (features,))
        self.state["moving_mean"] = np.zeros(features, dtype=self.dtype)
        self.state["moving_variance"] = np.ones(features, dtype=self.dtype)

    def _axes(self, x: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The reduced axes and the shape that broadcasts a per-feature vector against ``x``."""
        features = self.params["gamma"].shape[0]
        if x.ndim not in (2, 4) or x.shape[1] != features:
            raise ValueError(
                f"{self._describe()} was built for {features} features/channels on axis 1 of (batch, "
                f"features) or (batch, channels, height, width) inputs, but received {x.shape}"
            )
        if x.ndim == 2:
            return (0,), (1, features)
        return (0, 2, 3), (1, features, 1, 1)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        axes, per_feature = self._axes(x)
        # batch statistics only when training an unfrozen layer (a frozen one runs as in inference)
        batch_statistics = training and self.trainable
        self.training, x_hat = batch_statistics, self.output_array("x_hat", x.shape, training, x.dtype)
        if batch_statistics:
            self.x_hat, mean, variance, self.inv_std = ops.normalize_forward(x, axes, self.epsilon, out=x_hat)
            for key, batch_value in (("moving_mean", mean), ("moving_variance", variance)):
                running = self.state[key]  # state: updated in place, never by an optimizer
                running *= self.momentum
                running += (1.0 - self.momentum) * batch_value.reshape(-1)
        else:
            mean, variance = (self.state[k].reshape(per_feature) for k in ("moving_mean", "moving_variance"))
            self.x_hat, _, _, self.inv_std = ops.normalize_forward(
                x, axes, self.epsilon, mean, variance, out=x_hat
            )
        y = np.multiply(
            self.x_hat,
            self.params["gamma"].reshape(per_feature),
            out=self.output_array("y", x.shape, training, x.dtype),
        )
        y += self.params["beta"].reshape(per_feature)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        axes, per_feature = self._axes(grad_output)
        g, x_hat, gamma = grad_output, self.x_hat, self.params["gamma"].reshape(per_feature)
        np.add.reduce(g, axis=axes, out=self.grads["beta"])  # dbeta = sum g
        np.add.reduce(g * x_hat, axis=axes, out=self.grads["gamma"])  # dgamma = sum g x_hat
        g_hat = np.multiply(g, gamma, out=self.buffer("dx", g.shape, g.dtype))  # dL/dx_hat
        if not self.training:  # the statistics are constants: the affine map gamma (x - mu) / s
            return np.multiply(g_hat, self.inv_std, out=g_hat)
        return ops.normalize_backward(g_hat, x_hat, self.inv_std, axes, out=g_hat)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon}


@register_layer
class LayerNormalization(Layer):
    r"""Layer normalization (Ba, Kiros and Hinton, 2016) over the last axis.

    Each sample's :math:`D` features (the last axis; any leading axes act as
    batch axes) form one group of the module docstring, :math:`M = D`, and
    :math:`\gamma, \beta` are per feature:

    .. math:: y_{nk} = \gamma_k \hat x_{nk} + \beta_k .

    The statistics are the sample's own, so training and inference agree and
    there is no state.  Backward, with :math:`\hat g_k = \gamma_k g_k` the
    gradient reaching :math:`\hat x_k` (step 2 of the module docstring) and
    steps 3-4 applied per sample:

    .. math::
        \frac{\partial L}{\partial x_{nm}} = \frac{1}{s_n}\Big(\hat g_{nm}
            - \frac1D \sum_k \hat g_{nk} - \hat x_{nm} \frac1D \sum_k \hat g_{nk} \hat x_{nk}\Big),
        \qquad
        \frac{\partial L}{\partial \gamma_k} = \sum_n g_{nk} \hat x_{nk}, \qquad
        \frac{\partial L}{\partial \beta_k} = \sum_n g_{nk}.

    Shapes: ``x``, ``y``, ``x_hat`` (cache) and the gradients (N, ..., D);
    ``gamma``, ``beta`` (D,); cache ``inv_std`` :math:`= 1/s` (N, ..., 1).

    Parameters
    ----------
    epsilon : float
        :math:`\epsilon > 0`, added to each sample's variance; 1e-3 as Keras (PyTorch: 1e-5).
    """

    def __init__(self, epsilon: float = 1e-3, **kwargs) -> None:
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)
        if not self.epsilon > 0.0:
            raise ValueError(f"LayerNormalization epsilon must be positive, got {epsilon!r}")

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) < 1:
            raise ValueError(f"{self._describe()} needs inputs with a feature axis, got samples of shape ()")
        return tuple(input_shape)

    def build(self, input_shape: tuple[int, ...]) -> None:
        super().build(input_shape)
        features = self.input_shape[-1]
        self.add_param("gamma", "ones", (features,))
        self.add_param("beta", "zeros", (features,))

    def _check(self, x: np.ndarray) -> None:
        features = self.params["gamma"].shape[0]
        if x.ndim < 2 or x.shape[-1] != features:
            raise ValueError(
                f"{self._describe()} was built for {features} features on the last axis of a batch "
                f"(batch, ..., {features}), but received {x.shape}"
            )

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._check(x)
        x_hat = self.output_array("x_hat", x.shape, training, x.dtype)
        self.x_hat, _, _, self.inv_std = ops.normalize_forward(x, (x.ndim - 1,), self.epsilon, out=x_hat)
        y = np.multiply(
            self.x_hat, self.params["gamma"], out=self.output_array("y", x.shape, training, x.dtype)
        )
        y += self.params["beta"]
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self._check(grad_output)
        g, x_hat, leading = grad_output, self.x_hat, tuple(range(grad_output.ndim - 1))
        np.add.reduce(g, axis=leading, out=self.grads["beta"])  # dbeta = sum g
        np.add.reduce(g * x_hat, axis=leading, out=self.grads["gamma"])  # dgamma = sum g x_hat
        g_hat = np.multiply(g, self.params["gamma"], out=self.buffer("dx", g.shape, g.dtype))  # dL/dx_hat
        return ops.normalize_backward(g_hat, x_hat, self.inv_std, (g.ndim - 1,), out=g_hat)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "epsilon": self.epsilon}
