"""LSUV (Mishkin & Matas 2016): unit output variance per layer for every activation, a clear
error where it cannot work, its place in the registry, the forward experiment and the race."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from core.data.dataset import Dataset
from core.data.mnist import load_sample
from core.forward.forward_pass import activation_histograms
from core.forward.theory import predicted_stds
from core.network.activations import ACTIVATIONS
from core.network.initializers import INITIALIZERS
from core.network.lsuv import (
    MAX_ITERATIONS,
    TOLERANCE,
    scale_networks,
    scale_to_unit_variance,
    training_batch,
)
from core.network.mlp import forward, init_mlp
from core.race.training import train_compare
from tests.params import fast_first

LSUV = INITIALIZERS["lsuv"]


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_sample()


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_lsuv_gives_unit_output_variance_per_layer(
    activation: str, rng: np.random.Generator
) -> None:
    """Eight layers of 64 units on N(0, 1) inputs: every layer's z has Var 1 ± 0.1."""
    act = ACTIVATIONS[activation]
    a = rng.standard_normal((500, 64), dtype=np.float32)
    for layer in range(1, 9):
        w = LSUV.sample(rng, 64, 64, np.float32)
        z = scale_to_unit_variance(a, w, layer=layer)
        assert abs(float(z.var(dtype=np.float64)) - 1) < TOLERANCE
        assert_allclose(z, a @ w, rtol=1e-6, atol=1e-6)  # the z of the rescaled W
        assert w.dtype == np.float32
        a = act.fn(z)


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch_norm"])
@pytest.mark.parametrize("activation", fast_first(ACTIVATIONS))
def test_lsuv_scales_the_race_networks_on_digits(
    activation: str, batch_norm: bool, digits: Dataset, rng: np.random.Generator
) -> None:
    """In a stack, LSUV networks get unit-variance layers, the output layer too; the others
    are left as drawn."""
    act = ACTIVATIONS[activation]
    inits = [LSUV, INITIALIZERS["he_normal"], LSUV]
    sizes = (784, 50, 30, 10)
    mlp = init_mlp([rng] * 3, inits, sizes, act, batch_norm=batch_norm)
    drawn = [w.copy() for w in mlp.weights]
    x = training_batch(digits, 0, 128)
    scale_networks(mlp, inits, x)
    _, cache = forward(mlp, x)
    pre_norm = [x @ mlp.weights[0][k] for k in range(3)]
    for k in (0, 2):
        assert abs(float(pre_norm[k].var()) - 1) < TOLERANCE  # layer 1, before any norm
        if not batch_norm:  # later z are the cache's (with batch norm, z before it is not kept)
            for z in cache.z[1:]:
                assert abs(float(z[k].var(dtype=np.float64)) - 1) < TOLERANCE
    for w, w0 in zip(mlp.weights, drawn, strict=True):
        assert_array_equal(w[1], w0[1])  # He's network untouched


def test_lsuv_without_data_is_the_orthonormal_draw(rng: np.random.Generator) -> None:
    """`sample` alone gives the starting point, orthonormal columns, and `variance` describes
    that draw (1 / max(fan_in, fan_out)): the registry-wide statistics tests check it so."""
    w = LSUV.sample(rng, 100, 30, np.float64)
    assert_allclose(w.T @ w, np.eye(30), atol=1e-10)
    assert LSUV.variance(100, 30) == pytest.approx(1 / 100)
    assert LSUV.data_dependent and LSUV.distribution == "orthogonal"
    assert not any(i.data_dependent for n, i in INITIALIZERS.items() if n != "lsuv")


def test_lsuv_registry_entry_names_the_paper_and_package() -> None:
    assert "LSUV" in LSUV.label and "Mishkin" in LSUV.label
    assert "W" in LSUV.formula and "0.1" in LSUV.formula
    assert "pip install lsuv" in LSUV.torch
    assert LSUV.keras.startswith("keras.initializers.Orthogonal()")


def test_lsuv_raises_on_a_constant_layer_output(rng: np.random.Generator) -> None:
    w = LSUV.sample(rng, 20, 20, np.float32)
    with pytest.raises(ValueError, match="layer 1: its output is constant"):
        scale_to_unit_variance(np.zeros((50, 20), np.float32), w, layer=1)
    # A layer below whose every ReLU is off: the layer above sees only zeros.
    x = np.abs(rng.standard_normal((50, 20), dtype=np.float32))
    dead = -np.abs(LSUV.sample(rng, 20, 20, np.float32))  # x ≥ 0 @ W ≤ 0: z ≤ 0 everywhere
    z = x @ dead
    with pytest.raises(ValueError, match="layer 2: its output is constant"):
        scale_to_unit_variance(ACTIVATIONS["relu"].fn(z), w, layer=2)


