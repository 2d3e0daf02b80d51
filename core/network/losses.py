"""Softmax and cross-entropy, fused so that the gradient is simply softmax(logits) - onehot(y).

A row of logits that is not finite gives a NaN loss (and NaN softmax): training reads that as
a diverged network.
"""

from __future__ import annotations

import numpy as np

from core.types import FloatArray, IntArray
from core.validation import InvalidTypeError


def _check_logits(logits: object, min_ndim: int) -> None:
    """Logits are a float array with a class axis last (cheap: the training loop calls this)."""
    if not isinstance(logits, np.ndarray) or logits.dtype.kind != "f":
        raise InvalidTypeError(f"logits must be a float array, got {logits!r:.80}")
    if logits.ndim < min_ndim or logits.shape[-1] == 0:
        raise ValueError(
            f"logits must have at least {min_ndim} dimension(s) with classes last, "
            f"got shape {logits.shape}"
        )


def log_softmax(logits: FloatArray) -> FloatArray:
    """log softmax over the last axis, shifted by the row max so exp never overflows."""
    _check_logits(logits, 1)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits: FloatArray) -> FloatArray:
    """softmax over the last axis; rows sum to 1."""
    return np.exp(log_softmax(logits))


def softmax_cross_entropy(
    logits: FloatArray, y: IntArray, *, batch: int | None = None
) -> tuple[FloatArray, FloatArray]:
    """Mean cross-entropy of each stacked network, and its gradient with respect to the logits.

    logits: (..., rows, classes), for example (K, rows, 10) for K networks trained at once;
    y: (rows,) integer labels shared by all of them. `batch` is the size of the whole batch
    these rows are part of (default: the rows themselves), so that the parts of a batch split
    between workers add up to the whole batch's loss and gradient.
    Returns loss (...,) = Σ_rows CE / batch and dlogits (..., rows, classes) =
    (softmax - onehot(y)) / batch.
    """
    _check_logits(logits, 2)
    rows, n_classes = logits.shape[-2:]
    batch = rows if batch is None else batch
    if not isinstance(y, np.ndarray) or y.dtype.kind not in "iu" or y.shape != (rows,):
        raise InvalidTypeError(
            f"y must be an integer array of {rows} labels (one per row of logits), got {y!r:.80}"
        )
    if rows == 0 or y.min() < 0 or y.max() >= n_classes:
        raise ValueError(
            f"y must hold at least one label, each from 0 to {n_classes - 1}, got {y!r:.80}"
        )
    shifted = logits - logits.max(axis=-1, keepdims=True)  # exp can no longer overflow
    exp = np.exp(shifted)
    total = exp.sum(axis=-1, keepdims=True)
    # A one-hot mask instead of fancy indexing: cheaper, and it broadcasts over the K nets.
    onehot = np.eye(n_classes, dtype=logits.dtype)[y]  # (rows, classes)
    loss = (np.log(total[..., 0]) - (shifted * onehot).sum(axis=-1)).sum(axis=-1) / batch
    dlogits = exp / total
    dlogits -= onehot
    dlogits *= 1 / batch
    return loss, dlogits
