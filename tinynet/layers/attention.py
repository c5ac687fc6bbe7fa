r"""Self-attention and position information for sequences of shape (N, T, D).

The math (scaled dot-product attention, masks, and the softmax-attention backward derived step by
step) is in :mod:`tinynet.ops.attention`; the projections are the affine maps of
:mod:`tinynet.ops.dense` applied at every position.  Derivations: the docs page "Attention".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import initializers, ops
from .._config import get_rng
from ..ops import attention as attention_ops
from .base import Layer, register_layer


def _check_sequences(layer: Layer, x: np.ndarray, features: int | None = None) -> None:
    """Refuse anything but a batch of sequences (N, T, D) (with ``features`` = D once built)."""
    if x.ndim != 3 or (features is not None and x.shape[-1] != features):
        wanted = f"(batch, time, {features})" if features is not None else "(batch, time, features)"
        raise ValueError(
            f"{layer._describe()} expects a batch of sequences {wanted}, but received an array of shape "
            f"{tuple(x.shape)}; a sequence of D features per time step is one sample of shape (T, D)"
        )


@register_layer
class MultiHeadAttention(Layer):
    r"""Multi-head self-attention (Vaswani et al., 2017) on sequences (N, T, D), with Keras' arguments.

    For each head :math:`a = 1, \dots, h` the input :math:`X` (one sample, :math:`T \times D`) is projected
    to queries, keys and values, attended, and the heads' outputs are concatenated and projected back:

    .. math::
        Q = X W_q + b_q,\quad K = X W_k + b_k,\quad V = X W_v + b_v \quad (\text{split into } h \text{ heads}),

        O_a = \operatorname{softmax}_M\!\Big(\frac{Q_a K_a^\top}{\sqrt{d_k}}\Big) V_a, \qquad
        Y = [O_1, \dots, O_h]\, W_o + b_o .

    Head :math:`a` uses columns :math:`a d_k, \dots, (a+1) d_k - 1` of :math:`W_q, W_k` (and of
    :math:`W_v` with :math:`d_v`).  The attention core and its backward pass,
    :math:`dS = P \odot (dP - \operatorname{rowsum}(dP \odot P))` and the rest, are derived in
    :mod:`tinynet.ops.attention`; the projections' backward passes are Dense's
    (:func:`tinynet.ops.dense_backward`), applied at every position, and :math:`dX` sums the three paths
    :math:`dX = dQ W_q^\top + dK W_k^\top + dV W_v^\top`.

    Masks, :math:`M_{ij} = 1` when query :math:`i` may look at key :math:`j`:

    * ``causal=True``: :math:`j \le i` (each position sees only itself and the past: a language model).
    * a padding mask, by calling the layer on a list, ``mha([x, mask])`` with ``mask`` (N, T), 1 for a
      real token and 0 for padding: padded keys get no weight.  Padded *queries* still attend to the real
      keys (their outputs are finite and meaningless; mask them out of the loss).  Backward then returns
      ``[dX, None]`` (a mask takes no gradient).

    The key bias :math:`b_k` cancels: it adds :math:`q_i \cdot b_k` to every score of row :math:`i`, and a
    softmax does not change when a constant is added to a row.  The layer therefore leaves it out of the
    scores, and its gradient is exactly 0.  It is kept as a parameter, as Keras and PyTorch keep it, so
    that weights move between the three unchanged (the PyTorch cross-check uses a random ``bk``).

    A query that can see no key at all (causal with leading padding) gets attention weights 0 and
    attention output 0, so its :math:`Y` row is :math:`b_o`, and no gradient flows through it; PyTorch
    gives NaN there and Keras uniform weights (see :mod:`tinynet.ops.attention`).  The softmax is shifted
    by each row's largest visible score, so large scores neither overflow nor warn.

    ``layer.attention_scores`` holds the attention weights :math:`P` of the last call, (N, heads, T, T),
    before dropout (Keras returns them with ``return_attention_scores=True``), for plots.  Like any array a
    layer returns in training, it is valid until the next call.

    Shapes: ``x`` and ``y`` (N, T, D); ``Wq``, ``Wk`` (D, heads·key_dim); ``Wv`` (D, heads·value_dim);
    ``Wo`` (heads·value_dim, D); ``bq``, ``bk`` (heads·key_dim,); ``bv`` (heads·value_dim,); ``bo`` (D,).
    Keras stores the same numbers as ``query/kernel`` (D, heads, key_dim), ..., ``attention_output/kernel``
    (heads, value_dim, D): a reshape moves weights between the two.  T may differ from call to call.

    Differences from Keras: self-attention only (one input sequence, optionally with its padding mask;
    no separate ``query``/``value``/``key`` tensors, no ``attention_axes``, no ``output_shape``);
    ``causal`` is a constructor argument; weights are stored as matrices (above).

    Parameters
    ----------
    num_heads : int
        :math:`h`.
    key_dim : int
        :math:`d_k`, the size of each head's queries and keys.
    value_dim : int, optional
        :math:`d_v`, the size of each head's values (default ``key_dim``).
    dropout : float
        Dropout rate on the attention weights in training, in [0, 1) (as Keras).
    use_bias : bool
        Whether the four projections have biases.
    causal : bool
        Apply the causal mask on every call (Keras passes ``use_causal_mask=True`` to each call instead;
        a keyword here, fixed per layer and saved with it).
    kernel_initializer, bias_initializer : str
        Names from :mod:`tinynet.initializers`.
    """

    def __init__(
        self,
        num_heads: int,
        key_dim: int,
        value_dim: int | None = None,
        dropout: float = 0.0,
        use_bias: bool = True,
        *,
        causal: bool = False,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        for arg, value in (("num_heads", num_heads), ("key_dim", key_dim), ("value_dim", value_dim)):
            if value is None and arg == "value_dim":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"MultiHeadAttention {arg} must be a positive integer, got {value!r}")
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = self.key_dim if value_dim is None else int(value_dim)
        self.dropout = float(dropout)
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"MultiHeadAttention dropout must be in [0, 1), got {dropout!r}")
        for arg, value in (("use_bias", use_bias), ("causal", causal)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"MultiHeadAttention {arg} must be True or False, got {value!r}")
        self.use_bias, self.causal = bool(use_bias), bool(causal)
        initializers.get(kernel_initializer), initializers.get(bias_initializer)  # validate early
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        #: The attention weights of the last call, (N, num_heads, T, T).
        self.attention_scores: np.ndarray | None = None

    # -- shapes -----------------------------------------------------------
    def _split_shapes(self, input_shape: Any) -> tuple[tuple[int, ...], bool]:
        """The sequence's sample shape and whether a padding mask comes with it (a list of two shapes)."""
        if isinstance(input_shape, list):
            if len(input_shape) != 2:
                raise ValueError(
                    f"{self._describe()} is called on x or on [x, padding_mask], got {len(input_shape)} inputs"
                )
            x_shape, mask_shape = (tuple(int(s) for s in shape) for shape in input_shape)
            if mask_shape != x_shape[:1]:
                raise ValueError(
                    f"{self._describe()}: the padding mask must have one entry per time step, (batch, "
                    f"{x_shape[0] if x_shape else 'time'}), but its samples have shape {mask_shape}"
                )
            return x_shape, True
        return tuple(int(s) for s in input_shape), False

    def compute_output_shape(self, input_shape: Any) -> tuple[int, ...]:
        x_shape, _ = self._split_shapes(input_shape)
        if len(x_shape) != 2:
            raise ValueError(
                f"{self._describe()} attends over sequences of shape (time, features), got samples of shape {x_shape}"
            )
        return x_shape

    def build(self, input_shape: Any) -> None:
        x_shape, _ = self._split_shapes(input_shape)
        super().build(x_shape)
        D, h = x_shape[-1], self.num_heads
        for key, shape in (
            ("q", (D, h * self.key_dim)),
            ("k", (D, h * self.key_dim)),
            ("v", (D, h * self.value_dim)),
        ):
            self.add_param("W" + key, self.kernel_initializer, shape)
            if self.use_bias:
                self.add_param("b" + key, self.bias_initializer, (shape[1],))
        self.add_param("Wo", self.kernel_initializer, (h * self.value_dim, D))
        if self.use_bias:
            self.add_param("bo", self.bias_initializer, (D,))
        # Keras' order: query, key, value, output; each kernel before its bias
        order = ["Wq", "bq", "Wk", "bk", "Wv", "bv", "Wo", "bo"]
        self.params = {key: self.params[key] for key in order if key in self.params}
        self.grads = {key: self.grads[key] for key in order if key in self.grads}

    def check_input(self, x: np.ndarray) -> None:
        _check_sequences(self, x, None if self.input_shape is None else self.input_shape[-1])

    def __call__(self, x: Any, training: bool = False) -> Any:
        """``layer(x)`` or ``layer([x, padding_mask])`` on arrays: build on first use, check, run."""
        if isinstance(x, (list, tuple)) and all(isinstance(a, np.ndarray) for a in x):
            xs = [np.asarray(a) for a in x]
            if not self.built:
                self.build([a.shape[1:] for a in xs])
            return self.forward(list(xs), training=training)
        return super().__call__(x, training=training)

    # -- passes -----------------------------------------------------------
    def _padding_mask(self, mask: np.ndarray, x: np.ndarray) -> np.ndarray:
        mask = np.asarray(mask)
        if mask.shape != x.shape[:2]:
            raise ValueError(
                f"{self._describe()}: the padding mask must have shape (batch, time) = {x.shape[:2]} to match "
                f"the sequences {tuple(x.shape)}, but has shape {mask.shape}"
            )
        if mask.dtype != bool and not np.all((mask == 0) | (mask == 1)):
            raise ValueError(
                f"{self._describe()}: the padding mask must hold 1 (real token) or 0 (padding) only, "
                f"got values such as {mask[(mask != 0) & (mask != 1)][:3].tolist()}"
            )
        return mask.astype(bool)

    def _heads(self, z: np.ndarray, d: int) -> np.ndarray:
        """(N, T, h·d) -> (N, h, T, d), a view."""
        N, T, _ = z.shape
        return z.reshape(N, T, self.num_heads, d).transpose(0, 2, 1, 3)

    @staticmethod
    def _merge(o: np.ndarray) -> np.ndarray:
        """(N, h, T, d) -> (N, T, h·d), contiguous."""
        N, h, T, d = o.shape
        return np.ascontiguousarray(o.transpose(0, 2, 1, 3)).reshape(N, T, h * d)

    def forward(self, x: Any, training: bool = False) -> np.ndarray:
        self.had_mask = isinstance(x, (list, tuple))
        if self.had_mask:
            if len(x) != 2:
                raise ValueError(
                    f"{self._describe()} is called on x or on [x, padding_mask], got {len(x)} inputs"
                )
            x, padding = x[0], x[1]
        else:
            padding = None
        self.check_input(x)
        if padding is not None:
            padding = self._padding_mask(padding, x)
        P = self.params
        self.x = x
        # the three projections, each Dense's affine map at every position
        self.q = self._heads(ops.dense_forward(x, P["Wq"], P.get("bq")), self.key_dim)
        # bk is left out: it adds q_i . bk to every score of row i, which the softmax ignores (class docstring)
        self.k = self._heads(ops.dense_forward(x, P["Wk"]), self.key_dim)
        self.v = self._heads(ops.dense_forward(x, P["Wv"], P.get("bv")), self.value_dim)
        mask = attention_ops.attention_mask(x.shape[1], self.causal, padding)
        self.dropout_mask = None
        if training and self.dropout > 0.0:
            rng = self.rng if self.rng is not None else get_rng()
            shape = (x.shape[0], self.num_heads, x.shape[1], x.shape[1])
            keep = rng.random(shape, dtype=self.dtype) >= self.dropout
            self.dropout_mask = keep.astype(self.dtype) / (1.0 - self.dropout)
        o, self.attention_scores = attention_ops.scaled_dot_product_attention(
            self.q, self.k, self.v, mask, self.dropout_mask
        )
        self.concat = self._merge(o)
        y = self.output_array("y", x.shape, training, x.dtype)
        return ops.dense_forward(self.concat, P["Wo"], P.get("bo"), out=y)

    def backward(self, grad_output: np.ndarray) -> Any:
        P, G = self.params, self.grads
        ops.dense_backward(self.concat, grad_output, G["Wo"], G.get("bo"))
        grad_o = self._heads(ops.dense_input_grad(grad_output, P["Wo"]), self.value_dim)
        dq, dk, dv = attention_ops.scaled_dot_product_attention_backward(
            grad_o, self.q, self.k, self.v, self.attention_scores, self.dropout_mask
        )
        if "bk" in G:
            G["bk"].fill(0.0)  # exactly: the output does not depend on bk
        dx = None
        for key, d in (("q", dq), ("k", dk), ("v", dv)):
            dz = self._merge(d)
            ops.dense_backward(self.x, dz, G["W" + key], None if key == "k" else G.get("b" + key))
            if self.need_input_grad:
                part = ops.dense_input_grad(dz, P["W" + key])
                dx = part if dx is None else np.add(dx, part, out=dx)
        return [dx, None] if self.had_mask else dx

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "causal": self.causal,
            "kernel_initializer": self.kernel_initializer,
            "bias_initializer": self.bias_initializer,
        }


