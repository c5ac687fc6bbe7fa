r"""Text data for character-level language models: tokens, windows, sampling and a baseline.

* :class:`CharTokenizer` maps characters to integer ids and back; with ``boundary="."`` it adds
  the start/end token of *makemore*, at id 0.
* :func:`next_token_windows` cuts a stream of ids into ``(N, T)`` inputs and the ``(N, T)``
  targets shifted by one; :func:`name_windows` does the same for a list of names, each padded on
  the left with the boundary token, and :func:`split_names` splits names (not windows) into
  seeded train/validation/test parts.
* :func:`generate` samples text from any model whose ``predict`` gives next-token probabilities
  (or logits), with temperature and top-k, reproducibly under a seed.
* :func:`bigram_model` is the count model: :math:`P(b \mid a)` from pair counts with
  add-:math:`\alpha` smoothing, the baseline every neural model must beat.
* :func:`name_sequences` gives one right-padded ``(T,)`` row per name with targets at every
  position, for models that predict at every position (a causal transformer, an RNN with
  ``return_sequences=True``); :class:`RightPadded` lets :func:`generate` sample from such a
  fixed-length model.
* :func:`transformer_block` and :func:`gpt` build a pre-norm causal transformer (a tiny GPT)
  with the functional API (derivations: the docs pages "Attention" and "Transformers").

Example
-------
>>> import tinynet as tn
>>> names = tn.datasets.load_names()
>>> train, val = tn.text.split_names(names, sizes=(0.9, 0.1), seed=0)
>>> tok = tn.text.CharTokenizer(boundary=".").fit(train)
>>> tok.vocab_size
27
>>> x, y = tn.text.name_windows(train[:2], tok, context=3)
>>> x.shape, y.shape
((14, 3), (14,))
>>> bigram = tn.text.bigram_model(train, tok)
>>> round(bigram.nll(val), 2)
2.45
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from . import _validation

__all__ = [
    "BigramModel",
    "CharTokenizer",
    "RightPadded",
    "bigram_model",
    "generate",
    "gpt",
    "name_sequences",
    "name_windows",
    "next_token_windows",
    "sampling_distribution",
    "split_names",
    "transformer_block",
]


# --------------------------------------------------------------------------- tokenizer


def _texts(data: Any, what: str) -> list[str]:
    """``data`` (a str or an iterable of str) as a list of str, refusing anything else."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, (bytes, bytearray)):
        raise TypeError(f"{what}: expected str or a list of str, got bytes; decode it first")
    if not isinstance(data, Iterable):
        raise TypeError(f"{what}: expected str or a list of str, got {type(data).__name__}")
    texts = list(data)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{what}: element {i} is {type(text).__name__} ({text!r}), expected str")
    return texts


