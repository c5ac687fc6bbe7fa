r"""The math of tinynet as pure functions on arrays: no state, no caches, no layers.

Every forward and backward pass of the built-in layers and losses is one of
these functions, written as close to the derivation in its docstring as NumPy
allows.  A layer (see :mod:`tinynet.layers`) only holds parameters and
configuration and calls them; the machinery that makes training fast (work
arrays reused from step to step, in-place reuse, the fused output head) lives
in :mod:`tinynet.engine`.

``out=`` appears where a whole array is written and reusing memory matters for
speed; the function then writes its result there and returns it.  Without
``out`` every function returns a new array.  Shapes follow the layers:
``N`` samples, images NCHW.

Modules: :mod:`~tinynet.ops.dense`, :mod:`~tinynet.ops.activations`,
:mod:`~tinynet.ops.losses`, :mod:`~tinynet.ops.conv`,
:mod:`~tinynet.ops.pooling`, :mod:`~tinynet.ops.normalization`,
:mod:`~tinynet.ops.attention`, :mod:`~tinynet.ops.merge`, :mod:`~tinynet.ops.embedding`, :mod:`~tinynet.ops.recurrent`.
"""

from .activations import (
    elu,
    elu_backward,
    gelu,
    gelu_backward,
    gelu_tanh,
    gelu_tanh_backward,
    leaky_relu,
    leaky_relu_backward,
    relu,
    relu_backward,
    sigmoid,
    sigmoid_backward,
    softmax,
    softmax_backward,
    softplus,
    softplus_backward,
    tanh,
    tanh_backward,
)
from .attention import (
    attention_mask,
    masked_softmax,
    scaled_dot_product_attention,
    scaled_dot_product_attention_backward,
)
from .conv import (
    col2im,
    conv2d_backward,
    conv2d_forward,
    conv_output_size,
    im2col,
    pad_images,
    receptive_fields,
)
from .dense import dense_backward, dense_forward, dense_input_grad
from .embedding import embedding_backward, embedding_forward
from .losses import (
    cross_entropy_logits_grad,
    log_softmax,
    logsumexp,
    sigmoid_cross_entropy,
    softmax_cross_entropy,
)
from .merge import (
    add,
    add_backward,
    concatenate,
    concatenate_backward,
    multiply,
    multiply_backward,
)
from .normalization import normalize_backward, normalize_forward
from .pooling import avg_pool, avg_pool_backward, max_pool, max_pool_backward, pool_windows
from .recurrent import (
    gru_backward,
    gru_forward,
    lstm_backward,
    lstm_forward,
    simple_rnn_backward,
    simple_rnn_forward,
)

__all__ = [
    "add",
    "add_backward",
    "attention_mask",
    "avg_pool",
    "avg_pool_backward",
    "col2im",
    "concatenate",
    "concatenate_backward",
    "conv2d_backward",
    "conv2d_forward",
    "conv_output_size",
    "cross_entropy_logits_grad",
    "dense_backward",
    "dense_forward",
    "dense_input_grad",
    "elu",
    "elu_backward",
    "embedding_backward",
    "embedding_forward",
    "gelu",
    "gelu_backward",
    "gelu_tanh",
    "gelu_tanh_backward",
    "gru_backward",
    "gru_forward",
    "im2col",
    "leaky_relu",
    "leaky_relu_backward",
    "log_softmax",
    "logsumexp",
    "lstm_backward",
    "lstm_forward",
    "masked_softmax",
    "max_pool",
    "max_pool_backward",
    "multiply",
    "multiply_backward",
    "normalize_backward",
    "normalize_forward",
    "pad_images",
    "pool_windows",
    "receptive_fields",
    "relu",
    "relu_backward",
    "scaled_dot_product_attention",
    "scaled_dot_product_attention_backward",
    "sigmoid",
    "sigmoid_backward",
    "sigmoid_cross_entropy",
    "simple_rnn_backward",
    "simple_rnn_forward",
    "softmax",
    "softmax_backward",
    "softmax_cross_entropy",
    "softplus",
    "softplus_backward",
    "tanh",
    "tanh_backward",
]
