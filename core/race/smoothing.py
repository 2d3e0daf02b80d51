"""The book's loss-curve smoothing (`common/util.py: smooth_curve`), made safe for short and
diverged curves."""

from __future__ import annotations

import numpy as np

from core.types import FloatArray
from core.validation import check_int, check_real_array

KAISER_BETA = 2.0
_FLOAT_MAX = float(np.finfo(np.float64).max)


def smooth_curve(values: FloatArray, window: int = 11) -> FloatArray:
    """A Kaiser-window (β = 2) moving average with mirrored ends, the same length as `values`.

    Only the finite prefix is smoothed: after a divergence (the first NaN or inf) the result
    is NaN, so a diverged run's last finite losses are not smeared into the blow-up.
    `values` is one curve (1-D, ints or floats); a `window` longer than its finite prefix is
    cut to it, and an even one is taken one shorter (centred windows are odd). The result is
    float64, finite on that prefix.
    """
    check_int("window", window, low=1)
    values = check_real_array("values", values, ndim=1).astype(np.float64)
    out = np.full(values.shape, np.nan)
    finite = np.isfinite(values)
    n = len(values) if finite.all() else int(np.argmin(finite))
    window = min(window, n)
    window -= 1 - window % 2  # odd (an even window would shift the curve by half a step)
    if n == 0:
        return out
    if window < 3:
        out[:n] = values[:n]
        return out
    half = window // 2
    x = values[:n]
    # The book's padding, quirk and all: mirrored without x[0] on the left, with x[-1] on the right.
    padded = np.concatenate([x[half:0:-1], x, x[-1 : -half - 1 : -1]])
    weights = np.kaiser(window, KAISER_BETA)
    weights /= weights.sum()
    # A weighted mean cannot exceed max|x|, but its rounding can just pass float64's top: on
    # such values the mean is taken of x / max|x| and scaled back.
    top = float(np.abs(x).max())
    scale = top if top > _FLOAT_MAX / 2 else 1.0
    out[:n] = np.convolve(padded / scale, weights, mode="valid") * scale
    return out
