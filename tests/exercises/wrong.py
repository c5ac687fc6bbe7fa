"""A gallery of wrong solutions, one classic mistake each (the line marked ``# MISTAKE``).

``WRONG`` lists ``(exercise, function, hint kinds the grader must give)``.
"""

import numpy as np

from tinynet.testing import hints as H

from . import solutions as ok


def dense_forward_without_bias(x, W, b):
    return x @ W  # MISTAKE: bias forgotten


def dense_backward_transposed_dW(x, W, grad_z):
    dX, _, db = ok.dense_backward(x, W, grad_z)
    return dX, grad_z.T @ x, db  # MISTAKE: transposed weight gradient


def dense_backward_without_db(x, W, grad_z):
    dX, dW, _ = ok.dense_backward(x, W, grad_z)
    return dX, dW, None  # MISTAKE: bias gradient forgotten


def dense_backward_zero_db(x, W, grad_z):
    dX, dW, _ = ok.dense_backward(x, W, grad_z)
    return dX, dW, np.zeros(W.shape[1])  # MISTAKE: bias gradient forgotten


def dense_backward_mean_db(x, W, grad_z):
    dX, dW, _ = ok.dense_backward(x, W, grad_z)
    return dX, dW, grad_z.mean(axis=0)  # MISTAKE: mean instead of sum


def dense_backward_unsummed_db(x, W, grad_z):
    dX, dW, _ = ok.dense_backward(x, W, grad_z)
    return dX, dW, grad_z  # MISTAKE: not summed over the batch


def sigmoid_backward_sign(y, grad):
    return grad * y * (y - 1)  # MISTAKE: sign


def tanh_backward_one_minus_y(y, grad):
    return grad * (1 - y)  # MISTAKE: 1 - y instead of 1 - y**2


def tanh_backward_forward_value(y, grad):
    return grad * y  # MISTAKE: the forward value instead of the derivative


def relu_backward_no_upstream(y, grad):
    return (y > 0).astype(float)  # MISTAKE: not multiplied by grad


def softmax_backward_diagonal(y, grad):
    return grad * y * (1 - y)  # MISTAKE: only the Jacobian's diagonal


def mse_grad_missing_n(y_true, y_pred):
    return 2 * (y_pred - y_true) / y_pred.shape[1]  # MISTAKE: 1/D only, the 1/N missing


def mse_grad_missing_nd(y_true, y_pred):
    return 2 * (y_pred - y_true)  # MISTAKE: 1/(N*D) missing


def mse_grad_sign(y_true, y_pred):
    return 2 * (y_true - y_pred) / y_pred.size  # MISTAKE: sign


def mse_grad_missing_2(y_true, y_pred):
    return (y_pred - y_true) / y_pred.size  # MISTAKE: the 2 of d(x^2)/dx


def cross_entropy_grad_missing_n(z, t):
    return ok.softmax_cross_entropy_grad(z, t) * len(z)  # MISTAKE: 1/N missing


def cross_entropy_grad_sign(z, t):
    return -ok.softmax_cross_entropy_grad(z, t)  # MISTAKE: t - p


def cross_entropy_overflows(z, t):
    p = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)  # MISTAKE: no max subtracted: overflows
    return -(t * np.log(p)).sum(axis=-1)


def sgd_step_sign(param, grad, state, learning_rate):
    return param + learning_rate * grad, {}  # MISTAKE: ascent


def momentum_step_average(param, grad, state, learning_rate, momentum):
    b = momentum * state["momentum"] + (1 - momentum) * grad  # MISTAKE: (1 - mu) g
    return param - learning_rate * b, {"momentum": b}


def adam_step_no_bias_correction(param, grad, state, learning_rate, beta_1, beta_2, epsilon):
    m = beta_1 * state["m"] + (1 - beta_1) * grad
    v = beta_2 * state["v"] + (1 - beta_2) * grad**2
    step = learning_rate * m / (np.sqrt(v) + epsilon)  # MISTAKE: no bias correction
    return param - step, {"m": m, "v": v, "t": state["t"] + 1}


def adam_step_old_t(param, grad, state, learning_rate, beta_1, beta_2, epsilon):
    t = max(state["t"], 1)  # MISTAKE: the step count before the increment (patched to avoid 0)
    m = beta_1 * state["m"] + (1 - beta_1) * grad
    v = beta_2 * state["v"] + (1 - beta_2) * grad**2
    step = learning_rate * (m / (1 - beta_1**t)) / (np.sqrt(v / (1 - beta_2**t)) + epsilon)
    return param - step, {"m": m, "v": v, "t": state["t"] + 1}


