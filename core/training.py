"""The book's §6.2.4 experiment: train one MLP per initializer on MNIST, on identical batches.

Networks are stacked (see `core.mlp`) into one group per worker thread (see `core.parallel`);
every group draws the same mini-batches, so only the initialization differs. A network whose
loss turns NaN or inf is reported as diverged at that step, not raised; the others carry on.

Reference: the book's `ch06/weight_init_compare.py`; He et al. 2015, arXiv:1502.01852 (Fig. 3).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from core.activations import Activation, get_activation
from core.dataset import Dataset
from core.initializers import Initializer, get_initializer
from core.losses import softmax_cross_entropy
from core.mlp import MLP, backward, forward, init_mlp, zeros_like_grads
from core.optim import make_optimizer
from core.parallel import StepCounter, run_jobs
from core.symmetry import distinct_units
from core.types import DEFAULT_DTYPE, FloatArray, IntArray
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
    `test_accuracy[name]` is NaN for a diverged network.
    `distinct_units[name][c, l]` counts the different units of hidden layer l + 1 after step
    `checkpoints[c]` (step 0 is the initialization): it stays 1 from a constant init.
    """

    losses: dict[str, FloatArray]
    test_accuracy: dict[str, float]
    diverged_at: dict[str, int | None]
    labels: dict[str, str]
    seconds: float
    data_source: str
    checkpoints: IntArray
    distinct_units: dict[str, IntArray]


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
    workers: int | None = None,
) -> TrainResult:
    """Train one network per initializer with softmax cross-entropy on the same mini-batches.

    Architecture 784-hidden-10, `activation` between layers; each step draws `batch_size`
    training digits with replacement (as the book does) from a stream seeded by `seed`.
    `on_progress` is called every `progress_every` steps and after the last one, always from
    the caller's thread. The networks are split over `workers` threads (default: the usable
    cores, at most 2); the result does not depend on that split.
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
    if workers is not None:
        check_int("workers", workers, low=1)
    make_optimizer(optimizer, check_positive("lr", lr))  # validated here, built per worker
    if data is None:
        from core.mnist import load_mnist  # deferred: only a run without data needs the loader

        data = load_mnist()

    n_nets = len(inits)
    n_workers = min(n_nets, workers if workers is not None else default_workers())
    checkpoints = np.unique([0, *range(progress_every, iterations, progress_every), iterations])
    run = _Run(
        inits=inits,
        activation=act,
        sizes=(data.x_train.shape[1], *widths, N_CLASSES),
        iterations=iterations,
        batch_size=batch_size,
        optimizer=optimizer,
        lr=lr,
        seed_sequences=tuple(np.random.SeedSequence(seed).spawn(2)),
        data=data,
        losses=np.full((n_nets, iterations), np.nan, dtype=np.float64),
        diverged_at=[None] * n_nets,
        accuracy=np.full(n_nets, np.nan),
        checkpoints=checkpoints,
        distinct=np.zeros((n_nets, len(checkpoints), len(widths)), dtype=np.int64),
    )
    # Networks are independent: split them into one stacked group per worker thread.
    groups = [g for g in np.array_split(np.arange(n_nets), n_workers) if len(g)]
    start = time.perf_counter()

    def report(step: int) -> None:
        if on_progress is not None:
            losses = {n: run.losses[k, :step] for k, n in enumerate(names)}
            on_progress(TrainProgress(step, iterations, losses, time.perf_counter() - start))

    jobs = [functools.partial(_train_group, run, group) for group in groups]
    run_jobs(jobs, iterations, progress_every, report)
    seconds = time.perf_counter() - start

    return TrainResult(
        losses={n: run.losses[k] for k, n in enumerate(names)},
        test_accuracy={n: float(run.accuracy[k]) for k, n in enumerate(names)},
        diverged_at=dict(zip(names, run.diverged_at, strict=True)),
        labels={i.name: i.label for i in inits},
        seconds=seconds,
        data_source=data.source,
        checkpoints=checkpoints,
        distinct_units={n: run.distinct[k] for k, n in enumerate(names)},
    )


def default_workers() -> int:
    """One worker thread per core this process may use, at most 2 (this app's target)."""
    return max(1, min(2, len(os.sched_getaffinity(0))))


@dataclass(eq=False)
class _Run:
    """A validated race and the arrays its workers fill in, each its own rows."""

    inits: list[Initializer]
    activation: Activation
    sizes: tuple[int, ...]
    iterations: int
    batch_size: int
    optimizer: str
    lr: float
    seed_sequences: tuple[np.random.SeedSequence, ...]
    data: Dataset
    losses: FloatArray  # (K, iterations)
    diverged_at: list[int | None]
    accuracy: FloatArray  # (K,), NaN for a diverged network
    checkpoints: IntArray  # steps at which the distinct units are counted, 0 first
    distinct: IntArray  # (K, checkpoints, hidden layers)


def _train_group(run: _Run, group: IntArray, counter: StepCounter, job: int) -> None:
    """Train the networks `group` of the race, stacked, writing their rows of `run`.

    Every group draws the same batches and every network the same initial random numbers
    (common random numbers), so the split into groups never changes a network's run.
    """
    init_ss, data_ss = run.seed_sequences
    init_rngs = [np.random.default_rng(init_ss) for _ in group]
    batch_rng = np.random.default_rng(data_ss)
    mlp = init_mlp(init_rngs, [run.inits[k] for k in group], run.sizes, run.activation)
    grads = zeros_like_grads(mlp)
    opt = make_optimizer(run.optimizer, run.lr)
    alive = np.ones(len(group), dtype=bool)
    data = run.data
    checkpoint_index = {int(step): c for c, step in enumerate(run.checkpoints)}
    _count_units(run, group, mlp, 0)
    pixels = np.empty((run.batch_size, run.sizes[0]), dtype=np.uint8)
    x_batch = np.empty((run.batch_size, run.sizes[0]), dtype=DEFAULT_DTYPE)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for step in range(1, run.iterations + 1):
            rows = batch_rng.integers(0, data.n_train, run.batch_size)
            np.take(data.x_train, rows, axis=0, out=pixels)
            np.multiply(pixels, _PIXEL_SCALE, out=x_batch)
            logits, cache = forward(mlp, x_batch)
            loss, dlogits = softmax_cross_entropy(logits, data.y_train[rows])
            run.losses[group[alive], step - 1] = loss[alive]
            for i in np.flatnonzero(alive & ~np.isfinite(loss)):
                run.diverged_at[group[i]], alive[i] = step, False
                _freeze(mlp, dlogits, i)
            opt.step(mlp.params, backward(mlp, cache, dlogits, out=grads).params)
            if step in checkpoint_index:
                _count_units(run, group, mlp, checkpoint_index[step])
            if not counter.advance(job, step):
                return
        run.accuracy[group[alive]] = _test_accuracy(mlp, data)[alive]


def _count_units(run: _Run, group: IntArray, mlp: MLP, checkpoint: int) -> None:
    """Distinct units of every hidden layer of every network in `group`, at one checkpoint."""
    for i, k in enumerate(group):
        for layer, (w, b) in enumerate(zip(mlp.weights[:-1], mlp.biases[:-1], strict=True)):
            run.distinct[k, checkpoint, layer] = distinct_units(w[i], b[i])


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
        x = data.x_test[start : start + _EVAL_CHUNK].astype(DEFAULT_DTYPE)
        x *= _PIXEL_SCALE
        logits, _ = forward(mlp, x)  # (K, chunk, classes)
        correct += (logits.argmax(axis=-1) == data.y_test[start : start + _EVAL_CHUNK]).sum(axis=1)
    return correct / data.n_test
