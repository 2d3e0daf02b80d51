"""Properties of core's public API over drawn arguments.

Valid arguments (drawn from small ranges, so that each call takes milliseconds) give numbers
that are finite or marked (an overflow layer, a divergence, inf), and histograms that count
every value they bin. Invalid ones (wrong types, strings for bools, negative, NaN, inf, huge)
give a ValueError or TypeError that names the argument, within a second.
"""

from __future__ import annotations

import contextlib
import math
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any, get_args

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import core
from core.data.dataset import Dataset
from core.forward.forward_pass import uniform_histogram
from core.forward.symmetry import NOT_COUNTED, distinct_units
from core.forward.theory import predicted_stds
from core.network.activations import ACTIVATIONS
from core.network.initializers import (
    ALIASES,
    INITIALIZERS,
    MAX_STD,
    MIN_STD,
    Distribution,
    Initializer,
    Mode,
    variance_scaling,
)
from core.network.losses import softmax_cross_entropy
from core.validation import MAX_VALUES

# Each property draws at most this many examples, so that the file adds seconds, not minutes.
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HOSTILE = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _tiny_digits() -> Dataset:
    """Random 'digits': these properties are about the numbers reported, not learning."""
    rng = np.random.default_rng(0)
    return Dataset(
        rng.integers(0, 256, (32, 784), dtype=np.uint8),
        rng.integers(0, 10, 32),
        rng.integers(0, 256, (8, 784), dtype=np.uint8),
        rng.integers(0, 10, 8),
        source="random test digits",
    )


TINY = _tiny_digits()


def _clip_std(std: float) -> float:
    return min(max(std, MIN_STD), MAX_STD)


# σ and std from 1e-30 to 1e38, spread evenly over the decades, and their ends.
stds = st.one_of(
    st.builds(lambda m, e: _clip_std(m * 10.0**e), st.floats(1, 10), st.integers(-30, 37)),
    st.sampled_from([MIN_STD, MAX_STD]),
)
initializers = st.one_of(
    st.sampled_from(list(INITIALIZERS)),
    stds.map(core.normal_std),
    st.builds(lambda sign, std: core.constant(sign * std), st.sampled_from([-1, 1]), stds),
)
activation_names = st.sampled_from(list(ACTIVATIONS))
F32_1E30, F32_1E37 = float(np.float32(1e30)), float(np.float32(1e37))
float_dtypes = st.sampled_from([np.float32, np.float64])


# --- valid arguments: finite or marked ------------------------------------------------------


def _check_forward(
    result: core.ForwardResult,
    n_layers: int,
    n_samples: int,
    width: int,
    bins: int,
    exclude_zeros: bool,
    dtype: type,
) -> None:
    """Every number finite or marked, and every histogram counting every value it bins."""
    overflow, grad_overflow = result.overflow_layer, result.grad_overflow_layer
    event(f"forward overflow: {overflow is not None}, backward: {grad_overflow is not None}")
    assert overflow is None or 1 <= overflow <= n_layers
    assert len(result.layers) == (n_layers if overflow is None else overflow - 1)
    assert grad_overflow is None or 1 <= grad_overflow <= len(result.layers)
    total = n_samples * width
    for layer in result.layers:
        assert np.isfinite([layer.mean, layer.std, layer.saturated, layer.dead]).all()
        assert layer.std >= 0 and 0 <= layer.saturated <= 1 and 0 <= layer.dead <= 1
        assert 0 <= layer.zero_fraction <= 1
        zeros = round(layer.zero_fraction * total)
        assert layer.counts.shape == (bins,)
        assert layer.counts.sum() == (total - zeros if exclude_zeros else total)
        for edges in (layer.edges, layer.grad_edges):
            assert edges.shape == (bins + 1,) and np.isfinite(edges).all()
            assert (np.diff(edges) > 0).all()
        if grad_overflow is not None and layer.layer <= grad_overflow:  # marked: no gradient
            assert np.isnan(layer.grad_std) and np.isnan(layer.weight_grad_std)
            assert layer.grad_counts.sum() == 0
        else:
            assert math.isfinite(layer.grad_std) and layer.grad_std >= 0
            assert not math.isnan(layer.weight_grad_std) and layer.weight_grad_std >= 0
            # inf marks a std beyond float64 itself, which float32 values cannot reach
            assert math.isfinite(layer.weight_grad_std) or dtype == np.float64
            binned = layer.grad_counts.sum()
            assert binned == total if not exclude_zeros else binned <= total
        for predicted in (layer.predicted_std, layer.predicted_grad_std):
            assert not math.isnan(predicted) and predicted >= 0  # inf marks an overflow
    assert isinstance(core.diagnose(result), core.Diagnosis)


