"""Learning: the tiny GPT (2 blocks, 4 heads, width 64, context 16) on the names beats the bigram baseline.

Issue 18 asks for about 2.0 nats per character or lower, trained in under 3 minutes on 2 cores.
Measured with seed 0 (docs/transformers.md): validation NLL 1.967 after 12 epochs, 86 s of training
on one core of a 2-core machine (the bigram: 2.4499).
"""

import time

import pytest

import tinynet as tn

from .names import BIGRAM_VAL_NLL, T, names_split, sample_names

EPOCHS, BATCH = 12, 128


@pytest.mark.slow
def test_gpt_on_names_beats_the_bigram_baseline():
    train, val, tok, (x_train, y_train), (x_val, y_val) = names_split()
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

    generated = sample_names(model, tok)
    # sampling is reproducible under a seed
    assert generated == sample_names(model, tok)
