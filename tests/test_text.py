"""tinynet.text: the character tokenizer, next-token windows, seeded sampling and the bigram baseline.

Every vectorised function is checked against a slow, obviously correct reference written with
Python loops (the windows against makemore's own loop, the bigram counts and NLL against a
dictionary of pair counts and math.log).
"""

import collections
import doctest
import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinynet as tn
from tinynet import text
from tinynet.text import CharTokenizer

LETTERS = "abcdefghijklmnopqrstuvwxyz"
# names made of a few letters, so that the strategies also produce repeated characters and names
names_lists = st.lists(st.text(alphabet="abcde", min_size=1, max_size=8), min_size=1, max_size=8)


@pytest.fixture(scope="module")
def names():
    return tn.datasets.load_names()


@pytest.fixture(scope="module")
def name_tokenizer(names):
    return CharTokenizer(boundary=".").fit(names)


# --------------------------------------------------------------------------- tokenizer


@given(st.text(min_size=1, max_size=50))
def test_round_trip_of_any_text(s):
    # Any Unicode text, astral-plane characters included: decode(encode(s)) == s.
    tok = CharTokenizer().fit(s)
    ids = tok.encode(s)
    assert ids.dtype == np.int64 and ids.shape == (len(s),)
    assert tok.decode(ids) == s
    assert tok.vocab_size == len(set(s))
    assert tok.chars == sorted(set(s))


@given(names_lists, st.data())
def test_round_trip_with_boundary(fit_names, data):
    tok = CharTokenizer(boundary=".").fit(fit_names)
    assert tok.chars[0] == "." and tok.boundary_id == 0
    assert tok.chars[1:] == sorted(set("".join(fit_names)))
    # any text over the fitted vocabulary, the boundary included, round-trips
    s = data.draw(st.text(alphabet="".join(tok.chars), max_size=30))
    assert tok.decode(tok.encode(s)) == s
    # ids follow the order of tok.chars
    assert tok.encode("".join(tok.chars)).tolist() == list(range(tok.vocab_size))


@given(st.lists(st.integers(0, 4), max_size=30))
def test_decode_then_encode(ids):
    tok = CharTokenizer(boundary=".").fit("abcd")
    assert tok.encode(tok.decode(ids)).tolist() == ids


def test_round_trip_of_a_lone_surrogate():
    # Python strings may hold lone surrogates (e.g. from surrogateescape decoding)
    s = "a\ud800b"
    tok = CharTokenizer().fit(s)
    assert tok.decode(tok.encode(s)) == s


def test_fit_on_a_text_or_a_list_gives_the_same_vocabulary():
    assert CharTokenizer().fit("emma ava").chars == CharTokenizer().fit(["emma", " ", "ava"]).chars
    assert CharTokenizer(boundary=".").fit(["emma", "ava"]).chars == [".", "a", "e", "m", "v"]


def test_names_vocabulary(name_tokenizer):
    assert name_tokenizer.vocab_size == 27
    assert name_tokenizer.chars == [".", *LETTERS]
    assert name_tokenizer.encode("emma").tolist() == [5, 13, 13, 1]


def test_unknown_character_names_the_character_and_its_position():
    tok = CharTokenizer(boundary=".").fit(["emma"])
    with pytest.raises(ValueError, match=r"character 'z' \(U\+007A\) at position 3 is not in the vocabulary"):
        tok.encode("emaz")
    with pytest.raises(ValueError, match="position 0"):
        tok.encode("\U0001f600")  # beyond the largest code point of the vocabulary


