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

import numpy as np

from core.types import FloatArray, by_name
from core.validation import InvalidTypeError, check_choice, check_positive, check_real

LEAKY_SLOPE = 0.01
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715
# Beyond |z| = 10, GELU's tanh(√(2/π)(z + 0.044715 z³)) is ±1 to the last bit in float32 and
# float64 (its argument exceeds 40), so z is clipped there before the cubic: the values are
# unchanged, and z³ can no longer overflow into inf (and 0 · inf = NaN in the derivative).
_GELU_FLAT = 10.0


@dataclass(frozen=True, slots=True)
class Activation:
    """One activation: f(z), f'(z) and what the UI and statistics need to know about it.

    `max_slope` is sup |f'(z)|: a unit is called saturated where |f'(z)| < 5 % of it.
    `low`/`high` bound the output range (None where it is unbounded), so histograms can use
    edges that suit the activation instead of a fixed 0-1 range.
    `grad_of_output`, where f' is a function of a = f(z) (sigmoid: a(1 − a), tanh: 1 − a²),
    gives the same slopes as `grad(z)`, bit for bit, from the a a forward pass computed: a
    backward pass then need not evaluate f again (an exp or a tanh per value).
    """

    name: str
    label: str
    fn: Callable[[FloatArray], FloatArray]
    grad: Callable[[FloatArray], FloatArray]
    gain: float
    max_slope: float
    low: float | None
    high: float | None
    grad_of_output: Callable[[FloatArray], FloatArray] | None = None

    def __post_init__(self) -> None:
        for field in ("name", "label"):
            if not isinstance(getattr(self, field), str):
                raise InvalidTypeError(f"{field} must be a string, got {getattr(self, field)!r}")
        for field in ("fn", "grad"):
            if not callable(getattr(self, field)):
                raise InvalidTypeError(
                    f"{field} must be a function of a float array, got {getattr(self, field)!r}"
                )
        if self.grad_of_output is not None and not callable(self.grad_of_output):
            raise InvalidTypeError(
                f"grad_of_output must be None or a function of a float array, "
                f"got {self.grad_of_output!r}"
            )
        check_positive("gain", self.gain)
        check_positive("max_slope", self.max_slope)
        for field in ("low", "high"):
            if getattr(self, field) is not None:
                check_real(field, getattr(self, field))
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"low must be below high, got low={self.low}, high={self.high}")


# Written as ufunc calls and in-place updates, never `a * (b + c)` on fresh temporaries: for
# arrays over 256 KiB NumPy checks each such temporary for reuse with a stack walk that costs
# ~0.4 ms here, 20× the arithmetic itself.


def _sigmoid(z: FloatArray) -> FloatArray:
    s = np.negative(z)
    # exp(-z) overflows to inf for z << 0, and 1 / (1 + inf) = 0 is the right limit.
    with np.errstate(over="ignore"):
        np.exp(s, out=s)  # in place: one temporary, not two (5 % of a forward pass)
    s += 1
    return np.reciprocal(s, out=s)


def _sigmoid_grad(z: FloatArray) -> FloatArray:
    return _sigmoid_grad_of_output(_sigmoid(z))


def _sigmoid_grad_of_output(s: FloatArray) -> FloatArray:
    slope = np.subtract(1, s)
    slope *= s  # σ(1 − σ)
    return slope


def _tanh_grad(z: FloatArray) -> FloatArray:
    t = np.tanh(z)
    np.square(t, out=t)
    return np.subtract(1, t, out=t)


def _tanh_grad_of_output(t: FloatArray) -> FloatArray:
    slope = np.square(t)
    return np.subtract(1, slope, out=slope)


def _relu(z: FloatArray) -> FloatArray:
    # Against an array of zeros, not the scalar 0: NumPy's maximum has a SIMD loop for two
    # arrays but not for an array and a scalar (3× faster measured on (3, 128, 100) float32).
    zeros = np.zeros_like(z)
    return np.maximum(z, zeros, out=zeros)


def _relu_grad(z: FloatArray) -> FloatArray:
    """ReLU's derivative, with f'(0) defined as 0 (the same choice as PyTorch)."""
    return (z > 0).astype(z.dtype)


def _leaky_relu(z: FloatArray) -> FloatArray:
    return np.where(z > 0, z, np.multiply(z, LEAKY_SLOPE))


def _leaky_relu_grad(z: FloatArray) -> FloatArray:
    return np.where(z > 0, z.dtype.type(1), z.dtype.type(LEAKY_SLOPE))


def _scaled_elu(z: FloatArray, alpha: float, scale: float) -> FloatArray:
    """scale · (z if z > 0 else α(eᶻ − 1)); expm1 of min(z, 0) never overflows."""
    negative = np.expm1(np.minimum(z, 0))
    negative *= alpha
    out = np.where(z > 0, z, negative)
    if scale != 1:
        out *= scale
    return out


def _scaled_elu_grad(z: FloatArray, alpha: float, scale: float) -> FloatArray:
    negative = np.exp(np.minimum(z, 0))
    negative *= alpha * scale
    return np.where(z > 0, z.dtype.type(scale), negative)


