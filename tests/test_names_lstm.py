"""Learning: a character-level LSTM on the names beats the bigram baseline by a clear margin."""

import numpy as np
import pytest

import tinynet as tn
from tinynet.layers import LSTM, Dense, Embedding

T = 16  # the longest name (15 characters) plus the boundary token in front
BIGRAM_VAL_NLL = 2.4499  # tests/test_text.py::test_bigram_baseline_on_the_names, the same split


@pytest.mark.slow
def test_lstm_on_names_beats_the_bigram_baseline():
    names = tn.datasets.load_names()
    train, val = tn.text.split_names(names, sizes=(0.9, 0.1), seed=0)
    tok = tn.text.CharTokenizer(boundary=".").fit(names)
    x_train, y_train = tn.text.name_sequences(train, tok, T)
    x_val, y_val = tn.text.name_sequences(val, tok, T)
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

    sampler = tn.text.RightPadded(model, T)
    generated = [tn.text.generate(sampler, "", T - 1, seed=s, tokenizer=tok) for s in range(20)]
    assert all(g and set(g) <= set("abcdefghijklmnopqrstuvwxyz") for g in generated), generated
    assert 3 <= np.mean([len(g) for g in generated]) <= 9, generated
    assert sum(any(v in g for v in "aeiouy") for g in generated) >= 18, generated