def test_tokenizer_argument_errors():
    with pytest.raises(ValueError, match="one character"):
        CharTokenizer(boundary="..")
    with pytest.raises(ValueError, match="text 1 contains the boundary character '.' at position 2"):
        CharTokenizer(boundary=".").fit(["ab", "cd.e"])
    with pytest.raises(ValueError, match="no character"):
        CharTokenizer().fit("")
    with pytest.raises(TypeError, match="element 1 is int"):
        CharTokenizer().fit(["ab", 3])
    with pytest.raises(TypeError, match="bytes"):
        CharTokenizer().fit(b"abc")
    with pytest.raises(RuntimeError, match="not fitted"):
        CharTokenizer().encode("a")
    tok = CharTokenizer().fit("abc")
    with pytest.raises(TypeError, match="expected a str"):
        tok.encode(["a"])
    with pytest.raises(ValueError, match="id 3 at position 1 is outside 0..2"):
        tok.decode([0, 3])
    with pytest.raises(ValueError, match="outside"):
        tok.decode([-1])
    with pytest.raises(ValueError, match="1-D sequence of integer ids"):
        tok.decode(np.array([0.0, 1.0]))
    assert tok.decode([]) == ""


def test_config_is_json_safe_and_rebuilds_the_same_tokenizer(name_tokenizer):
    config = json.loads(json.dumps(name_tokenizer.get_config()))
    rebuilt = CharTokenizer.from_config(config)
    assert rebuilt.get_config() == name_tokenizer.get_config()
    assert rebuilt.encode("zoe.").tolist() == name_tokenizer.encode("zoe.").tolist()
    assert rebuilt.decode([26, 15, 5, 0]) == "zoe."
    # a vocabulary in a non-sorted order is kept as given (a model's ids depend on it)
    tok = CharTokenizer.from_config({"boundary": None, "chars": ["b", "a"]})
    assert tok.encode("ab").tolist() == [1, 0]


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"chars": ["a"]}, "keys 'boundary' and 'chars'"),
        ({"boundary": None, "chars": "ab"}, "list of one-character strings"),
        ({"boundary": None, "chars": ["a", "a"]}, "without duplicates"),
        ({"boundary": None, "chars": []}, "non-empty"),
        ({"boundary": ".", "chars": ["a", "."]}, r"must be chars\[0\]"),
        ({"boundary": "ab", "chars": ["a"]}, "one character"),
    ],
)
def test_from_config_rejects_bad_configs(config, match):
    with pytest.raises(ValueError, match=match):
        CharTokenizer.from_config(config)


# --------------------------------------------------------------------------- windows


def reference_next_token_windows(ids, context, step):
    xs, ys = [], []
    for s in range(0, len(ids) - context, step):
        xs.append(ids[s : s + context])
        ys.append(ids[s + 1 : s + context + 1])
    return np.array(xs, dtype=np.int64).reshape(-1, context), np.array(ys, dtype=np.int64).reshape(
        -1, context
    )


@given(st.lists(st.integers(0, 9), min_size=2, max_size=40), st.integers(1, 12), st.integers(1, 4))
def test_next_token_windows_match_the_reference(ids, context, step):
    if len(ids) < context + 1:
        with pytest.raises(ValueError, match="too short"):
            text.next_token_windows(ids, context, step)
        return
    x, y = text.next_token_windows(ids, context, step)
    x_ref, y_ref = reference_next_token_windows(ids, context, step)
    assert x.dtype == y.dtype == np.int64
    assert x.shape == y.shape == ((len(ids) - context - 1) // step + 1, context)
    assert np.array_equal(x, x_ref) and np.array_equal(y, y_ref)


def test_next_token_windows_are_read_only_views_of_a_private_copy():
    ids = np.arange(10)
    x, y = text.next_token_windows(ids, 4)
    ids[:] = -1  # the caller's array changing later does not change the windows
    assert x[0].tolist() == [0, 1, 2, 3] and y[0].tolist() == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="read-only"):
        x[0, 0] = 5
    assert np.shares_memory(x, y)  # O(L) memory: both are views of one array


def test_next_token_windows_argument_errors():
    with pytest.raises(ValueError, match="1-D array of integer"):
        text.next_token_windows(np.zeros((2, 5), dtype=int), 2)
    with pytest.raises(ValueError, match="1-D array of integer"):
        text.next_token_windows([0.5, 1.0, 2.0], 1)
    with pytest.raises(ValueError, match=">= 0"):
        text.next_token_windows([0, -1, 2], 1)
    with pytest.raises(ValueError, match="positive integer"):
        text.next_token_windows([0, 1, 2], 0)
    with pytest.raises(TypeError, match="step"):
        text.next_token_windows([0, 1, 2], 1, step=1.0)
    with pytest.raises(
        ValueError, match=r"3 tokens is too short for context=3: one window needs context \+ 1 = 4"
    ):
        text.next_token_windows([0, 1, 2], 3)


