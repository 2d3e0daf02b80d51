"""The book's §6.2.4 experiment: train one MLP per initializer on MNIST, on identical batches.

Networks are stacked (see `core.mlp`) into one group per worker thread (see `core.parallel`);
every group draws the same mini-batches, so only the initialization differs. With several
seeds, each initializer trains once per seed: seed r draws every initializer's weights from
the same r-th stream, and all of them still see the same batches, so the spread across seeds
is the spread due to the draw of the initial weights alone. A network whose loss turns NaN or
inf is reported as diverged at that step, not raised; the others carry on. So is a network
whose loss stayed finite but whose parameters or test outputs are not, at the last step: it
has no test accuracy, never the 10 % that argmax over NaN logits would give.

Reference: the book's `ch06/weight_init_compare.py`; He et al. 2015, arXiv:1502.01852 (Fig. 3).
"""

from __future__ import annotations

import functools
import itertools
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from core.activations import Activation, get_activation
from core.dataset import N_PIXELS, Dataset
from core.initializers import Initializer, get_initializer
from core.losses import softmax_cross_entropy
from core.mlp import MLP, backward, forward, init_mlp, zeros_like_grads
from core.optim import OPTIMIZERS, make_optimizer
from core.parallel import StepCounter, run_jobs
from core.symmetry import NOT_COUNTED, distinct_units
from core.types import DEFAULT_DTYPE, FloatArray, IntArray
from core.validation import (
    MAX_LAYERS,
    MAX_LOOP_STEPS,
    MAX_MULTIPLY_ADDS,
    MAX_VALUES,
    InvalidTypeError,
    check_bool,
    check_budget,
    check_choice,
    check_int,
    check_positive,
    check_seed,
)

N_CLASSES = 10
_PIXEL_SCALE = DEFAULT_DTYPE(1 / 255)  # a float32 scalar: uint8 × it is computed in float32
_EVAL_CHUNK = 2000  # test digits per forward pass when scoring: bounds the memory it needs
_MNIST_TEST = 10_000  # test digits of a run that loads MNIST itself, for its size check
# Networks one race may train (initializers × seeds): the app allows a few dozen; more than
# this is a mistake, and a list that long would take seconds just to look up.
MAX_NETWORKS = 10_000

# Where a divergence showed: the training loss at that step was NaN or inf ("loss"), or, with
# every loss finite, the parameters after the last step ("parameters") or the test logits
# they give ("test") were not finite; those two are reported at the last step.
DivergedIn = Literal["loss", "parameters", "test"]


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
    `diverged_at[name][r]` is the 1-based step whose loss was first NaN or inf, or the last
    step for a network whose losses stayed finite but whose parameters or test logits did not;
    None for a network that trained; `diverged_in[name][r]` says which (`DivergedIn`);
    `test_accuracy[name][r]` is NaN for a diverged network, and in [0, 1] for the others.
    `distinct_units[name][r, c, l]` counts the different units of hidden layer l + 1 after step
    `checkpoints[c]` (step 0 is the initialization): it stays 1 from a constant init, and is
    `NOT_COUNTED` (0) where the parameters were not finite or had been zeroed after a
    divergence (from step `diverged_at` on).
    """

    losses: dict[str, FloatArray]
    test_accuracy: dict[str, FloatArray]
    diverged_at: dict[str, tuple[int | None, ...]]
    labels: dict[str, str]
    seconds: float
    data_source: str
    checkpoints: IntArray
    distinct_units: dict[str, IntArray]
    diverged_in: dict[str, tuple[DivergedIn | None, ...]] = field(default_factory=dict)


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

    `initializers` is a list (or tuple) of registry names and `Initializer`s; a bare string is
    refused rather than read as one name, because a caller who passes one has usually lost a
    level of nesting. The size of the race is bounded (see `core.validation`).
    """
    if not _is_list(initializers) or isinstance(initializers, Initializer):
        raise InvalidTypeError(
            "initializers must be a list of names or Initializers, e.g. ['he_normal'], "
            f"got {'the string ' if isinstance(initializers, str | bytes) else ''}"
            f"{initializers!r}"
        )
    if not len(initializers):
        raise ValueError("initializers must name at least one initializer")
    check_int("number of initializers", len(initializers), low=1, high=MAX_NETWORKS)
    inits = [get_initializer(i) for i in initializers]
    names = [i.name for i in inits]
    if len(set(names)) != len(names):
        raise ValueError(f"each initializer may appear once, got {names}")
    act = get_activation(activation)
    if not _is_list(hidden):
        raise InvalidTypeError(f"hidden must be a sequence of layer widths, got {hidden!r}")
    check_int("number of hidden layers", len(hidden), low=0, high=MAX_LAYERS)
    widths = [check_int("hidden layer width", h, low=1, high=MAX_VALUES) for h in hidden]
    check_int("iterations", iterations, low=1, high=MAX_LOOP_STEPS)
    check_int("batch_size", batch_size, low=1, high=MAX_VALUES)
    check_seed(seed)
    check_int("seeds", seeds, low=1, high=MAX_NETWORKS)
    check_budget(
        len(initializers) * seeds,
        MAX_NETWORKS,
        what="networks",
        formula="len(initializers) × seeds",
        arguments="initializers list or seeds",
    )
    check_bool("batch_norm", batch_norm)
    check_int("progress_every", progress_every, low=1)
    if workers is not None:
        check_int("workers", workers, low=1)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_positive("lr", lr)
    if on_progress is not None and not callable(on_progress):
        raise InvalidTypeError(
            f"on_progress must be a function of a TrainProgress, or None, got {on_progress!r}"
        )
    if data is not None and not isinstance(data, Dataset):
        raise InvalidTypeError(
            "data must be a core.Dataset (core.load_sample() gives one) or None to load "
            f"MNIST, got {type(data).__name__}"
        )
    _check_race_size(
        len(inits) * seeds,
        widths,
        iterations=iterations,
        batch_size=batch_size,
        batch_norm=batch_norm,
        n_test=_MNIST_TEST if data is None else data.n_test,
        n_checkpoints=len(range(progress_every, iterations, progress_every)) + 2,
    )
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
        diverged_in=[None] * n_nets,
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
    for k, step in enumerate(run.diverged_at):
        if step is not None and run.diverged_in[k] is None:
            run.diverged_in[k] = "loss"
            # Zeroed at that step (`_freeze`): what is counted from there on is not its units.
            run.distinct[k, checkpoints >= step] = NOT_COUNTED

    return TrainResult(
        losses={n: run.losses[rows(i)] for i, n in enumerate(names)},
        test_accuracy={n: run.accuracy[rows(i)] for i, n in enumerate(names)},
        diverged_at={n: tuple(run.diverged_at[rows(i)]) for i, n in enumerate(names)},
        labels={i.name: i.label for i in inits},
        seconds=seconds,
        data_source=data.source,
        checkpoints=checkpoints,
        distinct_units={n: run.distinct[rows(i)] for i, n in enumerate(names)},
        diverged_in={n: tuple(run.diverged_in[rows(i)]) for i, n in enumerate(names)},
    )


