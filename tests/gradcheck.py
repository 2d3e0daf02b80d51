"""Central finite differences, the reference every analytic gradient is checked against."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EPS = 1e-6


def numeric_grad(f: Callable[[], float], x: np.ndarray, eps: float = EPS) -> np.ndarray:
    """df/dx by central differences, perturbing x in place one element at a time (float64)."""
    assert x.dtype == np.float64, "finite differences in float32 are noise"
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        original = x[i]
        x[i] = original + eps
        up = f()
        x[i] = original - eps
        down = f()
        x[i] = original
        grad[i] = (up - down) / (2 * eps)
    return grad
