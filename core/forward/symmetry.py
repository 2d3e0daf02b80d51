"""Symmetry (the book's §6.2.1): units that start identical get identical gradients and stay
identical, so a layer of n units computes what one unit would. Counted here, per layer."""

from __future__ import annotations

import numpy as np

from core.types import FloatArray

# Two units count as one when no incoming weight (or bias) differs by more than this fraction
# of the layer's largest weight: float rounding alone never splits a symmetric layer, while
# units from a random init differ by orders of magnitude more.
TOLERANCE = 1e-4
# The count reported for a layer whose parameters are not finite (a diverged network): no
# real layer has 0 units, so it cannot be mistaken for a count.
NOT_COUNTED = 0


def distinct_units(w: FloatArray, b: FloatArray) -> int:
    """How many different units a layer has: clusters of near-equal columns of [W; b].

    w: (fan_in, fan_out), b: (fan_out,) or (1, fan_out). Units are ordered along a fixed
    random direction, so near-equal ones sit side by side, and each neighbour is compared in
    full: O(n log n + n·fan_in), with no rounding grid for a cluster to straddle.
    Parameters that are not all finite have no count: `NOT_COUNTED` (0).
    """
    w, b = np.asarray(w), np.asarray(b)
    if (
        w.ndim != 2
        or w.size == 0
        or b.size != w.shape[1]
        or not {w.dtype.kind, b.dtype.kind} <= set("iuf")
    ):
        raise ValueError(
            "w must be a non-empty (fan_in, fan_out) array of numbers and b one of fan_out "
            f"numbers, got shapes {w.shape} and {b.shape}"
        )
    units = np.concatenate([w, np.reshape(b, (1, -1))]).T.astype(np.float64)  # (fan_out, d)
    scale = float(np.abs(units).max())
    if not np.isfinite(scale):
        return NOT_COUNTED
    if scale == 0:
        return 1
    direction = np.random.default_rng(0).standard_normal(units.shape[1])
    ordered = units[np.argsort(units @ direction)]
    gaps = np.abs(np.diff(ordered, axis=0)).max(axis=1)  # (fan_out - 1,)
    return 1 + int((gaps > TOLERANCE * scale).sum())