def adam_step_in_place(param, grad, state, learning_rate, beta_1, beta_2, epsilon):
    new, new_state = ok.adam_step(param, grad, state, learning_rate, beta_1, beta_2, epsilon)
    param -= param - new  # MISTAKE: the caller's array is modified
    return param, new_state


def batchnorm_backward_inference_formula(x, gamma, grad, epsilon):
    _, dgamma, dbeta = ok.batchnorm_backward(x, gamma, grad, epsilon)
    return grad * gamma / np.sqrt(x.var(axis=0) + epsilon), dgamma, dbeta  # MISTAKE: statistics constant


def batchnorm_backward_mean_dbeta(x, gamma, grad, epsilon):
    dx, dgamma, _ = ok.batchnorm_backward(x, gamma, grad, epsilon)
    return dx, dgamma, grad.mean(axis=0)  # MISTAKE: a mean for the sum


def max_pool_backward_assigned(x, grad, pool_size, strides):
    (kh, kw), (sh, sw) = pool_size, strides
    oh, ow = grad.shape[2:]
    dx = ok.max_pool_backward(x, grad, pool_size, strides)
    winners = dx != 0
    for i in range(kh):
        for j in range(kw):
            rows, cols = slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw)
            block = dx[:, :, rows, cols]
            dx[:, :, rows, cols] = np.where(winners[:, :, rows, cols], grad, block)  # MISTAKE: = for +=
    return dx


def max_pool_backward_spread(x, grad, pool_size, strides):
    dx = np.zeros_like(x)
    (kh, kw), (sh, sw) = pool_size, strides
    oh, ow = grad.shape[2:]
    for i in range(kh):
        for j in range(kw):
            rows, cols = slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw)
            dx[:, :, rows, cols] += grad / (kh * kw)  # MISTAKE: average pooling's backward
    return dx


def relu_backward_crashes(y, grad):
    return grad * (y > 0) @ np.ones(3)  # MISTAKE: a shape error


WRONG = [
    ("dense_forward", dense_forward_without_bias, {H.OFFSET}),
    ("dense_backward", dense_backward_transposed_dW, {H.TRANSPOSED}),
    ("dense_backward", dense_backward_without_db, {"missing"}),
    ("dense_backward", dense_backward_zero_db, {H.ZERO}),
    ("dense_backward", dense_backward_mean_db, {H.EXTRA_MEAN}),
    ("dense_backward", dense_backward_unsummed_db, {"bias gradient not summed", H.WRONG_SHAPE}),
    ("sigmoid_backward", sigmoid_backward_sign, {H.SIGN}),
    ("tanh_backward", tanh_backward_one_minus_y, {"tanh derivative 1 - y"}),
    ("tanh_backward", tanh_backward_forward_value, {H.FORWARD_OUTPUT}),
    ("relu_backward", relu_backward_no_upstream, {H.NO_UPSTREAM}),
    ("softmax_backward", softmax_backward_diagonal, {H.JACOBIAN_DIAGONAL}),
    ("mse_grad", mse_grad_missing_n, {H.MISSING_MEAN}),
    ("mse_grad", mse_grad_missing_nd, {H.MISSING_MEAN, H.MISSING_SAMPLE_MEAN}),
    ("mse_grad", mse_grad_sign, {H.SIGN}),
    ("mse_grad", mse_grad_missing_2, {H.FACTOR_2}),
    ("softmax_cross_entropy_grad", cross_entropy_grad_missing_n, {H.MISSING_MEAN}),
    ("softmax_cross_entropy_grad", cross_entropy_grad_sign, {H.SIGN}),
    ("softmax_cross_entropy", cross_entropy_overflows, {"not finite"}),
    ("sgd_step", sgd_step_sign, {H.SIGN}),
    ("momentum_step", momentum_step_average, {"momentum as an average"}),
    ("adam_step", adam_step_no_bias_correction, {"adam without bias correction"}),
    ("adam_step", adam_step_old_t, {"adam step count"}),
    ("adam_step", adam_step_in_place, {H.MODIFIES_ARGUMENT}),
    ("batchnorm_backward", batchnorm_backward_inference_formula, {H.FROZEN_STATISTICS}),
    ("batchnorm_backward", batchnorm_backward_mean_dbeta, {H.EXTRA_MEAN}),
    ("max_pool_backward", max_pool_backward_spread, {"average pooling backward"}),
]
