"""Learning: the tiny GPT (2 blocks, 4 heads, width 64, context 16) on the names beats the bigram baseline.

Issue 18 asks for about 2.0 nats per character or lower, trained in under 3 minutes on 2 cores.
Measured with seed 0 (docs/transformers.md): validation NLL 1.967 after 12 epochs, 86 s of training
on one core of a 2-core machine (the bigram: 2.4499).
"""

import time

import numpy as np
import pytest

import tinynet as tn

T = 16  # the longest name (15 characters) plus the boundary token in front
EPOCHS, BATCH = 12, 128
BIGRAM_VAL_NLL = 2.4499  # tests/test_text.py::test_bigram_baseline_on_the_names, the same split


@pytest.mark.slow
def test_gpt_on_names_beats_the_bigram_baseline():
    names = tn.datasets.load_names()
    train, val = tn.text.split_names(names, sizes=(0.9, 0.1), seed=0)
    tok = tn.text.CharTokenizer(boundary=".").fit(names)
    x_train, y_train = tn.text.name_sequences(train, tok, T)
    x_val, y_val = tn.text.name_sequences(val, tok, T)
    # the masked mean over the validation names is the NLL per character the bigram reports
    assert (y_val != -1).sum() == sum(len(name) + 1 for name in val)
    assert tn.text.bigram_model(train, tok).nll(val) == pytest.approx(BIGRAM_VAL_NLL, abs=1e-4)

    tn.set_seed(0)
    model = tn.text.gpt(tok.vocab_size, T, d_model=64, num_heads=4, num_layers=2)
    # warm-up from 5e-4 to 5e-3 over 200 steps, then a cosine decay to 5% of it at the last step
    steps = EPOCHS * -(-len(x_train) // BATCH)
    schedule = tn.schedules.CosineDecay(5e-4, steps - 200, alpha=0.05, warmup_target=5e-3, warmup_steps=200)
    model.compile(tn.optimizers.Adam(schedule), tn.losses.SparseCategoricalCrossentropy(ignore_class=-1))
    start = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=EPOCHS, batch_size=BATCH, verbose=0)
    seconds = time.perf_counter() - start
    val_loss = model.evaluate(x_val, y_val, batch_size=1024, verbose=0)
    # measured: 1.967 (the target: "about 2.0 nats or lower")
    assert val_loss < 2.0, (val_loss, history.history["loss"], seconds)
    assert val_loss < BIGRAM_VAL_NLL - 0.4

    sampler = tn.text.RightPadded(model, T)
    generated = [tn.text.generate(sampler, "", T - 1, seed=s, tokenizer=tok) for s in range(20)]
    assert all(g and set(g) <= set("abcdefghijklmnopqrstuvwxyz") for g in generated), generated
    assert 3 <= np.mean([len(g) for g in generated]) <= 9, generated
    assert sum(any(v in g for v in "aeiouy") for g in generated) >= 18, generated
    # sampling is reproducible under a seed
    assert generated == [tn.text.generate(sampler, "", T - 1, seed=s, tokenizer=tok) for s in range(20)]