@FAST
@given(
    settings=st.fixed_dictionaries(
        {
            "activation": activation_names,
            "initializer": initializers,
            "n_layers": st.integers(1, 12),
            "width": st.integers(1, 24),
            "n_samples": st.integers(1, 40),
            "bins": st.integers(1, 64),
            "seed": st.integers(0, 2**64 - 1),
            "exclude_zeros": st.booleans(),
            "batch_norm": st.booleans(),
            "dtype": float_dtypes,
        }
    )
)
def test_activation_histograms_are_finite_or_marked_and_count_every_value(
    settings: dict[str, Any],
) -> None:
    result = core.activation_histograms(**settings)
    shape = [settings[k] for k in ("n_layers", "n_samples", "width", "bins", "exclude_zeros")]
    _check_forward(result, *shape, settings["dtype"])


UNBOUNDED = [name for name, act in ACTIVATIONS.items() if act.high is None]


@FAST
@given(
    activation=st.sampled_from(UNBOUNDED),
    n_layers=st.integers(2, 12),
    width=st.integers(2, 24),
    n_samples=st.integers(8, 60),
    decades=st.floats(-12, 4),
    seed=st.integers(0, 2**64 - 1),
    dtype=float_dtypes,
)
def test_activation_histograms_near_the_float_range_are_finite_or_marked(
    activation: str,
    n_layers: int,
    width: int,
    n_samples: int,
    decades: float,
    seed: int,
    dtype: type,
) -> None:
    """A std that takes the last layer to within a few decades of the dtype's largest value
    (10^38 or 10^308): where aᵀδ and sums of squares overflow although a and δ do not."""
    edge = 38 if dtype == np.float32 else 308
    exponent = (edge + decades) / n_layers - math.log10(width / 2) / 2
    initializer = core.normal_std(_clip_std(10 ** min(exponent, math.log10(MAX_STD))))
    result = core.activation_histograms(
        activation,
        initializer,
        n_layers=n_layers,
        width=width,
        n_samples=n_samples,
        seed=seed,
        dtype=dtype,
    )
    _check_forward(result, n_layers, n_samples, width, 30, False, dtype)


