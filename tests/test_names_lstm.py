"""Learning: a character-level LSTM on the names beats the bigram baseline by a clear margin."""

import numpy as np
import pytest

import tinynet as tn
from tinynet.layers import LSTM, Dense, Embedding

T = 16  # the longest name (15 characters) plus the boundary token in front
BIGRAM_VAL_NLL = 2.4499  # tests/test_text.py::test_bigram_baseline_on_the_names, the same split


def padded_names(names, tokenizer, context):
    """One right-padded sequence per name: x = [b, c1..cL, pad], y = [c1..cL, b, -1...].

    Every name gives its L + 1 predictions (each character, then the end), as the bigram's NLL
    counts them; the padding after them is masked with ignore_class=-1. Right padding matters:
    an LSTM reads left to right and never sees the padding that follows, whereas a left padding
    of T - L boundary tokens would tell it the length of the name.
    """
    lengths = np.fromiter(map(len, names), dtype=np.int64, count=len(names))
    chars = tokenizer.encode("".join(names))
    rows = np.repeat(np.arange(len(names)), lengths)
    cols = np.arange(chars.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    x = np.zeros((len(names), context), dtype=np.int64)
    y = np.full((len(names), context), -1, dtype=np.int64)
    x[rows, cols + 1] = chars
    y[rows, cols] = chars
    y[np.arange(len(names)), lengths] = tokenizer.boundary_id
    return x, y


class NextCharacter:
    """``generate``'s model interface for a fixed-length model: right-pad, read the last real position."""

    def __init__(self, model, context):
        self.model, self.context = model, context

    def predict(self, ids):
        k = ids.shape[1]
        x = np.zeros((1, self.context), dtype=np.int64)
        x[0, :k] = ids[0]
        return self.model.predict(x, verbose=0)[:, k - 1]  # causal: the padding after k is unseen


def test_padded_names_layout():
    tok = tn.text.CharTokenizer(boundary=".").fit(["ab", "c"])
    x, y = padded_names(["ab", "c"], tok, 4)
    assert x.tolist() == [[0, 1, 2, 0], [0, 3, 0, 0]]
    assert y.tolist() == [[1, 2, 0, -1], [3, 0, -1, -1]]


@pytest.mark.slow
def test_lstm_on_names_beats_the_bigram_baseline():
    names = tn.datasets.load_names()
    train, val = tn.text.split_names(names, sizes=(0.9, 0.1), seed=0)
    tok = tn.text.CharTokenizer(boundary=".").fit(names)
    x_train, y_train = padded_names(train, tok, T)
    x_val, y_val = padded_names(val, tok, T)
    # the masked mean over the validation names is the NLL per character the bigram reports
    assert (y_val != -1).sum() == sum(len(name) + 1 for name in val)

    tn.set_seed(0)
    model = tn.Sequential(
        [
            tn.Input(shape=(T,)),
            Embedding(tok.vocab_size, 16),
            LSTM(64, return_sequences=True),
            Dense(tok.vocab_size, activation="softmax"),
        ]
    )
    model.compile(tn.optimizers.Adam(0.01), tn.losses.SparseCategoricalCrossentropy(ignore_class=-1))
    history = model.fit(x_train, y_train, epochs=3, batch_size=128, validation_data=(x_val, y_val), verbose=0)
    val_loss = history.history["val_loss"][-1]
    assert val_loss < BIGRAM_VAL_NLL - 0.25, history.history  # measured: 2.08 nats

    sampler = NextCharacter(model, T)
    generated = [tn.text.generate(sampler, "", T - 1, seed=s, tokenizer=tok) for s in range(20)]
    assert all(g and set(g) <= set("abcdefghijklmnopqrstuvwxyz") for g in generated), generated
    assert 3 <= np.mean([len(g) for g in generated]) <= 9, generated
    assert sum(any(v in g for v in "aeiouy") for g in generated) >= 18, generated
