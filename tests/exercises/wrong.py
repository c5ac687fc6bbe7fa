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
    windows = [
        (slice(None), slice(None), slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw))
        for i in range(kh)
        for j in range(kw)
    ]
    best = np.max([x[w] for w in windows], axis=0)
    dx = np.zeros_like(x)
    for w in windows:
        dx[w] = np.where(x[w] == best, grad, dx[w])  # MISTAKE: = for += (overlapping windows)
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


def two_layer_forward_without_relu(x, W1, b1, W2, b2):
    z = (x @ W1 + b1) @ W2 + b2  # MISTAKE: the hidden layer's ReLU forgotten
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def two_layer_forward_logits(x, W1, b1, W2, b2):
    return np.maximum(x @ W1 + b1, 0) @ W2 + b2  # MISTAKE: no softmax


def two_layer_backward_without_relu_mask(x, t, W1, b1, W2, b2):
    n = len(x)
    a = x @ W1 + b1
    h = np.maximum(a, 0)
    z = h @ W2 + b2
    s = z - z.max(axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    g_z = (np.exp(log_p) - t) / n
    g_a = g_z @ W2.T  # MISTAKE: ReLU's mask (a > 0) forgotten
    return -(t * log_p).sum() / n, x.T @ g_a, g_a.sum(axis=0), h.T @ g_z, g_z.sum(axis=0)


def two_layer_backward_transposed_dW2(x, t, W1, b1, W2, b2):
    loss, dW1, db1, dW2, db2 = ok.two_layer_backward(x, t, W1, b1, W2, b2)
    return loss, dW1, db1, dW2.T, db2  # MISTAKE: g_z.T @ h for h.T @ g_z


def two_layer_backward_missing_n(x, t, W1, b1, W2, b2):
    grads = ok.two_layer_backward(x, t, W1, b1, W2, b2)
    return grads[0], *(g * len(x) for g in grads[1:])  # MISTAKE: G_Z = P - T, without the 1/N


def two_layer_backward_without_bias_grads(x, t, W1, b1, W2, b2):
    loss, dW1, _, dW2, _ = ok.two_layer_backward(x, t, W1, b1, W2, b2)
    return loss, dW1, None, dW2, None  # MISTAKE: the bias gradients forgotten


def two_layer_backward_sign(x, t, W1, b1, W2, b2):
    grads = ok.two_layer_backward(x, t, W1, b1, W2, b2)
    return grads[0], *(-g for g in grads[1:])  # MISTAKE: G_Z = (T - P) / N


def _im2col_padded(x, kernel_size, strides, pads):
    (kh, kw), (sh, sw) = kernel_size, strides
    n, c = x.shape[:2]
    x_pad = np.pad(x, ((0, 0), (0, 0), pads[0], pads[1]))
    oh, ow = ((x_pad.shape[2] - kh) // sh + 1, (x_pad.shape[3] - kw) // sw + 1)
    cols = np.empty((c, kh, kw, n, oh, ow))
    for i in range(kh):
        for j in range(kw):
            window = x_pad[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]
            cols[:, i, j] = window.transpose(1, 0, 2, 3)
    return cols.reshape(c * kh * kw, n * oh * ow)


def im2col_padding_plus_one(x, kernel_size, strides, padding):
    p = padding + 1  # MISTAKE: one row and column too many on every side
    return _im2col_padded(x, kernel_size, strides, ((p, p), (p, p)))


def im2col_padding_shifted(x, kernel_size, strides, padding):
    p = padding
    return _im2col_padded(x, kernel_size, strides, ((p + 1, p - 1), (p, p)))  # MISTAKE: off by one row


def im2col_padding_one_side(x, kernel_size, strides, padding):
    p = padding
    return _im2col_padded(x, kernel_size, strides, ((p, 0), (p, 0)))  # MISTAKE: top and left only


def im2col_output_size_without_plus_one(x, kernel_size, strides, padding):
    (kh, kw), (sh, sw), p = kernel_size, strides, padding
    h, w = x.shape[2:]
    oh, ow = (h + 2 * p - kh) // sh, (w + 2 * p - kw) // sw  # MISTAKE: the + 1 forgotten
    cols = ok.im2col(x, kernel_size, strides, padding).reshape(-1, len(x), oh + 1, ow + 1)
    return cols[:, :, :oh, :ow].reshape(len(cols), -1)


def im2col_transposed(x, kernel_size, strides, padding):
    return ok.im2col(x, kernel_size, strides, padding).T  # MISTAKE: one row per window


def _col2im_padded(x_col, x_shape, kernel_size, strides, padding, crop, add=True):
    (kh, kw), (sh, sw), p = kernel_size, strides, padding
    n, c, h, w = x_shape
    oh, ow = (h + 2 * p - kh) // sh + 1, (w + 2 * p - kw) // sw + 1
    cols = x_col.reshape(c, kh, kw, n, oh, ow)
    dx_pad = np.zeros((n, c, h + 2 * p + 1, w + 2 * p + 1))
    for i in range(kh):
        for j in range(kw):
            where = (
                slice(None),
                slice(None),
                slice(i, i + sh * (oh - 1) + 1, sh),
                slice(j, j + sw * (ow - 1) + 1, sw),
            )
            if add:
                dx_pad[where] += cols[:, i, j].transpose(1, 0, 2, 3)
            else:
                dx_pad[where] = cols[:, i, j].transpose(1, 0, 2, 3)
    return dx_pad[:, :, crop[0] : crop[0] + h, crop[1] : crop[1] + w]


def col2im_crop_off_by_one(x_col, x_shape, kernel_size, strides, padding):
    p = padding
    return _col2im_padded(x_col, x_shape, kernel_size, strides, p, (p + 1, p))  # MISTAKE: [p + 1:p + 1 + H]


def col2im_assigned(x_col, x_shape, kernel_size, strides, padding):
    p = padding
    return _col2im_padded(x_col, x_shape, kernel_size, strides, p, (p, p), add=False)  # MISTAKE: = for +=


def col2im_padding_kept(x_col, x_shape, kernel_size, strides, padding):
    p = padding
    dx = _col2im_padded(
        x_col, (*x_shape[:2], x_shape[2] + 2 * p, x_shape[3] + 2 * p), kernel_size, strides, 0, (0, 0)
    )
    return dx  # MISTAKE: the padding is not cut off


def conv2d_forward_without_bias(x, W, b, strides, padding):
    return ok.conv2d_forward(x, W, np.zeros_like(b), strides, padding)  # MISTAKE: bias forgotten


def conv2d_forward_flipped(x, W, b, strides, padding):
    return ok.conv2d_forward(x, W[:, :, ::-1, ::-1], b, strides, padding)  # MISTAKE: a true convolution


def conv2d_backward_flipped_dW(x, W, grad, strides, padding):
    dx, dW, db = ok.conv2d_backward(x, W, grad, strides, padding)
    return dx, dW[:, :, ::-1, ::-1], db  # MISTAKE: the kernel gradient rotated by 180 degrees


def conv2d_backward_transposed_dW(x, W, grad, strides, padding):
    dx, dW, db = ok.conv2d_backward(x, W, grad, strides, padding)
    return dx, dW.transpose(1, 0, 2, 3), db  # MISTAKE: (C, F, kh, kw), e.g. x_col @ G_mat.T


def conv2d_backward_flipped_dx(x, W, grad, strides, padding):
    _, dW, db = ok.conv2d_backward(x, W, grad, strides, padding)
    dx, _, _ = ok.conv2d_backward(x, W[:, :, ::-1, ::-1], grad, strides, padding)  # MISTAKE: rotated W
    return dx, dW, db


def conv2d_backward_without_db(x, W, grad, strides, padding):
    dx, dW, _ = ok.conv2d_backward(x, W, grad, strides, padding)
    return dx, dW, None  # MISTAKE: bias gradient forgotten


def conv2d_backward_db_over_the_batch_only(x, W, grad, strides, padding):
    dx, dW, _ = ok.conv2d_backward(x, W, grad, strides, padding)
    return dx, dW, grad.sum(axis=0)  # MISTAKE: the pixels are not summed


def conv2d_backward_mean_db(x, W, grad, strides, padding):
    dx, dW, _ = ok.conv2d_backward(x, W, grad, strides, padding)
    return dx, dW, grad.mean(axis=(0, 2, 3))  # MISTAKE: a mean for the sum


def conv2d_backward_padding_off_by_one(x, W, grad, strides, padding):
    f, _, kh, kw = W.shape
    p = padding
    g = grad.transpose(1, 0, 2, 3).reshape(f, -1)
    x_col = _im2col_padded(x, (kh, kw), strides, ((p + 1, p - 1), (p + 1, p - 1)))  # MISTAKE: shifted
    dW = (g @ x_col.T).reshape(W.shape)
    dx = _col2im_padded(W.reshape(f, -1).T @ g, x.shape, (kh, kw), strides, p, (p - 1, p - 1))
    return dx, dW, grad.sum(axis=(0, 2, 3))


def relu_backward_crashes(y, grad):
    return grad * (y > 0) @ np.ones(3)  # MISTAKE: a shape error


def rnn_step_forward_without_tanh(x, h_prev, W, U, b):
    return x @ W + h_prev @ U + b  # MISTAKE: the activation forgotten


def rnn_step_forward_without_state(x, h_prev, W, U, b):
    return np.tanh(x @ W + b)  # MISTAKE: h_prev @ U forgotten


def rnn_step_forward_without_bias(x, h_prev, W, U, b):
    return np.tanh(x @ W + h_prev @ U)  # MISTAKE: bias forgotten


def rnn_step_forward_transposed_U(x, h_prev, W, U, b):
    return np.tanh(x @ W + h_prev @ U.T + b)  # MISTAKE: U transposed


def rnn_step_backward_without_tanh_derivative(x, h_prev, h, W, U, grad):
    dz = grad  # MISTAKE: the tanh derivative (1 - h**2) forgotten
    return dz @ W.T, dz @ U.T, x.T @ dz, h_prev.T @ dz, dz.sum(axis=0)


def rnn_step_backward_transposed_dU(x, h_prev, h, W, U, grad):
    dx, dh_prev, dW, dU, db = ok.rnn_step_backward(x, h_prev, h, W, U, grad)
    return dx, dh_prev, dW, dU.T, db  # MISTAKE: dz.T @ h_prev, the transposed recurrent kernel gradient


def rnn_step_backward_through_U(x, h_prev, h, W, U, grad):
    dz = grad * (1 - h**2)
    return dz @ W.T, dz @ U, x.T @ dz, h_prev.T @ dz, dz.sum(axis=0)  # MISTAKE: dz @ U, not dz @ U.T


def rnn_step_backward_mean_db(x, h_prev, h, W, U, grad):
    dx, dh_prev, dW, dU, _ = ok.rnn_step_backward(x, h_prev, h, W, U, grad)
    return dx, dh_prev, dW, dU, (grad * (1 - h**2)).mean(axis=0)  # MISTAKE: mean instead of sum


def _bptt(x, h, W, U, grad, carry=True, derivative=True, recurrent_T=True, accumulate="sum"):
    n, T, _ = x.shape
    h_prev = np.concatenate([np.zeros_like(h[:, :1]), h[:, :-1]], axis=1)
    dx = np.zeros_like(x)
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros(U.shape[0])
    dh_next = np.zeros((n, U.shape[0]))
    for t in range(T - 1, -1, -1):
        dh = grad[:, t] + dh_next if carry else grad[:, t]
        dz = dh * (1 - h[:, t] ** 2) if derivative else dh
        dx[:, t] = dz @ W.T
        if accumulate == "sum":
            dW, dU, db = dW + x[:, t].T @ dz, dU + h_prev[:, t].T @ dz, db + dz.sum(axis=0)
        elif accumulate == "assign" or t == T - 1:  # "assign": the last written wins; "last": step T only
            dW, dU, db = x[:, t].T @ dz, h_prev[:, t].T @ dz, dz.sum(axis=0)
        dh_next = dz @ (U.T if recurrent_T else U)
    return dx, dW, dU, db


def rnn_bptt_truncated(x, h, W, U, grad):
    return _bptt(x, h, W, U, grad, carry=False)  # MISTAKE: delta h_t = G_t, nothing from step t + 1


def rnn_bptt_last_step_only(x, h, W, U, grad):
    return _bptt(x, h, W, U, grad, accumulate="last")  # MISTAKE: dW, dU, db of the last step only


def rnn_bptt_assigned(x, h, W, U, grad):
    return _bptt(x, h, W, U, grad, accumulate="assign")  # MISTAKE: dW = ... in the loop, not dW += ...


def rnn_bptt_without_tanh_derivative(x, h, W, U, grad):
    return _bptt(x, h, W, U, grad, derivative=False)  # MISTAKE: (1 - h**2) forgotten


def rnn_bptt_through_U(x, h, W, U, grad):
    return _bptt(x, h, W, U, grad, recurrent_T=False)  # MISTAKE: dz @ U, not dz @ U.T


def rnn_bptt_transposed_dU(x, h, W, U, grad):
    dx, dW, dU, db = ok.rnn_bptt(x, h, W, U, grad)
    return dx, dW, dU.T, db  # MISTAKE: the recurrent kernel gradient transposed


def _lstm(x, h_prev, c_prev, W, U, gates, c, grad_h, grad_c, order=(0, 1, 2, 3), **mistake):
    H = U.shape[0]
    i, f, g, o = (gates[:, k * H : (k + 1) * H] for k in order)
    tc = np.tanh(c)
    if mistake.get("no_h_path"):
        dc = grad_c
    elif mistake.get("no_tanh_derivative"):
        dc = grad_c + grad_h * o
    else:
        dc = grad_c + grad_h * o * (1 - tc**2)
    di, df, dg, do = dc * g, dc * (c if mistake.get("df_with_c") else c_prev), dc * i, grad_h * tc
    if not mistake.get("no_gate_derivatives"):
        di, df, dg, do = di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)
    blocks = [None] * 4
    for k, d in zip(order, (di, df, dg, do), strict=True):
        blocks[k] = d
    dz = np.concatenate(blocks, axis=1)
    dc_prev = dc if mistake.get("no_forget_path") else dc * f
    return dz @ W.T, dz @ U.T, dc_prev, x.T @ dz, h_prev.T @ dz, dz.sum(axis=0)


def lstm_step_backward_without_forget_path(x, h_prev, c_prev, W, U, gates, c, grad_h, grad_c):
    return _lstm(
        x, h_prev, c_prev, W, U, gates, c, grad_h, grad_c, no_forget_path=True
    )  # MISTAKE: dc_prev = dc, not dc * f


def lstm_step_backward_without_h_path(x, h_prev, c_prev, W, U, gates, c, grad_h, grad_c):
    return _lstm(
        x, h_prev, c_prev, W, U, gates, c, grad_h, grad_c, no_h_path=True
    )  # MISTAKE: dc = grad_c, the path through h_t forgotten


def lstm_step_backward_without_tanh_derivative(x, h_prev, c_prev, W, U, gates, c, grad_h, grad_c):
    return _lstm(
        x, h_prev, c_prev, W, U, gates, c, grad_h, grad_c, no_tanh_derivative=True
    )  # MISTAKE: dc = grad_c + grad_h * o


def lstm_step_backward_ifog(x, h_prev, c_prev, W, U, gates, c, grad_h, grad_c):
    return _lstm(
        x, h_prev, c_prev, W, U, gates, c, grad_h, grad_c, order=(0, 1, 3, 2)
    )  # MISTAKE: gates read as [i, f, o, g]


def lstm_step_backward_without_gate_derivatives(x, h_prev, c_prev, W, U, gates, c, grad_h, grad_c):
    return _lstm(
        x, h_prev, c_prev, W, U, gates, c, grad_h, grad_c, no_gate_derivatives=True
    )  # MISTAKE: the sigmoid/tanh derivatives of the gates


def lstm_step_backward_df_with_c(x, h_prev, c_prev, W, U, gates, c, grad_h, grad_c):
    return _lstm(
        x, h_prev, c_prev, W, U, gates, c, grad_h, grad_c, df_with_c=True
    )  # MISTAKE: df = dc * c, not dc * c_prev


def _gru(x, h_prev, W, U, gates, rec_h, grad, **mistake):
    H = U.shape[0]
    z, r, hh = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H :]
    if mistake.get("reversed"):  # h = (1 - z) h_prev + z hh
        dz, dhh, direct = grad * (hh - h_prev), grad * z, grad * (1 - z)
    else:
        dz, dhh, direct = grad * (h_prev - hh), grad * (1 - z), grad * z
    da = dhh if mistake.get("no_tanh_derivative") else dhh * (1 - hh**2)
    dr = da * (h_prev if mistake.get("reset_with_h_prev") else rec_h)
    dA = np.concatenate([dz * z * (1 - z), dr * r * (1 - r), da], axis=1)
    dR = np.concatenate([dA[:, : 2 * H], da if mistake.get("no_reset_in_dR") else da * r], axis=1)
    dh_prev = dR @ U.T if mistake.get("no_direct_path") else direct + dR @ U.T
    return dA @ W.T, dh_prev, x.T @ dA, h_prev.T @ dR, np.stack([dA.sum(axis=0), dR.sum(axis=0)])


