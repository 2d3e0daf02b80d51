"""The book's §6.2.4 experiment: train one MLP per initializer on MNIST, on identical batches.

Networks are stacked (see `core.mlp`) into one group per worker thread (see `core.parallel`);
every group draws the same mini-batches, so only the initialization differs. With several
seeds, each initializer trains once per seed: seed r draws every initializer's weights from
the same r-th stream, and all of them still see the same batches, so the spread across seeds
is the spread due to the draw of the initial weights alone. A network whose loss turns NaN or
inf is reported as diverged at that step, not raised; the others carry on.

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
    """What a UI needs to draw live curves: `losses[name]` (seeds, step) holds steps 1..step."""

    step: int
    iterations: int
    losses: dict[str, FloatArray]
    elapsed: float


@dataclass(frozen=True, eq=False)
class TrainResult:
    """Per initializer `name`, one row per seed r:
    `losses[name][r]` has one training loss per step (NaN after a divergence);
    `diverged_at[name][r]` is the 1-based step whose loss was first NaN or inf, else None;
    `test_accuracy[name][r]` is NaN for a diverged network.
    `distinct_units[name][r, c, l]` counts the different units of hidden layer l + 1 after step
    `checkpoints[c]` (step 0 is the initialization): it stays 1 from a constant init.
    """

    losses: dict[str, FloatArray]
    test_accuracy: dict[str, FloatArray]
    diverged_at: dict[str, tuple[int | None, ...]]
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
    seeds: int = 1,
    batch_norm: bool = False,
    data: Dataset | None = None,
    on_progress: Callable[[TrainProgress], None] | None = None,
    progress_every: int = 50,
    workers: int | None = None,
) -> TrainResult:
    """Train `seeds` networks per initializer with softmax cross-entropy on the same batches.

    Architecture 784-hidden-10, `activation` between layers, each hidden layer batch-normalized
    if `batch_norm`; each step draws `batch_size` training digits with replacement (as the
    book does) from a stream seeded by `seed`. Seed replicate 0 is the run `seeds=1` gives.
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
    check_int("seeds", seeds, low=1)
    check_int("progress_every", progress_every, low=1)
    if workers is not None:
        check_int("workers", workers, low=1)
    make_optimizer(optimizer, check_positive("lr", lr))  # validated here, built per worker
    if data is None:
        from core.mnist import load_mnist  # deferred: only a run without data needs the loader

        data = load_mnist()

    n_nets = len(inits) * seeds  # network k is initializer k // seeds, seed replicate k % seeds
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
        seeds=seeds,
        batch_norm=batch_norm,
        seed_sequences=_seed_sequences(seed, seeds),
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

    def rows(i: int) -> slice:
        """Initializer i's networks, one per seed."""
        return slice(i * seeds, (i + 1) * seeds)

    def report(step: int) -> None:
        if on_progress is not None:
            losses = {n: run.losses[rows(i), :step] for i, n in enumerate(names)}
            on_progress(TrainProgress(step, iterations, losses, time.perf_counter() - start))

    jobs = [functools.partial(_train_group, run, group) for group in groups]
    run_jobs(jobs, iterations, progress_every, report)
    seconds = time.perf_counter() - start

    return TrainResult(
        losses={n: run.losses[rows(i)] for i, n in enumerate(names)},
        test_accuracy={n: run.accuracy[rows(i)] for i, n in enumerate(names)},
        diverged_at={n: tuple(run.diverged_at[rows(i)]) for i, n in enumerate(names)},
        labels={i.name: i.label for i in inits},
        seconds=seconds,
        data_source=data.source,
        checkpoints=checkpoints,
        distinct_units={n: run.distinct[rows(i)] for i, n in enumerate(names)},
    )


def _seed_sequences(seed: int, seeds: int) -> tuple[np.random.SeedSequence, ...]:
    """The batch stream, then one initial-weights stream per seed replicate. Replicate 0 draws
    from the stream a one-seed run uses, so that adding seeds keeps that run as it was."""
    init_ss, data_ss = np.random.SeedSequence(seed).spawn(2)
    return (data_ss, init_ss, *init_ss.spawn(seeds - 1))


def default_workers() -> int:
    """One worker thread per core this process may use, at most 2 (this app's target)."""
    return max(1, min(2, len(os.sched_getaffinity(0))))


@dataclass(eq=False)
class _Run:
    """A validated race and the arrays its workers fill in, each its own rows.

    Network k is `inits[k // seeds]` drawn from seed replicate `k % seeds`."""

    inits: list[Initializer]
    activation: Activation
    sizes: tuple[int, ...]
    iterations: int
    batch_size: int
    optimizer: str
    lr: float
    seeds: int
    batch_norm: bool
    seed_sequences: tuple[np.random.SeedSequence, ...]  # the batches', then one per seed
    data: Dataset
    losses: FloatArray  # (K, iterations)
    diverged_at: list[int | None]
    accuracy: FloatArray  # (K,), NaN for a diverged network
    checkpoints: IntArray  # steps at which the distinct units are counted, 0 first
    distinct: IntArray  # (K, checkpoints, hidden layers)


def _train_group(run: _Run, group: IntArray, counter: StepCounter, job: int) -> None:
    """Train the networks `group` of the race, stacked, writing their rows of `run`.

    Every group draws the same batches, and the networks of one seed replicate the same
    initial random numbers (common random numbers), so the split into groups never changes
    a network's run.
    """
    data_ss, *replicate_streams = run.seed_sequences
    init_rngs = [np.random.default_rng(replicate_streams[k % run.seeds]) for k in group]
    batch_rng = np.random.default_rng(data_ss)
    inits = [run.inits[k // run.seeds] for k in group]
    mlp = init_mlp(init_rngs, inits, run.sizes, run.activation, batch_norm=run.batch_norm)
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
    if mlp.norm is not None:  # its running statistics may hold NaN too
        for mean, var in zip(mlp.norm.running_means, mlp.norm.running_vars, strict=True):
            mean[k], var[k] = 0, 1
    dlogits[k] = 0


def _test_accuracy(mlp: MLP, data: Dataset) -> FloatArray:
    """Fraction of test digits each network classifies correctly, (K,)."""
    correct = np.zeros(mlp.n_nets, dtype=np.int64)
    for start in range(0, data.n_test, _EVAL_CHUNK):
        x = data.x_test[start : start + _EVAL_CHUNK].astype(DEFAULT_DTYPE)
        x *= _PIXEL_SCALE
        logits, _ = forward(mlp, x, training=False)  # (K, chunk, classes)
        correct += (logits.argmax(axis=-1) == data.y_test[start : start + _EVAL_CHUNK]).sum(axis=1)
    return correct / data.n_test