def _elu(z: FloatArray) -> FloatArray:
    return _scaled_elu(z, 1.0, 1.0)


def _elu_grad(z: FloatArray) -> FloatArray:
    return _scaled_elu_grad(z, 1.0, 1.0)


def _selu(z: FloatArray) -> FloatArray:
    return _scaled_elu(z, SELU_ALPHA, SELU_SCALE)


def _selu_grad(z: FloatArray) -> FloatArray:
    return _scaled_elu_grad(z, SELU_ALPHA, SELU_SCALE)


def _gelu_tanh(z: FloatArray) -> FloatArray:
    """tanh(√(2/π)(z + 0.044715 z³)), the core of GELU's tanh form; z is clipped to ±10 first
    (see `_GELU_FLAT`)."""
    z = np.clip(z, -_GELU_FLAT, _GELU_FLAT)
    u = np.square(z)
    u *= _GELU_CUBIC
    u += 1
    u *= z
    u *= _SQRT_2_OVER_PI
    return np.tanh(u, out=u)


def _gelu(z: FloatArray) -> FloatArray:
    """GELU in its tanh form (Hendrycks & Gimpel), which avoids scipy's erf: z(1 + t)/2."""
    t = _gelu_tanh(z)
    t += 1
    t *= z
    t *= 0.5
    return t


def _gelu_grad(z: FloatArray) -> FloatArray:
    """(1 + t)/2 + z(1 − t²)u'/2 with u' = √(2/π)(1 + 3·0.044715 z²). Beyond |z| = 10 the
    second term is exactly 0, so z is clipped there (see `_GELU_FLAT`)."""
    z = np.clip(z, -_GELU_FLAT, _GELU_FLAT)
    t = _gelu_tanh(z)
    du = np.square(z)
    du *= 3 * _GELU_CUBIC
    du += 1
    du *= _SQRT_2_OVER_PI
    sech2 = np.square(t)
    np.subtract(1, sech2, out=sech2)
    sech2 *= z
    sech2 *= du
    t += 1
    t += sech2
    t *= 0.5
    return t


def _softsign(z: FloatArray) -> FloatArray:
    d = np.abs(z)
    d += 1
    return np.divide(z, d, out=d)


def _softsign_grad(z: FloatArray) -> FloatArray:
    """1 / (1 + |z|)², squared after the reciprocal so that a huge |z| cannot overflow."""
    d = np.abs(z)
    d += 1
    np.reciprocal(d, out=d)
    return np.square(d, out=d)


def _identity(z: FloatArray) -> FloatArray:
    return z


def _ones(z: FloatArray) -> FloatArray:
    return np.ones_like(z)


def _gelu_max_slope() -> float:
    """sup GELU'(z), found on a fine grid once at import (about 1.13 near z ≈ 1.5)."""
    return float(_gelu_grad(np.linspace(0.0, 4.0, 40_001)).max())


def _lowest_computed(fn: Callable[[FloatArray], FloatArray], z64: FloatArray) -> float:
    """The least value `fn` computes at the points `z64` in float64 or at their float32
    roundings: rounding differs between the two, and a declared lower bound must hold for both
    (a histogram whose lowest edge is above a value drops it)."""
    return min(float(fn(z64).min()), float(fn(z64.astype(np.float32)).min()))


def _gelu_low() -> float:
    """A lower bound of every value GELU computes, in float32 and in float64.

    Its minimum, ≈ -0.17004 at z ≈ -0.7518, found by trying every float32 z from -0.74 to
    -0.76 (the only ones whose value can come within float32 rounding of it) and, for float64,
    a grid of step 10^-7 there (off by < 10^-15), less 10^-12 for float64's own rounding.
    """
    start, stop = np.float32(-0.74).view(np.int32), np.float32(-0.76).view(np.int32)
    every_float32 = np.arange(start, stop, dtype=np.int32).view(np.float32)  # sign-magnitude bits
    low32 = float(_gelu(every_float32).min())
    low64 = float(_gelu(np.linspace(-0.76, -0.74, 200_001)).min())
    return min(low32, low64) - 1e-12


# SELU's infimum is -λα at z → -∞; its float32 product rounds differently from float64's.
_SELU_LOW = min(-SELU_SCALE * SELU_ALPHA, _lowest_computed(_selu, np.array([-1e30])))
_GELU_LOW = _gelu_low()

ACTIVATIONS: Mapping[str, Activation] = by_name(
    (
        Activation(
            "sigmoid",
            "Sigmoid",
            _sigmoid,
            _sigmoid_grad,
            1.0,
            0.25,
            0.0,
            1.0,
            grad_of_output=_sigmoid_grad_of_output,
        ),
        Activation(
            "tanh",
            "tanh",
            np.tanh,
            _tanh_grad,
            5 / 3,
            1.0,
            -1.0,
            1.0,
            grad_of_output=_tanh_grad_of_output,
        ),
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
)


def get_activation(name: str) -> Activation:
    """Look an activation up by name; a `ValueError` lists the valid names."""
    return ACTIVATIONS[check_choice("activation", name, ACTIVATIONS)]
