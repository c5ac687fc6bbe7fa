"""Shared test configuration: hypothesis profiles and a float64 fixture."""

import os

# The suite runs on 2 cores with 2 pytest-xdist workers: one BLAS thread each keeps the
# workers from fighting over the cores (set before numpy loads; workers inherit it).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

import tinynet as tn  # noqa: E402

# Gradient checks are property tests; "ci" keeps them quick, "thorough" digs deeper:
#   HYPOTHESIS_PROFILE=thorough python -m pytest
settings.register_profile(
    "ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile(
    "thorough", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def float64():
    """Build layers and models in float64 for the duration of a test."""
    old = tn.get_default_dtype()
    tn.set_default_dtype(np.float64)
    yield
    tn.set_default_dtype(old)


@pytest.fixture(autouse=True)
def _restore_defaults():
    """Every test starts from float32 and leaves it so."""
    tn.set_default_dtype(np.float32)
    yield
    tn.set_default_dtype(np.float32)