def gru_step_backward_without_direct_path(x, h_prev, W, U, gates, rec_h, grad):
    return _gru(x, h_prev, W, U, gates, rec_h, grad, no_direct_path=True)  # MISTAKE: dh_prev = dR @ U.T only


def gru_step_backward_update_reversed(x, h_prev, W, U, gates, rec_h, grad):
    return _gru(x, h_prev, W, U, gates, rec_h, grad, reversed=True)  # MISTAKE: h = (1 - z) h_prev + z hh


def gru_step_backward_without_tanh_derivative(x, h_prev, W, U, gates, rec_h, grad):
    return _gru(
        x, h_prev, W, U, gates, rec_h, grad, no_tanh_derivative=True
    )  # MISTAKE: (1 - hh**2) forgotten


def gru_step_backward_without_reset_in_dR(x, h_prev, W, U, gates, rec_h, grad):
    return _gru(
        x, h_prev, W, U, gates, rec_h, grad, no_reset_in_dR=True
    )  # MISTAKE: dR's candidate block = da


def gru_step_backward_reset_with_h_prev(x, h_prev, W, U, gates, rec_h, grad):
    return _gru(x, h_prev, W, U, gates, rec_h, grad, reset_with_h_prev=True)  # MISTAKE: dr = da * h_prev


