"""Inside the race: a race's telemetry (`core.race.telemetry`) as tidy frames for its charts.

Every frame has one row per (initializer, checkpoint, layer[, bin]), with the initializers in
the race's order. With several seeds a value is the mean of the seeds that were measured
there (a diverged network is not); a log axis cannot place 0 or NaN, so the frames for log
charts keep finite, positive values only and count what they leave out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.race.summary import band
from core.race.telemetry import Telemetry
from ui.i18n import N_

# The per-layer quantities the layers chart can show, by `Telemetry` field: (label, log axis?).
LAYER_METRICS: Mapping[str, tuple[str, bool]] = {
    "act_std": (N_("activation std"), True),
    "act_dead": (N_("dead units"), False),
    "act_saturated": (N_("saturated values"), False),
    "grad_std": (N_("gradient std ∂L/∂z"), True),
}
RULE_OF_THUMB = 1e-3  # Karpathy's update:data ratio guide line
MIN_SHARE = 1e-4  # the heat map's faintest colour: one value in 10,000


@dataclass(frozen=True, slots=True)
class LogFrame:
    """Rows for a log axis, and how many values were left out (zero, NaN: not measured)."""

    data: pd.DataFrame
    left_out: int


def matrix_label(index: int, n_matrices: int) -> str:
    """ "W1" … for the hidden layers' weights, "W out" for the output layer's."""
    return "W out" if index == n_matrices - 1 else f"W{index + 1}"


def ratio_frame(telemetry: Mapping[str, Telemetry], labels: Mapping[str, str]) -> LogFrame:
    """Update:data ratio per weight matrix over the checkpoints: initializer, step, matrix,
    ratio (positive and finite only)."""
    parts, left_out = [], 0
    for name, t in telemetry.items():
        mean = band(t.update_ratio).mean  # (checkpoints, matrices)
        n_matrices = mean.shape[1]
        for m in range(n_matrices):
            keep = np.isfinite(mean[:, m]) & (mean[:, m] > 0)
            left_out += int((~keep).sum())
            parts.append(
                pd.DataFrame(
                    {
                        "initializer": labels[name],
                        "step": t.steps[keep],
                        "matrix": matrix_label(m, n_matrices),
                        "ratio": mean[keep, m],
                    }
                )
            )
    return LogFrame(_concat(parts, ["initializer", "step", "matrix", "ratio"]), left_out)


def layer_metric_frame(
    telemetry: Mapping[str, Telemetry], labels: Mapping[str, str], metric: str
) -> LogFrame:
    """One of `LAYER_METRICS` (a `Telemetry` field) per hidden layer over the checkpoints:
    initializer, step, layer, value (for a log metric, positive and finite only)."""
    field, (_label, log) = metric, LAYER_METRICS[metric]
    parts, left_out = [], 0
    for name, t in telemetry.items():
        mean = band(getattr(t, field)).mean  # (checkpoints, hidden layers)
        for layer in range(mean.shape[1]):
            values = mean[:, layer]
            keep = np.isfinite(values) & ((values > 0) if log else True)
            left_out += int((~keep).sum())
            parts.append(
                pd.DataFrame(
                    {
                        "initializer": labels[name],
                        "step": t.steps[keep],
                        "layer": layer + 1,
                        "value": values[keep],
                    }
                )
            )
    return LogFrame(_concat(parts, ["initializer", "step", "layer", "value"]), left_out)


def heat_frame(
    telemetry: Mapping[str, Telemetry], labels: Mapping[str, str], layer: int
) -> pd.DataFrame:
    """Hidden layer `layer`'s (1-based) activation histogram at every checkpoint, as cells:
    initializer, step, step_start, step_end, bin_start, bin_end, share (of the values at that
    checkpoint, summed over the seeds measured; empty bins have no row)."""
    parts = []
    for name, t in telemetry.items():
        counts = t.act_counts[:, :, layer - 1].sum(axis=0)  # (checkpoints, bins)
        totals = counts.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(totals > 0, counts / np.maximum(totals, 1), 0.0)
        start, end = _cell_edges(t.steps.astype(float))
        c, b = np.nonzero(share > 0)
        parts.append(
            pd.DataFrame(
                {
                    "initializer": labels[name],
                    "step": t.steps[c],
                    "step_start": start[c],
                    "step_end": end[c],
                    "bin_start": t.act_edges[b],
                    "bin_end": t.act_edges[b + 1],
                    "share": share[c, b],
                }
            )
        )
    columns = ["initializer", "step", "step_start", "step_end", "bin_start", "bin_end", "share"]
    return _concat(parts, columns)


def _cell_edges(steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cells that tile the step axis: each spans halfway to its neighbours."""
    if len(steps) == 1:
        return steps - 0.5, steps + 0.5
    mid = (steps[1:] + steps[:-1]) / 2
    return (
        np.concatenate([[steps[0] - (mid[0] - steps[0])], mid]),
        np.concatenate([mid, [steps[-1] + (steps[-1] - mid[-1])]]),
    )


def _concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
