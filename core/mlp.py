"""A stack of K fully connected networks of one shape, trained side by side on the same batch.

The book's experiment trains one network per initializer on identical mini-batches. Stacking
them makes that protocol structural (one batch, K networks) and fast: the first layer of every
network is one GEMM on the shared batch, the other layers are batched `matmul`s.

Shapes: x (batch, fan_in) is shared; W[l] (K, fan_in, fan_out); b[l] (K, 1, fan_out);
z[l] = a[l-1] @ W[l] + b[l] and a[l] = f(z[l]), both (K, batch, fan_out). The last layer is
linear (logits). A single network is simply K = 1.

With batch normalization (the book's §6.3), every hidden layer's z is standardized over the
batch and scaled by learned γ and shifted by learned β, both (K, 1, fan_out), before f:
a[l] = f(γ[l] · x̂[l] + β[l]). The bias b then cancels out; it is kept so that the parameter
list has one shape with or without it (its gradient is zero).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core import batchnorm
from core.activations import Activation
from core.initializers import Initializer
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
    """Parameters of K stacked networks; `weights[0]` is a (K, fan_in, fan_out) view of a
    (fan_in, K, fan_out) buffer, so that the first layers of all K networks form one matrix."""

    weights: list[FloatArray]
    biases: list[FloatArray]
    activation: Activation
    norm: BatchNorm | None = None

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
    """dL/dW, dL/db, dL/dγ and dL/dβ, shaped like the parameters (no γ, β without norm)."""

    weights: list[FloatArray]
    biases: list[FloatArray]
    gammas: list[FloatArray]
    betas: list[FloatArray]

    @property
    def params(self) -> list[FloatArray]:
        return [*self.weights, *self.biases, *self.gammas, *self.betas]


def zeros_like_grads(mlp: MLP) -> Grads:
    """Gradient buffers shaped and laid out like the parameters (the first layer's included)."""
    first = np.zeros_like(first_layer_matrix(mlp.weights[0]))
    n_nets, fan_in, fan_out = mlp.weights[0].shape
    weights = [first.reshape(fan_in, n_nets, fan_out).transpose(1, 0, 2)]
    weights += [np.zeros_like(w) for w in mlp.weights[1:]]
    biases = [np.zeros_like(b) for b in mlp.biases]
    if mlp.norm is None:
        return Grads(weights, biases, [], [])
    gammas = [np.zeros_like(g) for g in mlp.norm.gammas]
    return Grads(weights, biases, gammas, [np.zeros_like(b) for b in mlp.norm.betas])


@dataclass(eq=False)
class Cache:
    """What backward needs from forward: the shared input, every layer's input to f (z, or
    γ·x̂ + β with batch norm), every a, and the batch norm of each hidden layer (if any)."""

    x: FloatArray
    z: list[FloatArray]
    a: list[FloatArray]
    norms: list[batchnorm.Normalized]


def first_layer_matrix(w0: FloatArray) -> FloatArray:
    """(K, fan_in, fan_out) → (fan_in, K·fan_out): the K first layers side by side, as a view."""
    n_nets, fan_in, fan_out = w0.shape
    return w0.transpose(1, 0, 2).reshape(fan_in, n_nets * fan_out)


def init_mlp(
    rngs: Sequence[np.random.Generator],
    initializers: Sequence[Initializer],
    sizes: Sequence[int],
    activation: Activation,
    dtype: npt.DTypeLike = DEFAULT_DTYPE,
    *,
    batch_norm: bool = False,
) -> MLP:
    """K networks with layer sizes `sizes` (input first), network k drawn by initializers[k]
    from rngs[k]. Every layer, the output layer included, uses that initializer (as the book
    does); biases start at zero; with `batch_norm`, γ at 1 and β at 0."""
    if len(rngs) != len(initializers):
        raise ValueError(f"need one rng per initializer, got {len(rngs)} and {len(initializers)}")
    n_nets = len(initializers)
    first = np.empty((sizes[0], n_nets, sizes[1]), dtype=dtype)
    weights = [first.transpose(1, 0, 2)]
    weights += [np.empty((n_nets, *shape), dtype=dtype) for shape in itertools.pairwise(sizes[1:])]
    for k, (rng, init) in enumerate(zip(rngs, initializers, strict=True)):
        for w in weights:
            w[k] = init.sample(rng, w.shape[1], w.shape[2], dtype)
    biases = [np.zeros((n_nets, 1, fan_out), dtype=dtype) for fan_out in sizes[1:]]
    norm = None
    if batch_norm:
        shapes = [(n_nets, 1, units) for units in sizes[1:-1]]
        norm = BatchNorm(
            gammas=[np.ones(s, dtype=dtype) for s in shapes],
            betas=[np.zeros(s, dtype=dtype) for s in shapes],
            running_means=[np.zeros(s, dtype=dtype) for s in shapes],
            running_vars=[np.ones(s, dtype=dtype) for s in shapes],
        )
    return MLP(weights, biases, activation, norm)


def forward(mlp: MLP, x: FloatArray, *, training: bool = True) -> tuple[FloatArray, Cache]:
    """Logits (K, batch, classes) of every network for the shared batch x (batch, fan_in).

    With batch norm, `training` standardizes with the batch's statistics (and updates the
    running ones); otherwise with the running statistics, as a test does.
    """
    batch = x.shape[0]
    n_nets, _, fan_out = mlp.weights[0].shape
    # One GEMM for all first layers: (batch, fan_in) @ (fan_in, K·fan_out).
    side_by_side = (x @ first_layer_matrix(mlp.weights[0])).reshape(batch, n_nets, fan_out)
    # Written into a fresh C-ordered (K, batch, fan_out) array: every later op then runs on
    # contiguous memory, which halves the cost of the elementwise work.
    z = np.empty((n_nets, batch, fan_out), dtype=x.dtype)
    np.add(side_by_side.transpose(1, 0, 2), mlp.biases[0], out=z)
    zs, activations, norms = [], [], []
    for layer, (w, b) in enumerate(zip(mlp.weights[1:], mlp.biases[1:], strict=True)):
        if mlp.norm is not None:
            z = _normalize(mlp.norm, layer, z, training, norms)
        zs.append(z)
        a = mlp.activation.fn(z)
        activations.append(a)
        z = np.matmul(a, w)  # (K, batch, fan_out)
        z += b
    zs.append(z)
    return z, Cache(x, zs, activations, norms)


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


def backward(mlp: MLP, cache: Cache, dlogits: FloatArray, out: Grads | None = None) -> Grads:
    """Gradients of the loss whose gradient with respect to the logits is `dlogits`.

    Skips the input's own gradient (nothing learns from it), the most expensive product.
    With `out` (from `zeros_like_grads`), the weight gradients are written into its arrays:
    a training loop then reuses the same memory every step instead of faulting in ~1 MB anew.
    """
    n_layers = len(mlp.weights)
    dweights: list[FloatArray] = [np.empty(0)] * n_layers
    dbiases: list[FloatArray] = [np.empty(0)] * n_layers
    n_norms = 0 if mlp.norm is None else n_layers - 1
    dgammas: list[FloatArray] = [np.empty(0)] * n_norms
    dbetas: list[FloatArray] = [np.empty(0)] * n_norms
    dz = dlogits
    for layer in range(n_layers - 1, 0, -1):
        a_prev = cache.a[layer - 1]
        dweights[layer] = np.matmul(  # (K, fan_in, fan_out)
            a_prev.transpose(0, 2, 1), dz, out=None if out is None else out.weights[layer]
        )
        dbiases[layer] = dz.sum(axis=1, keepdims=True)
        dz_prev = np.matmul(dz, mlp.weights[layer].transpose(0, 2, 1))  # (K, batch, fan_in)
        dz_prev *= mlp.activation.grad(cache.z[layer - 1])  # da → dz, in place
        if mlp.norm is not None:  # back through γ·x̂ + β and the batch statistics
            dz_prev, dgammas[layer - 1], dbetas[layer - 1] = batchnorm.batch_norm_backward(
                dz_prev, cache.norms[layer - 1], mlp.norm.gammas[layer - 1]
            )
        dz = dz_prev
    n_nets, batch, fan_out = dz.shape
    # One GEMM for all first layers: (fan_in, batch) @ (batch, K·fan_out).
    dz_side_by_side = np.ascontiguousarray(dz.transpose(1, 0, 2)).reshape(batch, -1)
    dw0 = None if out is None else first_layer_matrix(out.weights[0])
    dw0 = np.matmul(cache.x.T, dz_side_by_side, out=dw0)  # (fan_in, K·fan_out)
    dweights[0] = dw0.reshape(-1, n_nets, fan_out).transpose(1, 0, 2)
    dbiases[0] = dz.sum(axis=1, keepdims=True)
    return Grads(dweights, dbiases, dgammas, dbetas)