def reference_name_windows(names, tok, context):
    """makemore's loop: the context starts as T boundary tokens and slides one character at a time."""
    xs, ys = [], []
    for name in names:
        window = [0] * context
        for ch in name + ".":
            ix = tok.encode(ch)[0]
            xs.append(window)
            ys.append(ix)
            window = [*window[1:], ix]
    return np.array(xs, dtype=np.int64), np.array(ys, dtype=np.int64)


@given(names_lists, st.integers(1, 10))
def test_name_windows_match_makemore(names_list, context):
    tok = CharTokenizer(boundary=".").fit("abcde")
    x, y = text.name_windows(names_list, tok, context)
    x_ref, y_ref = reference_name_windows(names_list, tok, context)
    n = sum(len(name) + 1 for name in names_list)
    assert x.shape == (n, context) and y.shape == (n,)
    assert x.dtype == y.dtype == np.int64
    assert np.array_equal(x, x_ref) and np.array_equal(y, y_ref)
    # sequences: y[n, t] is the token after x[n, :t + 1], i.e. x shifted by one, ending with y
    x_seq, y_seq = text.name_windows(names_list, tok, context, sequences=True)
    assert np.array_equal(x_seq, x) and y_seq.shape == (n, context)
    assert np.array_equal(y_seq[:, -1], y)
    assert np.array_equal(y_seq[:, :-1], x[:, 1:])


def test_name_windows_of_emma(name_tokenizer):
    x, y = text.name_windows(["emma"], name_tokenizer, 3)
    contexts = [name_tokenizer.decode(row) for row in x]
    assert contexts == ["...", "..e", ".em", "emm", "mma"]
    assert name_tokenizer.decode(y) == "emma."


def test_name_windows_on_the_names_data(names, name_tokenizer):
    x, y = text.name_windows(names, name_tokenizer, 3)
    assert x.shape == (228146, 3)  # sum of (length + 1): 196,113 letters and 32,033 ends
    assert (y == 0).sum() == len(names)
    assert (x[:, -1] == 0).sum() == len(names)  # each name starts after a boundary once


def test_name_windows_argument_errors(name_tokenizer):
    with pytest.raises(ValueError, match="no boundary token"):
        text.name_windows(["ab"], CharTokenizer().fit("ab"), 2)
    with pytest.raises(ValueError, match="name 1 is empty"):
        text.name_windows(["ab", ""], name_tokenizer, 2)
    with pytest.raises(ValueError, match=r"name 0 \('a.b'\) contains the boundary"):
        text.name_windows(["a.b"], name_tokenizer, 2)
    with pytest.raises(ValueError, match="character 'A'"):
        text.name_windows(["Anna"], name_tokenizer, 2)
    with pytest.raises(TypeError, match="list of str, got one str"):
        text.name_windows("anna", name_tokenizer, 2)
    with pytest.raises(ValueError, match="names is empty"):
        text.name_windows([], name_tokenizer, 2)
    with pytest.raises(TypeError, match="tokenizer must be a CharTokenizer"):
        text.name_windows(["ab"], {"a": 1}, 2)
    with pytest.raises(TypeError, match="sequences"):
        text.name_windows(["ab"], name_tokenizer, 2, sequences="yes")


def test_split_names_is_a_seeded_partition(names):
    train, val, test = text.split_names(names, seed=0)
    # part boundaries at round(0.8 N) = 25,626 and round(0.9 N) = 28,830 of N = 32,033
    assert (len(train), len(val), len(test)) == (25626, 3204, 3203)
    assert collections.Counter(train + val + test) == collections.Counter(names)
    again = text.split_names(names, seed=0)
    assert again == (train, val, test)
    other = text.split_names(names, seed=1)
    assert other[1] != val
    train90, val10 = text.split_names(names, sizes=(0.9, 0.1), seed=0)
    assert (len(train90), len(val10)) == (28830, 3203)


