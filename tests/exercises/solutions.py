"""Reference solutions of every exercise, written as a student would (the grader must pass them all)."""

import numpy as np


def dense_forward(x, W, b):
    return x @ W + b


def dense_backward(x, W, grad_z):
    return grad_z @ W.T, x.T @ grad_z, grad_z.sum(axis=0)


def sigmoid_backward(y, grad):
    return grad * y * (1 - y)


def tanh_backward(y, grad):
    return grad * (1 - y**2)


def relu_backward(y, grad):
    return grad * (y > 0)


def softmax_backward(y, grad):
    return y * (grad - np.sum(grad * y, axis=-1, keepdims=True))


def mse(y_true, y_pred):
    return np.mean((y_pred - y_true) ** 2)


def mse_grad(y_true, y_pred):
    return 2 * (y_pred - y_true) / y_pred.size


def softmax_cross_entropy(z, t):
    s = z - z.max(axis=-1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=-1, keepdims=True))
    return -(t * log_p).sum(axis=-1)


def softmax_cross_entropy_grad(z, t):
    s = np.exp(z - z.max(axis=-1, keepdims=True))
    return (s / s.sum(axis=-1, keepdims=True) - t) / len(z)


def sgd_step(param, grad, state, learning_rate):
    return param - learning_rate * grad, {}


def momentum_step(param, grad, state, learning_rate, momentum):
    b = momentum * state["momentum"] + grad
    return param - learning_rate * b, {"momentum": b}


def rmsprop_step(param, grad, state, learning_rate, rho, epsilon):
    v = rho * state["v"] + (1 - rho) * grad**2
    return param - learning_rate * grad / (np.sqrt(v) + epsilon), {"v": v}


def adam_step(param, grad, state, learning_rate, beta_1, beta_2, epsilon):
    t = state["t"] + 1
    m = beta_1 * state["m"] + (1 - beta_1) * grad
    v = beta_2 * state["v"] + (1 - beta_2) * grad**2
    m_hat, v_hat = m / (1 - beta_1**t), v / (1 - beta_2**t)
    return param - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon), {"m": m, "v": v, "t": t}


def batchnorm_backward(x, gamma, grad, epsilon):
    mu = x.mean(axis=0)
    s = np.sqrt(x.var(axis=0) + epsilon)
    x_hat = (x - mu) / s
    g_hat = grad * gamma
    dx = (g_hat - g_hat.mean(axis=0) - x_hat * (g_hat * x_hat).mean(axis=0)) / s
    return dx, (grad * x_hat).sum(axis=0), grad.sum(axis=0)


def max_pool_backward(x, grad, pool_size, strides):
    (kh, kw), (sh, sw) = pool_size, strides
    oh, ow = grad.shape[2:]
    dx = np.zeros_like(x)
    for i in range(kh):  # one whole-array step per window offset, never a loop over pixels
        for j in range(kw):
            view = x[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]
            if i == 0 and j == 0:
                best = view.copy()
            else:
                best = np.maximum(best, view)
    for i in range(kh):
        for j in range(kw):
            rows, cols = slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw)
            dx[:, :, rows, cols] += grad * (x[:, :, rows, cols] == best)
    return dx


