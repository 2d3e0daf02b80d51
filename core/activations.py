"""Activation functions, their derivatives and recommended gains: the `ACTIVATIONS` registry.

Gains follow PyTorch's `torch.nn.init.calculate_gain` table where it has one; SELU's 3/4 is
PyTorch's too (it keeps self-normalization with LeCun init). GELU and ELU have no entry there,
so we use √2, the value their ReLU-like positive half suggests.

References: Glorot & Bengio 2010; He et al. 2015, arXiv:1502.01852;
Klambauer et al. 2017, arXiv:1706.02515 (SELU); Hendrycks & Gimpel 2016, arXiv:1606.08415 (GELU).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from core.types import FloatArray
from core.validation import check_choice

LEAKY_SLOPE = 0.01
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


@dataclass(frozen=True, slots=True)
class Activation:
    """One activation: f(z), f'(z) and what the UI and statistics need to know about it.

    `max_slope` is sup |f'(z)|: a unit is called saturated where |f'(z)| < 5 % of it.
    `low`/`high` bound the output range (None where it is unbounded), so histograms can use
    edges that suit the activation instead of a fixed 0-1 range.
    """

    name: str
    label: str
    fn: Callable[[FloatArray], FloatArray]
    grad: Callable[[FloatArray], FloatArray]
    gain: float
    max_slope: float
    low: float | None
    high: float | None


def _sigmoid(z: FloatArray) -> FloatArray:
    # exp(-z) overflows to inf for z << 0, and 1 / (1 + inf) = 0 is the right limit.
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-z))


def _sigmoid_grad(z: FloatArray) -> FloatArray:
    s = _sigmoid(z)
    return s * (1 - s)


def _tanh_grad(z: FloatArray) -> FloatArray:
    return 1 - np.tanh(z) ** 2


def _relu(z: FloatArray) -> FloatArray:
    return np.maximum(z, 0)


def _relu_grad(z: FloatArray) -> FloatArray:
    """ReLU's derivative, with f'(0) defined as 0 (the same choice as PyTorch)."""
    return (z > 0).astype(z.dtype)


def _leaky_relu(z: FloatArray) -> FloatArray:
    return np.where(z > 0, z, LEAKY_SLOPE * z).astype(z.dtype, copy=False)


def _leaky_relu_grad(z: FloatArray) -> FloatArray:
    return np.where(z > 0, 1.0, LEAKY_SLOPE).astype(z.dtype)


def _elu_alpha(z: FloatArray, alpha: float) -> FloatArray:
    # expm1 of min(z, 0): the positive branch is never exponentiated, so it never overflows.
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0))).astype(z.dtype, copy=False)


def _elu(z: FloatArray) -> FloatArray:
    return _elu_alpha(z, 1.0)


def _elu_grad(z: FloatArray) -> FloatArray:
    return np.where(z > 0, 1.0, np.exp(np.minimum(z, 0))).astype(z.dtype, copy=False)


def _selu(z: FloatArray) -> FloatArray:
    return (SELU_SCALE * _elu_alpha(z, SELU_ALPHA)).astype(z.dtype, copy=False)


def _selu_grad(z: FloatArray) -> FloatArray:
    negative = SELU_ALPHA * np.exp(np.minimum(z, 0))
    return (SELU_SCALE * np.where(z > 0, 1.0, negative)).astype(z.dtype, copy=False)


def _gelu(z: FloatArray) -> FloatArray:
    """GELU in its tanh form (Hendrycks & Gimpel), which avoids scipy's erf."""
    u = _SQRT_2_OVER_PI * (z + _GELU_CUBIC * z**3)
    return 0.5 * z * (1 + np.tanh(u))


def _gelu_grad(z: FloatArray) -> FloatArray:
    u = _SQRT_2_OVER_PI * (z + _GELU_CUBIC * z**3)
    t = np.tanh(u)
    du = _SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * z**2)
    return 0.5 * (1 + t) + 0.5 * z * (1 - t**2) * du


def _softsign(z: FloatArray) -> FloatArray:
    return z / (1 + np.abs(z))


def _softsign_grad(z: FloatArray) -> FloatArray:
    return 1 / (1 + np.abs(z)) ** 2


def _identity(z: FloatArray) -> FloatArray:
    return z


def _ones(z: FloatArray) -> FloatArray:
    return np.ones_like(z)


def _gelu_max_slope() -> float:
    """sup GELU'(z), found on a fine grid once at import (about 1.13 near z ≈ 1.5)."""
    return float(_gelu_grad(np.linspace(0.0, 4.0, 40_001)).max())


_SELU_LOW = -SELU_SCALE * SELU_ALPHA
_GELU_LOW = float(_gelu(np.linspace(-3.0, 0.0, 30_001)).min())

ACTIVATIONS: Mapping[str, Activation] = MappingProxyType(
    {
        a.name: a
        for a in (
            Activation("sigmoid", "Sigmoid", _sigmoid, _sigmoid_grad, 1.0, 0.25, 0.0, 1.0),
            Activation("tanh", "tanh", np.tanh, _tanh_grad, 5 / 3, 1.0, -1.0, 1.0),
            Activation("relu", "ReLU", _relu, _relu_grad, math.sqrt(2), 1.0, 0.0, None),
            Activation(
                "leaky_relu",
                f"Leaky ReLU (slope {LEAKY_SLOPE})",
                _leaky_relu,
                _leaky_relu_grad,
                math.sqrt(2 / (1 + LEAKY_SLOPE**2)),
                1.0,
                None,
                None,
            ),
            Activation("elu", "ELU", _elu, _elu_grad, math.sqrt(2), 1.0, -1.0, None),
            Activation(
                "selu", "SELU", _selu, _selu_grad, 0.75, SELU_SCALE * SELU_ALPHA, _SELU_LOW, None
            ),
            Activation(
                "gelu", "GELU", _gelu, _gelu_grad, math.sqrt(2), _gelu_max_slope(), _GELU_LOW, None
            ),
            Activation("softsign", "Softsign", _softsign, _softsign_grad, 1.0, 1.0, -1.0, 1.0),
            Activation("linear", "Linear (identity)", _identity, _ones, 1.0, 1.0, None, None),
        )
    }
)


def get_activation(name: str) -> Activation:
    """Look an activation up by name; a `ValueError` lists the valid names."""
    return ACTIVATIONS[check_choice("activation", name, ACTIVATIONS)]
