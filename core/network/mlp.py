"""A stack of K fully connected networks of one shape, trained side by side on the same batch.

The book's experiment trains one network per initializer on identical mini-batches. Stacking
them makes that protocol structural (one batch, K networks) and fast: the first layer of every
network is one GEMM on the shared batch, the other layers are batched `matmul`s.

Shapes: x (batch, fan_in) is shared; W[l] (K, fan_in, fan_out); b[l] (K, 1, fan_out);
z[l] = a[l-1] @ W[l] + b[l] and a[l] = f(z[l]), both (K, batch, fan_out). The last layer is
linear (logits). A single network is simply K = 1. With `linear_output=False` every layer is a
hidden one (the forward experiment's and the depth sweep's nets look at f of the last layer too):
the pass then returns the last a, and backward starts from ∂L/∂a of it.

With batch normalization (the book's §6.3), every hidden layer's z is standardized over the
batch and scaled by learned γ and shifted by learned β, both (K, 1, fan_out), before f:
a[l] = f(γ[l] · x̂[l] + β[l]). The bias b then cancels out; it is kept so that the parameter
list has one shape with or without it (its gradient is zero).

Memory: each layer's W and b are stored together as one augmented matrix W̃ = [W; b]
(fan_in + 1, fan_out), and all of them, with γ and β, in one flat vector (`MLP.flat`); W, b,
γ and β are views of it, and gradients are laid out alike (`Grads.flat`). Each layer's input
then carries a column of ones, x̃ = [x, 1], so that z = x̃ @ W̃ adds the bias inside the GEMM
and dW̃ = x̃ᵀ @ dz yields db as its last row: two passes over every layer's (K, batch, units)
fewer per step (about a tenth of W's step time, measured). The flat vector lets an optimizer
update the whole network in two NumPy calls instead of two per array, and lets workers that
share networks each update a contiguous part. A training step writes its arrays into buffers
allocated once (`empty_cache`), and the first layer stays in the (batch, K·fan_out) layout its
one GEMM needs, forward and backward, instead of being copied to (K, batch, fan_out) and back.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass

import numpy as np
import numpy.typing as npt

from core.network import batchnorm
from core.network.activations import Activation
from core.network.initializers import Initializer
from core.types import DEFAULT_DTYPE, FloatArray


@dataclass(eq=False)
class BatchNorm:
    """Per hidden layer, (K, 1, units) each: the learned γ and β, and the running mean and
    variance of z that replace the batch's when testing (one digit has no batch to average)."""

    gammas: list[FloatArray]
    betas: list[FloatArray]
    running_means: list[FloatArray]
    running_vars: list[FloatArray]


@dataclass(eq=False)
class MLP:
    """Parameters of K stacked networks, all views of `flat`: layer l's W and b are the rows of
    `blocks[l]`, W̃ = [W; b] (K, fan_in + 1, fan_out). The first layer's block is a view of a
    (fan_in + 1, K, fan_out) array, so that the first layers of all K networks form one matrix
    (`first_layer_matrix`)."""

    weights: list[FloatArray]
    biases: list[FloatArray]
    activation: Activation
    norm: BatchNorm | None = None
    _: KW_ONLY
    flat: FloatArray
    blocks: list[FloatArray]
    linear_output: bool = True

    @property
    def n_nets(self) -> int:
        return self.weights[0].shape[0]

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.weights[0].shape[1], *(w.shape[2] for w in self.weights))

    @property
    def params(self) -> list[FloatArray]:
        """Everything learned in one list (weights, biases, then γ and β), the order
        `Grads.params` uses too."""
        norm = [] if self.norm is None else [*self.norm.gammas, *self.norm.betas]
        return [*self.weights, *self.biases, *norm]


@dataclass(eq=False)
class Grads:
    """dL/dW, dL/db, dL/dγ and dL/dβ, shaped like the parameters (no γ, β without norm), all
    views of `flat`, which is laid out like `MLP.flat`; `blocks[l]` is dL/dW̃ = [dW; db]."""

    weights: list[FloatArray]
    biases: list[FloatArray]
    gammas: list[FloatArray]
    betas: list[FloatArray]
    _: KW_ONLY
    flat: FloatArray
    blocks: list[FloatArray]

    @property
    def params(self) -> list[FloatArray]:
        return [*self.weights, *self.biases, *self.gammas, *self.betas]


