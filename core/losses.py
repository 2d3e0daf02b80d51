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
    batch, n_classes = logits.shape[-2:]
    shifted = logits - logits.max(axis=-1, keepdims=True)  # exp can no longer overflow
    exp = np.exp(shifted)
    total = exp.sum(axis=-1, keepdims=True)
    # A one-hot mask instead of fancy indexing: cheaper, and it broadcasts over the K nets.
    onehot = np.eye(n_classes, dtype=logits.dtype)[y]  # (batch, classes)
    loss = (np.log(total[..., 0]) - (shifted * onehot).sum(axis=-1)).mean(axis=-1)
    dlogits = exp / total
    dlogits -= onehot
    dlogits *= 1 / batch
    return loss, dlogits