def test_split_names_does_not_touch_the_global_generators():
    state = np.random.get_state()[1].copy()  # noqa: NPY002 (the legacy global state is what is checked)
    text.split_names(["a", "b", "c"], sizes=(0.5, 0.5), seed=3)
    assert np.array_equal(
        np.random.get_state()[1],  # noqa: NPY002
        state,
    )


@pytest.mark.parametrize(
    ("sizes", "error", "match"),
    [
        ((0.8, 0.1), ValueError, "sum to 1"),
        ((1.2, -0.2), ValueError, r"sizes\[0\]"),
        ((0.0, 1.0), ValueError, r"sizes\[0\]"),
        ("0.5", TypeError, "sequence of fractions"),
        ((0.99, 0.01), ValueError, r"parts of \[3, 0\] names"),
    ],
)
def test_split_names_argument_errors(sizes, error, match):
    with pytest.raises(error, match=match):
        text.split_names(["a", "b", "c"], sizes=sizes, seed=0)


# --------------------------------------------------------------------------- sampling


class MarkovModel:
    """A model whose next-token distribution depends on the last token only; records its inputs."""

    def __init__(self, vocab_size, seed=0, logits=False, per_position=False):
        rng = np.random.default_rng(seed)
        self.logit_table = rng.normal(0.0, 2.0, size=(vocab_size, vocab_size))
        z = self.logit_table - self.logit_table.max(axis=1, keepdims=True)
        self.prob_table = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        self.logits = logits
        self.per_position = per_position
        self.inputs = []

    def predict(self, x):
        self.inputs.append(np.array(x))
        table = self.logit_table if self.logits else self.prob_table
        if self.per_position:  # (1, T, V): a distribution after every position, like a transformer
            return table[x]
        return table[x[:, -1]]  # (1, V)


class ConstantModel:
    """The same next-token distribution whatever the context."""

    def __init__(self, probs):
        self.probs = np.asarray(probs, dtype=np.float64)

    def predict(self, x):
        return self.probs[None, :]


@pytest.fixture
def abc():
    return CharTokenizer(boundary=".").fit("abcdefg")


def test_generate_is_reproducible_under_a_seed_and_varies_across_seeds(abc):
    model = MarkovModel(abc.vocab_size)
    first = text.generate(model, "", 40, seed=7, tokenizer=abc, stop_at_end=False)
    assert len(first) == 40
    assert text.generate(model, "", 40, seed=7, tokenizer=abc, stop_at_end=False) == first
    outputs = {text.generate(model, "", 40, seed=s, tokenizer=abc, stop_at_end=False) for s in range(5)}
    assert len(outputs) == 5


def test_generate_uses_its_own_generator():
    tok = CharTokenizer().fit("abc")
    global_state = np.random.get_state()[1].copy()  # noqa: NPY002 (the legacy global state is what is checked)
    tn.set_seed(0)
    tinynet_draw = tn._config._state["rng"].bit_generator.state
    text.generate(MarkovModel(3), "a", 20, seed=1, tokenizer=tok)
    assert np.array_equal(
        np.random.get_state()[1],  # noqa: NPY002
        global_state,
    )
    assert tn._config._state["rng"].bit_generator.state == tinynet_draw


def greedy(model, tok, prompt, n, context):
    """argmax decoding with a plain loop."""
    sequence = [0] * context + tok.encode(prompt).tolist()
    out = []
    for _ in range(n):
        p = np.asarray(model.predict(np.array([sequence[-context:]])))[0]
        token = int(np.argmax(p if p.ndim == 1 else p[-1]))
        sequence.append(token)
        out.append(token)
    return tok.decode(out)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_top_k_1_is_greedy_decoding(abc, seed):
    model = MarkovModel(abc.vocab_size, seed=seed)
    expected = greedy(model, abc, "ab", 25, context=3)
    got = text.generate(model, "ab", 25, top_k=1, seed=seed, tokenizer=abc, context=3, stop_at_end=False)
    assert got == expected


