"""What fit prints: a live bar on a terminal-like stream, one line per epoch on any other."""

import io
import re
import sys
import types

import numpy as np
import pytest

import tinynet as tn
from tinynet import progress, schedules
from tinynet.progress import ProgbarLogger, ProgressBar, format_duration, format_value


class TTY(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self):
        return True


def _model(seed=0):
    tn.set_seed(seed)
    model = tn.Sequential(
        [tn.layers.Dense(4, input_dim=2, activation="relu"), tn.layers.Dense(1, activation="sigmoid")]
    )
    model.compile("binary_crossentropy", tn.optimizers.Adam(0.01), metrics=["accuracy"])
    return model


def _data(n=50):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 2))
    return x, (x[:, 0] > 0).astype(int)


EPOCH_LINE = re.compile(
    r"^Epoch (\d+)/3 - \d+(ms|\.\ds) - loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d\.\d{4}"
    r" - val_accuracy: \d\.\d{4}$"
)


def test_a_non_terminal_gets_one_plain_line_per_epoch(capsys):
    x, y = _data()
    history = _model().fit(x, y, epochs=3, batch_size=8, validation_split=0.2)
    out = capsys.readouterr().out
    assert "\r" not in out
    lines = out.splitlines()
    assert len(lines) == 3
    for epoch, line in enumerate(lines, start=1):
        match = EPOCH_LINE.match(line)
        assert match and int(match.group(1)) == epoch, line
        assert f"loss: {history.history['loss'][epoch - 1]:.4f}" in line


def test_a_terminal_gets_a_live_bar_per_epoch(monkeypatch):
    x, y = _data()
    out = TTY()
    monkeypatch.setattr(sys, "stdout", out)
    history = _model().fit(x, y, epochs=2, batch_size=8, validation_split=0.2)
    text = out.getvalue()
    monkeypatch.undo()
    chunks = text.split("Epoch ")[1:]
    assert [c.split("\n")[0] for c in chunks] == ["1/2", "2/2"]
    for epoch, chunk in enumerate(chunks):
        body = chunk.split("\n", 1)[1]
        assert body.endswith("\n") and body.count("\n") == 1  # redrawn in place, one newline at the end
        frames = body.rstrip("\n").split("\r")[1:]
        assert frames[0].startswith("0/5 [......") and "ETA: ?" in frames[0]
        final = frames[-1].rstrip()
        assert re.match(
            r"^5/5 \[={30}\] - \d+(ms|\.\ds) \d+(us|ms)/step - loss: \d\.\d{4} - accuracy: ", final
        )
        assert f"loss: {history.history['loss'][epoch]:.4f}" in final
        assert f"val_accuracy: {history.history['val_accuracy'][epoch]:.4f}" in final


def test_the_bar_shows_elapsed_time_eta_and_the_running_loss():
    out = TTY()
    bar = ProgressBar(10, stream=out, interval=0.0)
    bar.update(3, {"loss": 0.5})
    frame = out.getvalue()
    assert frame.startswith("\r 3/10 [=========>....................] - ")
    assert re.search(r" - \d+ms - ETA: \d+ms - loss: 0\.5000$", frame)
    bar.update(10, {"loss": 0.25})
    bar.finish(10, {"loss": 0.25, "accuracy": 1.0})
    last = out.getvalue().split("\r")[-1]
    assert re.match(
        r"^10/10 \[={30}\] - \d+ms \d+(us|ms)/step - loss: 0\.2500 - accuracy: 1\.0000 *\n$", last
    )


def test_a_shorter_frame_blanks_out_the_longer_one_before_it():
    out = TTY()
    bar = ProgressBar(4, stream=out, interval=0.0)
    bar.update(1, {"loss": 1.0, "a_long_name_for_a_value": 2.0})
    bar.update(2)
    first, second = out.getvalue().split("\r")[1:]
    assert len(second) == len(first) and second.endswith(" ")


def test_redraws_are_throttled():
    out = TTY()
    bar = ProgressBar(100, stream=out, interval=60.0)
    for step in range(1, 100):
        bar.update(step, {"loss": 1.0})
    assert out.getvalue().count("\r") == 1  # the first call draws, the rest fall within the interval
    bar.update(100, force=True)
    assert out.getvalue().count("\r") == 2


def test_the_running_loss_is_the_size_weighted_mean_of_the_batch_losses(monkeypatch):
    out = TTY()
    logger = ProgbarLogger(1, stream=out, interval=0.0)
    logger.set_params({"epochs": 1, "steps": 3})
    logger.on_epoch_begin(0)
    for batch, (loss, size) in enumerate([(1.0, 10), (2.0, 10), (4.0, 5)]):
        logger.on_train_batch_end(batch, {"loss": loss, "size": size})
    frames = out.getvalue().split("\r")
    assert frames[2].rstrip().endswith("loss: 1.0000")
    assert frames[3].rstrip().endswith("loss: 1.5000")
    assert frames[4].rstrip().endswith(f"loss: {(10 + 20 + 20) / 25:.4f}")


def test_verbose_2_prints_lines_even_on_a_terminal_and_verbose_0_nothing(monkeypatch, capsys):
    x, y = _data()
    out = TTY()
    monkeypatch.setattr(sys, "stdout", out)
    _model().fit(x, y, epochs=3, batch_size=8, validation_split=0.2, verbose=2)
    _model().fit(x, y, epochs=3, batch_size=8, validation_split=0.2, verbose=0)
    text = out.getvalue()
    monkeypatch.undo()
    assert "\r" not in text
    assert [bool(EPOCH_LINE.match(line)) for line in text.splitlines()] == [True] * 3
    with pytest.raises(ValueError, match="verbose must be 0"):
        _model().fit(x, y, verbose=3)


def test_the_learning_rate_is_shown_once_it_changes(capsys):
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=2, batch_size=8)
    assert "learning_rate" not in capsys.readouterr().out  # constant: not worth a column
    # epochs are global: this fit's first epoch is the model's third (epoch 2)
    halve = tn.callbacks.LearningRateScheduler(lambda epoch, lr: lr if epoch == 2 else lr / 2)
    model.fit(x, y, epochs=3, batch_size=8, callbacks=[halve])
    lines = capsys.readouterr().out.splitlines()
    assert ["learning_rate" in line for line in lines] == [False, True, True]
    assert lines[1].endswith("learning_rate: 0.0050") and lines[2].endswith("learning_rate: 0.0025")
    model.compile("binary_crossentropy", tn.optimizers.SGD(schedules.ExponentialDecay(0.1, 10, 0.5)))
    model.fit(x, y, epochs=1, batch_size=8)
    assert capsys.readouterr().out.rstrip().endswith("learning_rate: 0.1000")  # a schedule: from the start


def test_jupyter_is_recognised_without_importing_ipython(monkeypatch):
    assert not progress.is_live(io.StringIO())
    assert progress.is_live(TTY())
    shell = types.SimpleNamespace(kernel=object())
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert progress.is_live(sys.stdout)  # a notebook cell's output understands '\r'
    assert not progress.is_live(io.StringIO())  # but not any other stream in the notebook
    shell.kernel = None  # terminal IPython: decided by isatty alone
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert not progress.is_live(sys.stdout)


def test_numbers_and_durations_are_formatted_for_people():
    assert format_value(0.5) == "0.5000"
    assert format_value(0.0) == "0.0000"
    assert format_value(1e-4) == "1.0000e-04"
    assert format_value(float("nan")) == "nan"
    assert format_duration(0.0123) == "12ms"
    assert format_duration(12.34) == "12.3s"
    assert format_duration(185) == "3:05"
    assert format_duration(3723) == "1:02:03"
