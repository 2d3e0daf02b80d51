"""The book's loss-curve smoothing (`common/util.py: smooth_curve`), made safe for short and
diverged curves."""

from __future__ import annotations

import numpy as np

from core.types import FloatArray
from core.validation import check_int

KAISER_BETA = 2.0


def smooth_curve(values: FloatArray, window: int = 11) -> FloatArray:
    """A Kaiser-window (β = 2) moving average with mirrored ends, the same length as `values`.

    Only the finite prefix is smoothed: after a divergence (the first NaN or inf) the result
    is NaN, so a diverged run's last finite losses are not smeared into the blow-up.
    """
    check_int("window", window, low=1)
    values = np.asarray(values, dtype=np.float64)
    out = np.full(values.shape, np.nan)
    finite = np.isfinite(values)
    n = len(values) if finite.all() else int(np.argmin(finite))
    window = min(window, n - (1 - n % 2))  # odd and no longer than the prefix
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
    out[:n] = np.convolve(padded, weights / weights.sum(), mode="valid")
    return out
