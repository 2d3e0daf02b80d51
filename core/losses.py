"""Softmax and cross-entropy, fused so that the gradient is simply softmax(logits) - onehot(y)."""

from __future__ import annotations

import numpy as np

from core.types import FloatArray, IntArray


def log_softmax(logits: FloatArray) -> FloatArray:
    """log softmax over the last axis, shifted by the row max so exp never overflows."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits: FloatArray) -> FloatArray:
    """softmax over the last axis; rows sum to 1."""
    return np.exp(log_softmax(logits))


def softmax_cross_entropy(logits: FloatArray, y: IntArray) -> tuple[FloatArray, FloatArray]:
    """Mean cross-entropy of each stacked network, and its gradient with respect to the logits.

    logits: (..., batch, classes), for example (K, batch, 10) for K networks trained at once;
    y: (batch,) integer labels shared by all of them.
    Returns loss (...,) and dlogits (..., batch, classes) = (softmax - onehot(y)) / batch.
    """
    batch = logits.shape[-2]
    rows = np.arange(batch)
    log_p = log_softmax(logits)
    loss = -log_p[..., rows, y].mean(axis=-1)
    dlogits = np.exp(log_p)
    dlogits[..., rows, y] -= 1
    dlogits /= batch
    return loss, dlogits
