"""The forward-pass experiment: the book's §6.2.2 figures, as assertions."""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np
import pytest

from core.forward import forward_pass
from core.forward.diagnosis import diagnose
from core.forward.forward_pass import (
    SATURATION_THRESHOLD,
    _backward,
    _mean_std,
    _network,
    _shared_range,
    _weight_grad_std,
    activation_histograms,
    uniform_histogram,
)
from core.network.activations import get_activation
from core.network.initializers import Initializer, constant, get_initializer, normal_std
from core.network.lsuv import scale_networks
from core.network.mlp import MLP, Cache, backward, forward, init_mlp
from tests.gradcheck import numeric_grad


def _stds(activation: str, init: str, **kwargs: object) -> np.ndarray:
    result = activation_histograms(activation, init, **kwargs)  # type: ignore[arg-type]
    return np.array([layer.std for layer in result.layers])


def test_activation_histograms_defaults_reproduce_book_setting() -> None:
    result = activation_histograms("sigmoid", "std_1")
    assert len(result.layers) == 5
    assert result.width == 100
    for i, layer in enumerate(result.layers, start=1):
        assert layer.layer == i
        assert layer.counts.sum() == 1000 * 100
        assert len(layer.edges) == 31
    assert result.overflow_layer is None


def test_sigmoid_with_std_1_saturates_at_0_and_1() -> None:
    """The book's Fig. 6-10: activations pile up at both ends."""
    for layer in activation_histograms("sigmoid", "std_1").layers:
        assert layer.saturated > 0.4
        ends = (layer.counts[0] + layer.counts[-1]) / layer.counts.sum()
        assert ends > 0.3
    assert diagnose(activation_histograms("sigmoid", "std_1")).code == "saturated"


def test_sigmoid_with_std_001_collapses_to_one_half() -> None:
    """The book's Fig. 6-11: every activation near 0.5, so the units are interchangeable."""
    result = activation_histograms("sigmoid", "std_0.01")
    for layer in result.layers:
        assert layer.mean == pytest.approx(0.5, abs=0.01)
        assert layer.std < 0.03
    assert diagnose(result).code == "collapsed"


def test_relu_with_he_keeps_std_steady_over_ten_layers() -> None:
    stds = _stds("relu", "he_normal", n_layers=10)
    ratios = stds[1:] / stds[:-1]
    assert ((ratios > 0.5) & (ratios < 2)).all()
    assert diagnose(activation_histograms("relu", "he_normal", n_layers=10)).code == "steady"


def test_relu_with_lecun_halves_the_variance_at_every_layer() -> None:
    """√(1/n) ignores ReLU's zeroed half: E[a²] halves per layer, the std shrinks by √½."""
    stds = _stds("relu", "lecun_normal", n_layers=10, n_samples=2000)
    per_layer = (stds[-1] / stds[0]) ** (1 / 9)
    assert per_layer == pytest.approx(np.sqrt(0.5), rel=0.05)
    assert diagnose(activation_histograms("relu", "lecun_normal")).code == "vanishing"


def test_relu_with_std_001_vanishes() -> None:
    stds = _stds("relu", "std_0.01")
    assert stds[-1] < 1e-3 * stds[0]


@pytest.mark.slow
def test_exploding_net_reports_overflow_without_nan_or_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = activation_histograms("relu", "std_1", n_layers=80)
    assert result.overflow_layer is not None
    assert len(result.layers) == result.overflow_layer - 1
    for layer in result.layers:
        assert np.isfinite([layer.mean, layer.std]).all()
        assert np.isfinite(layer.edges).all()
    assert diagnose(result).code == "overflow"


def test_exploding_net_within_range_says_exploding() -> None:
    assert diagnose(activation_histograms("relu", "std_1")).code == "exploding"


def test_zeros_init_is_reported_as_symmetric() -> None:
    result = activation_histograms("tanh", "zeros")
    assert all(layer.std == 0 for layer in result.layers)
    assert diagnose(result).code == "symmetric"