@FAST
@given(
    activation=activation_names,
    scales=st.lists(stds, min_size=1, max_size=4),
    max_depth=st.integers(1, 12),
    width=st.integers(1, 16),
    n_samples=st.integers(2, 24),
    seed=st.integers(0, 2**32),
)
def test_depth_sweep_is_finite_or_inf_never_nan(
    activation: str, scales: list[float], max_depth: int, width: int, n_samples: int, seed: int
) -> None:
    sweep = core.depth_sweep(
        activation, scales=scales, max_depth=max_depth, width=width, n_samples=n_samples, seed=seed
    )
    assert sweep.stds.shape == (len(scales), max_depth)
    assert not np.isnan(sweep.stds).any()
    assert (sweep.stds >= 0).all()  # inf marks an overflow


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(
        st.one_of(st.sampled_from(list(INITIALIZERS)), st.sampled_from([0.05, 3.0, 50.0])),
        min_size=1,
        max_size=3,
        unique=True,
    ),
    activation=activation_names,
    hidden=st.lists(st.integers(1, 8), max_size=2),
    iterations=st.integers(1, 12),
    batch_size=st.integers(1, 8),
    lr=st.builds(lambda e: 10.0**e, st.integers(-4, 30)),
    optimizer=st.sampled_from(list(core.OPTIMIZERS)),
    seeds=st.integers(1, 2),
    batch_norm=st.booleans(),
    progress_every=st.integers(1, 5),
)
def test_train_compare_reports_an_accuracy_or_a_divergence_never_both(
    names: list[str | float],
    activation: str,
    hidden: list[int],
    iterations: int,
    batch_size: int,
    lr: float,
    optimizer: str,
    seeds: int,
    batch_norm: bool,
    progress_every: int,
) -> None:
    """Large learning rates blow networks up at every stage: in the loss, in the parameters,
    or only in the test logits. Each network is either trained (finite losses, an accuracy in
    [0, 1]) or diverged (no accuracy, the step and where it showed)."""
    inits = [core.normal_std(n) if isinstance(n, float) else n for n in names]
    try:
        result = core.train_compare(
            inits,
            activation=activation,
            hidden=hidden,
            iterations=iterations,
            batch_size=batch_size,
            lr=lr,
            optimizer=optimizer,
            seeds=seeds,
            batch_norm=batch_norm,
            data=TINY,
            progress_every=progress_every,
            workers=1,
        )
    except ValueError as e:  # a layer constant on LSUV's batch (one digit, one unit): named
        assert "lsuv" in names and str(e).startswith("LSUV cannot rescale"), e
        event("LSUV refused a layer constant on its batch")
        return
    for name, losses in result.losses.items():
        assert losses.shape == (seeds, iterations)
        for r in range(seeds):
            step, where = result.diverged_at[name][r], result.diverged_in[name][r]
            event(f"diverged in: {where}")
            accuracy = result.test_accuracy[name][r]
            units = result.distinct_units[name][r]  # (checkpoints, hidden layers)
            assert (units >= 0).all() and (units <= np.array(hidden, dtype=int)).all()
            if step is None:
                assert where is None
                assert np.isfinite(losses[r]).all()
                assert 0 <= accuracy <= 1
                assert (units >= 1).all()
                continue
            assert np.isnan(accuracy)
            assert 1 <= step <= iterations
            if where == "loss":
                assert not np.isfinite(losses[r, step - 1])
                assert np.isnan(losses[r, step:]).all()
                assert np.isfinite(losses[r, : step - 1]).all()
                assert (units[result.checkpoints >= step] == NOT_COUNTED).all()
            else:
                assert where in ("parameters", "test")
                assert step == iterations and np.isfinite(losses[r]).all()


@FAST
@given(
    values=arrays(np.float64, st.integers(0, 60), elements=st.floats(allow_nan=True)),
    window=st.integers(1, 30),
)
def test_smooth_curve_is_a_finite_average_until_the_first_non_finite_value(
    values: np.ndarray, window: int
) -> None:
    out = core.smooth_curve(values, window)
    assert out.shape == values.shape and out.dtype == np.float64
    finite = np.isfinite(values)
    n = len(values) if finite.all() else int(np.argmin(finite))
    assert np.isnan(out[n:]).all()
    assert np.isfinite(out[:n]).all()
    if n:  # a weighted average with positive weights stays within the values it averages
        low, high = values[:n].min(), values[:n].max()
        slack = 1e-12 * max(abs(low), abs(high)) + 1e-320  # subnormals round by whole ulps
        with np.errstate(over="ignore"):  # ± slack may pass float64's top: then ±inf
            assert (out[:n] >= low - slack).all() and (out[:n] <= high + slack).all()


