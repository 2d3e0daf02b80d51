"""Core results as tidy DataFrames, the only shape the charts and tables take.

Histogram counts arrive already binned from core (hundreds of rows, never raw activations);
loss curves are thinned to at most `MAX_POINTS` steps per curve so a 5,000-step race stays a
light chart while it redraws live.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

import core
from core.race import summary
from ui.i18n import N_, _, join_list, ngettext

MAX_POINTS = 500  # steps drawn per curve; the smoothing still sees every step


HISTOGRAM_COLUMNS = ["layer", "bin_start", "bin_end", "count"]


def _binned_frame(layers: list[tuple[int, np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """One row per (layer, bin) from (layer, counts, edges) triples."""
    parts = [
        pd.DataFrame({"layer": n, "bin_start": edges[:-1], "bin_end": edges[1:], "count": counts})
        for n, counts, edges in layers
    ]
    if not parts:
        return pd.DataFrame(columns=HISTOGRAM_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def histogram_frame(result: core.ForwardResult) -> pd.DataFrame:
    """One row per (layer, bin) of the activations: layer, bin_start, bin_end, count."""
    return _binned_frame([(s.layer, s.counts, s.edges) for s in result.layers])


def gradient_histogram_frame(result: core.ForwardResult) -> pd.DataFrame:
    """The same columns for the back-propagated gradient ∂L/∂z. Layers below a backward
    overflow have no gradient (NaN std, empty counts) and get no rows."""
    return _binned_frame(
        [(s.layer, s.grad_counts, s.grad_edges) for s in result.layers if np.isfinite(s.grad_std)]
    )


# A table's columns, declared once: heading (a catalog message: the table is shown, and
# downloaded, translated) → how its numbers read on the page, (format, help); (None, None)
# leaves Streamlit's own.
ColumnFormats = Mapping[str, tuple[str | None, str | None]]

STATS_COLUMNS: ColumnFormats = {
    N_("Layer"): (None, None),
    N_("Mean"): ("%.3g", None),
    N_("Std"): ("%.3g", None),
    N_("Saturated"): (
        "percent",
        N_("Share of values where the slope f'(z) is below 5 percent of its maximum"),
    ),
    N_("Dead units"): (
        "percent",
        N_(
            "Share of units inactive for every input (saturated for every sample): they pass no "
            "gradient"
        ),
    ),
    N_("Exact zeros"): ("percent", None),
    N_("Gradient std"): ("%.3g", N_("Std of the back-propagated gradient ∂L/∂z at this layer")),
    N_("Weight-gradient std"): ("%.3g", N_("Std of the gradient ∂L/∂W of this layer's weights")),
}
KEY = "Key"  # an initializer's registry name, beside its label
SHARED_TIME = N_("Time (s, shared)")
# Hidden in the page's data tables, kept in their CSVs: the label says the key in words, and
# the caption under the race's table its shared time (in Japanese, that column pushed a
# two-seed table past a 1,280-px window).
HIDDEN_COLUMNS = (KEY, SHARED_TIME)
# The race's table (`results_frame`); its other columns are text, or hidden on the page.
RESULT_COLUMNS: ColumnFormats = {
    N_("Final loss"): (
        "%.3f",
        N_("Smoothed training loss at the last step (with several seeds, their mean)"),
    ),
    N_("Test accuracy"): (
        "percent",
        N_("With several seeds, the mean of those that did not diverge"),
    ),
}


def stats_frame(result: core.ForwardResult) -> pd.DataFrame:
    """One row per layer: the summary statistics core computed (fractions, not percents)."""
    rows = [
        (
            s.layer,
            s.mean,
            s.std,
            s.saturated,
            s.dead,
            s.zero_fraction,
            s.grad_std,
            s.weight_grad_std,
        )
        for s in result.layers
    ]
    return pd.DataFrame(rows, columns=list(STATS_COLUMNS))


# The std-vs-depth chart's series, in legend order: (label, LayerStats field).
DEPTH_SERIES = (
    (N_("activation std (measured)"), "std"),
    (N_("activation std (predicted)"), "predicted_std"),
    (N_("gradient std (measured)"), "grad_std"),
    (N_("gradient std (predicted)"), "predicted_grad_std"),
)
DEPTH_COLUMNS = ["layer", "series", "quantity", "source", "std"]


@dataclass(frozen=True, slots=True)
class DepthFrame:
    """The std-vs-depth chart's rows, and which values were left out of it: (series, layers)
    for each series that lost some."""

    data: pd.DataFrame  # columns DEPTH_COLUMNS; only finite, positive std
    left_out: tuple[tuple[str, int], ...]


def depth_frame(result: core.ForwardResult) -> DepthFrame:
    """Measured and predicted std per layer, long format, ready for a log axis.

    A log axis cannot place 0, inf or NaN (a zeros init, an exploding prediction, a layer
    below a backward overflow), so those rows are dropped and counted in `left_out`.
    """
    rows, dropped = [], []
    for label, field in DEPTH_SERIES:
        quantity, source = label.removesuffix(")").split(" (")
        values = [(s.layer, float(getattr(s, field))) for s in result.layers]
        kept = [(n, v) for n, v in values if math.isfinite(v) and v > 0]
        rows += [(n, label, quantity, source, v) for n, v in kept]
        missing = len(values) - len(kept)
        if missing:
            dropped.append((label, missing))
    return DepthFrame(pd.DataFrame(rows, columns=DEPTH_COLUMNS), tuple(dropped))


# Catalog messages too: the curves download as a table in the reader's language.
LOSS_COLUMNS = [N_("step"), N_("initializer"), N_("loss"), N_("smoothed"), N_("low"), N_("high")]


def loss_frame(losses: Mapping[str, np.ndarray], labels: Mapping[str, str]) -> pd.DataFrame:
    """Long format for the loss chart: step, initializer (label), loss (raw, averaged over the
    seeds), smoothed (each seed smoothed, then averaged), and the band `low` to `high` (the
    lowest and highest smoothed seed; one line when there is one seed), all from
    `core.race.summary`.

    `losses[name]` is (seeds, steps). Every step is smoothed, then every k-th step is kept
    (k chosen so that at most `MAX_POINTS` remain); the last step is always kept so the curve
    ends where training did. A seed that diverged drops out of the average from that step.
    """
    parts = []
    for name, curves in losses.items():
        n = curves.shape[1]
        if n == 0:
            continue
        stride = max(1, math.ceil(n / MAX_POINTS))
        keep = np.unique(np.append(np.arange(0, n, stride), n - 1))
        smooth = summary.band(summary.smoothed(curves)[:, keep])
        parts.append(
            pd.DataFrame(
                {
                    "step": keep + 1,
                    "initializer": labels[name],
                    "loss": summary.band(curves[:, keep]).mean,
                    "smoothed": smooth.mean,
                    "low": smooth.low,
                    "high": smooth.high,
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=LOSS_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def results_frame(result: core.TrainResult, labels: Mapping[str, str]) -> pd.DataFrame:
    """The end-of-run table, one row per initializer (named by `labels`): final (smoothed)
    loss and test accuracy averaged over the seeds that trained (`core.race.summary`), their
    lowest-to-highest accuracy when there are several, status and shared time. Column names
    are catalog messages, translated where the table is shown."""
    rows = []
    for name, s in summary.summarize(result).items():
        row = {
            N_("Initializer"): labels[name],
            KEY: name,
            N_("Final loss"): s.final_loss,
            N_("Test accuracy"): s.accuracy,
        }
        if s.seeds > 1:
            row[N_("Accuracy range")] = (
                _("{low} to {high}").format(
                    low=f"{s.accuracy_low:.1%}", high=f"{s.accuracy_high:.1%}"
                )
                if math.isfinite(s.accuracy_low)
                else _("none trained")
            )
        row[N_("Status")] = _status(result.diverged_at[name])
        row[SHARED_TIME] = result.seconds
        rows.append(row)
    return pd.DataFrame(rows)


def diverged_labels(result: core.TrainResult, labels: Mapping[str, str]) -> list[str]:
    """The initializers with a diverged network, as labels; "(2 of 3 seeds)" when only some
    of its seeds diverged."""
    names = []
    for name, steps in result.diverged_at.items():
        n = sum(step is not None for step in steps)
        if n == len(steps):
            names.append(labels[name])
        elif n:
            part = ngettext("{n} of {seeds} seed", "{n} of {seeds} seeds", len(steps))
            names.append(f"{labels[name]} ({part.format(n=n, seeds=len(steps))})")
    return names


def _status(diverged_at: tuple[int | None, ...]) -> str:
    """ "trained", "diverged at step 12", or for several seeds "2 of 3 seeds diverged (...)"."""
    steps = [f"{step:,}" for step in diverged_at if step is not None]
    if not steps:
        return _("trained")
    if len(diverged_at) == 1:
        return _("diverged at step {step}").format(step=steps[0])
    message = ngettext(
        "{n} of {seeds} seeds diverged (step {steps})",
        "{n} of {seeds} seeds diverged (steps {steps})",
        len(steps),
    )
    return message.format(n=len(steps), seeds=len(diverged_at), steps=join_list(steps))


def units_frame(result: core.TrainResult, labels: Mapping[str, str]) -> pd.DataFrame:
    """Long format for the symmetry chart: step, initializer (label), hidden layer, units.

    `units` is how many different units that hidden layer has after that step (step 0 is the
    initialization), as counted by core for the first seed; initializers keep the race's order.
    """
    steps = np.asarray(result.checkpoints)
    rows = [
        {"step": int(step), "initializer": labels[name], "layer": layer + 1, "units": int(n)}
        for name, counts in result.distinct_units.items()
        for c, step in enumerate(steps)
        for layer, n in enumerate(counts[0, c])
        if n > 0  # 0: not counted (a diverged network's layers)
    ]
    return pd.DataFrame(rows, columns=["step", "initializer", "layer", "units"])


@dataclass(frozen=True, slots=True)
class ForwardView:
    """Everything the activations view draws, as plain picklable data (cacheable)."""

    histograms: pd.DataFrame
    grad_histograms: pd.DataFrame
    stats: pd.DataFrame
    depth: DepthFrame
    diagnosis: core.Diagnosis
    overflow_layer: int | None
    grad_overflow_layer: int | None
    x_domain: tuple[float, float]
    grad_x_domain: tuple[float, float]
    initializer: core.Initializer  # its formula and framework calls are shown
    weight_variance: float


def forward_view(result: core.ForwardResult) -> ForwardView:
    """Collect a forward pass's frames, verdict and labels for the activations view."""
    first = result.layers[0] if result.layers else None
    edges = first.edges if first else np.array([0.0, 1.0])
    grad_edges = first.grad_edges if first else np.array([-1.0, 1.0])
    return ForwardView(
        histograms=histogram_frame(result),
        grad_histograms=gradient_histogram_frame(result),
        stats=stats_frame(result),
        depth=depth_frame(result),
        diagnosis=core.diagnose(result),
        overflow_layer=result.overflow_layer,
        grad_overflow_layer=result.grad_overflow_layer,
        x_domain=(float(edges[0]), float(edges[-1])),
        grad_x_domain=(float(grad_edges[0]), float(grad_edges[-1])),
        initializer=result.initializer,
        weight_variance=result.initializer.variance(result.width, result.width),
    )


