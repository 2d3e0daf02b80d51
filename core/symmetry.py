"""Symmetry (the book's §6.2.1): units that start identical get identical gradients and stay
identical, so a layer of n units computes what one unit would. Counted here, per layer."""

from __future__ import annotations

import numpy as np

from core.types import FloatArray

# Units whose incoming weights and bias agree to this many significant digits (relative to
# the layer's largest weight) count as one: float rounding alone must not split a symmetric
# layer, while any real difference from a random init is orders of magnitude larger.
DECIMALS = 4


def distinct_units(w: FloatArray, b: FloatArray) -> int:
    """How many different units a layer has: distinct columns of [W; b].

    w: (fan_in, fan_out), b: (fan_out,) or (1, fan_out).
    """
    units = np.concatenate([w, np.reshape(b, (1, -1))]).T  # (fan_out, fan_in + 1)
    scale = float(np.abs(units).max())
    if scale == 0 or not np.isfinite(scale):
        return 1 if scale == 0 else len(units)
    return len(np.unique(np.round(units / scale, DECIMALS), axis=0))