@pytest.mark.parametrize("temperature", [1e-3, 1e-8, 1e-300])
def test_temperature_to_zero_is_greedy_decoding(abc, temperature):
    model = MarkovModel(abc.vocab_size, seed=4)
    expected = greedy(model, abc, "c", 25, context=2)
    for seed in range(3):
        got = text.generate(
            model, "c", 25, temperature, seed=seed, tokenizer=abc, context=2, stop_at_end=False
        )
        assert got == expected


def test_sampling_distribution_formula():
    p = np.array([0.5, 0.3, 0.15, 0.05])
    log_p = np.log(p)
    assert np.allclose(text.sampling_distribution(log_p), p, rtol=1e-14)
    for tau in (0.3, 2.0, 10.0):
        expected = p ** (1 / tau) / (p ** (1 / tau)).sum()
        assert np.allclose(text.sampling_distribution(log_p, tau), expected, rtol=1e-12)
    # top-k: the k most probable tokens, renormalised
    assert np.allclose(text.sampling_distribution(log_p, top_k=2), [0.625, 0.375, 0, 0], rtol=1e-14)
    assert np.allclose(text.sampling_distribution(log_p, top_k=10), p, rtol=1e-14)
    # ties with the k-th largest are kept
    assert np.allclose(
        text.sampling_distribution(np.log([0.4, 0.2, 0.2, 0.2]), top_k=2), [0.4, 0.2, 0.2, 0.2]
    )
    # the limits: tau -> 0 gives the argmax, tau -> inf the uniform distribution
    assert text.sampling_distribution(log_p, 1e-300).tolist() == [1.0, 0.0, 0.0, 0.0]
    assert np.allclose(text.sampling_distribution(log_p, 1e12), 0.25)
    # -inf (probability 0) stays 0, large logits do not overflow
    q = text.sampling_distribution(np.array([-np.inf, 0.0, -1e300]), 0.5)
    assert q.tolist() == [0.0, 1.0, 0.0]


@pytest.mark.parametrize(("temperature", "top_k"), [(1.0, None), (0.5, None), (2.0, 3)])
def test_generate_samples_from_the_sampling_distribution(temperature, top_k):
    # 20,000 draws from a context-free model: each frequency within 5 standard deviations of q.
    tok = CharTokenizer().fit("abcde")
    p = np.array([0.4, 0.3, 0.15, 0.1, 0.05])
    q = text.sampling_distribution(np.log(p), temperature, top_k)
    n = 20000
    out = text.generate(ConstantModel(p), "a", n, temperature, top_k, seed=0, tokenizer=tok, context=1)
    counts = np.bincount(tok.encode(out), minlength=5)
    sd = np.sqrt(n * q * (1 - q))
    assert np.all(np.abs(counts - n * q) <= 5 * sd + 1e-9), (counts, n * q)
    if top_k is not None:
        assert counts[top_k:].sum() == 0


def test_logits_and_per_position_outputs_give_the_same_text(abc):
    kwargs = {"seed": 3, "tokenizer": abc, "context": 4, "stop_at_end": False}
    probs = text.generate(MarkovModel(abc.vocab_size, 5), "ab", 30, **kwargs)
    assert text.generate(MarkovModel(abc.vocab_size, 5, per_position=True), "ab", 30, **kwargs) == probs
    logits = MarkovModel(abc.vocab_size, 5, logits=True)
    assert text.generate(logits, "ab", 30, from_logits=True, **kwargs) == probs


def test_huge_logits_do_not_overflow(abc):
    model = MarkovModel(abc.vocab_size, 6, logits=True)
    model.logit_table *= 1e305  # exp would overflow without max-subtraction
    out = text.generate(model, "", 10, 0.7, seed=0, tokenizer=abc, from_logits=True, stop_at_end=False)
    assert len(out) == 10