def test_relu_zeros_init_has_every_unit_dead() -> None:
    result = activation_histograms("relu", "zeros")
    assert all(layer.dead == 1.0 and layer.saturated == 1.0 for layer in result.layers)


def test_histogram_edges_suit_the_activation() -> None:
    assert activation_histograms("sigmoid", "he_normal").layers[0].edges[[0, -1]].tolist() == [0, 1]
    assert activation_histograms("tanh", "he_normal").layers[0].edges[[0, -1]].tolist() == [-1, 1]
    relu = activation_histograms("relu", "he_normal")
    assert relu.layers[0].edges[0] == 0
    top = max(float(np.max(layer.edges)) for layer in relu.layers)
    assert top > 3  # not the book's fixed 0-1, which hides most of ReLU's mass
    # edges are shared, so layers can be compared bin by bin
    assert all(np.array_equal(layer.edges, relu.layers[0].edges) for layer in relu.layers)


def test_exclude_zeros_hides_relus_spike() -> None:
    full = activation_histograms("relu", "he_normal")
    hidden = activation_histograms("relu", "he_normal", exclude_zeros=True)
    for a, b in zip(full.layers, hidden.layers, strict=True):
        assert a.zero_fraction == pytest.approx(0.5, abs=0.1)
        assert b.counts.sum() == round((1 - a.zero_fraction) * 100_000)
        assert (a.counts[1:] == b.counts[1:]).all()


def test_activation_histograms_accepts_custom_std_and_float64() -> None:
    result = activation_histograms("tanh", normal_std(0.05), dtype=np.float64, n_layers=2)
    assert result.initializer.name == "std_0.05"
    assert len(result.layers) == 2


@pytest.mark.usefixtures("global_rng_untouched")
def test_activation_histograms_is_reproducible_and_seeded(seed: int) -> None:
    a = activation_histograms("relu", "he_normal", seed=seed)
    b = activation_histograms("relu", "he_normal", seed=seed)
    c = activation_histograms("relu", "he_normal", seed=seed + 1)
    for la, lb in zip(a.layers, b.layers, strict=True):
        np.testing.assert_array_equal(la.counts, lb.counts)
        assert la.std == lb.std
    assert any(la.std != lc.std for la, lc in zip(a.layers, c.layers, strict=True))


@pytest.mark.parametrize("init", ["he_normal", "lsuv"])
def test_activation_histograms_reuse_draws_without_changing_results(init: str) -> None:
    """The random inputs and weights kept from earlier calls give what fresh ones give,
    whatever ran in between with them (another f, batch norm; LSUV rescales its own copy)."""
    first = activation_histograms("relu", init, seed=3, n_samples=200)
    activation_histograms("tanh", init, seed=3, n_samples=200)
    activation_histograms("tanh", init, seed=3, n_samples=200, batch_norm=True)
    again = activation_histograms("relu", init, seed=3, n_samples=200)
    forward_pass._draws.cache_clear()
    forward_pass._kept_draw.cache_clear()
    fresh = activation_histograms("relu", init, seed=3, n_samples=200)
    for a, b, c in zip(first.layers, again.layers, fresh.layers, strict=True):
        np.testing.assert_array_equal(a.counts, b.counts)
        np.testing.assert_array_equal(a.grad_counts, c.grad_counts)
        assert a.std == b.std == c.std and a.weight_grad_std == b.weight_grad_std


