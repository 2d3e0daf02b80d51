"""The forward-pass experiment: the book's §6.2.2 figures, as assertions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from core.forward_pass import activation_histograms, uniform_histogram, verdict
from core.initializers import normal_std


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
    assert verdict(activation_histograms("sigmoid", "std_1")).startswith("saturated")


def test_sigmoid_with_std_001_collapses_to_one_half() -> None:
    """The book's Fig. 6-11: every activation near 0.5, so the units are interchangeable."""
    result = activation_histograms("sigmoid", "std_0.01")
    for layer in result.layers:
        assert layer.mean == pytest.approx(0.5, abs=0.01)
        assert layer.std < 0.03
    assert verdict(result).startswith("collapsed")


def test_relu_with_he_keeps_std_steady_over_ten_layers() -> None:
    stds = _stds("relu", "he_normal", n_layers=10)
    ratios = stds[1:] / stds[:-1]
    assert ((ratios > 0.5) & (ratios < 2)).all()
    assert verdict(activation_histograms("relu", "he_normal", n_layers=10)).startswith("steady")


def test_relu_with_lecun_halves_the_variance_at_every_layer() -> None:
    """√(1/n) ignores ReLU's zeroed half: E[a²] halves per layer, the std shrinks by √½."""
    stds = _stds("relu", "lecun_normal", n_layers=10, n_samples=2000)
    per_layer = (stds[-1] / stds[0]) ** (1 / 9)
    assert per_layer == pytest.approx(np.sqrt(0.5), rel=0.05)
    assert verdict(activation_histograms("relu", "lecun_normal")).startswith("vanishing")


def test_relu_with_std_001_vanishes() -> None:
    stds = _stds("relu", "std_0.01")
    assert stds[-1] < 1e-3 * stds[0]


def test_exploding_net_reports_overflow_without_nan_or_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = activation_histograms("relu", "std_1", n_layers=80)
    assert result.overflow_layer is not None
    assert len(result.layers) == result.overflow_layer - 1
    for layer in result.layers:
        assert np.isfinite([layer.mean, layer.std]).all()
        assert np.isfinite(layer.edges).all()
    assert verdict(result).startswith("exploding: activations overflow")


def test_exploding_net_within_range_says_exploding() -> None:
    assert verdict(activation_histograms("relu", "std_1")).startswith("exploding")


def test_zeros_init_is_reported_as_symmetric() -> None:
    result = activation_histograms("tanh", "zeros")
    assert all(layer.std == 0 for layer in result.layers)
    assert verdict(result).startswith("symmetric")


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
