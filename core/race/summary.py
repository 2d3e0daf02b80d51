"""The numbers a race is judged by: the band over seeds and the smoothed final loss.

They live in core so that the page and a notebook read the same figures from
`core.train_compare`'s result. Over the seeds, only finite values count: a diverged seed
drops out of the mean from the step it diverged, and a statistic with no finite value left is
NaN (the page then says "diverged", never shows a number).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from core.race.smoothing import smooth_curve
from core.race.training import TrainResult
from core.types import FloatArray

SMOOTH_WINDOW = 11  # the book's smooth_curve window


@dataclass(frozen=True, slots=True)
class Band:
    """Mean, lowest and highest over the seeds (axis 0), finite values only; NaN where a
    position has none."""

    mean: FloatArray
    low: FloatArray
    high: FloatArray


@dataclass(frozen=True, slots=True)
class Summary:
    """One initializer's race in figures: its smoothed final training loss and test accuracy
    (means over the seeds that trained, with the lowest and highest seed), and how many of
    its seeds diverged."""

    final_loss: float
    final_loss_low: float
    final_loss_high: float
    accuracy: float
    accuracy_low: float
    accuracy_high: float
    seeds: int
    diverged: int


def band(values: FloatArray) -> Band:
    """Mean, lowest and highest over axis 0 of the finite values only.

    (NumPy's nanmean warns on an all-NaN column, which every step after a divergence is.)
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    count = finite.sum(axis=0)
    total = np.where(finite, values, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    low = np.where(count > 0, np.where(finite, values, np.inf).min(axis=0), np.nan)
    high = np.where(count > 0, np.where(finite, values, -np.inf).max(axis=0), np.nan)
    return Band(mean, low, high)


def smoothed(losses: FloatArray) -> FloatArray:
    """Each seed's loss curve (seeds, steps) smoothed as the book draws it."""
    return np.array([smooth_curve(curve, SMOOTH_WINDOW) for curve in losses]).reshape(
        np.shape(losses)
    )


def summarize(result: TrainResult) -> Mapping[str, Summary]:
    """Every initializer's `Summary`, in the race's order."""
    summaries = {}
    for name, losses in result.losses.items():
        finals = (
            band(smoothed(losses)[:, -1:]) if losses.shape[1] else band(np.full((1, 1), np.nan))
        )
        accuracy = band(result.test_accuracy[name][:, None])
        summaries[name] = Summary(
            final_loss=float(finals.mean[0]),
            final_loss_low=float(finals.low[0]),
            final_loss_high=float(finals.high[0]),
            accuracy=float(accuracy.mean[0]),
            accuracy_low=float(accuracy.low[0]),
            accuracy_high=float(accuracy.high[0]),
            seeds=len(losses),
            diverged=sum(step is not None for step in result.diverged_at[name]),
        )
    return summaries
