"""LSUV, layer-sequential unit-variance: a data-dependent initialization.

Mishkin & Matas's Algorithm 1: draw every W orthonormal (Saxe et al.), then, from the first
layer to the last, push a batch of data through the network and divide the layer's W by the
std of its output z = a_prev @ W + b on that batch, until |Var(z) − 1| < 0.1 or 10 rescalings
have been made. Var is taken over the whole (batch, fan_out) output, as the reference
implementation does. With the zero biases every network here starts with, z is linear in W, so
one rescaling lands on Var(z) = 1 up to rounding; the loop is kept as the paper writes it.

A layer whose output is constant on the batch (variance 0, e.g. below a layer of dead ReLUs)
cannot be rescaled to unit variance: that raises a `ValueError` naming the layer.

In the forward experiment the batch is the experiment's own input; in the training race it is
one batch of training digits drawn from the race's seed (`training_batch`), apart from the
stream of training batches, so every initializer still sees the same batches.

References: Mishkin & Matas 2016, "All you need is a good init", arXiv:1511.06422 (Alg. 1);
the PyPI package `lsuv` (its `LSUVinit`: std tolerance 0.1, at most 10 attempts, on the
output of each Linear/Conv layer); Saxe et al. 2013, arXiv:1312.6120 (the orthonormal draw).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from core.data.dataset import Dataset
from core.network import batchnorm
from core.network.initializers import Initializer
from core.network.mlp import MLP
from core.types import DEFAULT_DTYPE, FloatArray

TOLERANCE = 0.1  # Tol_var: |Var(z) − 1| below it ends a layer's rescaling
MAX_ITERATIONS = 10  # T_max: rescalings per layer at most
_PIXEL_SCALE = DEFAULT_DTYPE(1 / 255)  # as the race scales its batches


def scale_to_unit_variance(
    a_prev: FloatArray, w: FloatArray, b: FloatArray | float = 0.0, *, layer: int = 1
) -> FloatArray:
    """Rescale w (fan_in, fan_out) in place so that z = a_prev @ w + b has Var(z) = 1 ± 0.1
    over the batch a_prev (batch, fan_in); returns that z (batch, fan_out).

    W ← W / √Var(z), repeated at most `MAX_ITERATIONS` times. `layer` (1-based) only names
    the layer in the error raised when its output is constant or not finite.
    """
    z = a_prev @ w + b  # (batch, fan_out)
    var = _output_variance(z, layer)
    for _ in range(MAX_ITERATIONS):
        if abs(var - 1) < TOLERANCE:
            return z
        w *= 1 / math.sqrt(var)  # a Python float: w keeps its dtype
        z = a_prev @ w + b
        var = _output_variance(z, layer)
    if abs(var - 1) < TOLERANCE:
        return z
    raise ValueError(
        f"LSUV cannot bring layer {layer}'s output variance to 1 ± {TOLERANCE}: it is {var:.4g} "
        f"after {MAX_ITERATIONS} rescalings"
    )


def _output_variance(z: FloatArray, layer: int) -> float:
    var = float(z.var(dtype=np.float64))
    if not math.isfinite(var):
        raise ValueError(f"LSUV cannot rescale layer {layer}: its output is not finite")
    if var == 0:
        raise ValueError(
            f"LSUV cannot rescale layer {layer}: its output is constant on the batch "
            "(variance 0), so no scale of its weights gives variance 1; the layer's input "
            "is constant (zero input, or every unit below it dead)"
        )
    return var


def scale_networks(mlp: MLP, initializers: Sequence[Initializer], x: FloatArray) -> None:
    """Apply LSUV, in place, to every network k of the stack whose `initializers[k]` is data
    dependent, on the batch x (batch, fan_in); the other networks are left as drawn.

    Every layer is rescaled, the output layer too (it is a linear layer like the others).
    With batch norm, each hidden z is standardized over the batch (with the network's γ and
    β) before f, as in a training step; the running statistics are not touched.
    """
    for k, init in enumerate(initializers):
        if not init.data_dependent:
            continue
        a = x
        n_layers = len(mlp.weights)
        for layer in range(n_layers):
            w, b = mlp.weights[layer][k], mlp.biases[layer][k]  # views into the stack
            z = scale_to_unit_variance(a, w, b, layer=layer + 1)
            if layer == n_layers - 1:
                break
            if mlp.norm is not None:
                z = batchnorm.standardize(z)[0].x_hat * mlp.norm.gammas[layer][k]
                z += mlp.norm.betas[layer][k]
            a = mlp.activation.fn(z)


def training_batch(data: Dataset, seed: int, batch_size: int) -> FloatArray:
    """The race's LSUV batch: `batch_size` training digits (batch, 784), scaled to [0, 1],
    drawn with replacement from the third child of the race's seed (the first two feed the
    initial weights and the training batches, which it leaves untouched)."""
    lsuv_ss = np.random.SeedSequence(seed).spawn(3)[2]
    rows = np.random.default_rng(lsuv_ss).integers(0, data.n_train, batch_size)
    return data.x_train[rows] * _PIXEL_SCALE