def test_uniform_histogram_matches_numpy(rng: np.random.Generator) -> None:
    values = rng.standard_normal(10_000)
    counts, edges = uniform_histogram(values, 25, (-2.0, 2.0))
    expected_counts, expected_edges = np.histogram(values, 25, (-2.0, 2.0))
    np.testing.assert_array_equal(counts, expected_counts)
    np.testing.assert_allclose(edges, expected_edges)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"activation": "swish"}, "choose one of: sigmoid"),
        ({"initializer": "xavier"}, "choose one of: zeros"),
        ({"n_layers": 0}, "n_layers must be an integer >= 1"),
        ({"width": 2.5}, "width must be an integer"),
        ({"n_samples": -3}, "n_samples must be an integer >= 1"),
        ({"bins": 0}, "bins must be an integer >= 1"),
        ({"seed": -1}, "seed must be an integer >= 0"),
    ],
)
def test_activation_histograms_bad_input_names_valid_choices(
    kwargs: dict[str, object], message: str
) -> None:
    args = {"activation": "relu", "initializer": "he_normal", **kwargs}
    with pytest.raises(ValueError, match=message):
        activation_histograms(args.pop("activation"), args.pop("initializer"), **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("activation", "init", "batch_norm"),
    [
        ("relu", "he_normal", False),
        ("tanh", "glorot_normal", False),
        ("sigmoid", "std_1", False),
        ("selu", "lecun_normal", False),
        ("relu", "std_0.01", True),
        ("sigmoid", "std_1", True),
        ("tanh", "std_0.01", True),
    ],
)
def test_predicted_std_tracks_measured_std(activation: str, init: str, batch_norm: bool) -> None:
    """Variance propagation against the measurement, per layer, forward and backward. Width 400
    keeps finite-width noise to a few percent; ReLU's is larger, so it gets 25 %. 500 samples
    add no more than 1,000 do (at most 60 % of the tolerance is used either way)."""
    result = activation_histograms(
        activation, init, n_layers=6, width=400, n_samples=500, batch_norm=batch_norm,
        dtype=np.float64,
    )  # fmt: skip
    rel = 0.25 if activation == "relu" else 0.1
    for layer in result.layers:
        assert layer.std == pytest.approx(layer.predicted_std, rel=rel)
        assert layer.grad_std == pytest.approx(layer.predicted_grad_std, rel=rel)


def test_backward_gradients_vanish_with_std_001_and_stay_with_he() -> None:
    """Glorot & Bengio Fig. 7: back-propagated gradients shrink towards the input with a small
    init; He keeps them level for ReLU."""
    small = activation_histograms("relu", "std_0.01", n_layers=6)
    he = activation_histograms("relu", "he_normal", n_layers=6)
    assert small.layers[0].grad_std < 1e-4 * small.layers[-1].grad_std
    he_grads = np.array([layer.grad_std for layer in he.layers])
    assert he_grads.max() < 2 * he_grads.min()


def test_gradient_histograms_are_binned_on_shared_symmetric_edges() -> None:
    result = activation_histograms("tanh", "glorot_normal")
    edges = result.layers[0].grad_edges
    assert edges[0] == -edges[-1]
    for layer in result.layers:
        np.testing.assert_array_equal(layer.grad_edges, edges)
        assert layer.grad_counts.sum() == 1000 * 100
        assert np.isfinite([layer.grad_std, layer.weight_grad_std]).all()


def test_weight_gradient_std_matches_its_definition() -> None:
    """std(∂L/∂W) with ∂L/∂W = aᵀδ / n: for a single linear layer it is computable by hand."""
    result = activation_histograms("linear", "orthogonal", n_layers=1, dtype=np.float64)
    layer = result.layers[0]
    # x ~ N(0, 1) and the injected δ ~ N(0, 1) are independent: Var((xᵀδ)_ij / n) = 1 / n.
    assert layer.weight_grad_std == pytest.approx(1 / np.sqrt(1000), rel=0.05)


def test_exploding_backward_pass_stays_finite_or_labelled() -> None:
    # 200 samples explode as 1,000 do (the growth is per layer), and their gradients still
    # overflow float32 when summed.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = activation_histograms("relu", "std_1", n_layers=40, width=400, n_samples=200)
    for layer in result.layers:
        assert np.isfinite(layer.grad_edges).all()
        below_overflow = result.grad_overflow_layer is not None and (
            layer.layer <= result.grad_overflow_layer
        )
        assert np.isfinite(layer.grad_std) != below_overflow