@FAST
@given(
    activation=activation_names,
    weight_variance=st.one_of(st.just(0.0), st.floats(0, MAX_STD**2)),
    n_layers=st.integers(0, 30),
    width=st.integers(1, 10**6),
    input_second_moment=st.floats(0, 1e300),
    batch_norm=st.booleans(),
)
def test_predicted_stds_are_finite_or_inf_never_nan(
    activation: str,
    weight_variance: float,
    n_layers: int,
    width: int,
    input_second_moment: float,
    batch_norm: bool,
) -> None:
    p = predicted_stds(
        ACTIVATIONS[activation],
        weight_variance,
        n_layers,
        width,
        input_second_moment,
        batch_norm=batch_norm,
    )
    assert p.activation.shape == p.gradient.shape == (n_layers,)
    for values in (p.activation, p.gradient):
        assert not np.isnan(values).any() and (values >= 0).all()


variance_scaled = st.builds(
    lambda scale, mode, distribution: variance_scaling(
        "mine", "Mine", "", scale, mode, distribution
    ),
    st.floats(0, MAX_STD**2),
    st.sampled_from(["fixed", "fan_in", "fan_out", "fan_avg"]),
    st.sampled_from(["normal", "truncated_normal", "uniform", "orthogonal", "constant"]),
)


@FAST
@given(
    init=st.one_of(initializers.map(core.get_initializer), variance_scaled),
    fan_in=st.integers(1, 64),
    fan_out=st.integers(1, 64),
    dtype=float_dtypes,
    seed=st.integers(0, 2**32),
)
def test_initializer_samples_are_finite_or_overflow_and_keep_shape_and_dtype(
    init: Initializer, fan_in: int, fan_out: int, dtype: type, seed: int
) -> None:
    """A draw is finite, except that a float32 normal draw of std near 1e38 may pass float32's
    largest value: ±inf there, NumPy's own mark of an overflow (never NaN)."""
    with np.errstate(over="ignore"):
        w = init.sample(np.random.default_rng(seed), fan_in, fan_out, dtype)
    assert w.shape == (fan_in, fan_out) and w.dtype == dtype
    variance = init.variance(fan_in, fan_out)
    assert math.isfinite(variance) and variance >= 0
    assert not np.isnan(w).any()
    if not np.isfinite(w).all():
        assert math.sqrt(variance) > float(np.finfo(dtype).max) / 10
    if init.distribution == "uniform":
        limit = math.sqrt(3 * variance)
        assert (np.abs(w) <= limit * (1 + 1e-6)).all()


@FAST
@given(
    values=arrays(
        st.sampled_from([np.float32, np.float64]),
        st.integers(0, 200),
        elements=st.floats(-F32_1E30, F32_1E30, width=32),
    ),
    bins=st.integers(1, 100),
    pad=st.floats(0, 1e3),
)
def test_uniform_histogram_counts_every_value_within_its_range(
    values: np.ndarray, bins: int, pad: float
) -> None:
    low = float(values.min(initial=0.0)) - pad
    high = float(values.max(initial=0.0)) + pad
    if not low < high:
        high = low + 1.0
    counts, edges = uniform_histogram(values, bins, (low, high))
    assert counts.sum() == values.size
    assert len(edges) == bins + 1 and np.isfinite(edges).all()


@FAST
@given(
    name=activation_names,
    z=arrays(
        st.sampled_from([np.float32, np.float64]),
        st.integers(1, 50),
        elements=st.floats(-F32_1E37, F32_1E37, width=32),
    ),
)
def test_activations_are_finite_and_within_their_bounds_for_any_finite_input(
    name: str, z: np.ndarray
) -> None:
    act = ACTIVATIONS[name]
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a, slope = act.fn(z), act.grad(z)
    assert np.isfinite(a).all() and np.isfinite(slope).all()
    assert a.dtype == slope.dtype == z.dtype
    if act.low is not None:
        assert (a >= act.low).all()
    if act.high is not None:
        assert (a <= act.high).all()


@FAST
@given(
    w=arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=st.floats()),
)
def test_distinct_units_is_a_count_or_marked(w: np.ndarray) -> None:
    n = distinct_units(w, np.zeros(w.shape[1]))
    if np.isfinite(w).all():
        assert 1 <= n <= w.shape[1]
    else:
        assert n == NOT_COUNTED


