"""A gallery of deliberately broken layers and losses: one classic mistake each.

Every class differs from a correct tinynet implementation in one line, marked
``# MISTAKE``; the tests assert that the gradient checks fail on each with the
expected hint (docs/teaching.md lists them).
"""

import numpy as np

from tinynet.layers import BatchNormalization, Dense, Layer, Sigmoid, Softmax, Tanh
from tinynet.losses import MeanSquaredError


class SignFlippedSigmoid(Sigmoid):
    """sigma'(x) = y (1 - y), written y (y - 1)."""

    def _backward(self, grad_output, out):
        np.multiply(grad_output, self.y * (self.y - 1.0), out=out)  # MISTAKE: sign


class TransposedDense(Dense):
    """dW = G^T X instead of X^T G (shapes agree only for a square W)."""

    def backward_preactivation(self, grad_z):
        grad_input = super().backward_preactivation(grad_z)
        self.grads["W"][...] = grad_z.T @ self.x  # MISTAKE: transposed
        return grad_input


class TransposedInputDense(Dense):
    """dX = W G^T instead of G W^T: the returned gradient has the transposed shape."""

    def backward_preactivation(self, grad_z):
        super().backward_preactivation(grad_z)
        return self.params["W"] @ grad_z.T  # MISTAKE: transposed


class BatchAveragedDense(Dense):
    """Divides the parameter gradients by the batch size, although the loss already averages."""

    def backward_preactivation(self, grad_z):
        grad_input = super().backward_preactivation(grad_z)
        n = len(self.x)
        self.grads["W"] /= n  # MISTAKE: extra 1/N
        self.grads["b"] /= n  # MISTAKE: extra 1/N
        return grad_input


class TanhWithFlatGradient(Tanh):
    """Returns the right values, flattened."""

    def backward(self, grad_output):
        return (grad_output * (1.0 - self.y**2)).reshape(-1)  # MISTAKE: shape lost


class Square(Layer):
    """y = x², with the derivative written x instead of 2x."""

    def forward(self, x, training=False):
        self.x = x
        return x * x

    def backward(self, grad_output):
        return grad_output * self.x  # MISTAKE: factor 2 missing


class Scale(Layer):
    """y = 3x, with the derivative written 5."""

    def forward(self, x, training=False):
        return 3.0 * x

    def backward(self, grad_output):
        return 5.0 * grad_output  # MISTAKE: a wrong constant


class TanhWithOutputAsDerivative(Tanh):
    """Multiplies G by tanh(x) (the forward value) instead of 1 - tanh(x)²."""

    def _backward(self, grad_output, out):
        np.multiply(grad_output, self.y, out=out)  # MISTAKE: f instead of f'


class TanhReturningOutput(Tanh):
    """Returns the forward output as the gradient."""

    def backward(self, grad_output):
        return self.y.copy()  # MISTAKE: the gradient is the forward output


class SigmoidWithoutUpstream(Sigmoid):
    """Returns the local derivative y (1 - y), not multiplied by G."""

    def _backward(self, grad_output, out):
        np.multiply(self.y, 1.0 - self.y, out=out)  # MISTAKE: chain rule, G forgotten


class TanhPassThrough(Tanh):
    """Passes G through: the local derivative 1 - y² is missing."""

    def _backward(self, grad_output, out):
        np.copyto(out, grad_output)  # MISTAKE: local derivative missing


class DenseWithoutBiasGradient(Dense):
    """Never fills grads["b"] (it stays at the zeros it was created with)."""

    def backward_preactivation(self, grad_z):
        self.grads["W"][...] = self.x.T @ grad_z
        # MISTAKE: self.grads["b"][...] = grad_z.sum(axis=0) is missing
        return grad_z @ self.params["W"].T


class RebindingDense(Dense):
    """Assigns new arrays to grads instead of writing into them."""

    def backward_preactivation(self, grad_z):
        self.grads["W"] = self.x.T @ grad_z  # MISTAKE: rebinds, detached from the model's buffer
        self.grads["b"] = grad_z.sum(axis=0)  # MISTAKE: rebinds
        return grad_z @ self.params["W"].T


class AccumulatingDense(Dense):
    """Adds to grads (+=) without resetting them: right once, wrong from the second call."""

    def backward_preactivation(self, grad_z):
        self.grads["W"] += self.x.T @ grad_z  # MISTAKE: accumulates across calls
        self.grads["b"][...] = grad_z.sum(axis=0)
        return grad_z @ self.params["W"].T


class DenseWithWeightsAsGradient(Dense):
    """Writes W into grads["W"]."""

    def backward_preactivation(self, grad_z):
        grad_input = super().backward_preactivation(grad_z)
        self.grads["W"][...] = self.params["W"]  # MISTAKE: the value, not the gradient
        return grad_input