@register_layer
class PositionalEmbedding(Layer):
    r"""A learned position embedding, **added** to its input: :math:`Y_{n t} = X_{n t} + E_t`.

    ``embeddings`` :math:`E` (sequence_length, D) holds one trainable vector per position; a batch of
    :math:`T \le` ``sequence_length`` steps uses its first :math:`T` rows.  Backward:
    :math:`dX = G` and :math:`dE_t = \sum_n G_{nt}` for :math:`t < T` (each position's vector is shared
    by every sample), :math:`dE_t = 0` for the positions the batch did not reach.

    Relation to KerasHub: ``keras_hub.layers.PositionEmbedding`` (a different name) returns only the
    position vectors, broadcast to the input's shape, and is used as ``x + PositionEmbedding(T)(x)``.
    tinynet's layer adds them itself, so that it also works in a :class:`~tinynet.Sequential` model
    (which has no addition of two branches), like the ``PositionalEmbedding`` layers of the keras.io
    transformer examples; ``PositionalEmbedding(T)(x)`` here equals KerasHub's
    ``x + PositionEmbedding(T)(x)``.  (:class:`SinePositionEncoding` keeps KerasHub's name and so its
    meaning: it returns the encoding only.)

    Shapes: ``x``, ``y`` (N, T, D); ``embeddings`` (sequence_length, D).

    Parameters
    ----------
    sequence_length : int
        The longest sequence the layer accepts.
    initializer : str
        Name from :mod:`tinynet.initializers` (KerasHub's default, ``"glorot_uniform"``).
    """

    def __init__(self, sequence_length: int, initializer: str = "glorot_uniform", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if (
            isinstance(sequence_length, bool)
            or not isinstance(sequence_length, (int, np.integer))
            or sequence_length < 1
        ):
            raise ValueError(
                f"PositionalEmbedding sequence_length must be a positive integer, got {sequence_length!r}"
            )
        self.sequence_length = int(sequence_length)
        initializers.get(initializer)
        self.initializer = initializer

    def _check_length(self, T: int) -> None:
        if T > self.sequence_length:
            raise ValueError(
                f"{self._describe()} has positions for sequences of up to {self.sequence_length} steps, but "
                f"received {T} steps; crop the sequences or build the layer with a larger sequence_length"
            )

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 2:
            raise ValueError(
                f"{self._describe()} expects sequences of shape (time, features), got samples of shape "
                f"{tuple(input_shape)}"
            )
        self._check_length(int(input_shape[0]))
        return tuple(input_shape)

    def build(self, input_shape: tuple[int, ...]) -> None:
        super().build(input_shape)
        self.add_param("embeddings", self.initializer, (self.sequence_length, self.input_shape[-1]))

    def check_input(self, x: np.ndarray) -> None:
        _check_sequences(self, x, None if self.input_shape is None else self.input_shape[-1])
        self._check_length(x.shape[1])

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.check_input(x)
        self.T = x.shape[1]
        y = self.output_array("y", x.shape, training, x.dtype)
        return np.add(x, self.params["embeddings"][: self.T], out=y)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        dE = self.grads["embeddings"]
        np.add.reduce(grad_output, axis=0, out=dE[: self.T])  # each position's vector serves every sample
        dE[self.T :] = 0.0
        return grad_output

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "sequence_length": self.sequence_length,
            "initializer": self.initializer,
        }