FRAMEWORK_COLUMNS = [KEY, N_("Initializer"), "PyTorch", "Keras"]


def framework_frame(label: Callable[[str], str]) -> pd.DataFrame:
    """One row per registry entry: its key, `label(key)` and the PyTorch and Keras calls."""
    rows = [(k, label(k), i.torch, i.keras) for k, i in core.INITIALIZERS.items()]
    return pd.DataFrame(rows, columns=FRAMEWORK_COLUMNS)


# The σ × depth map's colour range: log10 std beyond ±6 (and 0 or overflow) sits on its ends.
LOG_STD_CLIP = 6.0
SWEEP_COLUMNS = [
    "depth",
    "depth_start",
    "depth_end",
    "sigma",
    "sigma_low",
    "sigma_high",
    "log_std",
    "std_text",
]


@dataclass(frozen=True, slots=True)
class SweepView:
    """The σ × depth map as plain data: one cell per (σ, depth), and the marked scales."""

    cells: pd.DataFrame  # columns SWEEP_COLUMNS; log_std finite, clipped to ±LOG_STD_CLIP
    marked: pd.DataFrame  # columns label (the scale's code), sigma: one per `core.MARKED_SCALES`
    clipped: int  # cells whose std lies beyond the colour range (0 and overflow included)


def _log_edges(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cell edges halfway between neighbours on a log axis; end cells mirror their inner edge."""
    log_v = np.log(values)
    half = np.diff(log_v) / 2 if len(values) > 1 else np.array([0.05])
    return (
        np.exp(log_v - np.concatenate([half[:1], half])),
        np.exp(log_v + np.concatenate([half, half[-1:]])),
    )


def _std_text(std: float) -> str:
    return "overflow" if math.isinf(std) else f"{std:.3g}"


def sweep_view(sweep: core.DepthSweep) -> SweepView:
    """One row per (σ, depth) with log10 std clipped to the colour range, for a heat map."""
    n_scales, n_depths = sweep.stds.shape
    low, high = _log_edges(sweep.scales)
    with np.errstate(divide="ignore"):  # log10(0) = -inf, clipped to the bottom like inf is
        log_std = np.log10(sweep.stds)  # (scales, depths)
    clipped = int((np.abs(log_std) > LOG_STD_CLIP).sum())
    depth = np.tile(sweep.depths.astype(int), n_scales)
    cells = pd.DataFrame(
        {
            "depth": depth,
            "depth_start": depth - 0.5,
            "depth_end": depth + 0.5,
            "sigma": np.repeat(sweep.scales, n_depths),
            "sigma_low": np.repeat(low, n_depths),
            "sigma_high": np.repeat(high, n_depths),
            "log_std": np.clip(log_std, -LOG_STD_CLIP, LOG_STD_CLIP).ravel(),
            "std_text": [_std_text(v) for v in sweep.stds.ravel()],
        }
    )
    marked = pd.DataFrame(
        {"label": list(core.MARKED_SCALES), "sigma": list(core.MARKED_SCALES.values())}
    )
    return SweepView(cells, marked, clipped)
