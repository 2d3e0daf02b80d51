"""Symmetry, the book's §6.2.1: a constant init keeps every unit of a layer identical."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.dataset import Dataset
from core.forward.symmetry import NOT_COUNTED, distinct_units
from core.network.initializers import constant
from core.race.training import train_compare


def test_distinct_units_counts_different_columns(rng: np.random.Generator) -> None:
    w = rng.standard_normal((5, 4))
    assert distinct_units(w, np.zeros(4)) == 4
    w[:, 1] = w[:, 0]
    assert distinct_units(w, np.zeros(4)) == 3
    assert distinct_units(w, np.array([0.0, 1.0, 0.0, 0.0])) == 4  # the bias tells them apart
    assert distinct_units(np.zeros((5, 4)), np.zeros(4)) == 1


def test_distinct_units_ignores_float_rounding() -> None:
    w = np.full((6, 3), 0.3, dtype=np.float32)
    w[0, 1] = np.nextafter(np.float32(0.3), np.float32(1))
    assert distinct_units(w, np.zeros(3, np.float32)) == 1


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch_norm"])
def test_constant_init_stays_symmetric_through_training(batch_norm: bool) -> None:
    """Batch norm does not break the symmetry: identical units get identical statistics."""
    rng = np.random.default_rng(0)
    data = Dataset(
        rng.integers(0, 256, (64, 784), dtype=np.uint8),
        rng.integers(0, 10, 64),
        rng.integers(0, 256, (16, 784), dtype=np.uint8),
        rng.integers(0, 10, 16),
        source="random test digits",
    )
    result = train_compare(
        [constant(0.05), "he_normal"],
        activation="tanh",
        hidden=(30, 20),
        iterations=60,
        lr=0.1,
        progress_every=20,
        batch_norm=batch_norm,
        data=data,
    )
    np.testing.assert_array_equal(result.checkpoints, [0, 20, 40, 60])
    assert (result.distinct_units["constant_0.05"] == 1).all()
    np.testing.assert_array_equal(result.distinct_units["he_normal"], [[[30, 20]] * 4])


def test_distinct_units_of_non_finite_parameters_is_not_counted() -> None:
    """It said every unit was distinct: a plausible count for a blown-up layer."""
    w = np.ones((3, 4))
    w[0, 0] = np.nan
    assert distinct_units(w, np.zeros(4)) == NOT_COUNTED
    w[0, 0] = np.inf
    assert distinct_units(w, np.zeros(4)) == NOT_COUNTED


@pytest.mark.parametrize(
    ("w", "b"), [(np.ones(4), np.zeros(4)), (np.ones((3, 4)), np.zeros(3)), (np.ones((0, 4)), [])]
)
def test_distinct_units_refuses_mismatched_shapes(w: object, b: object) -> None:
    with pytest.raises(ValueError, match=r"w must be a non-empty \(fan_in, fan_out\) array"):
        distinct_units(w, b)  # type: ignore[arg-type]
