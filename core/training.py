"""The book's §6.2.3 experiment: train one MLP per initializer on MNIST, on identical batches.

All networks are stacked (see `core.mlp`), so every step feeds the same mini-batch to each of
them and only the initialization differs. A network whose loss turns NaN or inf is reported
as diverged at that step, not raised; the others carry on.

Reference: the book's `ch06/weight_init_compare.py`; He et al. 2015, arXiv:1502.01852 (Fig. 3).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from core.activations import get_activation
from core.dataset import Dataset
from core.initializers import Initializer, get_initializer
from core.losses import softmax_cross_entropy
from core.mlp import MLP, backward, forward, init_mlp, zeros_like_grads
from core.optim import make_optimizer
from core.types import DEFAULT_DTYPE, FloatArray
from core.validation import check_int, check_positive

N_CLASSES = 10
_PIXEL_SCALE = DEFAULT_DTYPE(1 / 255)  # a float32 scalar: uint8 × it is computed in float32
_EVAL_CHUNK = 2000  # test digits per forward pass when scoring: bounds the memory it needs


@dataclass(frozen=True, eq=False)
class TrainProgress:
    """What a UI needs to draw live curves: `losses[name]` holds steps 1..step so far."""

    step: int
    iterations: int
    losses: dict[str, FloatArray]
    elapsed: float


@dataclass(frozen=True, eq=False)
class TrainResult:
    """`losses[name]` has one training loss per step (NaN after a divergence);
    `diverged_at[name]` is the 1-based step whose loss was first NaN or inf, else None;
    `test_accuracy[name]` is NaN for a diverged network."""

    losses: dict[str, FloatArray]
    test_accuracy: dict[str, float]
    diverged_at: dict[str, int | None]
    labels: dict[str, str]
    seconds: float
    data_source: str


def train_compare(
    initializers: Sequence[str | Initializer],
    *,
    activation: str = "relu",
    hidden: Sequence[int] = (100, 100, 100, 100),
    iterations: int = 2000,
    batch_size: int = 128,
    lr: float = 0.01,
    optimizer: str = "sgd",
    seed: int = 0,
    data: Dataset | None = None,
    on_progress: Callable[[TrainProgress], None] | None = None,
    progress_every: int = 50,
) -> TrainResult:
    """Train one network per initializer with softmax cross-entropy on the same mini-batches.

    Architecture 784-hidden-10, `activation` between layers; each step draws `batch_size`
    training digits with replacement (as the book does) from a stream seeded by `seed`.
    `on_progress` is called every `progress_every` steps and after the last one.
    """
    inits = [get_initializer(i) for i in initializers]
    names = [i.name for i in inits]
    if not inits:
        raise ValueError("initializers must name at least one initializer")
    if len(set(names)) != len(names):
        raise ValueError(f"each initializer may appear once, got {names}")
    act = get_activation(activation)
    if isinstance(hidden, str | bytes) or not isinstance(hidden, Sequence):
        raise ValueError(f"hidden must be a sequence of layer widths, got {hidden!r}")
    widths = [check_int("hidden layer width", h, low=1) for h in hidden]
    check_int("iterations", iterations, low=1)
    check_int("batch_size", batch_size, low=1)
    check_int("seed", seed, low=0)
    check_int("progress_every", progress_every, low=1)
    opt = make_optimizer(optimizer, check_positive("lr", lr))
    if data is None:
        from core.mnist import load_mnist  # deferred: only a run without data needs the loader

        data = load_mnist()

    init_ss, data_ss = np.random.SeedSequence(seed).spawn(2)
    # Every network draws from an identical stream (common random numbers): two normal
    # initializers then differ only by their scale, and adding a network to the race never
    # changes another's weights.
    init_rngs = [np.random.default_rng(init_ss) for _ in inits]
    batch_rng = np.random.default_rng(data_ss)
    sizes = (data.x_train.shape[1], *widths, N_CLASSES)
    mlp = init_mlp(init_rngs, inits, sizes, act, DEFAULT_DTYPE)
    grads = zeros_like_grads(mlp)

    losses = np.full((len(inits), iterations), np.nan, dtype=np.float64)
    diverged_at: list[int | None] = [None] * len(inits)
    alive = np.ones(len(inits), dtype=bool)
    pixels = np.empty((batch_size, sizes[0]), dtype=np.uint8)
    x_batch = np.empty((batch_size, sizes[0]), dtype=DEFAULT_DTYPE)
    start = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for step in range(1, iterations + 1):
            rows = batch_rng.integers(0, data.n_train, batch_size)
            np.take(data.x_train, rows, axis=0, out=pixels)
            np.multiply(pixels, _PIXEL_SCALE, out=x_batch)
            logits, cache = forward(mlp, x_batch)
            loss, dlogits = softmax_cross_entropy(logits, data.y_train[rows])
            losses[alive, step - 1] = loss[alive]
            for k in np.flatnonzero(alive & ~np.isfinite(loss)):
                diverged_at[k], alive[k] = step, False
                _freeze(mlp, dlogits, k)
            opt.step(mlp.params, backward(mlp, cache, dlogits, out=grads).params)
            if on_progress is not None and (step % progress_every == 0 or step == iterations):
                on_progress(
                    TrainProgress(
                        step,
                        iterations,
                        {n: losses[k, :step] for k, n in enumerate(names)},
                        time.perf_counter() - start,
                    )
                )
        accuracy = _test_accuracy(mlp, data)
    seconds = time.perf_counter() - start

    return TrainResult(
        losses={n: losses[k] for k, n in enumerate(names)},
        test_accuracy={
            n: float("nan") if diverged_at[k] else float(accuracy[k]) for k, n in enumerate(names)
        },
        diverged_at=dict(zip(names, diverged_at, strict=True)),
        labels={i.name: i.label for i in inits},
        seconds=seconds,
        data_source=data.source,
    )


def _freeze(mlp: MLP, dlogits: FloatArray, k: int) -> None:
    """Zero a diverged network's parameters and its incoming gradient, so that it stays at
    zero: its NaNs stop spreading through its own updates and cost nothing to carry."""
    for p in mlp.params:
        p[k] = 0
    dlogits[k] = 0


def _test_accuracy(mlp: MLP, data: Dataset) -> FloatArray:
    """Fraction of test digits each network classifies correctly, (K,)."""
    correct = np.zeros(mlp.n_nets, dtype=np.int64)
    for start in range(0, data.n_test, _EVAL_CHUNK):
        x = data.x_test[start : start + _EVAL_CHUNK].astype(DEFAULT_DTYPE) * _PIXEL_SCALE
        logits, _ = forward(mlp, x)  # (K, chunk, classes)
        correct += (logits.argmax(axis=-1) == data.y_test[start : start + _EVAL_CHUNK]).sum(axis=1)
    return correct / data.n_test