def two_layer_forward(x, W1, b1, W2, b2):
    h = np.maximum(x @ W1 + b1, 0)
    z = h @ W2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def two_layer_backward(x, t, W1, b1, W2, b2):
    n = len(x)
    a = x @ W1 + b1  # forward, keeping what the backward pass needs
    h = np.maximum(a, 0)
    z = h @ W2 + b2
    s = z - z.max(axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    loss = -(t * log_p).sum() / n
    g_z = (np.exp(log_p) - t) / n  # backward, one step per forward step
    dW2, db2 = h.T @ g_z, g_z.sum(axis=0)
    g_a = (g_z @ W2.T) * (a > 0)
    dW1, db1 = x.T @ g_a, g_a.sum(axis=0)
    return loss, dW1, db1, dW2, db2


def im2col(x, kernel_size, strides, padding):
    (kh, kw), (sh, sw), p = kernel_size, strides, padding
    n, c, h, w = x.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    oh, ow = (h + 2 * p - kh) // sh + 1, (w + 2 * p - kw) // sw + 1
    cols = np.empty((c, kh, kw, n, oh, ow))
    for i in range(kh):  # one strided slice per kernel offset, never a loop over pixels
        for j in range(kw):
            window = x_pad[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]
            cols[:, i, j] = window.transpose(1, 0, 2, 3)
    return cols.reshape(c * kh * kw, n * oh * ow)


def col2im(x_col, x_shape, kernel_size, strides, padding):
    (kh, kw), (sh, sw), p = kernel_size, strides, padding
    n, c, h, w = x_shape
    oh, ow = (h + 2 * p - kh) // sh + 1, (w + 2 * p - kw) // sw + 1
    cols = x_col.reshape(c, kh, kw, n, oh, ow)
    dx_pad = np.zeros((n, c, h + 2 * p, w + 2 * p))
    for i in range(kh):
        for j in range(kw):
            dx_pad[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw] += cols[
                :, i, j
            ].transpose(1, 0, 2, 3)
    return dx_pad[:, :, p : p + h, p : p + w]


def conv2d_forward(x, W, b, strides, padding):
    f, _, kh, kw = W.shape
    n = len(x)
    x_col = im2col(x, (kh, kw), strides, padding)
    z = W.reshape(f, -1) @ x_col + b[:, None]  # (F, N OH OW)
    oh = (x.shape[2] + 2 * padding - kh) // strides[0] + 1
    return z.reshape(f, n, oh, -1).transpose(1, 0, 2, 3)


def conv2d_backward(x, W, grad, strides, padding):
    f, _, kh, kw = W.shape
    g = grad.transpose(1, 0, 2, 3).reshape(f, -1)  # G_mat, (F, N OH OW), columns like X_col's
    x_col = im2col(x, (kh, kw), strides, padding)
    dW = (g @ x_col.T).reshape(W.shape)
    db = grad.sum(axis=(0, 2, 3))
    dx = col2im(W.reshape(f, -1).T @ g, x.shape, (kh, kw), strides, padding)
    return dx, dW, db


def rnn_step_forward(x, h_prev, W, U, b):
    return np.tanh(x @ W + h_prev @ U + b)


def rnn_step_backward(x, h_prev, h, W, U, grad):
    dz = grad * (1 - h**2)
    return dz @ W.T, dz @ U.T, x.T @ dz, h_prev.T @ dz, dz.sum(axis=0)


def rnn_bptt(x, h, W, U, grad):
    n, T, _ = x.shape
    h_prev = np.concatenate([np.zeros_like(h[:, :1]), h[:, :-1]], axis=1)  # h_0 = 0, ..., h_{T-1}
    dz = np.zeros_like(h)
    dh_next = np.zeros((n, U.shape[0]))  # delta Z_{t+1} U^T: nothing after the last step
    for t in range(T - 1, -1, -1):  # a loop over time steps, never over samples
        dz[:, t] = (grad[:, t] + dh_next) * (1 - h[:, t] ** 2)
        dh_next = dz[:, t] @ U.T
    dW = np.einsum("ntd,nth->dh", x, dz)
    dU = np.einsum("ntk,nth->kh", h_prev, dz)
    return dz @ W.T, dW, dU, dz.sum(axis=(0, 1))


def lstm_step_backward(x, h_prev, c_prev, W, U, gates, c, grad_h, grad_c):
    H = U.shape[0]
    i, f, g, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
    tc = np.tanh(c)
    dc = grad_c + grad_h * o * (1 - tc**2)
    dz = np.concatenate(
        [dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g**2), grad_h * tc * o * (1 - o)],
        axis=1,
    )
    return dz @ W.T, dz @ U.T, dc * f, x.T @ dz, h_prev.T @ dz, dz.sum(axis=0)


def _attention_weights(q, k, causal):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if causal:
        T = s.shape[-1]
        s = np.where(np.tril(np.ones((T, T), dtype=bool)), s, -np.inf)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def attention_forward(q, k, v, causal):
    return _attention_weights(q, k, causal) @ v


def attention_backward(q, k, v, causal, grad):
    p = _attention_weights(q, k, causal)
    dv = np.swapaxes(p, -1, -2) @ grad
    dp = grad @ np.swapaxes(v, -1, -2)
    ds = p * (dp - np.sum(dp * p, axis=-1, keepdims=True)) / np.sqrt(q.shape[-1])
    return ds @ k, np.swapaxes(ds, -1, -2) @ q, dv


def gru_step_backward(x, h_prev, W, U, gates, rec_h, grad):
    H = U.shape[0]
    z, r, hh = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H :]
    da = grad * (1 - z) * (1 - hh**2)  # the candidate, through its tanh
    dA = np.concatenate([grad * (h_prev - hh) * z * (1 - z), da * rec_h * r * (1 - r), da], axis=1)
    dR = np.concatenate([dA[:, : 2 * H], da * r], axis=1)  # the reset gate multiplies R's candidate block
    db = np.stack([dA.sum(axis=0), dR.sum(axis=0)])
    return dA @ W.T, grad * z + dR @ U.T, x.T @ dA, h_prev.T @ dR, db
