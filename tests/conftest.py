"""Shared fixtures: the test seed (env TEST_SEED: "0", "0-9" or "all") and a Generator from it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest


def _seeds() -> list[int]:
    spec = os.environ.get("TEST_SEED", "0")
    if spec == "all":
        return list(range(100))
    if "-" in spec:
        low, high = (int(s) for s in spec.split("-"))
        return list(range(low, high + 1))
    return [int(spec)]


def pytest_report_header() -> str:
    return f"TEST_SEED: {os.environ.get('TEST_SEED', '0')}"


@pytest.fixture(params=_seeds())
def seed(request: pytest.FixtureRequest) -> int:
    return request.param


@pytest.fixture
def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.fixture
def global_rng_untouched() -> Iterator[None]:
    """Fails the test if anything it ran drew from NumPy's legacy global random state."""
    before = np.random.get_state()[1].copy()  # noqa: NPY002 (reading it is the point)
    yield
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002
