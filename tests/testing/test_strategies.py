"""The strategies of tinynet.testing.strategies keep their promises."""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import find, given

from tinynet.testing.strategies import (
    KINKS,
    arrays,
    away_from,
    batch_shapes,
    gradient_settings,
    image_batches,
    image_shapes,
    seeds,
    shapes,
)

ROOT = Path(__file__).resolve().parents[2]


@given(x=arrays())
def test_default_arrays_are_small_float64_batches_away_from_zero(x):
    assert x.dtype == np.float64 and x.ndim == 2
    assert 1 <= x.shape[0] <= 5 and 1 <= x.shape[1] <= 6
    assert np.all(np.isfinite(x)) and np.all(np.abs(x) <= 3.0)
    assert np.all(np.abs(x) >= 0.05)
    gaps = np.diff(np.sort(x.reshape(-1)))
    assert gaps.size == 0 or gaps.min() >= 0.5 * (6.0 - 0.1) / x.size * (1 - 1e-9)  # no ties by default


@given(x=arrays(max_dims=3, max_side=4, avoid=(-1.0, 0.0, 1.0), margin=0.1))
def test_every_kink_is_avoided(x):
    assert 2 <= x.ndim <= 4 and max(x.shape[1:]) <= 4
    for kink in (-1.0, 0.0, 1.0):
        assert np.all(np.abs(x - kink) >= 0.1)


@given(x=arrays((4, 30), distinct=True))
def test_distinct_values_are_well_apart(x):
    gaps = np.diff(np.sort(x.reshape(-1)))
    allowed = 6.0 - 2 * 0.05
    assert gaps.min() >= 0.5 * allowed / x.size * (1 - 1e-9)


@given(x=arrays((3, 4), distinct=False, min_value=0.5, max_value=0.6, avoid=()))
def test_independent_values_stay_in_range(x):
    assert x.shape == (3, 4) and np.all((x >= 0.5) & (x <= 0.6))


@given(x=arrays((2, 3), elements=away_from((0.0, 2.0), 0.25, min_value=-1.0, max_value=3.0)))
def test_elementwise_strategy(x):
    assert x.shape == (2, 3)
    assert np.all((x >= -1.0) & (x <= 3.0))
    assert np.all(np.abs(x) >= 0.25) and np.all(np.abs(x - 2.0) >= 0.25)


@given(v=away_from((0.0, 0.1), 0.2, min_value=-1.0, max_value=1.0))
def test_away_from_merges_overlapping_margins(v):
    assert -1.0 <= v <= 1.0 and abs(v) >= 0.2 and abs(v - 0.1) >= 0.2


def test_away_from_refuses_an_empty_range():
    with pytest.raises(ValueError, match="nothing of"):
        away_from((0.0,), 1.0, min_value=-0.5, max_value=0.5)
    with pytest.raises(ValueError, match="min_value < max_value"):
        arrays((2,), min_value=1.0, max_value=1.0)


def test_batch_size_one_and_odd_sizes_are_generated():
    assert find(batch_shapes(), lambda s: s[0] == 1) == (1, 1)
    assert find(batch_shapes(), lambda s: s[0] % 2 == 1 and s[1] % 2 == 1 and s[1] > 1)[1] == 3
    assert find(shapes(), lambda s: len(s) == 3) == (1, 1, 1)


@given(shape=batch_shapes((2, 3), min_batch=2, max_batch=4))
def test_batch_shapes_with_a_fixed_sample(shape):
    assert shape[1:] == (2, 3) and 2 <= shape[0] <= 4


@given(x=image_batches(min_side=3, max_side=5))
def test_image_batches_are_nchw(x):
    n, c, h, w = x.shape
    assert 1 <= n <= 3 and 1 <= c <= 3 and 3 <= h <= 5 and 3 <= w <= 5
    assert np.all(np.abs(x) >= 0.05)


@given(x=image_batches(square=True, avoid=()))
def test_square_images(x):
    assert x.shape[2] == x.shape[3]


def test_non_square_images_are_generated():
    assert find(image_shapes(), lambda s: s[2] != s[3]) == (1, 1, 1, 2)


@given(seed=seeds())
def test_seeds_fit_numpy(seed):
    np.random.default_rng(seed)


def test_gradient_settings_have_no_deadline():
    s = gradient_settings(7)
    assert s.max_examples == 7 and s.deadline is None
    assert gradient_settings(database=None).database is None


def test_kinks_default_to_zero():
    assert KINKS == (0.0,)


def test_arrays_draw_the_same_values_for_the_same_choices():
    # values come from a seed Hypothesis draws: a failing example replays exactly
    first = find(arrays((3, 3)), lambda a: a[0, 0] > 1.0)
    again = find(arrays((3, 3)), lambda a: a[0, 0] > 1.0)
    np.testing.assert_array_equal(first, again)


BLOCK_HYPOTHESIS = textwrap.dedent(
    """
    import sys

    class BlockHypothesis:
        def find_spec(self, name, path=None, target=None):
            if name == "hypothesis" or name.startswith("hypothesis."):
                raise ImportError(f"No module named {name!r} (blocked for this test)")
            return None

    sys.meta_path.insert(0, BlockHypothesis())
    """
)


def run_without_hypothesis(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_HYPOTHESIS + textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_clear_message_without_hypothesis():
    result = run_without_hypothesis(
        """
        import tinynet.testing  # the assertions work without hypothesis
        try:
            import tinynet.testing.strategies
        except ImportError as exc:
            print(exc)
        else:
            raise SystemExit("imported without hypothesis")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tinynet.testing.strategies needs hypothesis: pip install hypothesis"


def test_importing_tinynet_and_its_testing_package_stays_cheap():
    result = run_without_hypothesis(
        """
        import sys
        import tinynet, tinynet.testing
        heavy = sorted(m for m in ("hypothesis", "pytest", "matplotlib") if m in sys.modules)
        assert not heavy, heavy
        """
    )
    assert result.returncode == 0, result.stderr