@FAST
@given(
    logits=arrays(
        np.float64,
        st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(2, 6)),
        elements=st.floats(-1e3, 1e3),
    ),
    data=st.data(),
)
def test_cross_entropy_is_finite_and_non_negative_for_stacked_networks(
    logits: np.ndarray, data: st.DataObject
) -> None:
    batch, n_classes = logits.shape[1:]
    y = np.array(data.draw(st.lists(st.integers(0, n_classes - 1), min_size=batch, max_size=batch)))
    loss, dlogits = softmax_cross_entropy(logits, y)
    assert loss.shape == (logits.shape[0],) and np.isfinite(loss).all() and (loss >= 0).all()
    np.testing.assert_allclose(dlogits.sum(axis=-1), 0, atol=1e-12)


# --- invalid arguments: a named error, at once -----------------------------------------------

anything_else = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.binary(max_size=4),
    st.complex_numbers(allow_nan=True),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
    st.just(object()),
    st.just(np.array([1.0, 2.0])),
)
not_an_int = st.one_of(
    anything_else, st.booleans(), st.floats(allow_nan=True, allow_infinity=True), st.just(np.True_)
)
not_a_bool = st.one_of(
    anything_else,
    st.integers(),
    st.floats(allow_nan=True),
    st.sampled_from(["False", "True", "0", "", "no"]),
)
# Every name some registry or choice accepts: a drawn string must be none of them.
VALID_NAMES = {
    *ACTIVATIONS,
    *INITIALIZERS,
    *ALIASES,
    *core.OPTIMIZERS,
    *get_args(Mode),
    *get_args(Distribution),
}
not_a_name = st.one_of(
    st.none(),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.text(max_size=12).filter(lambda s: s not in VALID_NAMES),
)
not_a_dtype = st.one_of(
    st.none(),
    st.sampled_from(
        [np.int64, np.int8, np.uint8, np.float16, np.complex128, bool, int, "f2", "bogus"]
    ),
    st.integers(),
)


def int_out_of(low: int, high: int | None) -> st.SearchStrategy[object]:
    """Not an integer, or an integer outside [low, high] (below, or far beyond it)."""
    outside = st.integers(max_value=low - 1)
    if high is not None:
        outside = st.one_of(outside, st.integers(min_value=high + 1, max_value=10**40))
    return st.one_of(not_an_int, outside)


def real_out_of(
    low: float | None, high: float | None, *, low_open: bool = False
) -> st.SearchStrategy[object]:
    """Not a real number (bools included), not finite, or outside [low, high]."""
    parts: list[st.SearchStrategy[object]] = [
        anything_else,
        st.booleans(),
        st.sampled_from([math.nan, math.inf, -math.inf]),
    ]
    if low is not None:
        parts.append(st.floats(max_value=low, exclude_max=not low_open, allow_nan=False))
    if high is not None:
        parts.append(st.floats(min_value=high, exclude_min=True, allow_nan=False))
    return st.one_of(*parts)


# (function, baseline keyword arguments, argument, strategy of bad values, word the error names)
Case = tuple[Callable[..., Any], dict[str, Any], str, st.SearchStrategy[object], str]

FORWARD = {
    "activation": "relu",
    "initializer": "he_normal",
    "n_layers": 2,
    "width": 4,
    "n_samples": 5,
}
SWEEP = {"activation": "relu", "max_depth": 2, "width": 4, "n_samples": 5}
# The most samples the σ × depth map takes at SWEEP's depth and width: its budget of values,
# max_depth × (2 × width² + 4 × n_samples × width) ≤ MAX_VALUES, refuses any more.
SWEEP_MAX_SAMPLES = (MAX_VALUES // SWEEP["max_depth"] - 2 * SWEEP["width"] ** 2) // (
    4 * SWEEP["width"]
)
RACE = {
    "initializers": ["he_normal"],
    "iterations": 2,
    "batch_size": 4,
    "hidden": (4,),
    "data": TINY,
}
PREDICTED = {"activation": "relu", "weight_variance": 0.02, "n_layers": 2, "width": 100}


