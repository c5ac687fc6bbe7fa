"""What the learning tests on the names share: the split, the sequences, and what a name looks like."""

import numpy as np

import tinynet as tn

T = 16  # the longest name (15 characters) plus the boundary token in front
BIGRAM_VAL_NLL = 2.4499  # tests/test_text.py::test_bigram_baseline_on_the_names, the same split


def names_split():
    """``(train, val, tok, (x_train, y_train), (x_val, y_val))``: a 90/10 split by name (seed 0),
    one right-padded row per name (:func:`tinynet.text.name_sequences`)."""
    names = tn.datasets.load_names()
    train, val = tn.text.split_names(names, sizes=(0.9, 0.1), seed=0)
    tok = tn.text.CharTokenizer(boundary=".").fit(names)
    x_val, y_val = tn.text.name_sequences(val, tok, T)
    # the masked mean over the validation names is the NLL per character the bigram reports
    assert (y_val != -1).sum() == sum(len(name) + 1 for name in val)
    return train, val, tok, tn.text.name_sequences(train, tok, T), (x_val, y_val)


def sample_names(model, tok) -> list[str]:
    """Twenty names sampled from a causal model of ``T`` positions (seeds 0 to 19), checked to look
    like names: lowercase letters, 3 to 9 characters on average, nearly all with a vowel."""
    sampler = tn.text.RightPadded(model, T)
    generated = [tn.text.generate(sampler, "", T - 1, seed=s, tokenizer=tok) for s in range(20)]
    assert all(g and set(g) <= set("abcdefghijklmnopqrstuvwxyz") for g in generated), generated
    assert 3 <= np.mean([len(g) for g in generated]) <= 9, generated
    assert sum(any(v in g for v in "aeiouy") for g in generated) >= 18, generated
    return generated