def test_backward_overflow_is_labelled_with_empty_histograms() -> None:
    """A gradient that leaves float32's range stops the backward pass at that layer."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4), dtype=np.float32)
    linear = get_activation("linear")
    mlp, cache = _network(np.random.SeedSequence(0), constant(1e4), linear, x, 3, batch_norm=False)
    with np.errstate(over="ignore", invalid="ignore"):  # as activation_histograms calls it
        deltas, weight_grad_stds, overflow = _backward(mlp, cache, np.full_like(x, 1e30))
    assert overflow == 1  # layer 3 and 2 are fine (1e30, 4e34), layer 1's gradient is ~1e39
    assert deltas[0] is None and deltas[1] is not None
    assert np.isnan(weight_grad_stds[0]) and np.isfinite(weight_grad_stds[1])


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
def test_batch_norm_makes_every_layer_alike_whatever_the_weight_scale(activation: str) -> None:
    """The book's §6.3: standardizing z before f gives every layer f(N(0, 1)), so std 0.01
    (which collapses or vanishes without it) and std 1 (which saturates) look the same."""
    small = activation_histograms(activation, "std_0.01", batch_norm=True)
    large = activation_histograms(activation, "std_1", batch_norm=True)
    plain = activation_histograms(activation, "std_0.01")
    for s, g in zip(small.layers, large.layers, strict=True):
        assert s.std == pytest.approx(s.predicted_std, rel=0.05)
        assert g.std == pytest.approx(s.std, rel=0.05)
    assert plain.layers[-1].std < 0.2 * small.layers[-1].std
    assert small.batch_norm and not plain.batch_norm


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch_norm"])
@pytest.mark.parametrize("activation", ["tanh", "gelu", "sigmoid"])
def test_backward_statistics_match_finite_differences(
    activation: str, batch_norm: bool, rng: np.random.Generator
) -> None:
    """The experiment's ∂L/∂z of every layer, by the shared backward pass, against central
    differences: with L = Σ g · a_top, ∂L/∂W_l = a_{l-1}ᵀ δ_l, so each layer's δ is checked
    through ∂L/∂W_l (with batch norm, through the batch statistics); and the reported std of
    ∂L/∂W is that matrix's std / n_samples."""
    x = rng.standard_normal((6, 3))
    g = rng.standard_normal((6, 3))
    init, act = get_initializer("glorot_normal"), get_activation(activation)
    mlp, cache = _network(np.random.SeedSequence(1), init, act, x, 3, batch_norm=batch_norm)
    deltas, weight_grad_stds, overflow = _backward(mlp, cache, g)
    assert overflow is None

    def loss() -> float:
        return float((g * forward(mlp, x)[0][0]).sum())

    inputs = [x, *(a[0].copy() for a in cache.a[:-1])]
    for layer, (a_prev, delta) in enumerate(zip(inputs, deltas, strict=True)):
        numeric = numeric_grad(loss, mlp.weights[layer][0])
        np.testing.assert_allclose(a_prev.T @ delta, numeric, rtol=1e-5, atol=1e-8)
        assert weight_grad_stds[layer] == pytest.approx(numeric.std() / len(x), rel=1e-5)


def test_weight_gradient_std_is_finite_where_its_float32_product_overflows() -> None:
    """ReLU, std 3, 30 layers: a and δ stay within float32 but aᵀδ (~1e39) does not; its std
    must still be reported, not NaN (the float32 product overflowed without any mark)."""
    result = activation_histograms("relu", normal_std(3.0), n_layers=30)
    assert result.grad_overflow_layer is None
    stds = np.array([layer.weight_grad_std for layer in result.layers])
    assert np.isfinite(stds).all()
    assert (stds > 1e33).all()  # the true values, far beyond float32's 3.4e38 / n_samples