def _sample(init: Initializer = INITIALIZERS["he_normal"], **kwargs: Any) -> Any:
    return init.sample(**kwargs)


SAMPLE = {"rng": np.random.default_rng(0), "fan_in": 3, "fan_out": 4}

CASES: list[Case] = [
    (core.activation_histograms, FORWARD, "activation", not_a_name, "activation"),
    (core.activation_histograms, FORWARD, "initializer", not_a_name, "initializer"),
    (core.activation_histograms, FORWARD, "n_layers", int_out_of(1, 10_000), "n_layers"),
    (core.activation_histograms, FORWARD, "width", int_out_of(1, 10**5), "width"),
    (core.activation_histograms, FORWARD, "n_samples", int_out_of(1, 10**8), "n_samples"),
    (core.activation_histograms, FORWARD, "bins", int_out_of(1, 100_000), "bins"),
    (core.activation_histograms, FORWARD, "seed", int_out_of(0, 2**64 - 1), "seed"),
    (core.activation_histograms, FORWARD, "exclude_zeros", not_a_bool, "exclude_zeros"),
    (core.activation_histograms, FORWARD, "batch_norm", not_a_bool, "batch_norm"),
    (core.activation_histograms, FORWARD, "dtype", not_a_dtype, "dtype"),
    (core.depth_sweep, SWEEP, "activation", not_a_name, "activation"),
    (core.depth_sweep, SWEEP, "max_depth", int_out_of(1, 10_000), "max_depth"),
    (core.depth_sweep, SWEEP, "width", int_out_of(1, 10**5), "width"),
    (core.depth_sweep, SWEEP, "n_samples", int_out_of(2, SWEEP_MAX_SAMPLES), "n_samples"),
    (core.depth_sweep, SWEEP, "seed", int_out_of(0, 2**64 - 1), "seed"),
    (
        core.depth_sweep,
        SWEEP,
        "scales",
        st.one_of(
            anything_else.filter(
                lambda v: v is not None and (not isinstance(v, list | np.ndarray) or len(v) == 0)
            ),
            st.lists(real_out_of(MIN_STD, MAX_STD), min_size=1, max_size=3),
            st.just([]),
        ),
        "scale",
    ),
    (
        core.train_compare,
        RACE,
        "initializers",
        st.one_of(
            st.sampled_from(list(INITIALIZERS)),
            st.none(),
            st.integers(),
            st.just([]),
            st.lists(not_a_name, min_size=1, max_size=2),
            st.just(core.normal_std(0.1)),
        ),
        "initializer",
    ),
    (core.train_compare, RACE, "activation", not_a_name, "activation"),
    (
        core.train_compare,
        RACE,
        "hidden",
        st.one_of(
            st.text(max_size=3),
            st.none(),
            st.integers(),
            st.lists(int_out_of(1, 10**6), min_size=1, max_size=2),
        ),
        "hidden",
    ),
    (core.train_compare, RACE, "iterations", int_out_of(1, 10**6), "iterations"),
    (core.train_compare, RACE, "batch_size", int_out_of(1, 10**8), "batch_size"),
    (core.train_compare, RACE, "lr", real_out_of(0.0, None, low_open=True), "lr"),
    (core.train_compare, RACE, "optimizer", not_a_name, "optimizer"),
    (core.train_compare, RACE, "seed", int_out_of(0, 2**64 - 1), "seed"),
    (core.train_compare, RACE, "seeds", int_out_of(1, 10_000), "seeds"),
    (core.train_compare, RACE, "batch_norm", not_a_bool, "batch_norm"),
    (
        core.train_compare,
        RACE,
        "data",
        st.one_of(anything_else.filter(lambda v: v is not None), st.just(TINY.x_train)),
        "data",
    ),
    (
        core.train_compare,
        RACE,
        "on_progress",
        st.one_of(st.text(max_size=3), st.integers(), st.just([print])),
        "on_progress",
    ),
    (core.train_compare, RACE, "progress_every", int_out_of(1, None), "progress_every"),
    (
        core.train_compare,
        RACE,
        "workers",
        int_out_of(1, None).filter(lambda v: v is not None),
        "workers",
    ),
    (core.normal_std, {"std": 0.1}, "std", real_out_of(MIN_STD, MAX_STD), "std"),
    (core.constant, {"value": 0.1}, "value", real_out_of(-MAX_STD, MAX_STD), "value"),
    (core.get_activation, {"name": "relu"}, "name", not_a_name, "activation"),
    (core.get_initializer, {"spec": "he_normal"}, "spec", not_a_name, "initializer"),
    (
        core.smooth_curve,
        {"values": np.ones(5)},
        "values",
        st.one_of(
            st.text(max_size=3),
            st.none(),
            st.just([[1.0, 2.0]]),
            st.just([1, None]),
            st.just(np.ones((2, 2))),
            st.lists(st.complex_numbers(), min_size=1, max_size=3),
            st.lists(st.booleans(), min_size=1, max_size=3),
        ),
        "values",
    ),
    (core.smooth_curve, {"values": np.ones(5)}, "window", int_out_of(1, None), "window"),
    (core.diagnose, {"result": None}, "result", anything_else, "result"),
    (predicted_stds, PREDICTED, "activation", not_a_name, "activation"),
    (predicted_stds, PREDICTED, "weight_variance", real_out_of(0.0, MAX_STD**2), "weight_variance"),
    (predicted_stds, PREDICTED, "n_layers", int_out_of(0, 10_000), "n_layers"),
    (predicted_stds, PREDICTED, "width", int_out_of(1, 2**29), "width"),
    (
        predicted_stds,
        PREDICTED,
        "input_second_moment",
        real_out_of(0.0, None),
        "input_second_moment",
    ),
    (predicted_stds, PREDICTED, "batch_norm", not_a_bool, "batch_norm"),
    (_sample, SAMPLE, "rng", st.one_of(anything_else, st.integers()), "rng"),
    (_sample, SAMPLE, "fan_in", int_out_of(1, 2**29), "fan_in"),
    (_sample, SAMPLE, "fan_out", int_out_of(1, 2**29), "fan_out"),
    (_sample, SAMPLE, "dtype", not_a_dtype, "dtype"),
    (
        variance_scaling,
        {"name": "mine", "label": "Mine", "formula": "", "scale": 1.0, "mode": "fan_in"},
        "scale",
        real_out_of(0.0, MAX_STD**2),
        "scale",
    ),
    (
        variance_scaling,
        {"name": "mine", "label": "Mine", "formula": "", "scale": 1.0, "mode": "fan_in"},
        "mode",
        not_a_name,
        "mode",
    ),
    (
        variance_scaling,
        {"name": "mine", "label": "Mine", "formula": "", "scale": 1.0, "mode": "fan_in"},
        "distribution",
        not_a_name,
        "distribution",
    ),
]


def _case_id(case: Case) -> str:
    return f"{getattr(case[0], '__name__', 'call')}-{case[2]}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
@HOSTILE
@given(data=st.data())
def test_a_bad_argument_is_refused_at_once_by_name(case: Case, data: st.DataObject) -> None:
    function, baseline, argument, bad_values, word = case
    bad = data.draw(bad_values, label=argument)
    kwargs = {**baseline, argument: bad}
    start = time.perf_counter()
    with _deadline(5), pytest.raises((ValueError, TypeError)) as error:
        function(**kwargs)
    assert time.perf_counter() - start < 1, f"{argument}={bad!r} took too long to refuse"
    assert word in str(error.value), str(error.value)


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` where the platform allows (a SIGALRM timer), so
    that an argument accepted by mistake fails its test instead of hanging the suite."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise TimeoutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
