"""Batch normalization (the book's §6.3): each unit's pre-activation, standardized over the batch.

Whatever the weights' scale, every unit's input to the activation then has mean 0 and
variance 1 within the batch (before the learned γ and β), which is why it rescues an
initialization as poor as std = 0.01. The batch is the second-to-last axis throughout, so
one network's (batch, units) and K stacked networks' (K, batch, units) share the code.

Reference: Ioffe & Szegedy 2015, arXiv:1502.03167 (Algorithm 1 and §3); the book's
`common/layers.py` (BatchNormalization).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.types import FloatArray

EPS = 1e-5  # added to the batch variance: PyTorch's and Keras' default
MOMENTUM = 0.9  # running statistics keep 90 % of their value each step, as in the book
BATCH_AXIS = -2


@dataclass(frozen=True, eq=False)
class Normalized:
    """What the backward pass needs: the standardized values and 1/√(var + EPS) per unit."""

    x_hat: FloatArray
    inv_std: FloatArray


def standardize(z: FloatArray) -> tuple[Normalized, FloatArray, FloatArray]:
    """(z − mean) / √(var + EPS) over the batch, with the batch mean and variance it used."""
    mean = z.mean(axis=BATCH_AXIS, keepdims=True)
    centred = z - mean
    var = np.square(centred).mean(axis=BATCH_AXIS, keepdims=True)
    inv_std = var + z.dtype.type(EPS)
    np.sqrt(inv_std, out=inv_std)
    np.reciprocal(inv_std, out=inv_std)
    centred *= inv_std
    return Normalized(centred, inv_std), mean, var


def standardize_backward(d_x_hat: FloatArray, norm: Normalized) -> FloatArray:
    """∂L/∂z from ∂L/∂x̂, through the batch mean and variance (Ioffe & Szegedy's Alg. 1):

    ∂L/∂z = inv_std · (g − mean(g) − x̂ · mean(g · x̂)), means over the batch.
    """
    mean_grad = d_x_hat.mean(axis=BATCH_AXIS, keepdims=True)
    mean_grad_x_hat = (d_x_hat * norm.x_hat).mean(axis=BATCH_AXIS, keepdims=True)
    dz = norm.x_hat * mean_grad_x_hat
    np.subtract(d_x_hat, dz, out=dz)
    dz -= mean_grad
    dz *= norm.inv_std
    return dz


def update_running(running: FloatArray, batch_value: FloatArray) -> None:
    """running ← MOMENTUM · running + (1 − MOMENTUM) · batch_value, in place."""
    running *= MOMENTUM
    running += (1 - MOMENTUM) * batch_value
