"""Core results as tidy DataFrames, the only shape the charts and tables take.

Histogram counts arrive already binned from core (hundreds of rows, never raw activations);
loss curves are thinned to at most `MAX_POINTS` steps per curve so a 5,000-step race stays a
light chart while it redraws live.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

import core
from core import smooth_curve

SMOOTH_WINDOW = 11  # the book's smooth_curve window
MAX_POINTS = 500  # steps drawn per curve; the smoothing still sees every step


def histogram_frame(result: core.ForwardResult) -> pd.DataFrame:
    """One row per (layer, bin): layer, bin_start, bin_end, count."""
    parts = [
        pd.DataFrame(
            {
                "layer": s.layer,
                "bin_start": s.edges[:-1],
                "bin_end": s.edges[1:],
                "count": s.counts,
            }
        )
        for s in result.layers
    ]
    if not parts:
        return pd.DataFrame(columns=["layer", "bin_start", "bin_end", "count"])
    return pd.concat(parts, ignore_index=True)


STATS_COLUMNS = ("Layer", "Mean", "Std", "Saturated", "Dead units", "Exact zeros")


def stats_frame(result: core.ForwardResult) -> pd.DataFrame:
    """One row per layer: the summary statistics core computed (fractions, not percents)."""
    rows = [(s.layer, s.mean, s.std, s.saturated, s.dead, s.zero_fraction) for s in result.layers]
    return pd.DataFrame(rows, columns=list(STATS_COLUMNS))


def loss_frame(losses: Mapping[str, np.ndarray], labels: Mapping[str, str]) -> pd.DataFrame:
    """Long format for the loss chart: step, initializer (label), raw loss, smoothed loss.

    Every step is smoothed, then every k-th step is kept (k chosen so that at most
    `MAX_POINTS` remain); the last step is always kept so the curve ends where training did.
    """
    parts = []
    for name, raw in losses.items():
        n = len(raw)
        if n == 0:
            continue
        stride = max(1, math.ceil(n / MAX_POINTS))
        keep = np.unique(np.append(np.arange(0, n, stride), n - 1))
        parts.append(
            pd.DataFrame(
                {
                    "step": keep + 1,
                    "initializer": labels[name],
                    "loss": raw[keep],
                    "smoothed": smooth_curve(raw, SMOOTH_WINDOW)[keep],
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=["step", "initializer", "loss", "smoothed"])
    return pd.concat(parts, ignore_index=True)


def results_frame(result: core.TrainResult) -> pd.DataFrame:
    """The end-of-run table: final (smoothed) loss, test accuracy, status and shared time."""
    rows = []
    for name, raw in result.losses.items():
        step = result.diverged_at[name]
        final = smooth_curve(raw, SMOOTH_WINDOW)[-1] if len(raw) else math.nan
        rows.append(
            {
                "Initializer": result.labels[name],
                "Key": name,
                "Final loss": final,
                "Test accuracy": result.test_accuracy[name],
                "Status": f"diverged at step {step:,}" if step is not None else "trained",
                "Time (s, shared)": result.seconds,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True, slots=True)
class ForwardView:
    """Everything the activations view draws, as plain picklable data (cacheable)."""

    histograms: pd.DataFrame
    stats: pd.DataFrame
    verdict: str
    overflow_layer: int | None
    x_domain: tuple[float, float]
    activation_label: str
    init_label: str
    formula: str
    weight_variance: float


def forward_view(result: core.ForwardResult) -> ForwardView:
    """Collect a forward pass's frames, verdict and labels for the activations view."""
    edges = result.layers[0].edges if result.layers else np.array([0.0, 1.0])
    return ForwardView(
        histograms=histogram_frame(result),
        stats=stats_frame(result),
        verdict=core.verdict(result),
        overflow_layer=result.overflow_layer,
        x_domain=(float(edges[0]), float(edges[-1])),
        activation_label=result.activation.label,
        init_label=result.initializer.label,
        formula=result.initializer.formula,
        weight_variance=result.initializer.variance(result.width, result.width),
    )
