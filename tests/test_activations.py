"""Every registered activation: derivative against finite differences, dtype, range and gain."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from core.network.activations import ACTIVATIONS, get_activation

NAMES = list(ACTIVATIONS)


def _off_kinks(rng: np.random.Generator, n: int = 200) -> np.ndarray:
    z = rng.uniform(-6, 6, n)
    return z[np.abs(z) > 1e-3]


@pytest.mark.parametrize("name", NAMES)
def test_activation_grad_matches_finite_differences(name: str, rng: np.random.Generator) -> None:
    act = ACTIVATIONS[name]
    z = _off_kinks(rng)
    eps = 1e-6
    numeric = (act.fn(z + eps) - act.fn(z - eps)) / (2 * eps)
    assert_allclose(act.grad(z), numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_preserves_dtype(name: str, dtype: type) -> None:
    z = np.linspace(-5, 5, 11, dtype=dtype)
    assert ACTIVATIONS[name].fn(z).dtype == dtype
    assert ACTIVATIONS[name].grad(z).dtype == dtype


@pytest.mark.parametrize("name", NAMES)
def test_activation_output_stays_within_declared_range(name: str) -> None:
    act = ACTIVATIONS[name]
    a = act.fn(np.linspace(-50, 50, 100_001))
    if act.low is not None:
        assert a.min() >= act.low - 1e-12
    if act.high is not None:
        assert a.max() <= act.high + 1e-12


@pytest.mark.parametrize("name", NAMES)
def test_activation_max_slope_is_the_supremum_of_the_derivative(name: str) -> None:
    act = ACTIVATIONS[name]
    slopes = np.abs(act.grad(np.linspace(-20, 20, 400_001)))
    assert slopes.max() <= act.max_slope * (1 + 1e-6)
    assert slopes.max() >= act.max_slope * (1 - 1e-3)


def test_activation_extreme_inputs_stay_finite_and_quiet() -> None:
    z = np.array([-1e4, -800.0, 0.0, 800.0, 1e4])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for act in ACTIVATIONS.values():
            assert np.isfinite(act.fn(z)).all(), act.name
            assert np.isfinite(act.grad(z)).all(), act.name


def test_activation_gains_follow_pytorch_calculate_gain() -> None:
    expected = {"sigmoid": 1.0, "tanh": 5 / 3, "relu": math.sqrt(2), "linear": 1.0, "selu": 0.75}
    for name, gain in expected.items():
        assert ACTIVATIONS[name].gain == pytest.approx(gain)
    assert ACTIVATIONS["leaky_relu"].gain == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))


def test_relu_derivative_at_zero_is_zero() -> None:
    assert ACTIVATIONS["relu"].grad(np.zeros(1))[0] == 0


def test_get_activation_unknown_name_lists_choices() -> None:
    with pytest.raises(ValueError, match="choose one of: sigmoid, tanh, relu"):
        get_activation("swish")


def _every_float32_between(a: float, b: float) -> np.ndarray:
    """Every float32 from a to b (same sign), by walking their bit patterns."""
    lo, hi = sorted(int(np.float32(v).view(np.int32)) for v in (a, b))
    return np.arange(lo, hi + 1, dtype=np.int32).view(np.float32)


def _probe_points(dtype: type) -> np.ndarray:
    """A dense grid, the extremes of the dtype, and every float32 around GELU's minimum."""
    big = float(np.finfo(dtype).max)
    grid = np.concatenate(
        [
            np.linspace(-50, 50, 200_001),
            -np.geomspace(1e-30, big / 2, 400),
            np.geomspace(1e-30, big / 2, 400),
            _every_float32_between(-0.74, -0.76),
        ]
    )
    return grid.astype(dtype)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_bounds_hold_for_every_computed_value(name: str, dtype: type) -> None:
    """A declared bound is the histogram's edge: float32 GELU went below the float64 minimum
    (-0.17004077 < -0.17004075) and those values were not counted."""
    act = ACTIVATIONS[name]
    a = act.fn(_probe_points(dtype))
    if act.low is not None:
        assert a.min() >= act.low
    if act.high is not None:
        assert a.max() <= act.high


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_grad_is_finite_and_quiet_for_every_finite_input(name: str, dtype: type) -> None:
    """GELU's derivative was NaN beyond |z| ≈ 1.8e19 in float32 (z² overflowed, then 0 · inf)."""
    act = ACTIVATIONS[name]
    z = _probe_points(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        slope = act.grad(z)
        values = act.fn(z)
    assert np.isfinite(slope).all() and np.isfinite(values).all()
    assert (np.abs(slope) <= act.max_slope * (1 + 1e-6)).all()


def test_gelu_far_from_zero_is_the_identity_or_zero() -> None:
    z = np.array([-1e30, -11.0, 11.0, 1e30], dtype=np.float32)
    np.testing.assert_array_equal(ACTIVATIONS["gelu"].fn(z), [0, 0, z[2], z[3]])
    np.testing.assert_array_equal(ACTIVATIONS["gelu"].grad(z), [0, 0, 1, 1])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("gain", float("nan"), "gain must be a finite number > 0"),
        ("fn", "tanh", "fn must be a function"),
        ("low", 2.0, "low must be below high"),
        ("name", None, "name must be a string"),
    ],
)
def test_activation_spec_refuses_bad_fields(field: str, value: object, message: str) -> None:
    from dataclasses import replace

    with pytest.raises(ValueError, match=message):
        replace(ACTIVATIONS["tanh"], **{field: value})


@pytest.mark.parametrize("name", [n for n in NAMES if ACTIVATIONS[n].grad_of_output is not None])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_grad_of_output_is_grad_bit_for_bit(name: str, dtype: type) -> None:
    """Backward takes f' from the forward pass's a where it can: the slopes must not change."""
    act = ACTIVATIONS[name]
    z = np.concatenate([_probe_points(dtype), np.random.default_rng(0).normal(0, 5, 1000)])
    z = z.astype(dtype)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(act.grad_of_output(act.fn(z)), act.grad(z))