def test_lsuv_raises_on_a_constant_race_input(digits: Dataset, rng: np.random.Generator) -> None:
    mlp = init_mlp([rng], [LSUV], (784, 10, 10), ACTIVATIONS["relu"])
    with pytest.raises(ValueError, match="LSUV cannot rescale layer 1"):
        scale_networks(mlp, [LSUV], np.zeros((16, 784), np.float32))


def test_lsuv_iterates_up_to_its_cap_then_says_it_cannot(rng: np.random.Generator) -> None:
    """Biases that differ between units add variance no scale of W removes: with Var(b) = 0.5
    the paper's loop needs several rescalings, with Var(b) = 2 it never gets there and stops
    at its cap (10) with an error instead of a network that is not unit-variance."""
    a = rng.standard_normal((400, 50))
    b = rng.standard_normal(50)
    b = (b - b.mean()) / b.std()  # (fan_out,), mean 0, variance 1 across units
    w = LSUV.sample(rng, 50, 50, np.float64) * 3
    z = scale_to_unit_variance(a, w, b * math.sqrt(0.5), layer=1)
    assert abs(z.var() - 1) < TOLERANCE
    w = LSUV.sample(rng, 50, 50, np.float64)
    with pytest.raises(ValueError, match=f"layer 3's output variance .* after {MAX_ITERATIONS}"):
        scale_to_unit_variance(a, w, b * math.sqrt(2), layer=3)
    assert (MAX_ITERATIONS, TOLERANCE) == (10, 0.1)  # Mishkin & Matas' T_max and Tol_var


@pytest.mark.slow
def test_lsuv_forward_experiment_keeps_every_layer_at_unit_variance() -> None:
    """ReLU after LSUV: std(a) = √Var(ReLU(N(0, 1))) ≈ 0.584 at every layer, as the theory
    (with `unit_variance`) predicts; LeCun's orthonormal start alone would halve it."""
    result = activation_histograms("relu", "lsuv", n_layers=10, width=200, dtype=np.float64)
    expected = math.sqrt(0.5 - 1 / (2 * math.pi))
    for layer in result.layers:
        assert layer.std == pytest.approx(expected, rel=0.1)
        assert layer.predicted_std == pytest.approx(expected, rel=1e-3)
        assert layer.grad_std == pytest.approx(layer.predicted_grad_std, rel=0.25)


def test_unit_variance_prediction_refuses_a_zero_input() -> None:
    """No scale of W brings a zero input to variance 1: the theory says so as LSUV does,
    instead of predicting inf or NaN."""
    with pytest.raises(ValueError, match="layer 1: its input is zero"):
        predicted_stds("relu", 0.01, 3, 10, input_second_moment=0.0, unit_variance=True)
    with pytest.raises(ValueError, match="unit_variance must be True or False"):
        predicted_stds("relu", 0.01, 3, 10, unit_variance="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize("activation", fast_first(ACTIVATIONS, fast=2))
def test_lsuv_forward_experiment_runs_for_every_activation(activation: str) -> None:
    result = activation_histograms(activation, "lsuv", n_layers=4, width=30, n_samples=100)
    assert result.overflow_layer is None and len(result.layers) == 4
    assert all(np.isfinite(layer.std) and layer.std > 0 for layer in result.layers)


def test_lsuv_race_batch_is_drawn_apart_from_the_training_batches(digits: Dataset) -> None:
    """Adding LSUV to a race changes no other network's run; its own run is reproducible."""
    alone = train_compare(["he_normal"], iterations=30, data=digits, hidden=(40, 40))
    raced = train_compare(["he_normal", "lsuv"], iterations=30, data=digits, hidden=(40, 40))
    again = train_compare(["he_normal", "lsuv"], iterations=30, data=digits, hidden=(40, 40))
    assert_allclose(raced.losses["he_normal"], alone.losses["he_normal"], rtol=1e-5)
    assert_array_equal(raced.losses["lsuv"], again.losses["lsuv"])
    assert np.isfinite(raced.losses["lsuv"]).all()
    batch = training_batch(digits, 0, 128)
    assert batch.shape == (128, 784) and batch.dtype == np.float32
    assert batch.min() >= 0 and batch.max() <= 1
    assert_array_equal(batch, training_batch(digits, 0, 128))
    assert not np.array_equal(batch, training_batch(digits, 1, 128))


def test_lsuv_race_starts_with_unit_variance_pre_activations(digits: Dataset) -> None:
    """In the race, LSUV's hidden z have Var 1 on its batch, so on the first training batch
    ReLU's activation std sits near 0.58 at every layer."""
    tele = train_compare(["lsuv"], iterations=1, data=digits).telemetry["lsuv"]
    assert_allclose(tele.act_std[0, 0], math.sqrt(0.5 - 1 / (2 * math.pi)), rtol=0.15)