def sine_position_encoding(T: int, D: int, max_wavelength: float = 10000.0, dtype=np.float64) -> np.ndarray:
    r"""The sinusoidal encoding of Vaswani et al. (2017), (T, D).

    .. math:: PE_{t, 2i} = \sin(t\, \omega_i), \quad PE_{t, 2i+1} = \cos(t\, \omega_i), \qquad
        \omega_i = \text{max\_wavelength}^{-2i/D}

    (sines in the even features, cosines in the odd ones, as KerasHub's ``SinePositionEncoding``).
    """
    t = np.arange(T, dtype=np.float64)[:, None]
    pairs = (np.arange(D) // 2) * 2  # 2i for features 2i and 2i + 1
    omega = float(max_wavelength) ** (-pairs / D)
    angles = t * omega
    return np.where(np.arange(D) % 2 == 0, np.sin(angles), np.cos(angles)).astype(dtype)


@register_layer
class SinePositionEncoding(Layer):
    r"""The fixed sinusoidal position encoding (KerasHub's name and meaning): returns :math:`PE`, not :math:`X + PE`.

    The output has the input's shape (N, T, D) and is :math:`PE_{1:T}` for every sample, with
    :math:`PE` of :func:`sine_position_encoding`; it does not depend on the input's values, only on its
    shape, so the input gradient is zero and there are no parameters.  Add it to the sequence yourself,
    as in KerasHub: ``x + SinePositionEncoding()(x)`` (with the functional API, an ``Add`` layer).

    Why this differs from :class:`PositionalEmbedding` (which adds): this layer carries KerasHub's name,
    and code written for KerasHub adds its output to ``x``; a version that added ``x`` itself would
    silently double ``x`` there.  ``PositionalEmbedding`` has its own name, and adding makes it usable in
    a Sequential model.

    Parameters
    ----------
    max_wavelength : float
        The longest wavelength, :math:`10^4` as in the paper and KerasHub.
    """

    def __init__(self, max_wavelength: float = 10000.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not float(max_wavelength) > 1.0:
            raise ValueError(
                f"SinePositionEncoding max_wavelength must be greater than 1, got {max_wavelength!r}"
            )
        self.max_wavelength = float(max_wavelength)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 2:
            raise ValueError(
                f"{self._describe()} expects sequences of shape (time, features), got samples of shape "
                f"{tuple(input_shape)}"
            )
        return tuple(input_shape)

    def check_input(self, x: np.ndarray) -> None:
        _check_sequences(self, x, None if self.input_shape is None else self.input_shape[-1])

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.check_input(x)
        self.x_shape = x.shape
        pe = sine_position_encoding(x.shape[1], x.shape[2], self.max_wavelength, x.dtype)
        y = self.output_array("y", x.shape, training, x.dtype)
        y[...] = pe
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        dx = self.buffer("dx", grad_output.shape, grad_output.dtype)
        dx.fill(0.0)  # the output does not depend on the input's values
        return dx

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_wavelength": self.max_wavelength}