@dataclass(eq=False)
class Cache:
    """What backward needs from forward: the shared input, every layer's input to f (z, or
    γ·x̂ + β with batch norm) with the logits last, every a, and the batch norm of each hidden
    layer (if any).

    `x` and every `a` are views of the buffers `inputs`, each layer's x̃ = [x, 1] (a last
    column of ones); `z_buffers` and `dz_buffers` are where forward writes x̃ @ W̃ and backward
    dL/dz of each hidden layer, the first of each (batch, K·fan_out).
    """

    x: FloatArray
    z: list[FloatArray]
    a: list[FloatArray]
    norms: list[batchnorm.Normalized]
    inputs: list[FloatArray]
    z_buffers: list[FloatArray]
    dz_buffers: list[FloatArray]


def _hidden_sizes(sizes: Sequence[int], linear_output: bool) -> Sequence[int]:
    """The units of every hidden layer (the layers followed by f)."""
    return sizes[1:-1] if linear_output else sizes[1:]


def _layout(
    flat: npt.NDArray[np.generic],
    n_nets: int,
    sizes: Sequence[int],
    batch_norm: bool,
    linear_output: bool = True,
) -> dict[str, list[FloatArray]]:
    """Views of `flat`: every layer's W̃ (K, fan_in + 1, fan_out) as `blocks`, its rows as
    `weights` and `biases`, then `gammas` and `betas` (K, 1, units) of every hidden layer."""
    layers = list(itertools.pairwise(sizes))
    shapes = [(sizes[0] + 1, n_nets, sizes[1])]  # the first layer's: K matrices side by side
    shapes += [(n_nets, fan_in + 1, fan_out) for fan_in, fan_out in layers[1:]]
    hidden = _hidden_sizes(sizes, linear_output)
    shapes += [(n_nets, 1, units) for units in hidden] * (2 if batch_norm else 0)
    views, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        views.append(flat[start : start + size].reshape(shape))
        start += size
    if start != flat.size:
        raise ValueError(f"a flat vector of {flat.size} numbers does not fit sizes {sizes}")
    views[0] = views[0].transpose(1, 0, 2)  # (K, fan_in + 1, fan_out)
    blocks, norm = views[: len(layers)], views[len(layers) :]
    return {
        "blocks": blocks,
        "weights": [w[:, :-1] for w in blocks],
        "biases": [w[:, -1:] for w in blocks],
        "gammas": norm[: len(norm) // 2],
        "betas": norm[len(norm) // 2 :],
    }


def n_params(
    n_nets: int, sizes: Sequence[int], batch_norm: bool, linear_output: bool = True
) -> int:
    """How many numbers `MLP.flat` holds."""
    per_net = sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(sizes))
    norm = 2 * sum(_hidden_sizes(sizes, linear_output)) if batch_norm else 0
    return n_nets * (per_net + norm)


def _mlp_layout(mlp: MLP, flat: npt.NDArray[np.generic]) -> dict[str, list[FloatArray]]:
    """`_layout` of a vector laid out like `mlp.flat`."""
    return _layout(flat, mlp.n_nets, mlp.sizes, mlp.norm is not None, mlp.linear_output)


def zeros_like_grads(mlp: MLP) -> Grads:
    """Gradient buffers laid out like the parameters (the first layer's included)."""
    flat = np.zeros_like(mlp.flat)
    return Grads(**_mlp_layout(mlp, flat), flat=flat)


def moved_to(mlp: MLP, flat: FloatArray) -> MLP:
    """The same networks with their parameters copied into `flat` (laid out like `mlp.flat`,
    in memory worker processes share, say); batch norm's running statistics are kept as is."""
    flat[...] = mlp.flat
    layout = _layout(flat, mlp.n_nets, mlp.sizes, mlp.norm is not None)
    norm = None
    if mlp.norm is not None:
        norm = BatchNorm(
            layout["gammas"], layout["betas"], mlp.norm.running_means, mlp.norm.running_vars
        )
    weights, biases = layout["weights"], layout["biases"]
    return MLP(weights, biases, mlp.activation, norm, flat=flat, blocks=layout["blocks"])


def copied_with(mlp: MLP, activation: Activation) -> MLP:
    """The same networks in new memory (the parameters and batch norm's running statistics
    copied), with f = `activation`: a drawn network kept for later passes is never written."""
    flat = mlp.flat.copy()
    layout = _mlp_layout(mlp, flat)
    norm = None
    if mlp.norm is not None:
        running = (
            [m.copy() for m in mlp.norm.running_means],
            [v.copy() for v in mlp.norm.running_vars],
        )
        norm = BatchNorm(layout["gammas"], layout["betas"], *running)
    return MLP(
        layout["weights"],
        layout["biases"],
        activation,
        norm,
        flat=flat,
        blocks=layout["blocks"],
        linear_output=mlp.linear_output,
    )


def grads_on(mlp: MLP, flat: FloatArray) -> Grads:
    """Gradient views of `flat` (zeroed here), laid out like the parameters."""
    flat.fill(0)
    return Grads(**_layout(flat, mlp.n_nets, mlp.sizes, mlp.norm is not None), flat=flat)


def weight_views(mlp: MLP, flat: FloatArray) -> list[FloatArray]:
    """Every layer's W (K, fan_in, fan_out) as views of `flat`, a vector laid out like
    `mlp.flat` (a copy of the parameters taken before an update, say)."""
    return _mlp_layout(mlp, flat)["weights"]


def network_index(mlp: MLP) -> npt.NDArray[np.intp]:
    """Which network each number of `mlp.flat` belongs to, shaped like it."""
    index = np.empty(mlp.flat.shape, dtype=np.intp)
    layout = _mlp_layout(mlp, index)
    for block in itertools.chain(layout["blocks"], layout["gammas"], layout["betas"]):
        block[...] = np.arange(mlp.n_nets).reshape(-1, 1, 1)
    return index


def network_mask(mlp: MLP, positions: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Which numbers of `mlp.flat` belong to the networks at `positions` of the stack: taken
    in order, they are laid out as the `flat` of a stack of those networks alone."""
    return np.isin(network_index(mlp), positions)


def networks_of(mlp: MLP, positions: npt.ArrayLike) -> MLP:
    """The networks at `positions` (increasing) of the stack, copied into a stack of their own
    (batch norm's running statistics included)."""
    positions = np.asarray(positions)
    flat = mlp.flat[network_mask(mlp, positions)]
    layout = _layout(flat, len(positions), mlp.sizes, mlp.norm is not None, mlp.linear_output)
    norm = None
    if mlp.norm is not None:
        running = (
            [m[positions] for m in mlp.norm.running_means],
            [v[positions] for v in mlp.norm.running_vars],
        )
        norm = BatchNorm(layout["gammas"], layout["betas"], *running)
    return MLP(
        layout["weights"],
        layout["biases"],
        mlp.activation,
        norm,
        flat=flat,
        blocks=layout["blocks"],
        linear_output=mlp.linear_output,
    )


def first_layer_matrix(w0: FloatArray) -> FloatArray:
    """(K, fan_in, fan_out) → (fan_in, K·fan_out): the K first layers side by side, as a view
    (of W or W̃: the first layer's memory is laid out that way)."""
    n_nets, fan_in, fan_out = w0.shape
    return w0.transpose(1, 0, 2).reshape(fan_in, n_nets * fan_out)


def _side_by_side(matrix: FloatArray, n_nets: int) -> FloatArray:
    """(batch, K·fan_out) → (K, batch, fan_out), as a view: network k's columns as its rows."""
    batch = matrix.shape[0]
    return matrix.reshape(batch, n_nets, -1).transpose(1, 0, 2)


def init_mlp(
    rngs: Sequence[np.random.Generator],
    initializers: Sequence[Initializer],
    sizes: Sequence[int],
    activation: Activation,
    dtype: npt.DTypeLike = DEFAULT_DTYPE,
    *,
    batch_norm: bool = False,
    linear_output: bool = True,
) -> MLP:
    """K networks with layer sizes `sizes` (input first), network k drawn by initializers[k]
    from rngs[k]. Every layer, the output layer included, uses that initializer (as the book
    does); biases start at zero; with `batch_norm`, γ at 1 and β at 0. `linear_output=False`
    makes the last layer a hidden one too (f, and batch norm if any)."""
    if len(rngs) != len(initializers):
        raise ValueError(f"need one rng per initializer, got {len(rngs)} and {len(initializers)}")
    n_nets = len(initializers)
    flat = np.zeros(n_params(n_nets, sizes, batch_norm, linear_output), dtype=dtype)
    layout = _layout(flat, n_nets, sizes, batch_norm, linear_output)
    for k, (rng, init) in enumerate(zip(rngs, initializers, strict=True)):
        for w in layout["weights"]:
            w[k] = init.sample(rng, w.shape[1], w.shape[2], dtype)
    norm = None
    if batch_norm:
        for g in layout["gammas"]:
            g.fill(1)
        norm = BatchNorm(
            gammas=layout["gammas"],
            betas=layout["betas"],
            running_means=[np.zeros_like(b) for b in layout["betas"]],
            running_vars=[np.ones_like(g) for g in layout["gammas"]],
        )
    weights, biases = layout["weights"], layout["biases"]
    blocks = layout["blocks"]
    return MLP(
        weights, biases, activation, norm, flat=flat, blocks=blocks, linear_output=linear_output
    )


def empty_cache(mlp: MLP, batch: int, dtype: npt.DTypeLike = DEFAULT_DTYPE) -> Cache:
    """Buffers for every array a forward and backward pass of `batch` rows writes."""
    n_nets, sizes = mlp.n_nets, mlp.sizes
    hidden = _hidden_sizes(sizes, mlp.linear_output)
    # Each layer's input x̃ = [x, 1]: (batch, fan_in + 1) shared, then (K, batch, units + 1).
    inputs = [np.ones((batch, sizes[0] + 1), dtype=dtype)]
    inputs += [np.ones((n_nets, batch, units + 1), dtype=dtype) for units in sizes[1:-1]]
    first = np.empty((batch, n_nets * sizes[1]), dtype=dtype)
    z_buffers = [first] + [np.empty((n_nets, batch, units), dtype=dtype) for units in sizes[2:]]
    dz_buffers = [np.empty_like(first)]
    dz_buffers += [np.empty((n_nets, batch, units), dtype=dtype) for units in hidden[1:]]
    z = [_side_by_side(first, n_nets), *z_buffers[1:]]
    a = [a_tilde[..., :-1] for a_tilde in inputs[1:]]
    if not mlp.linear_output:  # the last layer's a, which no layer takes as input
        a.append(np.empty((n_nets, batch, sizes[-1]), dtype=dtype))
    return Cache(inputs[0][:, :-1], z, a, [], inputs, z_buffers, dz_buffers)


def forward(
    mlp: MLP, x: FloatArray, *, training: bool = True, out: Cache | None = None
) -> tuple[FloatArray, Cache]:
    """Logits (K, batch, classes) of every network for the shared batch x (batch, fan_in);
    the last layer's a (K, batch, units) instead if `mlp.linear_output` is False.

    With batch norm, `training` standardizes with the batch's statistics (and updates the
    running ones); otherwise with the running statistics, as a test does. With `out` (from
    `empty_cache`), every product is written into its buffers; x may be `out.x` itself, filled
    by the caller, which spares a copy.
    """
    cache = empty_cache(mlp, x.shape[0], x.dtype) if out is None else out
    if x is not cache.x:
        cache.x[...] = x
    # One GEMM for all first layers: (batch, fan_in + 1) @ (fan_in + 1, K·fan_out).
    side_by_side = np.matmul(
        cache.inputs[0], first_layer_matrix(mlp.blocks[0]), out=cache.z_buffers[0]
    )
    z = _side_by_side(side_by_side, mlp.n_nets)  # (K, batch, fan_out), a view
    cache.norms = []
    for layer, w_tilde in enumerate(mlp.blocks[1:]):
        _hidden_layer(mlp, layer, z, training, cache)  # a into x̃ of the next layer
        z = np.matmul(cache.inputs[layer + 1], w_tilde, out=cache.z_buffers[layer + 1])
    if mlp.linear_output:
        cache.z[-1] = z
        return z, cache
    _hidden_layer(mlp, len(mlp.blocks) - 1, z, training, cache)
    return cache.a[-1], cache


def _hidden_layer(mlp: MLP, layer: int, z: FloatArray, training: bool, cache: Cache) -> None:
    """a = f(z), or f(γ·x̂ + β) with batch norm, into `cache.a[layer]`; f's input into
    `cache.z[layer]`."""
    if mlp.norm is not None:
        z = _normalize(mlp.norm, layer, z, training, cache.norms)
    cache.z[layer] = z
    cache.a[layer][...] = mlp.activation.fn(z)


def _normalize(
    norm: BatchNorm, layer: int, z: FloatArray, training: bool, norms: list[batchnorm.Normalized]
) -> FloatArray:
    """γ·x̂ + β for hidden layer `layer`, appending x̂ to `norms` when training."""
    gamma, beta = norm.gammas[layer], norm.betas[layer]
    if training:
        normalized, mean, var = batchnorm.standardize(z)
        batchnorm.update_running(norm.running_means[layer], mean)
        batchnorm.update_running(norm.running_vars[layer], var)
        norms.append(normalized)
        x_hat = normalized.x_hat
    else:
        x_hat = z - norm.running_means[layer]
        x_hat /= np.sqrt(norm.running_vars[layer] + z.dtype.type(batchnorm.EPS))
    out = x_hat * gamma
    out += beta
    return out


def backward(
    mlp: MLP,
    cache: Cache,
    dlogits: FloatArray,
    out: Grads | None = None,
    dzs: list[FloatArray] | None = None,
    slopes: list[FloatArray] | None = None,
) -> Grads:
    """Gradients of the loss whose gradient with respect to the logits is `dlogits` (with
    respect to the last layer's a if `mlp.linear_output` is False).

    Skips the input's own gradient (nothing learns from it), the most expensive product.
    With `out` (from `zeros_like_grads`), the gradients are written into its arrays: a training
    loop then reuses the same memory every step. A list `dzs` is filled with ∂L/∂z
    (K, batch, units) of every hidden layer, the first layer first (z before batch norm, if
    any), for the race's telemetry and the forward experiment: references to the step's own
    arrays (buffers of `cache` without batch norm), valid until the next pass overwrites them.
    A list `slopes` is filled likewise with f'(z) of every hidden layer (K, batch, units), so
    that a caller need not evaluate f' again.
    """
    grads = zeros_like_grads(mlp) if out is None else out
    n_layers = len(mlp.weights)
    dz = dlogits
    if not mlp.linear_output:  # the last layer is a hidden one: start from its ∂L/∂a
        dz = _dz_buffer(cache, n_layers - 1, mlp.n_nets)
        dz[...] = dlogits
        dz = _hidden_backward(mlp, cache, n_layers - 1, dz, grads, slopes)
        if dzs is not None:
            dzs.insert(0, dz)
    for layer in range(n_layers - 1, 0, -1):
        a_prev = cache.inputs[layer]  # x̃ = [a, 1], so that dW̃ = x̃ᵀ dz holds db as its last row
        np.matmul(a_prev.transpose(0, 2, 1), dz, out=grads.blocks[layer])  # (K, fan_in+1, fan_out)
        dz_prev = _dz_buffer(cache, layer - 1, mlp.n_nets)
        np.matmul(dz, mlp.weights[layer].transpose(0, 2, 1), out=dz_prev)  # (K, batch, fan_in)
        dz = _hidden_backward(mlp, cache, layer - 1, dz_prev, grads, slopes)
        if dzs is not None:
            dzs.insert(0, dz)
    batch = dz.shape[1]
    # One GEMM for all first layers: (fan_in + 1, batch) @ (batch, K·fan_out). Without batch
    # norm dz is already a view of that layout and reshaping it copies nothing.
    dz_side_by_side = np.ascontiguousarray(dz.transpose(1, 0, 2)).reshape(batch, -1)
    np.matmul(cache.inputs[0].T, dz_side_by_side, out=first_layer_matrix(grads.blocks[0]))
    return grads


def _dz_buffer(cache: Cache, layer: int, n_nets: int) -> FloatArray:
    """Where backward writes hidden layer `layer`'s ∂L/∂z (K, batch, units): the first
    layer's in its (batch, K·fan_out) layout, as a view."""
    buffer = cache.dz_buffers[layer]
    return _side_by_side(buffer, n_nets) if layer == 0 else buffer


def _hidden_backward(
    mlp: MLP,
    cache: Cache,
    layer: int,
    da: FloatArray,
    grads: Grads,
    slopes: list[FloatArray] | None = None,
) -> FloatArray:
    """∂L/∂z of hidden layer `layer` from its ∂L/∂a (`da`, overwritten): da · f'(z), then back
    through γ·x̂ + β and the batch statistics (writing ∂L/∂γ and ∂L/∂β into `grads`); f'(z)
    goes to the front of `slopes`, if given."""
    act = mlp.activation
    if act.grad_of_output is None:
        slope = act.grad(cache.z[layer])
    else:  # the same slopes from f's output: no exp or tanh evaluated again
        slope = act.grad_of_output(cache.a[layer])
    if slopes is not None:
        slopes.insert(0, slope)
    da *= slope  # da → dz, in place
    if mlp.norm is None:
        return da
    dz, dgamma, dbeta = batchnorm.batch_norm_backward(
        da, cache.norms[layer], mlp.norm.gammas[layer]
    )
    grads.gammas[layer][...], grads.betas[layer][...] = dgamma, dbeta
    return dz