def test_weight_gradient_std_survives_a_float32_overflow_of_its_product() -> None:
    """The helper against the float64 product: 1e20 × 1e20 overflows float32 only."""
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((50, 6)) * 1e20).astype(np.float32)
    delta = (rng.standard_normal((50, 6)) * 1e20).astype(np.float32)
    exact = (a.astype(np.float64).T @ delta.astype(np.float64)).std() / 50
    assert _weight_grad_std(a, delta) == pytest.approx(exact, rel=1e-5)


def test_float64_statistics_stay_finite_near_the_float64_range() -> None:
    """Finite float64 values whose sums or squares overflow: mean, std and weight-gradient std
    are computed on scaled values; inf only where the std itself is beyond float64."""
    values = np.array([[1e300, -1e300], [1.7e308, 1e200]])
    mean, std = _mean_std(values)
    assert mean == pytest.approx(np.mean(values / 1e300) * 1e300)
    assert std == pytest.approx(np.std(values / 1e300) * 1e300)
    rng = np.random.default_rng(0)
    a = rng.choice([-1.5e154, 1.5e154], (50, 4))  # products 2.25e308: their sums overflow
    exact = (a / 1e154).T @ (a / 1e154)
    assert _weight_grad_std(a, a) == pytest.approx(exact.std() / 50 * 1e308)
    assert _weight_grad_std(a * 1e100, a * 1e100) == np.inf  # truly beyond float64: marked


def test_gelu_histograms_count_every_value() -> None:
    """float32 GELU values fell just below the float64 minimum used as the lowest edge and
    were not counted (769,782 of 769,783 at layer 1)."""
    result = activation_histograms(
        "gelu", "lecun_uniform", n_layers=19, width=397, n_samples=1939, bins=85, seed=1699793434
    )
    for layer in result.layers:
        assert layer.counts.sum() == 397 * 1939


def test_histogram_range_holds_every_value_even_past_a_declared_bound() -> None:
    """The values seen widen the activation's declared range rather than fall out of it."""
    act = get_activation("gelu")
    low, high = _shared_range(act, [np.array([act.low - 1e-3, 0.5])])
    assert low <= act.low - 1e-3 and high >= 0.5


def test_uniform_histogram_counts_float64_values_near_its_range() -> None:
    values = np.array([-1.7e308, -1e308, 0.0, 1e308, 1.7e308])
    counts, edges = uniform_histogram(values, 4, (-1.7e308, 1.7e308))
    assert counts.tolist() == [2, 1, 0, 2] or counts.sum() == 5
    assert np.isfinite(edges).all() and (np.diff(edges) > 0).all()


def test_activation_histograms_in_float64_near_its_range_are_finite_or_marked() -> None:
    """Constant 1e15 weights in float64: every layer multiplies by ~1e17 until overflow."""

    result = activation_histograms(
        "linear", constant(1e15), n_layers=25, width=100, n_samples=5, dtype=np.float64
    )
    assert result.overflow_layer is not None
    for layer in result.layers:
        assert np.isfinite([layer.mean, layer.std, layer.saturated, layer.dead]).all()
        assert np.isfinite(layer.edges).all()
        assert layer.counts.sum() == 5 * 100


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_layers": 10**9}, "n_layers must be an integer >= 1 and <= 10,000"),
        ({"bins": 10**9}, "bins must be an integer >= 1 and <= 100,000"),
        ({"width": 10**30}, "width must be an integer >= 1 and <= 536,870,912"),
        ({"n_samples": 10**30}, "n_samples must be an integer >= 1"),
        ({"width": 100_000}, r"n_layers × \(width² .* over the limit of 536,870,912"),
        ({"n_samples": 10**8, "n_layers": 30}, "use a smaller n_layers, width, n_samples or bins"),
        ({"seed": 2**64}, "seed must be an integer >= 0 and <= 18,446,744,073,709,551,615"),
    ],
)
def test_activation_histograms_refuses_oversized_work_at_once(
    kwargs: dict[str, object], message: str
) -> None:
    """Absurd sizes hung (n_layers, bins), or failed in NumPy naming no argument (width)."""
    start = time.perf_counter()
    with pytest.raises(ValueError, match=message):
        activation_histograms("relu", "he_normal", **kwargs)  # type: ignore[arg-type]
    assert time.perf_counter() - start < 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_norm": "False"}, "batch_norm must be True or False, got 'False'"),
        ({"batch_norm": 1}, "batch_norm must be True or False"),
        ({"exclude_zeros": "no"}, "exclude_zeros must be True or False"),
        ({"exclude_zeros": None}, "exclude_zeros must be True or False"),
        ({"dtype": np.int64}, "dtype must be np.float32 or np.float64"),
        ({"dtype": None}, "dtype must be np.float32 or np.float64"),
        ({"dtype": "bogus"}, "dtype must be np.float32 or np.float64"),
        ({"seed": 1.5}, "seed must be an integer"),
    ],
)
def test_activation_histograms_refuses_loose_arguments(
    kwargs: dict[str, object], message: str
) -> None:
    """The string "False" switched batch norm on; exclude_zeros was not checked at all."""
    with pytest.raises(ValueError, match=message):
        activation_histograms("relu", "he_normal", n_layers=2, **kwargs)  # type: ignore[arg-type]


