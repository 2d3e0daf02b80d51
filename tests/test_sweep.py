"""The σ × depth map: He's scale holds ReLU's std steady, LeCun's lets it vanish."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from core.sweep import MARKED_SCALES, depth_sweep


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
        ({"scales": [1.0, -2.0]}, "each scale must be a finite number > 0"),
        ({"max_depth": 0}, "max_depth must be an integer >= 1"),
        ({"n_samples": 1}, "n_samples must be an integer >= 2"),
    ],
)
def test_depth_sweep_bad_input_names_valid_choices(kwargs: dict[str, object], message: str) -> None:
    args = {"activation": "relu", **kwargs}
    with pytest.raises(ValueError, match=message):
        depth_sweep(args.pop("activation"), **args)  # type: ignore[arg-type]