def _code_points(text: str) -> np.ndarray:
    """The Unicode code points of ``text`` as a uint32 array (no Python loop over characters)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


class CharTokenizer:
    r"""Map characters to integer token ids and back.

    The vocabulary is the sorted set of the characters seen by :meth:`fit`.  With a
    ``boundary`` character (makemore uses ``"."``), that character gets id 0 and marks both the
    start and the end of a name: a name :math:`c_1 \dots c_L` is modelled as the sequence
    ``. c_1 ... c_L .``.

    Parameters
    ----------
    boundary : str, optional
        One character used as the start/end token, at id 0.  The texts given to :meth:`fit`
        must not contain it.  ``None`` (the default) adds no special token, which is what a
        running text such as Tiny Shakespeare needs.

    Attributes
    ----------
    chars : list of str
        The vocabulary in id order (after :meth:`fit`).

    Examples
    --------
    >>> tok = CharTokenizer(boundary=".").fit(["emma", "ava"])
    >>> tok.chars
    ['.', 'a', 'e', 'm', 'v']
    >>> tok.encode("mae").tolist()
    [3, 1, 2]
    >>> tok.decode([3, 1, 2, 0])
    'mae.'
    """

    def __init__(self, boundary: str | None = None) -> None:
        if boundary is not None and (not isinstance(boundary, str) or len(boundary) != 1):
            raise ValueError(f"CharTokenizer: boundary must be one character or None, got {boundary!r}")
        self.boundary = boundary
        self.chars: list[str] = []
        self._set_vocabulary([])

    # The lookup tables: code points sorted (for encode) and the id of each, and the characters
    # in id order as a NumPy array (for decode).
    def _set_vocabulary(self, chars: list[str]) -> None:
        self.chars = list(chars)
        codes = np.array([ord(c) for c in self.chars], dtype=np.uint32)
        self._order = np.argsort(codes, kind="stable")
        self._sorted_codes = codes[self._order]
        self._char_array = np.array(self.chars, dtype="U1")

    def fit(self, data: str | Sequence[str]) -> CharTokenizer:
        """Build the vocabulary from a text or a list of texts (names); return ``self``.

        Parameters
        ----------
        data : str or sequence of str
            The training text, or the training names.

        Raises
        ------
        ValueError
            When the texts hold no character, or contain the boundary character.
        """
        texts = _texts(data, "CharTokenizer.fit")
        if self.boundary is not None:
            for i, text in enumerate(texts):
                position = text.find(self.boundary)
                if position >= 0:
                    raise ValueError(
                        f"CharTokenizer.fit: text {i} contains the boundary character {self.boundary!r} "
                        f"at position {position}; choose a boundary character that the data never uses"
                    )
        chars = sorted(set("".join(texts)))
        if not chars:
            raise ValueError("CharTokenizer.fit: the texts hold no character; fit on non-empty text")
        self._set_vocabulary(([self.boundary] if self.boundary is not None else []) + chars)
        return self

    @property
    def vocab_size(self) -> int:
        """The number of token ids, :math:`V` (the boundary included)."""
        return len(self.chars)

    @property
    def boundary_id(self) -> int | None:
        """The id of the boundary token (0), or ``None`` without one."""
        return 0 if self.boundary is not None else None

    def _check_fitted(self, owner: str) -> None:
        if not self.chars:
            raise RuntimeError(f"{owner}: the tokenizer is not fitted; call fit(text) first")

    def encode(self, text: str) -> np.ndarray:
        """The token ids of ``text``, an int64 array of shape ``(len(text),)``.

        The boundary character, if any, encodes to 0.

        Raises
        ------
        ValueError
            Naming the first character that is not in the vocabulary and its position.
        """
        self._check_fitted("CharTokenizer.encode")
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer.encode: expected a str, got {type(text).__name__}")
        codes = _code_points(text)
        slot = np.searchsorted(self._sorted_codes, codes)
        np.minimum(slot, len(self._sorted_codes) - 1, out=slot)
        known = self._sorted_codes[slot] == codes
        if not known.all():
            position = int(np.argmin(known))
            raise ValueError(
                f"CharTokenizer.encode: character {text[position]!r} (U+{ord(text[position]):04X}) at "
                f"position {position} is not in the vocabulary of {self.vocab_size} characters "
                f"{''.join(self.chars)!r}; fit the tokenizer on text that contains it, or remove it"
            )
        return self._order[slot].astype(np.int64)

    def decode(self, ids: Any) -> str:
        """The text of a 1-D sequence of token ids (the boundary decodes to its character)."""
        self._check_fitted("CharTokenizer.decode")
        array = np.asarray(ids)
        if array.size == 0:
            return ""
        if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(
                f"CharTokenizer.decode: expected a 1-D sequence of integer ids, got shape {array.shape} "
                f"and dtype {array.dtype}"
            )
        bad = (array < 0) | (array >= self.vocab_size)
        if bad.any():
            position = int(np.argmax(bad))
            raise ValueError(
                f"CharTokenizer.decode: id {int(array[position])} at position {position} is outside "
                f"0..{self.vocab_size - 1}"
            )
        return self._char_array[array].tobytes().decode("utf-32-le", "surrogatepass")

    def get_config(self) -> dict[str, Any]:
        """A JSON-safe description (``boundary`` and ``chars`` in id order) for :meth:`from_config`."""
        return {"boundary": self.boundary, "chars": list(self.chars)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CharTokenizer:
        """Rebuild a fitted tokenizer from :meth:`get_config`'s dictionary, validating it."""
        if not isinstance(config, dict) or set(config) != {"boundary", "chars"}:
            keys = sorted(config) if isinstance(config, dict) else type(config).__name__
            raise ValueError(
                f"CharTokenizer.from_config: expected a dict with keys 'boundary' and 'chars', got {keys}"
            )
        tokenizer = cls(config["boundary"])
        chars = config["chars"]
        if not isinstance(chars, list) or not all(isinstance(c, str) and len(c) == 1 for c in chars):
            raise ValueError("CharTokenizer.from_config: 'chars' must be a list of one-character strings")
        if not chars or len(set(chars)) != len(chars):
            raise ValueError("CharTokenizer.from_config: 'chars' must be non-empty and without duplicates")
        if tokenizer.boundary is not None and chars[0] != tokenizer.boundary:
            raise ValueError(
                f"CharTokenizer.from_config: the boundary {tokenizer.boundary!r} must be chars[0], "
                f"got {chars[0]!r}"
            )
        tokenizer._set_vocabulary(chars)
        return tokenizer

    def __repr__(self) -> str:
        return f"CharTokenizer(boundary={self.boundary!r}, vocab_size={self.vocab_size})"


# --------------------------------------------------------------------------- windows


def _token_ids(ids: Any, name: str) -> np.ndarray:
    """A private int64 copy of a 1-D array of non-negative token ids."""
    array = np.asarray(ids)
    if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        raise ValueError(
            f"{name}: expected a 1-D array of integer token ids, got shape {array.shape} and dtype {array.dtype}"
        )
    if array.size and array.min() < 0:
        raise ValueError(f"{name}: token ids must be >= 0, got {int(array.min())}")
    return np.array(array, dtype=np.int64)  # a copy: the windows below are views of it