def test_context_windows_fed_to_the_model(abc):
    model = MarkovModel(abc.vocab_size)
    text.generate(model, "ab", 3, seed=0, tokenizer=abc, context=3, stop_at_end=False)
    # padded on the left with the boundary, then sliding
    assert model.inputs[0].tolist() == [[0, 1, 2]]
    assert all(x.shape == (1, 3) and x.dtype == np.int64 for x in model.inputs)
    model.inputs.clear()
    text.generate(model, "a", 3, seed=0, tokenizer=abc, context=5, stop_at_end=False)
    assert model.inputs[0].tolist() == [[0, 0, 0, 0, 1]]
    model.inputs.clear()
    # context=None: the whole sequence, the boundary in front
    text.generate(model, "ab", 3, seed=0, tokenizer=abc, stop_at_end=False)
    assert [x.shape[1] for x in model.inputs] == [3, 4, 5]
    # without a boundary token: no padding
    tok = CharTokenizer().fit("abcdefg")
    model = MarkovModel(tok.vocab_size)
    text.generate(model, "ab", 2, seed=0, tokenizer=tok, context=3)
    assert model.inputs[0].tolist() == [[0, 1]] and model.inputs[1].shape == (1, 3)


def test_generate_stops_at_the_end_token(abc):
    always_end = ConstantModel(np.eye(abc.vocab_size)[0])
    assert text.generate(always_end, "ab", 10, seed=0, tokenizer=abc) == ""
    assert text.generate(always_end, "ab", 3, seed=0, tokenizer=abc, stop_at_end=False) == "..."
    # a model that ends after exactly the first character drawn
    model = MarkovModel(abc.vocab_size)
    model.prob_table[:] = np.eye(abc.vocab_size)[0]
    model.prob_table[0] = np.eye(abc.vocab_size)[3]
    assert text.generate(model, "", 10, seed=0, tokenizer=abc) == "c"
    assert text.generate(model, "", 0, seed=0, tokenizer=abc) == ""


class CountingModel(MarkovModel):
    calls = 0

    def predict(self, x):
        self.calls += 1
        return super().predict(x)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"temperature": 0.0}, ValueError, "temperature"),
        ({"temperature": -1.0}, ValueError, "temperature"),
        ({"temperature": float("nan")}, ValueError, "temperature"),
        ({"temperature": float("inf")}, ValueError, "temperature"),
        ({"temperature": "1"}, TypeError, "temperature"),
        ({"top_k": 0}, ValueError, "top_k"),
        ({"top_k": 1.5}, TypeError, "top_k"),
        ({"top_k": True}, TypeError, "top_k"),
        ({"n": -1}, ValueError, "n must be >= 0"),
        ({"n": 2.0}, TypeError, "n must be an integer"),
        ({"prompt": "aZ"}, ValueError, r"character 'Z' \(U\+005A\) at position 1"),
        ({"prompt": ["a"]}, TypeError, "prompt must be a str"),
        ({"context": 0}, ValueError, "context"),
        ({"from_logits": "no"}, TypeError, "from_logits"),
        ({"tokenizer": CharTokenizer()}, RuntimeError, "not fitted"),
        ({"tokenizer": None}, TypeError, "CharTokenizer"),
        ({"tokenizer": CharTokenizer().fit("abcdefg"), "stop_at_end": True}, ValueError, "boundary token"),
        ({"tokenizer": CharTokenizer().fit("abcdefg"), "prompt": ""}, ValueError, "empty prompt"),
    ],
)
def test_generate_validates_every_argument_before_calling_the_model(abc, kwargs, error, match):
    model = CountingModel(abc.vocab_size)
    arguments = {"prompt": "ab", "n": 5, "tokenizer": abc, "seed": 0, **kwargs}
    with pytest.raises(error, match=match):
        text.generate(model, **arguments)
    assert model.calls == 0


def test_generate_rejects_bad_model_outputs(abc):
    with pytest.raises(TypeError, match="predict method"):
        text.generate(object(), "a", 3, tokenizer=abc)
    with pytest.raises(ValueError, match=r"shape \(1, V\) or \(1, T, V\).*\(8,\)"):
        text.generate(type("M", (), {"predict": lambda self, x: np.ones(8) / 8})(), "a", 3, tokenizer=abc)
    with pytest.raises(ValueError, match="predicts 5 tokens but the tokenizer has 8"):
        text.generate(ConstantModel(np.ones(5) / 5), "a", 3, tokenizer=abc)
    with pytest.raises(ValueError, match="from_logits=True"):
        text.generate(ConstantModel(np.arange(8.0)), "a", 3, tokenizer=abc)
    with pytest.raises(ValueError, match="non-finite logits"):
        text.generate(ConstantModel([np.nan] * 8), "a", 3, tokenizer=abc, from_logits=True)