def gru_step_backward_one_bias(x, h_prev, W, U, gates, rec_h, grad):
    dx, dh_prev, dW, dU, db = ok.gru_step_backward(x, h_prev, W, U, gates, rec_h, grad)
    return dx, dh_prev, dW, dU, db.sum(axis=0)  # MISTAKE: one bias gradient for the two biases


def _weights(q, k, causal, scale=None, mask=True):
    s = q @ np.swapaxes(k, -1, -2) * (1 / np.sqrt(q.shape[-1]) if scale is None else scale)
    if causal and mask:
        T = s.shape[-1]
        s = np.where(np.tril(np.ones((T, T), dtype=bool)), s, -np.inf)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def attention_forward_unscaled(q, k, v, causal):
    return _weights(q, k, causal, scale=1.0) @ v  # MISTAKE: no 1/sqrt(d_k)


def attention_forward_scale_d(q, k, v, causal):
    return _weights(q, k, causal, scale=1 / q.shape[-1]) @ v  # MISTAKE: 1/d_k, not 1/sqrt(d_k)


def attention_forward_unmasked(q, k, v, causal):
    return _weights(q, k, causal, mask=False) @ v  # MISTAKE: causal ignored


def attention_forward_mask_after_softmax(q, k, v, causal):
    p = _weights(q, k, causal, mask=False)
    if causal:
        p = p * np.tril(np.ones(p.shape[-2:]))  # MISTAKE: masked after the softmax, rows not renormalised
    return p @ v