def _read_only(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    for array in arrays:
        array.flags.writeable = False
    return arrays


def next_token_windows(ids: Any, context: int, step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    r"""Cut a token stream into next-token training pairs: ``(N, T)`` inputs and ``(N, T)`` targets.

    Window :math:`n` starts at :math:`s = n \cdot \text{step}`:

    .. math:: x_{n,t} = \text{ids}_{s+t}, \qquad y_{n,t} = \text{ids}_{s+t+1}, \qquad t = 0, \dots, T-1,

    so :math:`y_{n,t}` is the token that follows :math:`x_{n,0..t}`, and
    :math:`N = \lfloor (L - T - 1) / \text{step} \rfloor + 1` for a stream of length :math:`L`.

    Parameters
    ----------
    ids : array_like of int, shape (L,)
        The token stream, e.g. ``tokenizer.encode(text)``.
    context : int
        The window length :math:`T` (at most ``L - 1``).
    step : int, default 1
        The distance between the starts of consecutive windows.

    Returns
    -------
    x, y : ndarray of shape (N, T), int64
        Read-only strided views of one private copy of ``ids`` (memory :math:`O(L)` whatever
        :math:`T`); ``y`` is ``x`` shifted by one token.  Index them (``x[batch]``) or call
        ``np.array(x)`` for a writable copy.
    """
    ids = _token_ids(ids, "next_token_windows")
    context = _validation.positive_int(context, "context", "next_token_windows")
    step = _validation.positive_int(step, "step", "next_token_windows")
    if ids.size < context + 1:
        raise ValueError(
            f"next_token_windows: a stream of {ids.size} tokens is too short for context={context}: "
            f"one window needs context + 1 = {context + 1} tokens"
        )
    # Every window of T + 1 consecutive tokens, as a view: row n is ids[n : n + T + 1].
    windows = np.lib.stride_tricks.sliding_window_view(ids, context + 1)[::step]
    return _read_only(windows[:, :-1], windows[:, 1:])


def name_windows(
    names: Sequence[str], tokenizer: CharTokenizer, context: int, sequences: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    r"""Next-character training pairs from names, each padded on the left with the boundary token.

    As in makemore, a name :math:`c_1 \dots c_L` becomes the stream
    :math:`b^T c_1 \dots c_L\, b` (:math:`T` boundary tokens :math:`b` in front, one behind) and
    gives :math:`L + 1` examples: every window of :math:`T` tokens of the stream, followed by
    the character to predict.  For ``"emma"`` and :math:`T = 3`::

        ...  -> e      ..e -> m      .em -> m      emm -> a      mma -> .

    Parameters
    ----------
    names : sequence of str
        Non-empty names without the boundary character.
    tokenizer : CharTokenizer
        A fitted tokenizer with a boundary token.
    context : int
        The number :math:`T` of previous characters the model sees.
    sequences : bool, default False
        Return targets of shape ``(N, T)`` instead of ``(N,)``: ``y[n, t]`` is the token that
        follows ``x[n, :t + 1]`` in the padded stream (for models that predict at every position,
        such as a causal transformer); ``y[:, -1]`` are the ``(N,)`` targets.

    Returns
    -------
    x : ndarray of shape (N, T), int64
        The contexts, :math:`N = \sum_i (L_i + 1)`, names in order.
    y : ndarray of shape (N,) or (N, T), int64
        The next characters.
    """
    _check_tokenizer(tokenizer, "name_windows", needs_boundary=True)
    context = _validation.positive_int(context, "context", "name_windows")
    sequences = _validation.flag(sequences, "name_windows: sequences")
    names = _names(names, tokenizer, "name_windows")
    lengths = np.fromiter(map(len, names), dtype=np.int64, count=len(names))
    chars = tokenizer.encode("".join(names))
    # The padded streams of all names, back to back: name i occupies T + L_i + 1 slots from
    # seg_start[i], its characters from seg_start[i] + T; every other slot is the boundary id 0.
    segment = context + lengths + 1
    seg_start = np.cumsum(segment) - segment
    stream = np.zeros(int(segment.sum()), dtype=np.int64)
    char_start = np.cumsum(lengths) - lengths
    offset_in_name = np.arange(chars.size) - np.repeat(char_start, lengths)
    stream[np.repeat(seg_start + context, lengths) + offset_in_name] = chars
    # Name i's examples are the windows of T + 1 tokens starting at seg_start[i] + j, j = 0..L_i.
    starts = np.repeat(seg_start, lengths + 1) + (
        np.arange(int((lengths + 1).sum())) - np.repeat(np.cumsum(lengths + 1) - (lengths + 1), lengths + 1)
    )
    windows = np.lib.stride_tricks.sliding_window_view(stream, context + 1)[starts]
    x = windows[:, :-1]
    y = windows[:, 1:] if sequences else windows[:, -1]
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def name_sequences(
    names: Sequence[str], tokenizer: CharTokenizer, context: int | None = None, pad: int = -1
) -> tuple[np.ndarray, np.ndarray]:
    r"""One right-padded next-character sequence per name, for models that predict at every position.

    A name :math:`c_1 \dots c_L` becomes one row of each array:

    .. math:: x = [\,b, c_1, \dots, c_L, b, \dots, b\,], \qquad
        y = [\,c_1, \dots, c_L, b, \text{pad}, \dots, \text{pad}\,],

    so :math:`y_t` is the character that follows :math:`x_{0..t}`, and the row holds the name's
    :math:`L + 1` predictions (each character, then the end) that the bigram's
    :meth:`~BigramModel.nll` counts.  The positions after them are marked with ``pad`` in ``y``:
    give the loss ``ignore_class=pad`` (``SparseCategoricalCrossentropy(ignore_class=-1)``) and its
    masked mean over a validation set is the NLL per character, comparable with the bigram's.

    Pad on the right for a causal model: position :math:`t` sees only :math:`x_{0..t}`, never the
    padding behind it, and every name starts at position 0 (a left padding would tell a model
    with position embeddings the name's length).  One row per name (:math:`N` names) costs the
    same predictions as the name's windows of :func:`name_windows` without repeating them:
    :math:`T` times fewer rows than ``name_windows(..., sequences=True)``.

    Parameters
    ----------
    names : sequence of str
        Non-empty names without the boundary character.
    tokenizer : CharTokenizer
        A fitted tokenizer with a boundary token.
    context : int, optional
        The row length :math:`T`, at least the longest name + 1 (the default).
    pad : int, default -1
        The target of the positions after the end of a name (a negative id, so that it is
        never a token).

    Returns
    -------
    x, y : ndarray of shape (N, T), int64
        Inputs (padded with the boundary id) and targets (padded with ``pad``).

    Examples
    --------
    >>> tok = CharTokenizer(boundary=".").fit(["ab", "c"])
    >>> x, y = name_sequences(["ab", "c"], tok, context=4)
    >>> x.tolist(), y.tolist()
    ([[0, 1, 2, 0], [0, 3, 0, 0]], [[1, 2, 0, -1], [3, 0, -1, -1]])
    """
    _check_tokenizer(tokenizer, "name_sequences", needs_boundary=True)
    names = _names(names, tokenizer, "name_sequences")
    if isinstance(pad, (bool, np.bool_)) or not isinstance(pad, numbers.Integral) or pad >= 0:
        raise ValueError(f"name_sequences: pad must be a negative integer (never a token id), got {pad!r}")
    lengths = np.fromiter(map(len, names), dtype=np.int64, count=len(names))
    longest = int(lengths.max())
    if context is None:
        context = longest + 1
    context = _validation.positive_int(context, "context", "name_sequences")
    if longest + 1 > context:
        i = int(np.argmax(lengths))
        raise ValueError(
            f"name_sequences: name {i} ({names[i]!r}) has {longest} characters and needs context >= "
            f"{longest + 1} (the boundary token in front), got context={context}; drop the longest names "
            "or use a longer context"
        )
    chars = tokenizer.encode("".join(names))
    rows = np.repeat(np.arange(len(names)), lengths)
    cols = np.arange(chars.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    x = np.zeros((len(names), context), dtype=np.int64)
    y = np.full((len(names), context), int(pad), dtype=np.int64)
    x[rows, cols + 1] = chars  # x[:, 0] is the boundary token that starts every name
    y[rows, cols] = chars
    y[np.arange(len(names)), lengths] = 0  # the end of the name: the boundary token
    return x, y


def _check_tokenizer(tokenizer: Any, owner: str, needs_boundary: bool = False) -> None:
    if not isinstance(tokenizer, CharTokenizer):
        raise TypeError(f"{owner}: tokenizer must be a CharTokenizer, got {type(tokenizer).__name__}")
    tokenizer._check_fitted(owner)
    if needs_boundary and tokenizer.boundary is None:
        raise ValueError(
            f"{owner}: the tokenizer has no boundary token; build it as CharTokenizer(boundary='.') "
            "so that names have a start and an end"
        )


def _names(names: Any, tokenizer: CharTokenizer, owner: str) -> list[str]:
    """``names`` as a non-empty list of non-empty str without the boundary character."""
    if isinstance(names, str):
        raise TypeError(f"{owner}: names must be a list of str, got one str {names[:20]!r}")
    names = _texts(names, owner)
    if not names:
        raise ValueError(f"{owner}: names is empty")
    for i, name in enumerate(names):
        if not name:
            raise ValueError(f"{owner}: name {i} is empty; remove blank lines from the data")
        if tokenizer.boundary is not None and tokenizer.boundary in name:
            raise ValueError(
                f"{owner}: name {i} ({name!r}) contains the boundary character {tokenizer.boundary!r}"
            )
    return names


def split_names(
    names: Sequence[str], sizes: Sequence[float] = (0.8, 0.1, 0.1), seed: int | None = None
) -> tuple[list[str], ...]:
    r"""Shuffle names with a seeded generator and split them into parts of the given fractions.

    The split is by name, so the windows of one name never straddle two parts.  Part :math:`k`
    holds the names from :math:`\operatorname{round}(N \sum_{j<k} s_j)` to
    :math:`\operatorname{round}(N \sum_{j \le k} s_j)` of the permutation.  Duplicated names (the
    names data set has some) are not merged: a name can occur in two parts.

    Parameters
    ----------
    names : sequence of str
    sizes : sequence of float, default (0.8, 0.1, 0.1)
        Fractions in (0, 1] that sum to 1: ``(0.8, 0.1, 0.1)`` gives train/validation/test (as
        in makemore), ``(0.9, 0.1)`` train/validation.
    seed : int, optional
        Seed of the local ``np.random.default_rng`` that shuffles (the global generator is not
        touched); ``None`` draws fresh entropy.

    Returns
    -------
    tuple of lists of str
        One list per fraction, each non-empty.
    """
    if isinstance(names, str):
        raise TypeError(f"split_names: names must be a list of str, got one str {names[:20]!r}")
    names = _texts(names, "split_names")
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 1:
        raise TypeError(f"split_names: sizes must be a sequence of fractions, got {sizes!r}")
    fractions = [
        _validation.real(
            s, f"sizes[{i}]", low=0.0, high=1.0, include_low=False, include_high=True, owner="split_names"
        )
        for i, s in enumerate(sizes)
    ]
    if not math.isclose(sum(fractions), 1.0, rel_tol=0.0, abs_tol=1e-9):
        raise ValueError(f"split_names: sizes must sum to 1, got {list(sizes)} (sum {sum(fractions)!r})")
    n = len(names)
    # Rounding the cumulative sums (not each part) keeps the total exactly n.
    bounds = [round(n * c) for c in np.cumsum([0.0, *fractions])]
    bounds[-1] = n
    counts = np.diff(bounds)
    if (counts < 1).any():
        raise ValueError(
            f"split_names: {n} names split by sizes {list(sizes)} give parts of {counts.tolist()} names; "
            "every part needs at least one"
        )
    order = np.random.default_rng(seed).permutation(n)
    return tuple([names[i] for i in order[lo:hi]] for lo, hi in itertools.pairwise(bounds))


# --------------------------------------------------------------------------- sampling


def _log_softmax(z: np.ndarray) -> np.ndarray:
    r""":math:`z_i - \max z - \log \sum_j e^{z_j - \max z}` (max-subtraction: exp never overflows)."""
    shifted = z - z.max()
    return shifted - np.log(np.exp(shifted).sum())


def _softmax(z: np.ndarray) -> np.ndarray:
    """Softmax of a vector whose entries may be ``-inf`` (but not all)."""
    e = np.exp(z - z.max())
    return e / e.sum()


def sampling_distribution(
    log_probs: np.ndarray, temperature: float = 1.0, top_k: int | None = None
) -> np.ndarray:
    r"""The distribution :func:`generate` samples from, given next-token log-probabilities.

    .. math:: q_i = \frac{\exp(\log p_i / \tau)}{\sum_{j \in K} \exp(\log p_j / \tau)}
        \quad (i \in K), \qquad q_i = 0 \quad (i \notin K),

    where :math:`K` is the set of the ``top_k`` most probable tokens (ties with the
    :math:`k`-th largest are kept; all tokens without ``top_k``).  :math:`\tau = 1` samples from
    the model, :math:`\tau \to 0` tends to the argmax (greedy decoding), :math:`\tau > 1` flattens.

    Parameters
    ----------
    log_probs : ndarray of shape (V,)
        Log-probabilities (``-inf`` allowed, at least one finite).
    temperature : float, default 1.0
        :math:`\tau > 0`.
    top_k : int, optional
        Keep the ``top_k`` most probable tokens (``top_k >= V`` keeps all).

    Returns
    -------
    ndarray of shape (V,), float64
        Non-negative, sums to 1.
    """
    logp = np.asarray(log_probs, dtype=np.float64)
    tau = _validation.real(temperature, "temperature", low=0.0, include_low=False, owner="generate")
    if top_k is not None:
        top_k = _validation.positive_int(top_k, "top_k", "generate")
    # Dividing after subtracting the max: the argmax stays at 0 and, as tau -> 0, every other
    # entry goes to -inf (the greedy limit) instead of overflowing.
    with np.errstate(over="ignore"):
        z = (logp - logp.max()) / tau
    if top_k is not None and top_k < z.size:
        kth = np.partition(z, z.size - top_k)[z.size - top_k]
        z = np.where(z >= kth, z, -np.inf)
    return _softmax(z)


def _next_log_probs(output: Any, vocab_size: int, from_logits: bool) -> np.ndarray:
    """The log-probabilities of the next token from a model's output of shape (1, V) or (1, T, V)."""
    out = np.asarray(output)
    if out.ndim == 3 and out.shape[0] == 1:
        row = out[0, -1]
    elif out.ndim == 2 and out.shape[0] == 1:
        row = out[0]
    else:
        raise ValueError(
            f"generate: model.predict must return shape (1, V) or (1, T, V) for a (1, T) input, got {out.shape}"
        )
    if row.shape[0] != vocab_size:
        raise ValueError(
            f"generate: the model predicts {row.shape[0]} tokens but the tokenizer has {vocab_size}; "
            "use the tokenizer the model was trained with"
        )
    row = row.astype(np.float64)
    if from_logits:
        if not np.isfinite(row).all():
            raise ValueError("generate: the model returned non-finite logits")
        return _log_softmax(row)
    if not np.isfinite(row).all() or (row < 0).any() or not math.isclose(row.sum(), 1.0, abs_tol=1e-3):
        raise ValueError(
            f"generate: the model's output is not a probability distribution (sum {row.sum():.6g}, "
            f"min {row.min():.6g}); if it returns logits, pass from_logits=True"
        )
    log_p = np.full_like(row, -np.inf)
    np.log(row, out=log_p, where=row > 0)  # log 0 = -inf without a divide-by-zero warning
    return log_p


def generate(
    model: Any,
    prompt: str,
    n: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
    *,
    tokenizer: CharTokenizer,
    context: int | None = None,
    from_logits: bool = False,
    stop_at_end: bool | None = None,
) -> str:
    r"""Sample up to ``n`` characters after ``prompt`` from a language model.

    Each step feeds the last ``context`` tokens (shape ``(1, T)``) to ``model.predict``, takes
    the next-token distribution :math:`p` (the last position of a ``(1, T, V)`` output, or a
    ``(1, V)`` output), and draws the next token from

    .. math:: q_i \propto \exp(\log p_i / \tau) \text{ over the top } k \text{ tokens}

    (see :func:`sampling_distribution`).  The arithmetic is on log-probabilities with
    max-subtraction, so no temperature overflows.  Draws come from a local
    ``np.random.default_rng(seed)``: the same seed gives the same text, and the global generator
    is never touched.

    Parameters
    ----------
    model : object with ``predict``
        ``model.predict(x)`` maps int64 token ids ``x`` of shape ``(1, T)`` to next-token
        probabilities (or logits, with ``from_logits=True``) of shape ``(1, V)`` or ``(1, T, V)``.
    prompt : str
        The text to continue, in the tokenizer's vocabulary (``""`` to start a new name).
    n : int
        The maximum number of characters to generate, ``>= 0``.
    temperature : float, default 1.0
        :math:`\tau > 0`.
    top_k : int, optional
        Sample only among the ``top_k >= 1`` most probable tokens; ``top_k=1`` is greedy decoding.
    seed : int, optional
        Seed of the sampler; ``None`` draws fresh entropy.
    tokenizer : CharTokenizer
        The fitted tokenizer of the model.
    context : int, optional
        Feed the model the last ``context`` tokens, padded on the left with the boundary token
        when fewer (as :func:`name_windows` trained it; without a boundary token the shorter
        sequence is fed).  ``None`` feeds the whole sequence so far, with the boundary token in
        front when the tokenizer has one.
    from_logits : bool, default False
        ``model.predict`` returns logits instead of probabilities.
    stop_at_end : bool, optional
        Stop when the boundary token is drawn (it is not included in the result).  ``None``
        means true when the tokenizer has a boundary token.

    Returns
    -------
    str
        The generated characters only (without ``prompt``); shorter than ``n`` if generation
        stopped at the boundary token.

    Examples
    --------
    >>> import tinynet as tn
    >>> names = tn.datasets.load_names()
    >>> tok = tn.text.CharTokenizer(boundary=".").fit(names)
    >>> bigram = tn.text.bigram_model(names, tok)
    >>> name = tn.text.generate(bigram, "", 20, seed=0, tokenizer=tok, context=1)
    >>> name == tn.text.generate(bigram, "", 20, seed=0, tokenizer=tok, context=1)
    True
    """
    predict = getattr(model, "predict", None)
    if not callable(predict):
        raise TypeError(f"generate: model must have a predict method, got {type(model).__name__}")
    _check_tokenizer(tokenizer, "generate")
    if not isinstance(prompt, str):
        raise TypeError(f"generate: prompt must be a str, got {type(prompt).__name__}")
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
        raise TypeError(f"generate: n must be an integer >= 0, got {n!r} ({type(n).__name__})")
    if n < 0:
        raise ValueError(f"generate: n must be >= 0, got {n}")
    # Checked here, before any work, with the same messages as sampling_distribution's.
    _validation.real(temperature, "temperature", low=0.0, include_low=False, owner="generate")
    if top_k is not None:
        _validation.positive_int(top_k, "top_k", "generate")
    if context is not None:
        context = _validation.positive_int(context, "context", "generate")
    from_logits = _validation.flag(from_logits, "generate: from_logits")
    has_boundary = tokenizer.boundary is not None
    if stop_at_end is None:
        stop_at_end = has_boundary
    stop_at_end = _validation.flag(stop_at_end, "generate: stop_at_end")
    if stop_at_end and not has_boundary:
        raise ValueError("generate: stop_at_end=True needs a tokenizer with a boundary token")
    prompt_ids = tokenizer.encode(prompt)
    if not has_boundary and prompt_ids.size == 0:
        raise ValueError(
            "generate: an empty prompt needs a tokenizer with a boundary token (the model has nothing "
            "to condition on); give a prompt of at least one character"
        )
    rng = np.random.default_rng(seed)
    # The boundary token starts every sequence, as in training; then the prompt.
    pad = context if context is not None else 1
    sequence = ([0] * pad if has_boundary else []) + prompt_ids.tolist()
    start = len(sequence)
    for _ in range(n):
        window = sequence[-context:] if context is not None else sequence
        log_p = _next_log_probs(
            predict(np.array([window], dtype=np.int64)), tokenizer.vocab_size, from_logits
        )
        q = sampling_distribution(log_p, temperature, top_k)
        # Inverse-CDF sampling: the first token whose cumulative probability exceeds u.
        cdf = np.cumsum(q)
        token = min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), q.size - 1)
        if stop_at_end and token == 0:
            break
        sequence.append(token)
    return tokenizer.decode(np.array(sequence[start:], dtype=np.int64))


class RightPadded:
    r""":func:`generate`'s model interface for a causal model of fixed length trained on :func:`name_sequences`.

    :func:`generate` calls ``predict`` on the sequence so far, ``(1, k)`` token ids starting with
    the boundary token.  A model built for ``(context,)`` inputs cannot take them as they are;
    this wrapper pads them on the right to ``(1, context)`` (with the boundary id) and returns
    the model's output at position :math:`k - 1`, the next-token distribution after the last
    real token.  For a causal model that output does not depend on the padding behind it, and
    every sequence starts at position 0 as in training.  Longer sequences are cut to their last
    ``context`` tokens (for names, ``n <= context - 1`` never needs that).

    Parameters
    ----------
    model : object with ``predict``
        Maps ``(1, context)`` token ids to ``(1, context, V)`` outputs (probabilities or logits).
    context : int
        The model's input length :math:`T`.

    Examples
    --------
    >>> import tinynet as tn
    >>> tok = tn.text.CharTokenizer(boundary=".").fit(["ab", "ba"])
    >>> tn.set_seed(0)
    >>> model = tn.text.gpt(tok.vocab_size, context=4, d_model=8, num_heads=2, num_layers=1)
    >>> name = tn.text.generate(tn.text.RightPadded(model, 4), "", 3, seed=0, tokenizer=tok)
    >>> len(name) <= 3
    True
    """

    def __init__(self, model: Any, context: int) -> None:
        if not callable(getattr(model, "predict", None)):
            raise TypeError(f"RightPadded: model must have a predict method, got {type(model).__name__}")
        self.model = model
        self.context = _validation.positive_int(context, "context", "RightPadded")

    def predict(self, ids: Any, verbose: int = 0) -> np.ndarray:
        """The model's outputs ``(1, V)`` after the last token of ``ids`` ``(1, k)``."""
        ids = np.asarray(ids)
        if ids.ndim != 2 or ids.shape[0] != 1 or ids.shape[1] < 1:
            raise ValueError(f"RightPadded.predict: expected token ids of shape (1, k), got {ids.shape}")
        ids = ids[:, -self.context :]
        k = ids.shape[1]
        x = np.zeros((1, self.context), dtype=np.int64)  # the boundary id behind the tokens
        x[0, :k] = ids[0]
        out = np.asarray(self.model.predict(x, verbose=0))
        if out.ndim != 3 or out.shape[:2] != (1, self.context):
            raise ValueError(
                f"RightPadded: the model must return (1, {self.context}, V) for (1, {self.context}) ids, "
                f"got {out.shape}"
            )
        return out[:, k - 1]


# --------------------------------------------------------------------------- bigram baseline


def _bigram_pairs(names: list[str], tokenizer: CharTokenizer) -> tuple[np.ndarray, np.ndarray]:
    """The (previous, next) token ids of every prediction in the names, boundaries included."""
    x, y = name_windows(names, tokenizer, context=1)
    return x[:, 0], y


class BigramModel:
    r"""The character bigram model: :math:`P(b \mid a)` from pair counts, with add-:math:`\alpha` smoothing.

    Build it with :func:`bigram_model`.  ``predict`` follows the model interface of
    :func:`generate`: token ids ``(N, T)`` to the probabilities ``(N, V)`` of the token that
    follows the last one.

    Attributes
    ----------
    counts : ndarray of shape (V, V), int64
        ``counts[a, b]`` is the number of times token ``b`` follows token ``a`` in the training
        names (with the boundary token before and after each name).
    probs : ndarray of shape (V, V), float64
        :math:`P(b \mid a) = (C_{ab} + \alpha) / (\sum_{b'} C_{ab'} + \alpha V)`; rows sum to 1.
    log_probs : ndarray of shape (V, V), float64
        Its logarithm (``-inf`` where a probability is 0, possible only with ``smoothing=0``).
    tokenizer : CharTokenizer
    smoothing : float
    """

    def __init__(self, counts: np.ndarray, tokenizer: CharTokenizer, smoothing: float) -> None:
        self.counts = counts
        self.tokenizer = tokenizer
        self.smoothing = smoothing
        totals = counts.sum(axis=1, keepdims=True) + smoothing * counts.shape[1]
        self.probs = (counts + smoothing) / totals
        self.log_probs = np.full_like(self.probs, -np.inf)
        np.log(self.probs, out=self.log_probs, where=self.probs > 0)

    def predict(self, x: Any) -> np.ndarray:
        """The next-token probabilities ``(N, V)`` after the last token of each row of ``x`` ``(N, T)``."""
        ids = np.asarray(x)
        if ids.ndim != 2 or ids.shape[1] < 1 or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(
                f"BigramModel.predict: expected integer token ids of shape (N, T), got {ids.shape}"
            )
        last = ids[:, -1]
        if ((last < 0) | (last >= self.counts.shape[0])).any():
            raise ValueError(f"BigramModel.predict: token ids must be in 0..{self.counts.shape[0] - 1}")
        return self.probs[last]

    def nll(self, names: Sequence[str]) -> float:
        r"""The mean negative log-likelihood of ``names``, in nats per character.

        .. math:: \text{NLL} = -\frac{1}{M} \sum_{m=1}^{M} \log P(b_m \mid a_m),

        over the :math:`M = \sum_i (L_i + 1)` predictions: each character of each name and the
        final boundary token.  ``inf`` when a pair has probability 0 (``smoothing=0`` only).
        """
        names = _names(names, self.tokenizer, "BigramModel.nll")
        a, b = _bigram_pairs(names, self.tokenizer)
        return float(-self.log_probs[a, b].mean())


def bigram_model(names: Sequence[str], tokenizer: CharTokenizer, smoothing: float = 1.0) -> BigramModel:
    r"""Fit the character bigram model of ``names``: the makemore count model.

    Each name :math:`c_1 \dots c_L` gives the pairs :math:`(b, c_1), (c_1, c_2), \dots, (c_L, b)`
    (:math:`b` the boundary token).  With :math:`C_{ab}` the count of the pair :math:`(a, b)`,
    maximising the log-likelihood :math:`\sum_{a,b} C_{ab} \log P(b \mid a)` under
    :math:`\sum_b P(b \mid a) = 1` gives :math:`P(b \mid a) = C_{ab} / \sum_{b'} C_{ab'}`;
    add-:math:`\alpha` smoothing adds :math:`\alpha` to every count,

    .. math:: P(b \mid a) = \frac{C_{ab} + \alpha}{\sum_{b'} C_{ab'} + \alpha V},

    so that no pair unseen in training gets probability 0 (``smoothing=1`` is Laplace's
    add-one rule).

    Parameters
    ----------
    names : sequence of str
        The training names.
    tokenizer : CharTokenizer
        A fitted tokenizer with a boundary token.
    smoothing : float, default 1.0
        :math:`\alpha \ge 0`.  With 0, every token must follow some token in the training names
        (otherwise its row of probabilities is 0/0).

    Returns
    -------
    BigramModel
        Its :meth:`~BigramModel.nll` gives the baseline in nats per character (about 2.45 on
        a held-out tenth of the names data); it works with :func:`generate` (``context=1``).
    """
    _check_tokenizer(tokenizer, "bigram_model", needs_boundary=True)
    alpha = _validation.real(smoothing, "smoothing", low=0.0, owner="bigram_model")
    names = _names(names, tokenizer, "bigram_model")
    a, b = _bigram_pairs(names, tokenizer)
    V = tokenizer.vocab_size
    counts = np.bincount(a * V + b, minlength=V * V).reshape(V, V).astype(np.int64)
    if alpha == 0.0:
        unseen = np.flatnonzero(counts.sum(axis=1) == 0)
        if unseen.size:
            raise ValueError(
                f"bigram_model: with smoothing=0, P(. | {tokenizer.chars[unseen[0]]!r}) is undefined: that "
                "token is never followed by anything in the training names; use smoothing > 0"
            )
    return BigramModel(counts, tokenizer, alpha)


# --------------------------------------------------------------------------- a tiny GPT


def transformer_block(
    x: Any,
    num_heads: int,
    intermediate_dim: int,
    key_dim: int | None = None,
    dropout: float = 0.0,
    activation: str = "gelu_tanh",
    layer_norm_epsilon: float = 1e-5,
    name: str | None = None,
) -> Any:
    r"""A pre-norm causal transformer block (GPT-2's), called on a symbolic tensor ``(T, D)``.

    Built with the functional API from tinynet's layers; for one sample :math:`X` (:math:`T \times D`):

    .. math::

        H &= X + \operatorname{MHA}_{\text{causal}}\big(\operatorname{LN}_1(X)\big), \\
        Y &= H + \big(\phi(\operatorname{LN}_2(H)\, W_1 + b_1)\big)\, W_2 + b_2,

    with :math:`W_1` (:math:`D \times` ``intermediate_dim``), :math:`W_2`
    (``intermediate_dim`` :math:`\times D`) and :math:`\phi` the activation, applied at every
    position.  *Pre-norm*: each branch normalizes its own input and the residual stream
    :math:`X \to H \to Y` is never normalized, so the identity paths carry the gradient
    :math:`\partial L/\partial Y` straight down to :math:`X` (``Add``'s backward hands it to both
    of its inputs, and the graph sums the two gradients where :math:`X` feeds the norm and the
    ``Add``).  The backward passes are the layers' own (attention: the docs page "Attention").

    The arguments follow KerasHub's ``TransformerDecoder`` (``intermediate_dim``, ``num_heads``,
    ``dropout``, ``activation``, ``layer_norm_epsilon``) with ``normalize_first=True`` and the
    causal mask always on.  Differences: a function of the functional API, not a layer (it
    returns the block's output tensor; its layers are named ``{name}_attention_norm``,
    ``{name}_attention``, ...); the default activation is GPT-2's tanh-approximate GELU.

    Parameters
    ----------
    x : SymbolicTensor
        The block's input, samples of shape ``(T, D)``.
    num_heads : int
        Attention heads :math:`h`.
    intermediate_dim : int
        The width of the position-wise MLP (GPT-2: :math:`4D`).
    key_dim : int, optional
        Each head's query/key/value size; default :math:`D / h` (:math:`h` must divide :math:`D`).
    dropout : float, default 0.0
        Dropout on the attention weights and on each branch before its residual ``Add``.
    activation : str, default "gelu_tanh"
        The MLP's activation (a name of :mod:`tinynet.layers.activations`).
    layer_norm_epsilon : float, default 1e-5
        The :math:`\epsilon` of both layer norms (KerasHub's and PyTorch's default).
    name : str, optional
        A prefix for the layers' names.

    Returns
    -------
    SymbolicTensor
        The block's output, samples of shape ``(T, D)``.
    """
    from .layers import Add, Dense, Dropout, LayerNormalization, MultiHeadAttention
    from .layers.base import SymbolicTensor

    if not isinstance(x, SymbolicTensor) or len(x.shape) != 2:
        raise ValueError(
            "transformer_block: x must be a symbolic tensor of sequences (T, D), e.g. the output of "
            f"Embedding called on tn.Input(shape=(T,)); got {x!r}"
        )
    D = x.shape[-1]
    num_heads = _validation.positive_int(num_heads, "num_heads", "transformer_block")
    intermediate_dim = _validation.positive_int(intermediate_dim, "intermediate_dim", "transformer_block")
    if key_dim is None:
        if D % num_heads:
            raise ValueError(
                f"transformer_block: the width D = {D} is not a multiple of num_heads = {num_heads}; "
                "choose another num_heads or give key_dim"
            )
        key_dim = D // num_heads
    dropout = _validation.real(
        dropout, "dropout", low=0.0, high=1.0, include_high=False, owner="transformer_block"
    )

    def named(part: str) -> dict[str, str]:
        return {"name": f"{name}_{part}"} if name is not None else {}

    h = LayerNormalization(epsilon=layer_norm_epsilon, **named("attention_norm"))(x)
    h = MultiHeadAttention(num_heads, key_dim, dropout=dropout, causal=True, **named("attention"))(h)
    if dropout > 0.0:
        h = Dropout(dropout, **named("attention_dropout"))(h)
    x = Add(**named("attention_residual"))([x, h])
    h = LayerNormalization(epsilon=layer_norm_epsilon, **named("mlp_norm"))(x)
    h = Dense(intermediate_dim, activation=activation, **named("mlp_intermediate"))(h)
    h = Dense(D, **named("mlp_output"))(h)
    if dropout > 0.0:
        h = Dropout(dropout, **named("mlp_dropout"))(h)
    return Add(**named("mlp_residual"))([x, h])


def gpt(
    vocab_size: int,
    context: int,
    d_model: int = 64,
    num_heads: int = 4,
    num_layers: int = 2,
    intermediate_dim: int | None = None,
    dropout: float = 0.0,
    activation: str = "gelu_tanh",
    layer_norm_epsilon: float = 1e-5,
    name: str = "gpt",
) -> Any:
    r"""A tiny GPT: a decoder-only causal transformer over token ids, as an uncompiled :class:`tinynet.Model`.

    .. math::

        X_0 &= E[\text{ids}] + P_{0..T-1} \quad (\text{token and learned position embeddings}), \\
        X_\ell &= \operatorname{block}_\ell(X_{\ell-1}), \quad \ell = 1, \dots, L
            \quad (:func:`transformer_block`), \\
        p &= \operatorname{softmax}\big(\operatorname{LN}(X_L)\, W + b\big)
            \quad (\text{next-token probabilities at every position}).

    Input ``(N, T)`` token ids, output ``(N, T, V)`` probabilities: ``output[n, t]`` is the model's
    distribution of the token after ``ids[n, :t + 1]`` (the causal mask hides the rest).  The
    softmax head and ``SparseCategoricalCrossentropy`` fuse into the gradient :math:`(p - y)/M`
    from the logits, so compile it with
    ``tn.losses.SparseCategoricalCrossentropy(ignore_class=-1)``, train it on the ``(N, T)``
    targets of :func:`name_sequences` or :func:`next_token_windows`, and sample from it with
    :func:`generate` (through :class:`RightPadded`).

    Parameters
    ----------
    vocab_size : int
        :math:`V`.
    context : int
        :math:`T`, the input length (and the number of position vectors).
    d_model : int, default 64
        The width :math:`D` of the residual stream.
    num_heads : int, default 4
        Attention heads per block (each of size :math:`D / h`).
    num_layers : int, default 2
        Transformer blocks :math:`L`.
    intermediate_dim : int, optional
        The MLP width, default :math:`4D` (GPT-2's).
    dropout, activation, layer_norm_epsilon
        As in :func:`transformer_block`.
    name : str, default "gpt"
        The model's name and the prefix of its layers' names.

    Returns
    -------
    tinynet.Model
        Not compiled.  Its parameters: :math:`VD + TD` for the embeddings,
        :math:`4D^2 + 4D + 2 D F + F + D + 4D` per block (:math:`F` = ``intermediate_dim``), and
        :math:`2D + DV + V` for the final norm and the head.

    Examples
    --------
    >>> import tinynet as tn
    >>> tn.set_seed(0)
    >>> model = tn.text.gpt(vocab_size=27, context=16)
    >>> model.count_params()
    104603
    """
    from .layers import Dense, Embedding, Input, LayerNormalization, PositionalEmbedding
    from .models import Model

    owner = "gpt"
    vocab_size = _validation.positive_int(vocab_size, "vocab_size", owner)
    context = _validation.positive_int(context, "context", owner)
    d_model = _validation.positive_int(d_model, "d_model", owner)
    num_layers = _validation.positive_int(num_layers, "num_layers", owner)
    if intermediate_dim is None:
        intermediate_dim = 4 * d_model
    ids = Input(shape=(context,), name=f"{name}_ids")
    x = Embedding(vocab_size, d_model, name=f"{name}_token_embedding")(ids)
    x = PositionalEmbedding(context, name=f"{name}_position_embedding")(x)
    for layer in range(num_layers):
        x = transformer_block(
            x,
            num_heads,
            intermediate_dim,
            dropout=dropout,
            activation=activation,
            layer_norm_epsilon=layer_norm_epsilon,
            name=f"{name}_block{layer}",
        )
    x = LayerNormalization(epsilon=layer_norm_epsilon, name=f"{name}_final_norm")(x)
    probs = Dense(vocab_size, activation="softmax", name=f"{name}_head")(x)
    return Model(ids, probs, name=name)