# --------------------------------------------------------------------------- bigram baseline


def reference_bigram_nll(train, evaluate, chars, alpha):
    counts = collections.Counter()
    for name in train:
        seq = "." + name + "."
        counts.update(itertools.pairwise(seq))
    totals = collections.Counter()
    for (a, _), c in counts.items():
        totals[a] += c
    total_log, m = 0.0, 0
    for name in evaluate:
        seq = "." + name + "."
        for a, b in itertools.pairwise(seq):
            total_log += math.log((counts[a, b] + alpha) / (totals[a] + alpha * len(chars)))
            m += 1
    return counts, -total_log / m


@given(names_lists, names_lists, st.sampled_from([1.0, 0.5, 0.01, 3.0]))
def test_bigram_matches_direct_counts(train, evaluate, alpha):
    tok = CharTokenizer(boundary=".").fit("abcde")
    model = text.bigram_model(train, tok, smoothing=alpha)
    counts, nll = reference_bigram_nll(train, evaluate, tok.chars, alpha)
    for a in tok.chars:
        for b in tok.chars:
            assert model.counts[tok.encode(a)[0], tok.encode(b)[0]] == counts[a, b]
    assert np.allclose(model.probs.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert math.isclose(model.nll(evaluate), nll, rel_tol=1e-12)


def test_bigram_baseline_on_the_names(names, name_tokenizer):
    # The number quoted in the docs: a seeded 90/10 split by name, add-one smoothing.
    train, val = text.split_names(names, sizes=(0.9, 0.1), seed=0)
    model = text.bigram_model(train, name_tokenizer)
    _, direct = reference_bigram_nll(train, val, name_tokenizer.chars, 1.0)
    assert math.isclose(model.nll(val), direct, rel_tol=1e-12)
    assert round(model.nll(val), 4) == 2.4499
    assert round(model.nll(train), 4) == 2.4553
    # maximum likelihood (smoothing=0) fits the training names best, and leaves some validation
    # pair with probability 0 (infinite NLL), the reason for smoothing
    mle = text.bigram_model(train, name_tokenizer, smoothing=0.0)
    assert mle.nll(train) < model.nll(train)
    assert mle.nll(val) == math.inf


def test_bigram_model_generates_names(names, name_tokenizer):
    model = text.bigram_model(names, name_tokenizer)
    probs = model.predict(np.array([[0, 0, 5], [1, 2, 0]]))
    assert probs.shape == (2, 27) and np.allclose(probs.sum(axis=1), 1.0)
    assert np.array_equal(probs[1], model.probs[0])
    generated = [text.generate(model, "", 30, seed=s, tokenizer=name_tokenizer, context=1) for s in range(20)]
    assert all(set(g) <= set(LETTERS) for g in generated)
    assert len(set(generated)) > 10


def test_bigram_argument_errors(name_tokenizer):
    with pytest.raises(ValueError, match="smoothing"):
        text.bigram_model(["ab"], name_tokenizer, smoothing=-1.0)
    with pytest.raises(ValueError, match=r"smoothing=0, P\(. \| 'c'\) is undefined"):
        text.bigram_model(["ab"], name_tokenizer, smoothing=0.0)
    with pytest.raises(ValueError, match="no boundary token"):
        text.bigram_model(["ab"], CharTokenizer().fit("ab"))
    model = text.bigram_model(["ab"], name_tokenizer)
    with pytest.raises(ValueError, match=r"shape \(N, T\)"):
        model.predict(np.array([1, 2]))
    with pytest.raises(ValueError, match="0..26"):
        model.predict(np.array([[27]]))


def test_module_examples_run():
    result = doctest.testmod(text, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 5 and result.failed == 0