def attention_forward_softmax_over_queries(q, k, v, causal):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], dtype=bool)), s, -np.inf)
    e = np.exp(s - s.max(axis=-2, keepdims=True))
    return e / e.sum(axis=-2, keepdims=True) @ v  # MISTAKE: normalised over axis -2, the queries


def _attention_backward(q, k, v, causal, grad, scale=True, diagonal=False, mask=True, dv_T=True, dk_T=True):
    p = _weights(q, k, causal, mask=mask)
    c = 1 / np.sqrt(q.shape[-1]) if scale else 1.0
    dv = np.swapaxes(p, -1, -2) @ grad if dv_T else p @ grad
    dp = grad @ np.swapaxes(v, -1, -2)
    ds = dp * p * (1 - p) if diagonal else p * (dp - np.sum(dp * p, axis=-1, keepdims=True))
    dk = c * np.swapaxes(ds, -1, -2) @ q if dk_T else c * ds @ q
    return c * ds @ k, dk, dv


def attention_backward_unscaled(q, k, v, causal, grad):
    return _attention_backward(q, k, v, causal, grad, scale=False)  # MISTAKE: 1/sqrt(d_k) missing in backward


def attention_backward_diagonal(q, k, v, causal, grad):
    return _attention_backward(q, k, v, causal, grad, diagonal=True)  # MISTAKE: dS = dP * P(1 - P)


