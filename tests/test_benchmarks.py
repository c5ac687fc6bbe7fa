"""The benchmarks' hand-written NumPy loops compute what tinynet computes (else their timings
would compare different work): ``python -m benchmarks.check_equivalence`` as tests."""

import pytest

from benchmarks import check_equivalence


@pytest.mark.parametrize(("sizes", "head"), [([784, 256, 128, 10], "softmax"), ([8, 10, 1], "sigmoid")])
def test_the_mlp_loops_take_the_same_steps_bit_for_bit(sizes, head):
    # the same operations in the same order, Adam's epsilon included (a reference with the
    # epsilon tinynet had before Keras' 1e-7 drifted by a learning rate after one step)
    assert check_equivalence.check_mlp(sizes, head) == 0.0


def test_the_cnn_loop_takes_the_same_steps():
    assert check_equivalence.check_cnn() < 1e-6  # channels-last: float32 rounding only


def test_the_gpt_loop_computes_the_same_gradients():
    assert check_equivalence.check_gpt() < 1e-5  # relative to each array's largest entry