def test_diagnose_a_first_layer_of_one_value_grows_without_bound() -> None:
    """Sigmoid saturated to exactly 1 everywhere at layer 1 (std 0), batch norm spreading layer
    2 again: the growth from layer 1 is inf, not a division by zero (Hypothesis found it), and
    not a ratio measured from another layer, which the verdict would call layer 1's."""
    result = activation_histograms(
        "sigmoid", normal_std(1e20), n_layers=2, width=2, n_samples=3, batch_norm=True
    )
    assert result.layers[0].std == 0 < result.layers[1].std
    diagnosis = diagnose(result)
    assert diagnosis.first_std == 0
    assert diagnosis.code in ("steady", "collapsed", "saturated", "dead", "vanishing", "exploding")
    assert diagnosis.code == "exploding" and diagnosis.ratio == diagnosis.per_layer == math.inf


def test_diagnose_refuses_what_is_not_a_forward_result() -> None:
    with pytest.raises(TypeError, match="result must be a ForwardResult"):
        diagnose(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("abc", 3, (0.0, 1.0)), "values must be an array of numbers"),
        ((np.ones(3), 0, (0.0, 1.0)), "bins must be an integer >= 1"),
        ((np.ones(3), 3, (1.0, 0.0)), "value_range must be two finite numbers"),
        ((np.ones(3), 3, (0.0, np.inf)), "value_range must be two finite numbers"),
        ((np.ones(3), 3, None), "value_range must be two finite numbers"),
    ],
)
def test_uniform_histogram_refuses_bad_arguments(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        uniform_histogram(*args)


def test_activation_histograms_refuses_orthogonal_qrs_beyond_the_budget() -> None:
    with pytest.raises(ValueError, match=r"width³ for orthogonal's QR\) = .* multiply-adds"):
        activation_histograms("relu", "orthogonal", n_layers=1, width=23_000, n_samples=1)


def test_histogram_edges_increase_for_values_equal_but_for_rounding() -> None:
    """Constant weights give one value per layer up to float64 rounding (a spread of 1e-48 at
    3.5e-32): bins cut from that spread shared their edges."""

    result = activation_histograms(
        "leaky_relu", constant(-1e-30), n_layers=1, width=14, n_samples=1, bins=2, dtype=np.float64
    )
    layer = result.layers[0]
    assert (np.diff(layer.edges) > 0).all()
    assert layer.counts.sum() == 14


def _plain_passes(
    activation: str, init: str | Initializer, kw: dict[str, Any]
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[float], int | None]:
    """Every reported layer's a, f'(z), ∂L/∂z and std of ∂L/∂W (in float64), and the forward
    overflow layer, by the network's own passes on the experiment's draws (arguments `kw`)."""
    act, spec = get_activation(activation), get_initializer(init)
    n_layers, width = kw.get("n_layers", 5), kw.get("width", 100)
    dtype, batch_norm = kw.get("dtype", np.float32), kw.get("batch_norm", False)
    data_ss, init_ss, grad_ss = np.random.SeedSequence(kw.get("seed", 0)).spawn(3)
    x = np.random.default_rng(data_ss).standard_normal((kw.get("n_samples", 1000), width), dtype)
    top = np.random.default_rng(grad_ss).standard_normal(x.shape, dtype=dtype)

    def network(layers: int) -> tuple[MLP, Cache]:
        sizes = (width,) * (layers + 1)
        rngs = [np.random.default_rng(init_ss)]
        mlp = init_mlp(rngs, [spec], sizes, act, dtype, batch_norm=batch_norm, linear_output=False)
        if spec.data_dependent:
            scale_networks(mlp, [spec], x)
        return mlp, forward(mlp, x)[1]

    with np.errstate(all="ignore"):
        _, cache = network(n_layers)
        finite = [
            np.isfinite(z).all() and np.isfinite(a).all()
            for z, a in zip(cache.z, cache.a, strict=True)
        ]
        kept = finite.index(False) if False in finite else n_layers
        if kept == 0:
            return [], [], [], [], 1
        mlp, cache = network(kept)
        dzs: list[np.ndarray] = []
        slopes: list[np.ndarray] = []
        backward(mlp, cache, top[np.newaxis], dzs=dzs, slopes=slopes)
        inputs = [x, *(a[0] for a in cache.a[:-1])]
        weight_grad_stds = [
            float((p.astype(np.float64).T @ dz[0].astype(np.float64)).std()) / len(x)
            for p, dz in zip(inputs, dzs, strict=True)
        ]
    a_s = [a[0].copy() for a in cache.a]
    overflow = None if kept == n_layers else kept + 1
    return a_s, [s[0] for s in slopes], [dz[0] for dz in dzs], weight_grad_stds, overflow


def _plain_edges(low: float, high: float, bins: int) -> np.ndarray:
    return np.histogram(np.array([]), bins, (low, high))[1]


def _plain_counts(values: np.ndarray, bins: int, low: float, high: float) -> np.ndarray:
    """np.histogram of each value's place (v − low) · bins / (high − low), taken in float64 as
    the experiment takes it: a value within rounding of an inner edge may fall on the other
    side of that edge in np.histogram's own float64 edges (a gradient of -1e-20 whose v − low
    rounds to the middle edge is counted above it), and the top value's place, rounded just
    past `bins`, still counts in the last bin."""
    places = (values.astype(np.float64) - low) * (bins / (high - low))
    return np.histogram(np.minimum(places, bins), bins, (0, bins))[0]


PLAIN_SETTINGS = [
    ("sigmoid", "std_1", {}),  # the page's default: saturating at 0 and 1
    ("sigmoid", normal_std(0.05), {"seed": 3}),
    ("relu", "he_normal", {"exclude_zeros": True, "n_samples": 300, "width": 40, "bins": 17}),
    ("tanh", "glorot_uniform", {"batch_norm": True, "n_layers": 3, "n_samples": 200}),
    ("gelu", "lecun_uniform", {"width": 97, "n_samples": 311, "bins": 85, "seed": 11}),
    ("elu", "he_uniform", {"dtype": np.float64, "n_layers": 4, "n_samples": 250}),
    ("relu", "std_1", {"n_layers": 80, "width": 50, "n_samples": 200}),  # a blow-up to inf
    ("tanh", normal_std(3.0), {"n_layers": 80, "n_samples": 100}),  # ∂L/∂z overflows
    ("linear", normal_std(1e19), {"n_layers": 3, "n_samples": 100}),  # inf at layer 2
    ("sigmoid", normal_std(1e38), {"n_layers": 3, "n_samples": 100}),  # inf weights at once
    ("sigmoid", normal_std(1e30), {"n_layers": 3, "n_samples": 100}),  # every value 0 or 1
    ("tanh", "zeros", {"n_layers": 2, "n_samples": 50}),  # one value: a padded range
    ("leaky_relu", "lsuv", {"n_layers": 3, "n_samples": 200, "exclude_zeros": True}),
    ("selu", "orthogonal", {"n_layers": 3, "n_samples": 120, "width": 30, "bins": 7}),
]


@pytest.mark.parametrize(
    ("activation", "init", "kwargs"),
    PLAIN_SETTINGS,
    ids=lambda v: v if isinstance(v, str) else getattr(v, "name", None),
)
def test_activation_histograms_match_plain_numpy(
    activation: str, init: str | Initializer, kwargs: dict[str, Any]
) -> None:
    """Every number of every layer against plain NumPy on the network's own arrays:
    np.histogram with the shared range, np.mean and np.std in float64, f'(z) counted."""
    bins, exclude_zeros = kwargs.get("bins", 30), kwargs.get("exclude_zeros", False)
    result = activation_histograms(activation, init, **kwargs)
    a_s, slopes, dzs, weight_grad_stds, overflow = _plain_passes(activation, init, kwargs)
    assert result.overflow_layer == overflow
    assert len(result.layers) == len(a_s)
    if not a_s:
        return
    act = get_activation(activation)
    in_range = [bool(np.isfinite(dz).all()) for dz in dzs]
    grad_overflow = None if all(in_range) else len(in_range) - in_range[::-1].index(False)
    assert result.grad_overflow_layer == grad_overflow
    low = min(float(a.min()) for a in a_s)
    high = max(float(a.max()) for a in a_s)
    low, high = (low, high) if act.low is None else (min(act.low, low), high)
    low, high = (low, high) if act.high is None else (low, max(act.high, high))
    if high - low > 1e-6 * max(abs(low), abs(high)):  # else a padded range, checked below
        np.testing.assert_array_equal(result.layers[0].edges, _plain_edges(low, high, bins))
    top = max((float(np.abs(dz).max()) for dz in dzs[grad_overflow or 0 :]), default=0.0) or 1.0
    threshold = SATURATION_THRESHOLD * act.max_slope
    for i, layer in enumerate(result.layers):
        a, dz = a_s[i], dzs[i]
        binned = a[a != 0] if exclude_zeros else a
        edges = layer.edges
        assert edges[0] <= a.min() and a.max() <= edges[-1]
        np.testing.assert_array_equal(layer.counts, _plain_counts(binned, bins, *edges[[0, -1]]))
        assert layer.mean == pytest.approx(np.mean(a, dtype=np.float64), rel=1e-9, abs=1e-300)
        assert layer.std == pytest.approx(np.std(a, dtype=np.float64), rel=1e-9, abs=1e-300)
        assert layer.zero_fraction == np.mean(a == 0)
        assert layer.saturated == np.mean(np.abs(slopes[i]) < threshold)
        assert layer.dead == np.mean((np.abs(slopes[i]) < threshold).all(axis=0))
        assert layer.weight_grad_std == pytest.approx(weight_grad_stds[i], rel=1e-5, nan_ok=True)
        np.testing.assert_array_equal(layer.grad_edges, _plain_edges(-top, top, bins))
        if grad_overflow is not None and i < grad_overflow:
            assert np.isnan(layer.grad_std) and not layer.grad_counts.any()
            continue
        grad_binned = dz[dz != 0] if exclude_zeros else dz
        np.testing.assert_array_equal(
            layer.grad_counts, _plain_counts(grad_binned, bins, -top, top)
        )
        assert layer.grad_std == pytest.approx(np.std(dz, dtype=np.float64), rel=1e-9, abs=1e-300)
