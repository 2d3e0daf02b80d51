"""Softmax cross-entropy: its gradient, its invariances and its stability."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose

from core.network.losses import log_softmax, softmax, softmax_cross_entropy
from tests.gradcheck import numeric_grad

LOGITS = arrays(
    np.float64,
    st.tuples(st.integers(1, 4), st.integers(2, 6)),
    elements=st.floats(-1e3, 1e3, allow_nan=False),
)


def test_softmax_cross_entropy_dlogits_match_finite_differences(rng: np.random.Generator) -> None:
    logits = rng.standard_normal((2, 5, 4))  # (K, batch, classes)
    y = rng.integers(0, 4, 5)
    _, dlogits = softmax_cross_entropy(logits, y)
    numeric = numeric_grad(lambda: float(softmax_cross_entropy(logits, y)[0].sum()), logits)
    assert_allclose(dlogits, numeric, rtol=1e-5, atol=1e-8)


def test_softmax_cross_entropy_of_uniform_logits_is_log_classes() -> None:
    loss, _ = softmax_cross_entropy(np.zeros((3, 10)), np.arange(3))
    assert_allclose(loss, np.log(10))


def test_softmax_cross_entropy_keeps_float32() -> None:
    loss, dlogits = softmax_cross_entropy(np.zeros((2, 3, 10), np.float32), np.arange(3))
    assert loss.dtype == np.float32
    assert dlogits.dtype == np.float32


@settings(max_examples=50, deadline=None)
@given(LOGITS, st.floats(-100, 100))
def test_softmax_rows_sum_to_one_and_ignore_a_shift(logits: np.ndarray, shift: float) -> None:
    p = softmax(logits)
    assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)
    assert_allclose(softmax(logits + shift), p, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(LOGITS, st.data())
def test_cross_entropy_is_finite_and_non_negative(logits: np.ndarray, data: st.DataObject) -> None:
    y = np.array(
        data.draw(
            st.lists(
                st.integers(0, logits.shape[1] - 1),
                min_size=logits.shape[0],
                max_size=logits.shape[0],
            )
        )
    )
    loss, dlogits = softmax_cross_entropy(logits, y)
    assert np.isfinite(loss) and loss >= 0
    assert np.isfinite(dlogits).all()
    assert np.isfinite(log_softmax(logits)).all()


@pytest.mark.parametrize(
    ("logits", "y", "message"),
    [
        (np.zeros((2, 3)), np.array([0, -1]), "each from 0 to 2"),  # -1 wrapped to class 2
        (np.zeros((2, 3)), np.array([0, 3]), "each from 0 to 2"),
        (np.zeros((2, 3)), np.array([0.0, 1.0]), "y must be an integer array of 2 labels"),
        (np.zeros((2, 3)), np.array([0, 1, 2]), "y must be an integer array of 2 labels"),
        (np.zeros((2, 3)), [0, 1], "y must be an integer array"),
        ([[0.0, 1.0]], np.array([0]), "logits must be a float array"),
        (np.zeros(3), np.array([0]), "logits must have at least 2 dimension"),
        (np.zeros((2, 3), dtype=np.int64), np.array([0, 1]), "logits must be a float array"),
    ],
)
def test_softmax_cross_entropy_refuses_bad_arguments(
    logits: object, y: object, message: str
) -> None:
    """A label of -1 silently scored class 2 (NumPy's negative index)."""
    with pytest.raises(ValueError, match=message):
        softmax_cross_entropy(logits, y)  # type: ignore[arg-type]


def test_softmax_cross_entropy_of_non_finite_logits_is_nan_for_that_network() -> None:
    """The signal training reads as a divergence: NaN for that network only."""
    logits = np.zeros((2, 3, 4))
    logits[0, 1, 2] = np.inf
    with np.errstate(invalid="ignore"):
        loss, _ = softmax_cross_entropy(logits, np.array([0, 1, 2]))
    assert np.isnan(loss[0]) and np.isfinite(loss[1])