def attention_backward_unmasked(q, k, v, causal, grad):
    return _attention_backward(q, k, v, causal, grad, mask=False)  # MISTAKE: P without the mask


def attention_backward_dv_untransposed(q, k, v, causal, grad):
    return _attention_backward(q, k, v, causal, grad, dv_T=False)  # MISTAKE: dV = P @ G


def attention_backward_dk_untransposed(q, k, v, causal, grad):
    return _attention_backward(q, k, v, causal, grad, dk_T=False)  # MISTAKE: dK = c dS @ Q


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
    ("two_layer_forward", two_layer_forward_without_relu, {"ReLU forgotten"}),
    ("two_layer_forward", two_layer_forward_logits, {"softmax forgotten"}),
    ("two_layer_backward", two_layer_backward_without_relu_mask, {"ReLU mask missing"}),
    ("two_layer_backward", two_layer_backward_transposed_dW2, {H.TRANSPOSED}),
    ("two_layer_backward", two_layer_backward_missing_n, {H.MISSING_MEAN}),
    ("two_layer_backward", two_layer_backward_without_bias_grads, {"missing"}),
    ("two_layer_backward", two_layer_backward_sign, {H.SIGN}),
    ("im2col", im2col_padding_plus_one, {H.OFF_BY_ONE}),
    ("im2col", im2col_padding_shifted, {H.OFF_BY_ONE}),
    ("im2col", im2col_padding_one_side, {H.OFF_BY_ONE}),
    ("im2col", im2col_output_size_without_plus_one, {H.OFF_BY_ONE}),
    ("col2im", col2im_crop_off_by_one, {H.OFF_BY_ONE}),
    ("col2im", col2im_assigned, {"assigned instead of added"}),
    ("col2im", col2im_padding_kept, {"padding not cut off", H.OFF_BY_ONE, H.WRONG_SHAPE}),
    ("conv2d_forward", conv2d_forward_without_bias, {H.OFFSET}),
    ("conv2d_forward", conv2d_forward_flipped, {"flipped kernel"}),
    ("conv2d_backward", conv2d_backward_flipped_dW, {"flipped kernel"}),
    ("conv2d_backward", conv2d_backward_transposed_dW, {H.TRANSPOSED}),
    ("conv2d_backward", conv2d_backward_flipped_dx, {"flipped kernel"}),
    ("conv2d_backward", conv2d_backward_without_db, {"missing"}),
    ("conv2d_backward", conv2d_backward_db_over_the_batch_only, {"bias gradient not summed", H.WRONG_SHAPE}),
    ("conv2d_backward", conv2d_backward_padding_off_by_one, {H.OFF_BY_ONE}),
    ("conv2d_backward", conv2d_backward_mean_db, {H.EXTRA_MEAN}),
    ("rnn_step_forward", rnn_step_forward_without_tanh, {"tanh forgotten"}),
    ("rnn_step_forward", rnn_step_forward_without_state, {"previous state ignored"}),
    ("rnn_step_forward", rnn_step_forward_without_bias, {H.OFFSET}),
    ("rnn_step_forward", rnn_step_forward_transposed_U, {"recurrent kernel transposed"}),
    ("rnn_step_backward", rnn_step_backward_without_tanh_derivative, {"tanh derivative missing"}),
    ("rnn_step_backward", rnn_step_backward_transposed_dU, {H.TRANSPOSED}),
    ("rnn_step_backward", rnn_step_backward_through_U, {"recurrent kernel not transposed"}),
    ("rnn_step_backward", rnn_step_backward_mean_db, {H.EXTRA_MEAN}),
    ("rnn_bptt", rnn_bptt_truncated, {"BPTT truncated"}),
    ("rnn_bptt", rnn_bptt_last_step_only, {"not summed over time"}),
    ("rnn_bptt", rnn_bptt_assigned, {"not summed over time", H.ZERO}),
    ("rnn_bptt", rnn_bptt_without_tanh_derivative, {"tanh derivative missing"}),
    ("rnn_bptt", rnn_bptt_through_U, {"recurrent kernel not transposed"}),
    ("rnn_bptt", rnn_bptt_transposed_dU, {H.TRANSPOSED}),
    ("lstm_step_backward", lstm_step_backward_without_forget_path, {"forget-gate path missing"}),
    ("lstm_step_backward", lstm_step_backward_without_h_path, {"cell gradient from h missing"}),
    ("lstm_step_backward", lstm_step_backward_without_tanh_derivative, {"tanh derivative missing"}),
    ("lstm_step_backward", lstm_step_backward_ifog, {"wrong gate order"}),
    ("lstm_step_backward", lstm_step_backward_without_gate_derivatives, {"gate derivatives missing"}),
    ("lstm_step_backward", lstm_step_backward_df_with_c, {"forget gate with c_t"}),
    ("attention_forward", attention_forward_unscaled, {"scale missing"}),
    ("attention_forward", attention_forward_scale_d, {"scale 1/d_k"}),
    ("attention_forward", attention_forward_unmasked, {"mask ignored"}),
    ("attention_forward", attention_forward_mask_after_softmax, {"mask after the softmax"}),
    ("attention_forward", attention_forward_softmax_over_queries, {"softmax over the queries"}),
    ("attention_backward", attention_backward_unscaled, {"scale missing in backward"}),
    ("attention_backward", attention_backward_diagonal, {H.JACOBIAN_DIAGONAL}),
    ("attention_backward", attention_backward_unmasked, {"mask ignored in backward"}),
    ("attention_backward", attention_backward_dv_untransposed, {"weights not transposed"}),
    ("attention_backward", attention_backward_dk_untransposed, {"dS not transposed"}),
    ("gru_step_backward", gru_step_backward_without_direct_path, {"direct path missing"}),
    ("gru_step_backward", gru_step_backward_update_reversed, {"update gate reversed"}),
    ("gru_step_backward", gru_step_backward_without_tanh_derivative, {"tanh derivative missing"}),
    ("gru_step_backward", gru_step_backward_without_reset_in_dR, {"reset gate missing in dR"}),
    ("gru_step_backward", gru_step_backward_reset_with_h_prev, {"reset gate with h_prev"}),
    ("gru_step_backward", gru_step_backward_one_bias, {H.WRONG_SHAPE}),
]
