r"""Batch and layer normalization, with their backward passes derived step by step.

Both layers standardize a group of :math:`M` numbers :math:`x_1, \dots, x_M`
and then scale and shift them with trainable :math:`\gamma, \beta`:

.. math::
    \mu = \frac1M \sum_k x_k, \quad
    \sigma^2 = \frac1M \sum_k (x_k - \mu)^2, \quad
    s = \sqrt{\sigma^2 + \epsilon}, \quad
    \hat x_k = \frac{x_k - \mu}{s}, \quad
    y_k = \gamma \hat x_k + \beta .

They differ only in what a group is: batch normalization standardizes one
feature (or channel) across the batch, layer normalization one sample across
its features.

Derivation of the backward pass of one group, with :math:`g_k = \partial L/\partial y_k`.

1. Parameters: :math:`\partial L/\partial\gamma = \sum_k g_k \hat x_k`,
   :math:`\partial L/\partial\beta = \sum_k g_k` (summed over every group that
   shares them).
2. :math:`\partial L/\partial \hat x_k = \gamma g_k`.
3. Every :math:`\hat x_k` depends on :math:`x_m` directly and through
   :math:`\mu` and :math:`s`.  With :math:`\partial\mu/\partial x_m = 1/M` and

   .. math::
       \frac{\partial \sigma^2}{\partial x_m}
           = \frac2M \sum_k (x_k - \mu)\Big(\delta_{km} - \frac1M\Big)
           = \frac2M (x_m - \mu)
       \;\Rightarrow\;
       \frac{\partial s}{\partial x_m} = \frac{1}{2s}\,\frac{\partial \sigma^2}{\partial x_m}
           = \frac{\hat x_m}{M}

   (the :math:`-1/M` term vanishes because :math:`\sum_k (x_k - \mu) = 0`), the
   quotient rule gives

   .. math::
       \frac{\partial \hat x_k}{\partial x_m}
           = \frac{\delta_{km} - 1/M}{s} - \frac{x_k - \mu}{s^2}\,\frac{\hat x_m}{M}
           = \frac{1}{M s}\big(M \delta_{km} - 1 - \hat x_k \hat x_m\big).

4. Chaining,

   .. math::
       \frac{\partial L}{\partial x_m} = \sum_k \gamma g_k \frac{\partial \hat x_k}{\partial x_m}
           = \frac{\gamma}{M s}\Big(M g_m - \sum_k g_k - \hat x_m \sum_k g_k \hat x_k\Big),

   the compact form: two sums per group and one element-wise pass, never the
   :math:`M \times M` Jacobian.  (For layer normalization :math:`\gamma` varies
   with :math:`k`; the same steps hold with :math:`g_k` replaced by
   :math:`\gamma_k g_k` and :math:`\gamma` dropped in front.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

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

    def _describe(self) -> str:
        return f"BatchNormalization {self.name!r}" if self.name else "BatchNormalization"

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
        self.M = x.size // x.shape[1]
        # batch statistics only when training an unfrozen layer (a frozen one runs as in inference)
        self.training = batch_statistics = training and self.trainable
        x_hat = self.output_array("x_hat", x.shape, training, x.dtype)
        if batch_statistics:
            mean = np.add.reduce(x, axis=axes) / self.M
            np.subtract(x, mean.reshape(per_feature), out=x_hat)  # x - mu, scaled to x_hat below
            squares = self.buffer("work", x.shape, x.dtype)
            np.square(x_hat, out=squares)
            variance = np.add.reduce(squares, axis=axes) / self.M  # biased: divide by M
            # running averages are state: updated in place, never by an optimizer
            for key, batch_value in (("moving_mean", mean), ("moving_variance", variance)):
                running = self.state[key]
                running *= self.momentum
                running += (1.0 - self.momentum) * batch_value
        else:
            variance = self.state["moving_variance"]
            np.subtract(x, self.state["moving_mean"].reshape(per_feature), out=x_hat)
        self.inv_std = 1.0 / np.sqrt(variance + self.epsilon)
        x_hat *= self.inv_std.reshape(per_feature)
        self.x_hat = x_hat
        y = self.output_array("y", x.shape, training, x.dtype)
        np.multiply(x_hat, self.params["gamma"].reshape(per_feature), out=y)
        y += self.params["beta"].reshape(per_feature)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        axes, per_feature = self._axes(grad_output)
        g, x_hat = grad_output, self.x_hat
        sum_g, sum_g_xhat = self.grads["beta"], self.grads["gamma"]
        np.add.reduce(g, axis=axes, out=sum_g)  # dbeta = sum g
        g_xhat = self.buffer("work", g.shape, g.dtype)
        np.multiply(g, x_hat, out=g_xhat)
        np.add.reduce(g_xhat, axis=axes, out=sum_g_xhat)  # dgamma = sum g x_hat
        scale = (self.params["gamma"] * self.inv_std).reshape(per_feature)  # gamma / s
        grad_input = self.buffer("dx", g.shape, g.dtype)
        if not self.training:
            return np.multiply(g, scale, out=grad_input)
        # (gamma / (M s)) (M g - sum g - x_hat sum g x_hat) = (gamma / s) (g - mean g - x_hat mean(g x_hat))
        np.multiply(x_hat, (sum_g_xhat / self.M).reshape(per_feature), out=grad_input)
        np.subtract(g, grad_input, out=grad_input)
        grad_input -= (sum_g / self.M).reshape(per_feature)
        grad_input *= scale
        return grad_input

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

    def _describe(self) -> str:
        return f"LayerNormalization {self.name!r}" if self.name else "LayerNormalization"

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
        d = x.shape[-1]
        x_hat = self.output_array("x_hat", x.shape, training, x.dtype)
        np.subtract(x, np.add.reduce(x, axis=-1, keepdims=True) / d, out=x_hat)  # x - mu
        squares = self.buffer("work", x.shape, x.dtype)
        np.square(x_hat, out=squares)
        variance = np.add.reduce(squares, axis=-1, keepdims=True) / d
        self.inv_std = 1.0 / np.sqrt(variance + self.epsilon)
        x_hat *= self.inv_std
        self.x_hat = x_hat
        y = self.output_array("y", x.shape, training, x.dtype)
        np.multiply(x_hat, self.params["gamma"], out=y)
        y += self.params["beta"]
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self._check(grad_output)
        g, x_hat = grad_output, self.x_hat
        d = g.shape[-1]
        leading = tuple(range(g.ndim - 1))
        np.add.reduce(g, axis=leading, out=self.grads["beta"])
        g_hat = self.buffer("work", g.shape, g.dtype)
        np.multiply(g, x_hat, out=g_hat)
        np.add.reduce(g_hat, axis=leading, out=self.grads["gamma"])
        np.multiply(g, self.params["gamma"], out=g_hat)  # g_hat = dL/dx_hat
        mean_g_hat = np.add.reduce(g_hat, axis=-1, keepdims=True) / d
        grad_input = self.buffer("dx", g.shape, g.dtype)
        np.multiply(g_hat, x_hat, out=grad_input)
        mean_g_hat_xhat = np.add.reduce(grad_input, axis=-1, keepdims=True) / d
        # (1/s) (g_hat - mean g_hat - x_hat mean(g_hat x_hat)), one sample per row
        np.multiply(x_hat, mean_g_hat_xhat, out=grad_input)
        np.subtract(g_hat, grad_input, out=grad_input)
        grad_input -= mean_g_hat
        grad_input *= self.inv_std
        return grad_input

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "epsilon": self.epsilon}