def _is_list(value: object) -> bool:
    """A sequence of items (a list, a tuple, a 1-D array), not a string."""
    if isinstance(value, np.ndarray):
        return value.ndim == 1
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _check_race_size(
    n_nets: int,
    widths: list[int],
    *,
    iterations: int,
    batch_size: int,
    batch_norm: bool,
    n_test: int,
    n_checkpoints: int,
) -> None:
    """Refuse a race beyond the memory and time budgets of `core.validation`.

    Each network holds its parameters up to 5 times (parameters, gradients, two optimizer
    states, a step's temporaries) and about 4 values per unit and digit of a batch (z, a and
    their gradients); each step costs 3 multiply-adds per weight and digit (forward, backward),
    scoring one per weight and test digit, and counting the units one per weight and checkpoint.
    """
    sizes = (N_PIXELS, *widths, N_CLASSES)
    weights = sum(fan_in * fan_out for fan_in, fan_out in itertools.pairwise(sizes))
    parameters = weights + sum(sizes[1:]) + (2 * sum(widths) if batch_norm else 0)
    arguments = "initializers list, seeds, hidden, batch_size or iterations"
    check_budget(
        n_nets * (5 * parameters + 4 * batch_size * sum(sizes[1:]) + iterations),
        MAX_VALUES,
        what="values to hold",
        formula="networks × (5 × parameters + 4 × batch_size × units + iterations)",
        arguments=arguments,
    )
    check_budget(
        n_nets * weights * (3 * iterations * batch_size + n_test + n_checkpoints),
        MAX_MULTIPLY_ADDS,
        what="multiply-adds",
        formula="networks × weights × (3 × iterations × batch_size + test digits + checkpoints)",
        arguments=arguments,
    )
    check_budget(
        n_nets * len(widths) * n_checkpoints,
        MAX_LOOP_STEPS,
        what="unit counts",
        formula="networks × hidden layers × checkpoints (one every progress_every steps)",
        arguments="initializers list, seeds, hidden or iterations, or a larger progress_every",
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
    diverged_in: list[DivergedIn | None]
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
        _score(run, group, mlp, alive)


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


def _score(run: _Run, group: IntArray, mlp: MLP, alive: npt.NDArray[np.bool_]) -> None:
    """The test accuracy of each network of `group` still alive after the last step, or its
    divergence: parameters or test logits that are not finite are no network to score."""
    finite_parameters = np.ones(len(group), dtype=bool)
    for p in mlp.params:  # (K, ...) each
        finite_parameters &= np.isfinite(p).reshape(len(group), -1).all(axis=1)
    accuracy, finite_logits = _test_accuracy(mlp, run.data)
    for i in np.flatnonzero(alive):
        k = group[i]
        if finite_parameters[i] and finite_logits[i]:
            run.accuracy[k] = accuracy[i]
        else:
            run.diverged_at[k] = run.iterations
            run.diverged_in[k] = "test" if finite_parameters[i] else "parameters"


def _test_accuracy(mlp: MLP, data: Dataset) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Fraction of test digits each network classifies correctly, (K,), and whether all of
    its test logits were finite, (K,): argmax over NaN logits picks class 0, a plausible-looking
    ~10 %, so a network without finite logits must not be scored."""
    correct = np.zeros(mlp.n_nets, dtype=np.int64)
    finite = np.ones(mlp.n_nets, dtype=bool)
    for start in range(0, data.n_test, _EVAL_CHUNK):
        x = data.x_test[start : start + _EVAL_CHUNK].astype(DEFAULT_DTYPE)
        x *= _PIXEL_SCALE
        logits, _ = forward(mlp, x, training=False)  # (K, chunk, classes)
        finite &= np.isfinite(logits).all(axis=(1, 2))
        correct += (logits.argmax(axis=-1) == data.y_test[start : start + _EVAL_CHUNK]).sum(axis=1)
    return correct / data.n_test, finite
