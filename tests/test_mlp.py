"""The stacked MLP's backward pass against finite differences, for every activation."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from core.network.activations import ACTIVATIONS
from core.network.initializers import INITIALIZERS
from core.network.losses import softmax_cross_entropy
from core.network.mlp import (
    MLP,
    BatchNorm,
    backward,
    copied_with,
    empty_cache,
    forward,
    init_mlp,
    n_params,
    network_index,
    networks_of,
    weight_views,
    zeros_like_grads,
)
from tests.gradcheck import numeric_grad


def _loss(mlp: MLP, x: np.ndarray, y: np.ndarray) -> float:
    """Sum over the stacked networks: each one's gradient is then its own loss's gradient."""
    logits, _ = forward(mlp, x)
    return float(softmax_cross_entropy(logits, y)[0].sum())


def _tiny_net(
    rng: np.random.Generator, activation: str, n_nets: int = 2, *, batch_norm: bool = False
) -> tuple[MLP, np.ndarray]:
    """5→4→4→3 so the shared first layer, a middle layer and the output layer are all checked;
    biases, γ and β random so that none of them sits at a special value; redrawn until no
    pre-activation sits within 1e-4 of a kink."""
    inits = [INITIALIZERS["glorot_normal"]] * n_nets
    while True:
        mlp = init_mlp(
            [rng] * n_nets,
            inits,
            (5, 4, 4, 3),
            ACTIVATIONS[activation],
            np.float64,
            batch_norm=batch_norm,
        )
        for b in mlp.biases:
            b[...] = rng.standard_normal(b.shape) * 0.1
        if mlp.norm is not None:
            for g, b in zip(mlp.norm.gammas, mlp.norm.betas, strict=True):
                g[...] = 1 + rng.standard_normal(g.shape) * 0.3
                b[...] = rng.standard_normal(b.shape) * 0.3
        x = rng.standard_normal((6, 5))
        _, cache = forward(mlp, x)
        if all(np.abs(z).min() > 1e-4 for z in cache.z):
            return mlp, x


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch_norm"])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_mlp_backward_matches_finite_differences(
    activation: str, batch_norm: bool, rng: np.random.Generator
) -> None:
    """Every parameter's gradient, γ and β included; with batch norm the batch statistics
    depend on every sample, so this also checks the gradient through the mean and variance."""
    mlp, x = _tiny_net(rng, activation, batch_norm=batch_norm)
    y = rng.integers(0, 3, len(x))
    logits, cache = forward(mlp, x)
    _, dlogits = softmax_cross_entropy(logits, y)
    grads = backward(mlp, cache, dlogits)
    for param, grad in zip(mlp.params, grads.params, strict=True):
        numeric = numeric_grad(lambda: _loss(mlp, x, y), param)
        assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_mlp_backward_directional_derivative_on_book_architecture(
    rng: np.random.Generator,
) -> None:
    """⟨∇L, v⟩ against [L(θ+εv) − L(θ−εv)] / 2ε for a random direction v, 784-100×4-10."""
    inits = [INITIALIZERS["he_normal"], INITIALIZERS["lecun_normal"]]
    mlp = init_mlp(
        [rng, rng], inits, (784, 100, 100, 100, 100, 10), ACTIVATIONS["tanh"], np.float64
    )
    x = rng.random((16, 784))
    y = rng.integers(0, 10, 16)
    logits, cache = forward(mlp, x)
    _, dlogits = softmax_cross_entropy(logits, y)
    grads = backward(mlp, cache, dlogits)
    directions = [rng.standard_normal(p.shape) for p in mlp.params]
    analytic = sum(float((g * v).sum()) for g, v in zip(grads.params, directions, strict=True))
    eps = 1e-6
    losses = []
    for sign in (1, -1):
        for p, v in zip(mlp.params, directions, strict=True):
            p += sign * eps * v
        losses.append(_loss(mlp, x, y))
        for p, v in zip(mlp.params, directions, strict=True):
            p -= sign * eps * v
    assert analytic == pytest.approx((losses[0] - losses[1]) / (2 * eps), rel=1e-6)


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch_norm"])
def test_stacked_networks_are_independent(batch_norm: bool, rng: np.random.Generator) -> None:
    """Network k's logits and gradients are what it would get alone: stacking changes nothing
    (batch norm's statistics included: each network averages over its own batch axis)."""
    inits = [INITIALIZERS["he_normal"], INITIALIZERS["std_0.01"], INITIALIZERS["orthogonal"]]
    rngs = [np.random.default_rng(s) for s in (1, 2, 3)]
    relu = ACTIVATIONS["relu"]
    stacked = init_mlp(rngs, inits, (20, 8, 8, 4), relu, np.float64, batch_norm=batch_norm)
    x = rng.standard_normal((6, 20))
    y = rng.integers(0, 4, 6)
    logits, cache = forward(stacked, x)
    grads = backward(stacked, cache, softmax_cross_entropy(logits, y)[1])
    for k, init in enumerate(inits):
        alone = init_mlp(
            [np.random.default_rng(k + 1)],
            [init],
            (20, 8, 8, 4),
            relu,
            np.float64,
            batch_norm=batch_norm,
        )
        logits_k, cache_k = forward(alone, x)
        grads_k = backward(alone, cache_k, softmax_cross_entropy(logits_k, y)[1])
        assert_allclose(logits[k], logits_k[0], rtol=1e-12, atol=1e-14)
        for g, g_k in zip(grads.params, grads_k.params, strict=True):
            assert_allclose(g[k], g_k[0], rtol=1e-10, atol=1e-14)


def test_init_mlp_shapes_and_dtype(rng: np.random.Generator) -> None:
    mlp = init_mlp([rng] * 3, [INITIALIZERS["he_normal"]] * 3, (784, 50, 10), ACTIVATIONS["relu"])
    assert mlp.sizes == (784, 50, 10)
    assert mlp.n_nets == 3
    assert [w.shape for w in mlp.weights] == [(3, 784, 50), (3, 50, 10)]
    assert [b.shape for b in mlp.biases] == [(3, 1, 50), (3, 1, 10)]
    assert all(p.dtype == np.float32 for p in mlp.params)
    logits, _ = forward(mlp, np.zeros((7, 784), np.float32))
    assert logits.shape == (3, 7, 10)
    assert logits.dtype == np.float32


def test_batch_norm_standardizes_every_hidden_unit_whatever_the_weight_scale(
    rng: np.random.Generator,
) -> None:
    """std = 0.01 weights give tiny z, yet the activation's input has mean β = 0 and variance
    γ² = 1 per unit over the batch: the reason batch norm rescues a poor initialization.
    (Up to var(z) / (var(z) + EPS): z's variance here is 1e-3 to 3e-3, so 0.3 to 3 % less.)"""
    mlp = init_mlp(
        [rng], [INITIALIZERS["std_0.01"]], (30, 20, 20, 5), ACTIVATIONS["relu"], batch_norm=True
    )
    _, cache = forward(mlp, rng.standard_normal((64, 30)).astype(np.float32))
    for z in cache.z[:-1]:
        assert_allclose(z.mean(axis=1), 0, atol=1e-5)
        assert_allclose(z.var(axis=1, dtype=np.float64), 1, rtol=0.05)


def test_batch_norm_testing_mode_uses_the_running_statistics(rng: np.random.Generator) -> None:
    """Repeated training passes on one batch drive the running mean and variance to that
    batch's, so testing on it then gives the training logits (up to the EPS in the variance)."""
    mlp = init_mlp(
        [rng, rng],
        [INITIALIZERS["he_normal"]] * 2,
        (10, 8, 8, 3),
        ACTIVATIONS["tanh"],
        np.float64,
        batch_norm=True,
    )
    x = rng.standard_normal((50, 10))
    before, _ = forward(mlp, x, training=False)
    for _ in range(200):
        train_logits, _ = forward(mlp, x)
    test_logits, _ = forward(mlp, x, training=False)
    assert not np.allclose(before, train_logits, atol=1e-2)
    assert_allclose(test_logits, train_logits, rtol=1e-3, atol=1e-4)


def test_parameters_and_gradients_are_views_of_one_flat_vector(rng: np.random.Generator) -> None:
    """W, b, γ and β live in `flat` (what an optimizer steps), each layer's W and b as the
    rows of one block W̃ = [W; b]; gradients are laid out alike."""
    mlp = init_mlp(
        [rng] * 2,
        [INITIALIZERS["he_normal"]] * 2,
        (6, 5, 4, 3),
        ACTIVATIONS["relu"],
        np.float64,
        batch_norm=True,
    )
    assert mlp.flat.size == n_params(2, (6, 5, 4, 3), batch_norm=True)
    assert mlp.flat.size == sum(p.size for p in mlp.params)
    grads = zeros_like_grads(mlp)
    for param, grad in zip(mlp.params, grads.params, strict=True):
        assert np.shares_memory(param, mlp.flat)
        assert np.shares_memory(grad, grads.flat)
        assert grad.shape == param.shape
    for block, w, b in zip(mlp.blocks, mlp.weights, mlp.biases, strict=True):
        np.testing.assert_array_equal(block[:, :-1], w)
        np.testing.assert_array_equal(block[:, -1:], b)
    mlp.flat[:] = 7
    assert all((p == 7).all() for p in mlp.params)
    owner = network_index(mlp)
    for p in mlp.params:
        for k in range(2):
            p[k] = k + 1  # mark network k's numbers in its own arrays
    np.testing.assert_array_equal(mlp.flat, owner + 1)


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch_norm"])
def test_backward_hands_out_every_hidden_dz(batch_norm: bool, rng: np.random.Generator) -> None:
    """`dzs` receives ∂L/∂z (K, batch, units) of each hidden layer, z = a_prev @ W + b taken
    before batch norm: its product with the layer's input is that layer's dW."""
    mlp, x = _tiny_net(rng, "tanh", n_nets=2, batch_norm=batch_norm)
    logits, cache = forward(mlp, x)
    dzs: list[np.ndarray] = []
    grads = backward(mlp, cache, softmax_cross_entropy(logits, rng.integers(0, 3, 6))[1], dzs=dzs)
    assert [dz.shape for dz in dzs] == [(2, 6, 4), (2, 6, 4)]
    inputs = [np.broadcast_to(x, (2, *x.shape)), *cache.a[:-1]]  # (K, batch, fan_in)
    for a_prev, dz, dw in zip(inputs, dzs, grads.weights[:-1], strict=True):
        assert_allclose(a_prev.transpose(0, 2, 1) @ dz, dw, rtol=1e-12, atol=1e-15)


def test_weight_views_read_a_copy_of_the_parameters(rng: np.random.Generator) -> None:
    """A copy of `flat` (the parameters before an update, say) read as every layer's W."""
    mlp = init_mlp(
        [rng] * 3, [INITIALIZERS["he_normal"]] * 3, (6, 5, 4, 3), ACTIVATIONS["relu"],
        batch_norm=True,
    )  # fmt: skip
    before = mlp.flat.copy()
    views = weight_views(mlp, before)
    mlp.flat += 1
    for w, view in zip(mlp.weights, views, strict=True):
        assert np.shares_memory(view, before) and view.shape == w.shape
        np.testing.assert_array_equal(view + 1, w)


@pytest.mark.parametrize("linear_output", [True, False], ids=["logits", "hidden_top"])
def test_copied_with_runs_like_the_original_and_never_writes_it(
    linear_output: bool, rng: np.random.Generator
) -> None:
    """A copy with another f: its passes are the original's with that f, bit for bit, and
    training passes (batch norm's running statistics) or writes to it leave the original as
    it was."""
    tanh, relu = ACTIVATIONS["tanh"], ACTIVATIONS["relu"]
    sizes, he = (6, 5, 4, 3), [INITIALIZERS["he_normal"]] * 2
    mlp = init_mlp([rng, rng], he, sizes, tanh, batch_norm=True, linear_output=linear_output)
    flat, means = mlp.flat.copy(), [m.copy() for m in mlp.norm.running_means]
    copy = copied_with(mlp, relu)
    assert copy.activation is relu and copy.linear_output == linear_output
    assert not np.shares_memory(copy.flat, mlp.flat)
    x = rng.standard_normal((7, 6)).astype(mlp.flat.dtype)
    norm = mlp.norm
    running = [m.copy() for m in norm.running_means], [v.copy() for v in norm.running_vars]
    same_relu = MLP(mlp.weights, mlp.biases, relu, BatchNorm(norm.gammas, norm.betas, *running),
                    flat=mlp.flat, blocks=mlp.blocks, linear_output=linear_output)  # fmt: skip
    np.testing.assert_array_equal(forward(copy, x)[0], forward(same_relu, x)[0])
    copy.flat += 1
    np.testing.assert_array_equal(mlp.flat, flat)
    for m, before in zip(mlp.norm.running_means, means, strict=True):
        np.testing.assert_array_equal(m, before)


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch_norm"])
def test_forward_and_backward_into_buffers_match_fresh_arrays(
    batch_norm: bool, rng: np.random.Generator
) -> None:
    """A training step writes into buffers from `empty_cache` and `zeros_like_grads`; reused
    over two different batches, they give exactly what fresh arrays give."""
    mlp = init_mlp(
        [rng] * 3,
        [INITIALIZERS["he_normal"], INITIALIZERS["std_0.01"], INITIALIZERS["lecun_normal"]],
        (12, 7, 6, 4),
        ACTIVATIONS["tanh"],
        batch_norm=batch_norm,
    )
    cache, grads = empty_cache(mlp, 5), zeros_like_grads(mlp)
    for _ in range(2):
        x = rng.standard_normal((5, 12)).astype(np.float32)
        y = rng.integers(0, 4, 5)
        cache.x[...] = x
        logits, _ = forward(mlp, cache.x, out=cache)
        backward(mlp, cache, softmax_cross_entropy(logits, y)[1], out=grads)
        fresh_logits, fresh_cache = forward(mlp, x)
        fresh = backward(mlp, fresh_cache, softmax_cross_entropy(fresh_logits, y)[1])
        np.testing.assert_array_equal(logits, fresh_logits)
        np.testing.assert_array_equal(grads.flat, fresh.flat)
        for a, fresh_a in zip(cache.a, fresh_cache.a, strict=True):
            np.testing.assert_array_equal(a, fresh_a)


def test_rows_of_a_batch_add_up_to_the_whole_batch(rng: np.random.Generator) -> None:
    """Workers that split a batch's rows add their losses and gradients: with `batch`, each
    part is scaled by the whole batch, so the sum is the whole batch's (float64, exact to
    rounding)."""
    mlp, x = _tiny_net(rng, "relu", n_nets=2)
    y = rng.integers(0, 3, len(x))
    logits, cache = forward(mlp, x)
    loss, dlogits = softmax_cross_entropy(logits, y)
    whole = backward(mlp, cache, dlogits)
    parts_loss, parts_grad = np.zeros_like(loss), np.zeros_like(whole.flat)
    for rows in (slice(0, 2), slice(2, 6)):
        logits, cache = forward(mlp, x[rows])
        part_loss, dlogits = softmax_cross_entropy(logits, y[rows], batch=len(x))
        parts_loss += part_loss
        parts_grad += backward(mlp, cache, dlogits).flat
    assert_allclose(parts_loss, loss, rtol=1e-12)
    assert_allclose(parts_grad, whole.flat, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch norm"])
def test_networks_taken_out_of_a_stack_compute_as_they_did_in_it(batch_norm: bool) -> None:
    """Networks 0 and 2 of a stack of 3, as a stack of their own (a race hands networks from
    one worker's stack to another's): the same parameters, running statistics and outputs."""
    rng = np.random.default_rng(0)
    mlp, x = _tiny_net(rng, "tanh", n_nets=3, batch_norm=batch_norm)
    if mlp.norm is not None:
        for m in mlp.norm.running_means:
            m[...] = rng.standard_normal(m.shape)
    before = mlp.flat.copy()
    two = networks_of(mlp, [0, 2])
    assert two.n_nets == 2 and two.sizes == mlp.sizes
    for mine, theirs in zip(two.params, mlp.params, strict=True):
        np.testing.assert_array_equal(mine, theirs[[0, 2]])
    if mlp.norm is not None and two.norm is not None:
        np.testing.assert_array_equal(two.norm.running_means[0], mlp.norm.running_means[0][[0, 2]])
    for training in (True, False):
        logits, _ = forward(mlp, x, training=training)
        mine, _ = forward(two, x, training=training)
        assert_allclose(mine, logits[[0, 2]], rtol=1e-12)
    two.flat[...] = 0  # a copy: the stack is untouched
    np.testing.assert_array_equal(mlp.flat, before)
