"""smooth_curve: the book's Kaiser smoothing, same length, NaN after a divergence."""

from __future__ import annotations

import numpy as np
import pytest

import core
from core.race.smoothing import smooth_curve
from core.race.summary import band


def test_smooth_curve_keeps_length_and_constants(rng: np.random.Generator) -> None:
    assert np.allclose(smooth_curve(np.full(50, 2.3)), 2.3)
    noisy = 1 + 0.1 * rng.standard_normal(500)
    smooth = smooth_curve(noisy)
    assert smooth.shape == noisy.shape
    assert smooth.std() < 0.5 * noisy.std()


def test_smooth_curve_matches_the_books_smooth_curve(rng: np.random.Generator) -> None:
    x = rng.random(200)
    window = 11
    s = np.r_[x[window - 1 : 0 : -1], x, x[-1:-window:-1]]
    w = np.kaiser(window, 2)
    y = np.convolve(w / w.sum(), s, mode="valid")
    np.testing.assert_allclose(smooth_curve(x), y[5 : len(y) - 5])


def test_smooth_curve_stops_at_divergence() -> None:
    x = np.r_[np.linspace(2.3, 1.0, 30), np.inf, np.full(9, np.nan)]
    smooth = smooth_curve(x)
    assert np.isfinite(smooth[:30]).all()
    assert np.isnan(smooth[30:]).all()


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 10])
def test_smooth_curve_handles_short_curves(n: int) -> None:
    x = np.arange(n, dtype=float)
    smooth = smooth_curve(x)
    assert smooth.shape == (n,)
    assert np.isfinite(smooth).all()


def test_smooth_curve_rejects_bad_window() -> None:
    with pytest.raises(ValueError, match="window must be an integer >= 1"):
        smooth_curve(np.ones(5), window=0)


def test_band_skips_diverged_seeds_and_is_nan_where_none_is_left() -> None:
    values = np.array([[1.0, 2.0, np.nan], [3.0, np.inf, np.nan]])
    b = band(values)
    np.testing.assert_array_equal(b.mean, [2.0, 2.0, np.nan])
    np.testing.assert_array_equal(b.low, [1.0, 2.0, np.nan])
    np.testing.assert_array_equal(b.high, [3.0, 2.0, np.nan])


def test_summarize_gives_the_page_and_a_notebook_the_same_figures() -> None:
    race = core.train_compare(
        ["he_normal", "zeros"], hidden=(8,), iterations=30, seeds=2, data=core.load_sample()
    )
    summaries = core.summarize(race)
    assert list(summaries) == ["he_normal", "zeros"]
    he = summaries["he_normal"]
    finals = [smooth_curve(c)[-1] for c in race.losses["he_normal"]]
    assert he.final_loss == pytest.approx(np.mean(finals))
    assert he.final_loss_low == min(finals) and he.final_loss_high == max(finals)
    assert he.accuracy == pytest.approx(race.test_accuracy["he_normal"].mean())
    assert he.seeds == 2 and he.diverged == 0


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ("abc", "values must be an array of numbers"),
        ([[1.0, 2.0], [3.0, 4.0]], "values must be a 1-D array, got shape"),
        ([1.0, None], "values must be an array of real numbers"),
        ([True, False], "values must be an array of real numbers"),
        ([1 + 2j], "values must be an array of real numbers"),
        (3.0, "values must be a 1-D array"),
    ],
)
def test_smooth_curve_refuses_what_is_not_one_curve(values: object, message: str) -> None:
    """A 2-D array was returned unchanged, as if smoothed; strings failed inside NumPy."""
    with pytest.raises(ValueError, match=message):
        smooth_curve(values)  # type: ignore[arg-type]


def test_smooth_curve_stays_finite_at_the_top_of_float64() -> None:
    top = np.finfo(np.float64).max
    smooth = smooth_curve(np.full(30, top))
    assert np.isfinite(smooth).all()
    np.testing.assert_allclose(smooth, top)
    np.testing.assert_array_equal(smooth_curve([1, 2]), [1.0, 2.0])  # ints accepted


@pytest.mark.parametrize("window", [2, 4, 10])
def test_smooth_curve_takes_an_even_window_one_shorter(window: int) -> None:
    """An even window made the smoothed curve one step longer than the room for it (a
    broadcasting ValueError from inside NumPy)."""
    x = np.arange(20, dtype=float) ** 2
    np.testing.assert_array_equal(smooth_curve(x, window), smooth_curve(x, window - 1))
