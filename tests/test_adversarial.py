"""tinynet.adversarial: the loss gradient checked against central differences, FGSM and PGD stay in
the epsilon-ball and the valid range, and adversarial training makes a digits model robust."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinynet as tn
from tinynet import adversarial
from tinynet.gradcheck import numerical_gradient, relative_error
from tinynet.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPool2D


@given(
    n=st.integers(1, 5),
    d=st.integers(1, 6),
    k=st.integers(1, 4),
    seed=st.integers(0, 2**31 - 1),
)
def test_loss_input_gradient_matches_central_differences(n, d, k, seed):
    tn.set_default_dtype(np.float64)  # the autouse fixture of conftest.py restores float32
    tn.set_seed(seed)
    rng = np.random.default_rng(seed)
    if k == 1:
        head, loss, y = "sigmoid", "binary_crossentropy", rng.integers(0, 2, n).astype(float)
    else:
        head, loss, y = "softmax", "sparse_categorical_crossentropy", rng.integers(0, k, n)
    model = tn.Sequential(
        [
            Dense(5, input_dim=d, activation="tanh"),
            BatchNormalization(),
            Dropout(0.5),
            Dense(k, activation=head),
        ]
    )
    model.compile(loss, "sgd")
    x = rng.normal(size=(n, d))
    analytic = adversarial.loss_input_gradient(model, x, y)
    probe = x.copy()
    y_checked = y.reshape(-1, 1) if k == 1 else y
    numeric = numerical_gradient(lambda: model.loss.forward(y_checked, model.forward(probe)), probe)
    assert relative_error(analytic, numeric) < 1e-6


@pytest.fixture(scope="module")
def digits():
    x, y = tn.datasets.load_digits(as_images=True)
    x = x / 16.0  # pixels in [0, 1], the valid range the attacks clip to
    return tn.datasets.train_test_split(x, y, test_size=0.2, seed=0, stratify=True)


def digits_cnn(seed=0):
    tn.set_seed(seed)
    model = tn.Sequential(
        [
            Conv2D(8, 3, padding="same", activation="relu", input_shape=(1, 8, 8)),
            MaxPool2D(2),
            Flatten(),
            Dense(32, activation="relu"),
            Dense(10, activation="softmax"),
        ]
    )
    model.compile("sparse_categorical_crossentropy", "adam", metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def trained(digits):
    x_train, _, y_train, _ = digits
    model = digits_cnn()
    model.fit(x_train, y_train, epochs=40, batch_size=32, verbose=0)  # the adversarial training's budget
    return model


def accuracy(model, x, y):
    return float(np.mean(model.predict(x).argmax(axis=1) == y))


def test_fgsm_is_one_signed_step_inside_the_ball_and_the_range(trained, digits):
    _, x, _, y = digits
    eps = 0.1
    x_adv = adversarial.fgsm(trained, x, y, eps)
    g = adversarial.loss_input_gradient(trained, x, y)
    np.testing.assert_array_equal(x_adv, np.clip(x + eps * np.sign(g), 0, 1).astype(np.float32))
    assert np.max(np.abs(x_adv - x)) <= eps + 1e-7
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert trained.evaluate(x_adv, y)[0] > trained.evaluate(x, y)[0]
    unclipped = adversarial.fgsm(trained, x, y, eps, clip=None)
    assert unclipped.min() < 0  # the clip is what keeps pixels valid
    np.testing.assert_array_equal(adversarial.fgsm(trained, x, y, 0.0), x.astype(np.float32))


def test_pgd_stays_in_the_ball_is_seeded_and_generalises_fgsm(trained, digits):
    _, x, _, y = digits
    x, y = x[:100], y[:100]
    eps = 0.1
    a = adversarial.pgd(trained, x, y, eps, steps=5, seed=1)
    np.testing.assert_array_equal(a, adversarial.pgd(trained, x, y, eps, steps=5, seed=1))
    assert not np.array_equal(a, adversarial.pgd(trained, x, y, eps, steps=5, seed=2))
    assert np.max(np.abs(a - x)) <= eps + 1e-6 and a.min() >= 0 and a.max() <= 1
    # one step of size epsilon from x itself is FGSM
    np.testing.assert_array_equal(
        adversarial.pgd(trained, x, y, eps, steps=1, step_size=eps, random_start=False),
        adversarial.fgsm(trained, x, y, eps),
    )


@pytest.mark.slow
def test_fgsm_fools_a_trained_model_and_adversarial_training_resists(trained, digits):
    """The numbers (40 epochs each, epsilon 0.1 on pixels in [0, 1], 360 test digits) are in
    docs/interpretability.md; the assertions leave a margin around them."""
    x_train, x_test, y_train, y_test = digits
    eps = 0.1
    clean = accuracy(trained, x_test, y_test)
    under_fgsm = accuracy(trained, adversarial.fgsm(trained, x_test, y_test, eps), y_test)
    under_pgd = accuracy(trained, adversarial.pgd(trained, x_test, y_test, eps, steps=10), y_test)
    assert clean > 0.93
    assert under_fgsm < clean - 0.25  # FGSM lowers the accuracy a lot
    assert under_pgd <= under_fgsm  # PGD is the stronger attack

    robust = digits_cnn()
    adversarial.adversarial_fit(robust, x_train, y_train, eps, epochs=40, batch_size=32, seed=0)
    robust_clean = accuracy(robust, x_test, y_test)
    robust_fgsm = accuracy(robust, adversarial.fgsm(robust, x_test, y_test, eps), y_test)
    robust_pgd = accuracy(robust, adversarial.pgd(robust, x_test, y_test, eps, steps=10), y_test)
    print(
        f"clean {clean:.3f} fgsm {under_fgsm:.3f} pgd {under_pgd:.3f} | adversarially trained: "
        f"clean {robust_clean:.3f} fgsm {robust_fgsm:.3f} pgd {robust_pgd:.3f}"
    )
    assert robust_clean > 0.9
    assert robust_fgsm > under_fgsm + 0.15  # raised back under attack
    assert robust_pgd > under_pgd + 0.1


def test_adversarial_fit_is_seeded_and_counts_epochs(digits):
    x_train, _, y_train, _ = digits
    x, y = x_train[:96], y_train[:96]
    runs = []
    for _ in range(2):
        model = digits_cnn()
        history = adversarial.adversarial_fit(model, x, y, 0.1, attack="pgd", epochs=2, seed=3, pgd_steps=2)
        runs.append((history["loss"], model.get_weights()))
        assert model.epochs_done == 2 and len(history["loss"]) == 2
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_adversarial_fraction_zero_trains_on_the_clean_batches_only(digits):
    # lambda = 0: the adversarial half has weight 0, so the step is the clean batch's step
    x_train, _, y_train, _ = digits
    x, y = x_train[:32], y_train[:32]
    a, b = digits_cnn(), digits_cnn()
    adversarial.adversarial_fit(a, x, y, 0.2, epochs=1, batch_size=32, adversarial_fraction=0.0)
    b.train_step(x[np.random.default_rng(0).permutation(32)], y[np.random.default_rng(0).permutation(32)])
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-6)


def test_bad_arguments_get_clear_errors(trained, digits):
    _, x, _, y = digits
    with pytest.raises(ValueError, match="epsilon must be a finite number >= 0"):
        adversarial.fgsm(trained, x, y, -0.1)
    with pytest.raises(ValueError, match="clip must be"):
        adversarial.fgsm(trained, x, y, 0.1, clip=(1, 0))
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        adversarial.pgd(trained, x, y, 0.1, steps=0)
    with pytest.raises(ValueError, match="has 360 samples but y has 2"):
        adversarial.fgsm(trained, x, y[:2], 0.1)
    with pytest.raises(ValueError, match="attack must be"):
        adversarial.adversarial_fit(digits_cnn(), x, y, 0.1, attack="cw")
    with pytest.raises(ValueError, match="adversarial_fraction"):
        adversarial.adversarial_fit(digits_cnn(), x, y, 0.1, adversarial_fraction=2)
    uncompiled = tn.Sequential([Flatten(input_shape=(1, 8, 8)), Dense(10, activation="softmax")])
    with pytest.raises(RuntimeError, match="compile"):
        adversarial.fgsm(uncompiled, x, y, 0.1)
