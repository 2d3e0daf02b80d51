"""The σ × depth map: He's scale holds ReLU's std steady, LeCun's lets it vanish."""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pytest

from core.forward.sweep import MARKED_SCALES, depth_sweep


def test_depth_sweep_relu_is_steady_only_at_he_scale() -> None:
    sweep = depth_sweep("relu", scales=[1.0, math.sqrt(2), 2.0], max_depth=30, width=200)
    lecun, he, large = sweep.stds
    assert 0.3 < he[-1] / he[0] < 3
    assert lecun[-1] < 1e-3 * lecun[0]  # ×√½ per layer: 2^-14.5 after 29 more layers
    assert large[-1] > 1e3 * large[0]  # ×√2 per layer


def test_depth_sweep_default_grid_contains_the_marked_scales() -> None:
    sweep = depth_sweep("tanh", max_depth=5)
    for scale in MARKED_SCALES.values():
        assert np.isclose(sweep.scales, scale).any()
    assert sweep.stds.shape == (len(sweep.scales), 5)
    np.testing.assert_array_equal(sweep.depths, np.arange(1, 6))


def test_depth_sweep_tanh_decays_below_its_gain_and_holds_above() -> None:
    """tanh at 1/√n drifts to zero slowly; at (5/3)/√n it settles at a fixed nonzero std."""
    sweep = depth_sweep("tanh", scales=[1.0, 5 / 3], max_depth=60, width=200)
    small, gained = sweep.stds
    assert small[-1] < 0.25 * small[0]
    assert gained[-1] == pytest.approx(gained[29], rel=0.1)


def test_depth_sweep_overflow_is_inf_not_nan() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sweep = depth_sweep("linear", scales=[50.0], max_depth=40)
    assert np.isinf(sweep.stds[0, -1])
    assert not np.isnan(sweep.stds).any()


def test_depth_sweep_is_reproducible(seed: int) -> None:
    a = depth_sweep("relu", max_depth=4, seed=seed)
    b = depth_sweep("relu", max_depth=4, seed=seed)
    np.testing.assert_array_equal(a.stds, b.stds)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"activation": "swish"}, "choose one of: sigmoid"),
        ({"scales": []}, "non-empty"),
        ({"scales": [1.0, -2.0]}, "each scale must be a finite number >= 1e-30"),
        ({"max_depth": 0}, "max_depth must be an integer >= 1"),
        ({"n_samples": 1}, "n_samples must be an integer >= 2"),
    ],
)
def test_depth_sweep_bad_input_names_valid_choices(kwargs: dict[str, object], message: str) -> None:
    args = {"activation": "relu", **kwargs}
    with pytest.raises(ValueError, match=message):
        depth_sweep(args.pop("activation"), **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scales": ["a"]}, "each scale must be a finite number"),
        ({"scales": "1.0"}, "scales must be a non-empty list of numbers"),
        ({"scales": [True]}, "each scale must be a finite number"),
        ({"scales": [float("nan")]}, "each scale must be a finite number"),
        ({"scales": [1e39]}, r"each scale must be a finite number >= 1e-30 and <= 1e\+38"),
        ({"scales": np.ones((2, 2))}, "scales must be a non-empty list of numbers"),
        ({"scales": [1.0] * 10_001}, "at most 10,000 numbers"),
        ({"max_depth": 10**9}, "max_depth must be an integer >= 1 and <= 10,000"),
        ({"width": 10**30}, "width must be an integer >= 1 and <= 536,870,912"),
        ({"width": 3000, "n_samples": 3000}, r"max_depth × \(2 × width² \+ 4 × n_samples"),
        (
            {"scales": [1.0] * 10_000, "max_depth": 1000},
            r"len\(scales\) × max_depth × n_samples × width²",
        ),
        ({"seed": "0"}, "seed must be an integer"),
    ],
)
def test_depth_sweep_refuses_bad_or_oversized_arguments_at_once(
    kwargs: dict[str, object], message: str
) -> None:
    """Strings in scales failed in NumPy ('could not convert string to float'), naming no
    argument; a huge depth or width ran until memory or patience ran out."""
    start = time.perf_counter()
    with pytest.raises(ValueError, match=message):
        depth_sweep("relu", **kwargs)  # type: ignore[arg-type]
    assert time.perf_counter() - start < 1


def test_depth_sweep_accepts_numpy_scales_and_never_returns_nan() -> None:
    sweep = depth_sweep("tanh", scales=np.array([1e-30, 1.0, 1e38], np.float32), max_depth=5)
    assert sweep.scales.dtype == np.float64
    assert not np.isnan(sweep.stds).any()
    assert (sweep.stds >= 0).all()
