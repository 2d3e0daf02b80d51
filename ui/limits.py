"""Compute caps for the public demo, so that no combination of controls can exhaust it.

The forward pass costs about 25-60 ns per activation value (ReLU to GELU) plus the weight
draws, so two budgets bound it: activations (layers × width × samples) and weights
(layers × width²; an orthogonal matrix needs a QR decomposition, whose cost grows with
width³, so it counts width / 300 times). At the caps a redraw took 0.1-0.7 s on 2 cores
(GELU and orthogonal are the slowest). Training is capped at a multiple of the default race's
cost, measured in weight multiplications (iterations × batch × networks × weights).

These are deployment rules, not experiment maths: change the constants to suit the host.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import pairwise

from ui.config import DEFAULT_TRAIN, ForwardConfig, TrainConfig
from ui.i18n import _, join_clauses
from ui.settings import FWD, RACE_BY_NAME

# The caps on one setting are the settings table's; these name the ones the budgets read.
MAX_LAYERS = int(FWD["layers"].high)  # type: ignore[arg-type]
MIN_SAMPLES = int(FWD["samples"].low)  # type: ignore[arg-type]
SAMPLES_STEP = int(FWD["samples"].step)  # type: ignore[arg-type]
MAX_SWEEP_DEPTH = int(FWD["sweep_depth"].high)  # type: ignore[arg-type]
MAX_ITERATIONS = int(RACE_BY_NAME["iterations"].high)  # type: ignore[arg-type]
ACTIVATION_BUDGET = 6_000_000  # layers × width × samples
WEIGHT_BUDGET = 10_000_000  # layers × width² (× width / 300 for orthogonal)
ORTHOGONAL_WIDTH_SCALE = 300
QR_INITS = ("orthogonal", "lsuv")  # initializers whose draw is a QR decomposition

MNIST_PIXELS = 784
MNIST_CLASSES = 10
TRAIN_BUDGET_MULTIPLE = 4  # a run may cost up to 4× the default race (about 30 s on 2 cores)
# Batch norm's elementwise work: the benchmark's workload W (the default race) took 8.5 s with
# it and 6.7 s without (medians of 5 runs on 2 cores).
BATCH_NORM_COST = 1.3


@dataclass(frozen=True, slots=True)
class Capped:
    """A config that fits the budget, and the sentence telling the user what was cut."""

    config: ForwardConfig
    notice: str  # "" when nothing was cut


def _weight_cost(width: int, init: str) -> float:
    """Weights one layer costs: width², scaled up for orthogonal's QR decomposition."""
    scale = max(1.0, width / ORTHOGONAL_WIDTH_SCALE) if init in QR_INITS else 1.0
    return width * width * scale


def cap_forward(cfg: ForwardConfig) -> Capped:
    """Cut layers (for the weight budget), then samples (for the activation budget)."""
    cuts: list[str] = []
    layers = min(cfg.layers, max(1, int(WEIGHT_BUDGET // _weight_cost(cfg.width, cfg.init))))
    if layers < cfg.layers:
        cut = (
            _(
                "{layers} of {total} layers (orthogonal weights need a QR per layer; layers × "
                "width² is capped at {budget} M weights)"
            )
            if cfg.init in QR_INITS
            else _("{layers} of {total} layers (layers × width² is capped at {budget} M weights)")
        )
        cuts.append(cut.format(layers=layers, total=cfg.layers, budget=f"{WEIGHT_BUDGET / 1e6:g}"))
    fit = ACTIVATION_BUDGET // (layers * cfg.width)
    samples = min(cfg.samples, max(MIN_SAMPLES, fit // SAMPLES_STEP * SAMPLES_STEP))
    if samples < cfg.samples:
        cut = _(
            "{samples} of {total} samples (layers × width × samples is capped at {budget} M "
            "activations)"
        )
        cuts.append(
            cut.format(
                samples=f"{samples:,}",
                total=f"{cfg.samples:,}",
                budget=f"{ACTIVATION_BUDGET / 1e6:g}",
            )
        )
    if not cuts:
        return Capped(cfg, "")
    notice = _("Capped to keep this public demo fast: showing {cuts}.").format(
        cuts=join_clauses(cuts)
    )
    return Capped(replace(cfg, layers=layers, samples=samples), notice)


def training_cost(cfg: TrainConfig) -> float:
    """Weight multiplications of the forward passes: iterations × batch × networks × weights,
    with one network per initializer and seed."""
    sizes = (MNIST_PIXELS, *cfg.hidden, MNIST_CLASSES)
    weights = sum(fan_in * fan_out for fan_in, fan_out in pairwise(sizes))
    cost = cfg.iterations * cfg.batch_size * len(cfg.initializers) * cfg.seeds * weights
    return cost * BATCH_NORM_COST if cfg.batch_norm else cost


def training_over_budget(cfg: TrainConfig) -> str:
    """Why `cfg` may not run on the public demo, or "" if it may."""
    if cfg.iterations > MAX_ITERATIONS:
        return _("Training is capped at {max} iterations on this public demo.").format(
            max=f"{MAX_ITERATIONS:,}"
        )
    ratio = training_cost(cfg) / training_cost(DEFAULT_TRAIN)
    if ratio <= TRAIN_BUDGET_MULTIPLE:
        return ""
    return _(
        "This run would cost {ratio}× the default race; this public demo allows {allowed}×. "
        "Use fewer iterations, initializers, seeds or units, or a smaller batch."
    ).format(ratio=f"{ratio:.1f}", allowed=TRAIN_BUDGET_MULTIPLE)


# The σ × depth map: every σ (about 42) runs one (samples × width) @ (width × width) product per
# layer, so its cost grows with width² × depth; 1 M of it took 0.4-1.1 s on 2 cores (ReLU to
# ELU). Std propagation barely depends on width once it is wide, so the map caps width first.
MAX_SWEEP_WIDTH = 200
SWEEP_BUDGET = 1_000_000  # width² × depth


@dataclass(frozen=True, slots=True)
class CappedSweep:
    """The width and depth the σ × depth map runs at, and what was cut ("" if nothing)."""

    width: int
    depth: int
    notice: str


def cap_sweep(width: int, depth: int) -> CappedSweep:
    """Cut width to `MAX_SWEEP_WIDTH`, then depth so that width² × depth fits the budget."""
    cuts: list[str] = []
    w = min(width, MAX_SWEEP_WIDTH)
    if w < width:
        cuts.append(_("{kept} of {total} units per layer").format(kept=w, total=f"{width:,}"))
    d = min(depth, max(1, SWEEP_BUDGET // (w * w)))
    if d < depth:
        cuts.append(_("{kept} of {total} layers").format(kept=d, total=depth))
    if not cuts:
        return CappedSweep(w, d, "")
    notice = _(
        "Capped to keep this public demo fast: the map shows {cuts} (width² × depth is capped "
        "at {budget} M)."
    ).format(cuts=join_clauses(cuts), budget=f"{SWEEP_BUDGET / 1e6:g}")
    return CappedSweep(w, d, notice)