class TanhReturningNone(Tanh):
    """Forgets to return the input gradient."""

    def backward(self, grad_output):
        super().backward(grad_output)  # MISTAKE: no return


class ReLUInPlace(Layer):
    """Zeroes the negative inputs in place: the caller's x is destroyed."""

    def forward(self, x, training=False):
        x[x < 0] = 0.0  # MISTAKE: modifies the input
        self.y = x
        return x

    def backward(self, grad_output):
        return grad_output * (self.y > 0)


class TanhModifyingGradOutput(Tanh):
    """Computes the input gradient in the caller's grad_output array."""

    def backward(self, grad_output):
        grad_output *= 1.0 - self.y**2  # MISTAKE: modifies grad_output in place
        return grad_output


class ReciprocalWithInfiniteDerivative(Layer):
    """y = 1/x, derivative written -1/(x - x)²."""

    def forward(self, x, training=False):
        self.x = x
        return 1.0 / x

    def backward(self, grad_output):
        with np.errstate(divide="ignore", invalid="ignore"):
            return -grad_output / (self.x - self.x) ** 2  # MISTAKE: divides by zero


class UnaveragedMSE(MeanSquaredError):
    """Gradient 2 (y - t) / D: the 1/N of the batch mean is missing."""

    def _grad(self, y_true, y_pred):
        return (y_pred - y_true) * (2.0 / self._elements_per_sample(y_pred))  # MISTAKE: no 1/N


class MSEWithoutTwo(MeanSquaredError):
    """Gradient (y - t)/(N D): the 2 of d(e²)/de is missing."""

    def _grad(self, y_true, y_pred):
        return (y_pred - y_true) / (self.n * self._elements_per_sample(y_pred))  # MISTAKE: no 2


class MSEWithFlippedSign(MeanSquaredError):
    """Gradient 2 (t - y)/(N D)."""

    def _grad(self, y_true, y_pred):
        return (y_true - y_pred) * (2.0 / (self.n * self._elements_per_sample(y_pred)))  # MISTAKE: sign


class MSEDividedByDTwice(MeanSquaredError):
    """Gradient 2 (y - t)/(N D²): the mean over a sample's D elements is applied twice."""

    def _grad(self, y_true, y_pred):
        d = self._elements_per_sample(y_pred)
        return (y_pred - y_true) * (2.0 / (self.n * d * d))  # MISTAKE: extra 1/D


class MSESummedOverFeatures(MeanSquaredError):
    """Gradient 2 (y - t)/N: the mean over the D elements of a sample is forgotten."""

    def _grad(self, y_true, y_pred):
        return (y_pred - y_true) * (2.0 / self.n)  # MISTAKE: no 1/D


class StudentDense(Layer):
    """A student's Dense, written from scratch against the layer protocol (correct)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        super().build(input_shape)
        self.add_param("W", "glorot_uniform", (input_shape[-1], self.units))
        self.add_param("b", "zeros", (self.units,))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def forward(self, x, training=False):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, grad_output):
        self.grads["W"][...] = self.x.T @ grad_output
        self.grads["b"][...] = grad_output.sum(axis=0)
        return grad_output @ self.params["W"].T


class StudentDenseForgetsBias(StudentDense):
    def forward(self, x, training=False):
        self.x = x
        return x @ self.params["W"]  # MISTAKE: + b forgotten


class StudentDenseSignError(StudentDense):
    def backward(self, grad_output):
        grad_input = super().backward(grad_output)
        return -grad_input  # MISTAKE: sign


class StudentDenseTransposedStorage(StudentDense):
    def build(self, input_shape):
        Layer.build(self, input_shape)
        self.add_param("W", "glorot_uniform", (self.units, input_shape[-1]))  # MISTAKE: (out, in)
        self.add_param("b", "zeros", (self.units,))

    def forward(self, x, training=False):
        self.x = x
        return x @ self.params["W"].T + self.params["b"]


class StudentDenseWrongKeys(StudentDense):
    def build(self, input_shape):
        Layer.build(self, input_shape)
        self.add_param("weights", "glorot_uniform", (input_shape[-1], self.units))  # MISTAKE: key name
        self.add_param("b", "zeros", (self.units,))


class SoftmaxDiagonalOnly(Softmax):
    """Only the diagonal y_i (1 - y_i) of the softmax Jacobian, as if softmax were element-wise."""

    def _backward(self, grad_output, out):
        np.multiply(grad_output, self.y * (1.0 - self.y), out=out)  # MISTAKE: off-diagonal terms dropped


class BatchNormWithInferenceBackward(BatchNormalization):
    """Training mode, but the backward pass of inference: the batch statistics treated as constants."""

    def backward(self, grad_output):
        training, self.training = self.training, False  # MISTAKE: the inference formula gamma * G / s
        try:
            return super().backward(grad_output)
        finally:
            self.training = training
