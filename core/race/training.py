"""The book's §6.2.4 experiment: train one MLP per initializer on MNIST, on identical batches.

Networks are stacked (see `core.network.mlp`) into one group per worker (`core.race.workers`:
processes, or threads where processes cannot start; a worker with a network more hands it over
halfway, `_Handover`); every group draws the same mini-batches, so
only the initialization differs. With several seeds, each initializer trains once per seed: seed
r draws every initializer's weights from the same r-th stream, and all of them still see the
same batches, so the spread across seeds is the spread due to the draw of the initial weights
alone. A network whose loss turns NaN or inf is reported as diverged at that step, not raised;
the others carry on. So is a network whose loss stayed finite but whose parameters or test
outputs are not, at the last step: it has no test accuracy, never the 10 % that argmax over NaN
logits would give.

Reference: the book's `ch06/weight_init_compare.py`; He et al. 2015, arXiv:1502.01852 (Fig. 3).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from core.data.dataset import N_PIXELS, Dataset
from core.forward.symmetry import NOT_COUNTED, distinct_units
from core.network.activations import Activation, get_activation
from core.network.initializers import Initializer, get_initializer
from core.network.losses import softmax_cross_entropy
from core.network.lsuv import scale_networks, training_batch
from core.network.mlp import (
    MLP,
    Grads,
    backward,
    empty_cache,
    forward,
    grads_on,
    init_mlp,
    moved_to,
    network_index,
    network_mask,
    networks_of,
)
from core.network.optim import OPTIMIZERS, Optimizer, make_optimizer
from core.parallel import Meeting, with_one_blas_thread
from core.race.procs import Counter, ProcessMeeting
from core.race.shared import PRIVATE, Memory
from core.race.telemetry import HISTOGRAM_BINS, RaceTelemetry, Recorder, Telemetry, allocate
from core.race.workers import Workers, start_workers
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
# ... and fewer for wide or deep networks: the z and a values one network may hold while it is
# scored (16 MB in float32), so that scoring a race never needs more memory than training it.
_EVAL_VALUES = 2**22
_MNIST_TEST = 10_000  # test digits of a run that loads MNIST itself, for its size check
# Networks one race may train (initializers × seeds): the app allows a few dozen; more than
# this is a mistake, and a list that long would take seconds just to look up.
MAX_NETWORKS = 10_000

# Where a divergence showed: the training loss at that step was NaN or inf ("loss"), or, with
# every loss finite, the parameters after the last step ("parameters") or the test logits
# they give ("test") were not finite; those two are reported at the last step.
DivergedIn = Literal["loss", "parameters", "test"]
_DIVERGED_IN: tuple[DivergedIn, ...] = ("loss", "parameters", "test")  # codes 1, 2, 3; 0: none


@dataclass(frozen=True, eq=False)
class TrainProgress:
    """What a UI needs to draw live curves: `losses[name]` (seeds, step) holds steps 1..step;
    `telemetry[name]` the checkpoints up to `step` (empty without telemetry)."""

    step: int
    iterations: int
    losses: dict[str, FloatArray]
    elapsed: float
    telemetry: dict[str, Telemetry] = field(default_factory=dict)


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
    `telemetry[name]` is what every layer did at the same checkpoints (`core.race.telemetry`);
    empty when the race ran without it.
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
    telemetry: dict[str, Telemetry] = field(default_factory=dict)


# Over 60 lines with its docstring: the public signature and its contract; the body, 50.
@with_one_blas_thread
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
    telemetry: bool = True,
    processes: bool = True,
) -> TrainResult:
    """Train `seeds` networks per initializer with softmax cross-entropy on the same batches.

    Architecture 784-hidden-10, `activation` between layers, each hidden layer batch-normalized
    if `batch_norm`; each step draws `batch_size` training digits with replacement (as the
    book does) from a stream seeded by `seed`. Seed replicate 0 is the run `seeds=1` gives.
    `on_progress` is called every `progress_every` steps and after the last one, always from
    the caller's thread, which computes nothing while the workers train; a multiple passed
    while the caller was still busy with the last report is skipped for the next one, so that
    a slow caller never holds the workers back. The work is split
    over `workers` worker processes (default: the usable cores, at most 2; threads where no
    process can start, with the same results), by networks or by batch rows (see `_plan`); a
    run is bit for bit the same for a given number of workers, and the same up to float
    rounding for another number (a batch split into rows sums its gradient in another order).
    A worker process that dies raises `core.race.procs.WorkerDied`. BLAS runs on one thread
    meanwhile, and gets the process's own setting back at the end (with `processes` false, the
    workers are threads of this process, never worker processes). With `telemetry`, every
    layer of every network is measured at each checkpoint (`core.race.telemetry`), on the whole
    batch however it is split. A data-dependent initializer (LSUV) rescales its draw on one
    batch of training digits drawn from `seed` apart from the training batches
    (`core.network.lsuv`).

    `initializers` is a list (or tuple) of registry names and `Initializer`s; a bare string is
    refused rather than read as one name, because a caller who passes one has usually lost a
    level of nesting. The size of the race is bounded (see `core.validation`).
    """
    inits = _checked_initializers(initializers)
    act = get_activation(activation)
    widths = _checked_widths(hidden)
    _check_settings(
        n_initializers=len(inits),
        widths=widths,
        iterations=iterations,
        batch_size=batch_size,
        seed=seed,
        seeds=seeds,
        batch_norm=batch_norm,
        telemetry=telemetry,
        processes=processes,
        progress_every=progress_every,
        optimizer=optimizer,
        lr=lr,
        on_progress=on_progress,
        data=data,
    )
    n_workers = _worker_count(workers)
    if data is None:
        from core.data.mnist import load_mnist  # deferred: only a run without data needs the loader

        data = load_mnist()

    checkpoints = np.unique([0, *range(progress_every, iterations, progress_every), iterations])
    plan = _plan(len(inits) * seeds, n_workers, batch_size=batch_size, batch_norm=batch_norm)
    workers_ = Workers.take(sum(members for _, members in plan), processes=processes)
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
        checkpoints=checkpoints,
        memory=workers_.memory,
    )
    try:
        seconds = _race(run, workers_, n_workers, seed, telemetry, on_progress, progress_every)
    finally:
        workers_.release()
    _private(run)  # the result's arrays, out of the memory shared with the workers
    return _result(run, seconds)


def _checked_initializers(initializers: object) -> list[Initializer]:
    """The race's initializers, each once; a bare string is refused, not read as one name."""
    if not _is_list(initializers) or isinstance(initializers, Initializer):
        raise InvalidTypeError(
            "initializers must be a list of names or Initializers, e.g. ['he_normal'], "
            f"got {'the string ' if isinstance(initializers, str | bytes) else ''}"
            f"{initializers!r}"
        )
    assert isinstance(initializers, Sequence | np.ndarray)
    if not len(initializers):
        raise ValueError("initializers must name at least one initializer")
    check_int("number of initializers", len(initializers), low=1, high=MAX_NETWORKS)
    inits = [get_initializer(i) for i in initializers]
    names = [i.name for i in inits]
    if len(set(names)) != len(names):
        raise ValueError(f"each initializer may appear once, got {names}")
    return inits


def _checked_widths(hidden: object) -> list[int]:
    """The hidden layers' widths."""
    if not _is_list(hidden):
        raise InvalidTypeError(f"hidden must be a sequence of layer widths, got {hidden!r}")
    assert isinstance(hidden, Sequence | np.ndarray)
    check_int("number of hidden layers", len(hidden), low=0, high=MAX_LAYERS)
    return [check_int("hidden layer width", h, low=1, high=MAX_VALUES) for h in hidden]


def _check_settings(
    *,
    n_initializers: int,
    widths: list[int],
    iterations: int,
    batch_size: int,
    seed: int,
    seeds: int,
    batch_norm: bool,
    telemetry: bool,
    processes: bool,
    progress_every: int,
    optimizer: str,
    lr: float,
    on_progress: object,
    data: object,
) -> None:
    """Refuse `train_compare`'s other arguments where they are out of range or of a wrong type,
    and a race too large for the budgets (`_check_race_size`)."""
    check_int("iterations", iterations, low=1, high=MAX_LOOP_STEPS)
    check_int("batch_size", batch_size, low=1, high=MAX_VALUES)
    check_seed(seed)
    check_int("seeds", seeds, low=1, high=MAX_NETWORKS)
    check_budget(
        n_initializers * seeds,
        MAX_NETWORKS,
        what="networks",
        formula="len(initializers) × seeds",
        arguments="initializers list or seeds",
    )
    check_bool("batch_norm", batch_norm)
    check_bool("telemetry", telemetry)
    check_bool("processes", processes)
    check_int("progress_every", progress_every, low=1)
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
        n_initializers * seeds,
        widths,
        iterations=iterations,
        batch_size=batch_size,
        batch_norm=batch_norm,
        n_test=data.n_test if isinstance(data, Dataset) else _MNIST_TEST,
        n_checkpoints=len(range(progress_every, iterations, progress_every)) + 2,
        telemetry=telemetry,
    )


def _race(
    run: _Run,
    workers: Workers,
    n_workers: int,
    seed: int,
    telemetry: bool,
    on_progress: Callable[[TrainProgress], None] | None,
    progress_every: int,
) -> float:
    """Train `run` on `workers`, reporting to `on_progress`; the seconds it took."""
    if telemetry:
        race = allocate(
            run.checkpoints, run.sizes, run.inits, run.activation, run.data, run.seeds,
            run.batch_norm,
        )  # fmt: skip
        run.telemetry = _moved(race, run.memory)
    if any(i.data_dependent for i in run.inits):
        run.lsuv_batch = training_batch(run.data, seed, run.batch_size)
    start = time.perf_counter()
    teams = _teams(run, n_workers)
    run.lsuv_batch, run.memory = None, PRIVATE  # the workers need neither

    def report(step: int) -> None:
        if on_progress is not None:
            losses = {n: run.losses[run.rows(i), :step] for i, n in enumerate(run.names)}
            done = int(np.searchsorted(run.checkpoints, step, side="right"))
            elapsed = time.perf_counter() - start
            progress = TrainProgress(step, run.iterations, losses, elapsed, run.views(done))
            on_progress(progress)

    jobs = [functools.partial(_train_group, run, t, m) for t in teams for m in range(t.members)]
    handovers = [t.handover for t in teams if t.handover is not None]
    workers.run(jobs, [*teams, *handovers], run.data, run.iterations, progress_every, report)
    return time.perf_counter() - start


def _result(run: _Run, seconds: float) -> TrainResult:
    """The race's outcome per initializer, with where and when each diverged network did."""
    diverged_at = [int(step) or None for step in run.diverged_at]
    diverged_in: list[DivergedIn | None] = [
        _DIVERGED_IN[code - 1] if code else None for code in run.diverged_in
    ]
    for k, step in enumerate(diverged_at):
        if step is not None and diverged_in[k] is None:
            diverged_in[k] = "loss"
            # Zeroed at that step (`_freeze`): what is counted from there on is not its units.
            run.distinct[k, run.checkpoints >= step] = NOT_COUNTED

    def by_name(values: Sequence | np.ndarray) -> dict:
        return {n: values[run.rows(i)] for i, n in enumerate(run.names)}

    return TrainResult(
        losses=by_name(run.losses),
        test_accuracy=by_name(run.accuracy),
        diverged_at={n: tuple(v) for n, v in by_name(diverged_at).items()},
        labels={i.name: i.label for i in run.inits},
        seconds=seconds,
        data_source=run.data.source,
        checkpoints=run.checkpoints,
        distinct_units=by_name(run.distinct),
        diverged_in={n: tuple(v) for n, v in by_name(diverged_in).items()},
        telemetry=run.views(len(run.checkpoints)),
    )


def _moved(race: RaceTelemetry, memory: Memory) -> RaceTelemetry:
    """`race`'s buffers copied into `memory`."""
    arrays = {f.name: memory.copy(getattr(race, f.name)) for f in dataclasses.fields(race)}
    return RaceTelemetry(**arrays)


def _private(run: _Run) -> None:
    """Replace the arrays of `run` a result keeps by copies of this process's own, so that the
    memory shared with the workers goes once the views handed out meanwhile are gone."""
    for name in ("losses", "diverged_at", "diverged_in", "accuracy", "distinct"):
        setattr(run, name, getattr(run, name).copy())
    if run.telemetry is not None:
        run.telemetry = _moved(run.telemetry, PRIVATE)


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
    telemetry: bool,
) -> None:
    """Refuse a race beyond the memory and time budgets of `core.validation`.

    Each network holds its parameters up to 4 times (parameters, gradients, Adam's two
    moments), about 4 values per unit and digit of a batch (z, a and their gradients) and 2 per
    unit and test digit of a scoring chunk (z and a); each step costs 3 multiply-adds per weight
    and digit (forward, backward), scoring one per weight and test digit, and counting the units
    one per weight and checkpoint (measured: within 1.3× of the peak memory of a race). The
    telemetry holds, per network and checkpoint, a histogram and 6 numbers per hidden layer
    and a ratio per weight matrix.
    """
    sizes = (N_PIXELS, *widths, N_CLASSES)
    weights = sum(fan_in * fan_out for fan_in, fan_out in itertools.pairwise(sizes))
    parameters = weights + sum(sizes[1:]) + (2 * sum(widths) if batch_norm else 0)
    units = sum(sizes[1:])
    chunk = min(n_test, _eval_chunk(units))
    arguments = "initializers list, seeds, hidden, batch_size or iterations"
    check_budget(
        n_nets * (4 * parameters + (4 * batch_size + 2 * chunk) * units + iterations),
        MAX_VALUES,
        what="values to hold",
        formula=(
            f"networks × (4 × parameters + (4 × batch_size + 2 × {chunk:,} test digits) × units "
            "+ iterations)"
        ),
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
    if telemetry:
        per_checkpoint = len(widths) * (HISTOGRAM_BINS + 6) + len(widths) + 1
        check_budget(
            n_nets * n_checkpoints * per_checkpoint,
            MAX_VALUES,
            what="telemetry values",
            formula="networks × checkpoints × (hidden layers × (bins + 7) + 1)",
            arguments="initializers list, seeds, hidden or iterations, a larger progress_every, "
            "or telemetry=False",
        )


def _seed_sequences(seed: int, seeds: int) -> tuple[np.random.SeedSequence, ...]:
    """The batch stream, then one initial-weights stream per seed replicate. Replicate 0 draws
    from the stream a one-seed run uses, so that adding seeds keeps that run as it was."""
    init_ss, data_ss = np.random.SeedSequence(seed).spawn(2)
    return (data_ss, init_ss, *init_ss.spawn(seeds - 1))


def default_workers() -> int:
    """One worker per core this process may use, at most 2 (this app's target)."""
    return max(1, min(2, len(os.sched_getaffinity(0))))


def start_race_workers(workers: int | None = None) -> None:
    """Start the worker processes that `train_compare(..., workers=workers)` will take, and
    return at once: where a race is likely soon (a page that offers one), the race then does
    not wait for them to start."""
    start_workers(_worker_count(workers))


def _worker_count(workers: int | None) -> int:
    """`workers`, checked, or the default where it is None."""
    if workers is None:
        return default_workers()
    check_int("workers", workers, low=1)
    return workers


@dataclass(eq=False)
class _Run:
    """A validated race and the arrays its workers fill in, each its own rows, in `memory`
    (shared with the worker processes, if they are processes).

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
    checkpoints: IntArray  # steps at which the distinct units are counted, 0 first
    memory: Memory  # where the arrays the workers share are allocated
    telemetry: RaceTelemetry | None = None  # None: the race runs without it
    lsuv_batch: FloatArray | None = None  # the batch data-dependent initializers rescale on
    # Filled in by the workers, each its own rows; allocated in `memory`:
    losses: FloatArray = field(init=False)  # (K, iterations)
    diverged_at: IntArray = field(init=False)  # (K,): the step of a divergence, 0 for none
    diverged_in: npt.NDArray[np.int8] = field(init=False)  # (K,): 1 + index in `_DIVERGED_IN`
    accuracy: FloatArray = field(init=False)  # (K,), NaN for a diverged network
    distinct: IntArray = field(init=False)  # (K, checkpoints, hidden layers)

    def __post_init__(self) -> None:
        k, memory = len(self.inits) * self.seeds, self.memory
        self.losses = memory.full((k, self.iterations), np.nan, np.float64)
        self.diverged_at = memory.full(k, 0, np.int64)
        self.diverged_in = memory.full(k, 0, np.int8)
        self.accuracy = memory.full(k, np.nan, np.float64)
        self.distinct = memory.full((k, len(self.checkpoints), len(self.sizes) - 2), 0, np.int64)

    @property
    def names(self) -> list[str]:
        return [i.name for i in self.inits]

    def rows(self, i: int) -> slice:
        """Initializer i's networks, one per seed."""
        return slice(i * self.seeds, (i + 1) * self.seeds)

    def views(self, n_checkpoints: int) -> dict[str, Telemetry]:
        """Each initializer's telemetry over the first checkpoints (none without it)."""
        if self.telemetry is None:
            return {}
        return {
            n: self.telemetry.view(self.rows(i), n_checkpoints) for i, n in enumerate(self.names)
        }


@dataclass(eq=False)
class _Team:
    """Workers that train the same stacked networks, each on its own rows of every batch.

    A team of one is a plain worker. In a larger team each member runs forward and backward on
    its rows; then, once every member's gradient is in, it adds the others' to its own over its
    part of the flat parameter vector and updates that part, and waits until every part is
    written before the next step reads the parameters. At a checkpoint, the members measure
    their rows and one of them combines the measures into the whole batch's (`Recorder`).
    """

    nets: IntArray  # the race's networks this team trains, stacked in `mlp`
    mlp: MLP
    rows: list[slice]  # member i's rows of each batch
    parts: list[slice]  # member i's part of `mlp.flat` (and of the gradients) to update
    grads: list[Grads]  # member i's gradient, from its rows only
    losses: FloatArray  # (members, K): member i's rows' share of each network's loss
    meeting: Meeting | ProcessMeeting | None  # where the members wait for each other
    recorder: Recorder | None  # the team's telemetry; None: the race runs without it
    first: int = 1  # its first step; later than 1 for a team formed halfway (`_Handover`)
    last: int | None = None  # its last step; None: the race's last
    carried: FloatArray | None = None  # (optimizer.CARRIED, flat size): the optimizer's state
    # a team formed halfway starts from; in memory the workers share
    handover: _Handover | None = None  # who trains its networks on after `last`
    arrival: _Handover | None = None  # the handover it waits for, from another worker
    then: _Team | None = None  # the team its worker trains next, from step `last` + 1

    @property
    def members(self) -> int:
        return len(self.rows)

    def wait(self, member: int) -> None:
        if self.meeting is not None:
            self.meeting.wait(member)

    def recording(self, step: int) -> Recorder | None:
        """The team's recorder if `step` is a checkpoint's step, else None."""
        if self.recorder is None or not self.recorder.measures(step):
            return None
        return self.recorder

    def gradient(self, member: int) -> FloatArray:
        """The whole batch's gradient over `member`'s part: its own, plus every other's."""
        part = self.parts[member]
        total = self.grads[member].flat[part]
        for other, grads in enumerate(self.grads):
            if other != member:
                total += grads.flat[part]
        return total


@dataclass(eq=False)
class _Handover:
    """Halfway through, a worker with a network more than another gives that network to the
    other worker, which has trained its own to the end by then (`_halves`). The book's 3
    networks on 2 workers, split 2 + 1, took as long as 2 networks' steps; with the handover,
    each worker trains 1 1/2 networks' steps. On two cores the default race took 5.36 s
    against 6.08 s, and two workers 0.60 of one worker's time against 0.66 (medians of 4,
    interleaved).

    After its last step, the source team writes its networks' parameters and optimizer state
    into `targets` (each: a team, and the positions of its networks in the source's stack),
    then opens `meeting` one way for the target trained by the other worker; the source's own
    worker trains the other target at once.
    """

    targets: list[tuple[_Team, IntArray]]
    meeting: Meeting | ProcessMeeting | None = None

    @property
    def members(self) -> int:  # the two workers: `Workers.run` gives the handover its meeting
        return 2

    def give(self, mlp: MLP, opt: Optimizer) -> None:
        """Write the source's networks (`mlp`, stepped by `opt`) into the targets; open the
        meeting."""
        state = opt.state()
        for team, positions in self.targets:
            mine = network_mask(mlp, positions)
            team.mlp.flat[...] = mlp.flat[mine]
            if team.carried is not None:
                for carried, array in zip(team.carried, state, strict=True):
                    carried[...] = array[mine]
        if self.meeting is not None:
            self.meeting.give(0)

    def take(self) -> bool:
        """Wait until the networks are written; False if the run was stopped meanwhile."""
        try:
            if self.meeting is not None:
                self.meeting.take(1)
        except threading.BrokenBarrierError:
            return False
        return True


def _plan(
    n_nets: int, n_workers: int, *, batch_size: int, batch_norm: bool
) -> list[tuple[IntArray, int]]:
    """The race shared out over `n_workers`: (networks, members) of each team. By networks
    whenever there are as many as workers or more; by rows of the batch only when there are
    fewer (one network on two workers), the members of a team then meeting twice a step.

    Split by networks, no worker ever waits for another. The book's race, 3 networks on 2
    workers, is split 2 + 1 although rows would balance it (64 + 64): side by side on two
    cores, it took 6.3 s split by networks and 7.3 s by rows (medians of 7, the rows' runs
    spread from 5.8 to 10.4 s), and beside a CPU-bound process 7.8-10.2 s against
    11.6-14.3 s. Two workers that meet twice a step both stop whenever either is preempted (by
    a browser drawing the race, by any other process). The 2 + 1 is evened out halfway
    instead, at one meeting a race (`_Handover`). Batch norm is always split by networks: its
    statistics are those of the whole batch.
    """
    if batch_norm or n_nets >= n_workers or batch_size < n_workers:
        groups = [g for g in np.array_split(np.arange(n_nets), n_workers) if len(g)]
        return [(group, 1) for group in groups]
    return [(np.arange(n_nets), n_workers)]


def _teams(run: _Run, n_workers: int) -> list[_Team]:
    """The teams that start the race (`_plan`), their networks initialized, in `run.memory`,
    with the teams that take over halfway (`_halves`)."""
    n_nets, batch_size = run.losses.shape[0], run.batch_size
    plan = _plan(n_nets, n_workers, batch_size=batch_size, batch_norm=run.batch_norm)
    teams = [_make_team(run, group, _drawn(run, group), members) for group, members in plan]
    for source, receiver in _halves(plan, run.iterations, batch_norm=run.batch_norm):
        _hand_over(run, teams[source], teams[receiver], half=run.iterations // 2)
    return teams


def _halves(
    plan: list[tuple[IntArray, int]], iterations: int, *, batch_norm: bool
) -> list[tuple[int, int]]:
    """Pairs (a, b) of the plan's teams: halfway, team a's worker gives its last network to
    team b's, which has one network fewer (3 networks on 2 workers: 2 + 1, then 1 + 1 from
    the halfway step). The linear estimate of a step's time in networks gives both workers
    the same work (a: 2 T/2 + 1 T/2, b: 1 T + 1 T/2), and b's worker has finished its own
    networks before a's passes the halfway step (at 2 T/2 of T), so neither waits.

    None with batch norm (its running statistics stay with the worker that trains the
    network), with rows split, or under 2 steps.
    """
    if batch_norm or iterations < 2 or any(members > 1 for _, members in plan):
        return []
    fewest = min(len(group) for group, _ in plan)
    more = [i for i, (group, _) in enumerate(plan) if len(group) > fewest]
    fewer = [i for i, (group, _) in enumerate(plan) if len(group) == fewest]
    return list(zip(more, fewer, strict=False))


def _hand_over(run: _Run, source: _Team, receiver: _Team, *, half: int) -> None:
    """From step `half` + 1, `source`'s worker trains its networks but the last, and
    `receiver`'s worker, once its own are done, the last one. The two new teams start as
    copies of the source's networks; the handover writes them over as they are at `half`."""
    n = len(source.nets)
    kept, given = np.arange(n - 1), np.arange(n - 1, n)  # positions in the source's stack
    keep = _make_team(run, source.nets[kept], networks_of(source.mlp, kept), 1, first=half + 1)
    take = _make_team(run, source.nets[given], networks_of(source.mlp, given), 1, first=half + 1)
    source.last = half
    handover = _Handover([(keep, kept), (take, given)])
    source.handover = take.arrival = handover
    source.then, receiver.then = keep, take


def _drawn(run: _Run, group: IntArray) -> MLP:
    """The networks `group`, initialized (data-dependent ones rescaled on the race's LSUV
    batch)."""
    _, *replicate_streams = run.seed_sequences
    init_rngs = [np.random.default_rng(replicate_streams[k % run.seeds]) for k in group]
    inits = [run.inits[k // run.seeds] for k in group]
    mlp = init_mlp(init_rngs, inits, run.sizes, run.activation, batch_norm=run.batch_norm)
    if run.lsuv_batch is not None:
        scale_networks(mlp, inits, run.lsuv_batch)
    return mlp


def _make_team(run: _Run, group: IntArray, mlp: MLP, members: int, *, first: int = 1) -> _Team:
    """The networks `group`, stacked in `mlp`, with `members` workers' buffers, all that
    members share in `run.memory`; from step `first` (a team formed halfway, whose parameters
    and optimizer state the handover writes)."""
    memory = run.memory
    mlp = moved_to(mlp, memory.empty(mlp.flat.shape, mlp.flat.dtype))
    rows = _slices(run.batch_size, members)
    carried_shape = (OPTIMIZERS[run.optimizer].CARRIED, mlp.flat.size)
    recorder = None
    if run.telemetry is not None:
        recorder = Recorder(run.telemetry, group, mlp, rows, memory)

    def gradient() -> Grads:
        return grads_on(mlp, memory.empty(mlp.flat.shape, mlp.flat.dtype))

    return _Team(
        nets=group,
        mlp=mlp,
        rows=rows,
        parts=_slices(mlp.flat.size, members),
        grads=[gradient() for _ in range(members)],
        losses=memory.full((members, len(group)), 0, mlp.flat.dtype),
        meeting=Meeting(members) if members > 1 else None,
        recorder=recorder,
        first=first,
        carried=None if first == 1 else memory.full(carried_shape, 0, mlp.flat.dtype),
    )


def _slices(n: int, parts: int) -> list[slice]:
    """range(n) cut into `parts` contiguous slices whose lengths differ by at most one."""
    bounds = np.linspace(0, n, parts + 1).round().astype(int)
    return [slice(int(lo), int(hi)) for lo, hi in itertools.pairwise(bounds)]


def _train_group(run: _Run, team: _Team, member: int, counter: Counter, job: int) -> None:
    """Train the team's networks, stacked, on this member's rows of every batch; then, if this
    worker trains another team from halfway (`_Handover`), that team's networks. Member 0
    writes the networks' rows of `run`.

    Every team draws the same batches, and the networks of one seed replicate the same
    initial random numbers (common random numbers), so the split into teams never changes
    a network's run (beyond float rounding when a team splits the batch).
    """
    teams = [team] if team.then is None else [team, team.then]
    for n, current in enumerate(teams):
        if current.arrival is not None and not current.arrival.take():
            return
        # What this job reports: every step it has passed for all the networks it trains,
        # those it takes over later included.
        floor = min((later.first - 1 for later in teams[n + 1 :]), default=run.iterations)
        if not _train_steps(run, current, member, counter, job, floor):
            return


def _train_steps(
    run: _Run, team: _Team, member: int, counter: Counter, job: int, floor: int
) -> bool:
    """`_train_group`'s steps of one team, from `team.first` to its last; False if the run
    was stopped meanwhile."""
    group, mlp, grads, part = team.nets, team.mlp, team.grads[member], team.parts[member]
    last = run.iterations if team.last is None else team.last
    batch_rng = np.random.default_rng(run.seed_sequences[0])
    for _ in range(team.first - 1):  # the batches of the steps other teams trained
        batch_rng.integers(0, run.data.n_train, run.batch_size)
    opt = make_optimizer(run.optimizer, run.lr)  # for this member's part of the parameters
    if team.carried is not None:
        opt.resume(list(team.carried), steps=team.first - 1)
    alive = run.diverged_at[group] == 0
    data = run.data
    writer = member == 0
    checkpoint_index = {int(step): c for c, step in enumerate(run.checkpoints)}
    if team.first == 1:
        _count_units(run, team, mlp, member, 0)
    mine = team.rows[member]
    cache = empty_cache(mlp, mine.stop - mine.start)
    pixels = np.empty(cache.x.shape, dtype=np.uint8)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for step in range(team.first, last + 1):
            rows = batch_rng.integers(0, data.n_train, run.batch_size)[mine]
            np.take(data.x_train, rows, axis=0, out=pixels)
            np.multiply(pixels, _PIXEL_SCALE, out=cache.x)
            logits, _ = forward(mlp, cache.x, out=cache)
            team.losses[member], dlogits = softmax_cross_entropy(
                logits, data.y_train[rows], batch=run.batch_size
            )
            recording = team.recording(step)  # None but at a checkpoint's step
            dzs: list[FloatArray] | None = None if recording is None else []
            backward(mlp, cache, dlogits, out=grads, dzs=dzs)
            if recording is not None and dzs is not None:
                recording.measure_rows(member, step, mlp, cache, dzs)
            if not _meet(team, member):  # every member's loss, gradient and measures are in
                return False
            loss = team.losses.sum(axis=0)
            if writer:
                run.losses[group[alive], step - 1] = loss[alive]
            gradient = team.gradient(member)
            for i in np.flatnonzero(alive & ~np.isfinite(loss)):
                alive[i] = False
                if writer:
                    run.diverged_at[group[i]] = step
                _freeze(mlp, gradient, part, i, running_stats=writer)
            if recording is not None:
                recording.before_update(member, mlp, part)
            opt.step([mlp.flat[part]], [gradient])
            if not _meet(team, member):  # every part of the update is written
                return False
            if recording is not None:  # every member's sums and the whole update are in
                recording.record(member, step, mlp, alive)
            if step in checkpoint_index:
                _count_units(run, team, mlp, member, checkpoint_index[step])
            if not counter.advance(job, min(step, floor)):
                return False
        if team.handover is not None:
            team.handover.give(mlp, opt)
        elif writer:  # scoring a network that blew up overflows too: no warning for it either
            _score(run, group, mlp, alive)
    return True


def _meet(team: _Team, member: int) -> bool:
    """Wait for the team's other members; False if the run was stopped meanwhile."""
    try:
        team.wait(member)
    except threading.BrokenBarrierError:
        return False
    return True


def _count_units(run: _Run, team: _Team, mlp: MLP, member: int, checkpoint: int) -> None:
    """Distinct units of the hidden layers of the team's networks at one checkpoint: this
    member's share of the (network, layer) pairs, first layers first (they cost the most).

    Shared, because counting is no small part of a race (about 0.2-0.4 s of W's, measured)
    and a partner waiting for it would idle meanwhile.
    """
    weights, biases = mlp.weights[:-1], mlp.biases[:-1]
    pairs = [(i, layer) for layer in range(len(weights)) for i in range(len(team.nets))]
    for i, layer in pairs[member :: team.members]:
        count = distinct_units(weights[layer][i], biases[layer][i])
        run.distinct[team.nets[i], checkpoint, layer] = count


def _freeze(mlp: MLP, gradient: FloatArray, part: slice, k: int, *, running_stats: bool) -> None:
    """Zero diverged network k's parameters and gradient within `part` of the flat vector, so
    that it stays at zero: its NaNs stop spreading through its own updates and cost nothing
    to carry. Each member of a team zeroes its own part."""
    own = network_index(mlp)[part] == k
    mlp.flat[part][own] = 0
    gradient[own] = 0
    if running_stats and mlp.norm is not None:  # they may hold NaN too
        for mean, var in zip(mlp.norm.running_means, mlp.norm.running_vars, strict=True):
            mean[k], var[k] = 0, 1


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
            where = "test" if finite_parameters[i] else "parameters"
            run.diverged_in[k] = 1 + _DIVERGED_IN.index(where)


def _eval_chunk(units: int) -> int:
    """Test digits per scoring pass for networks of `units` units (all layers): the same for
    every network of a race however it is split into groups."""
    return max(1, min(_EVAL_CHUNK, _EVAL_VALUES // (2 * units)))


def _test_accuracy(mlp: MLP, data: Dataset) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Fraction of test digits each network classifies correctly, (K,), and whether all of
    its test logits were finite, (K,): argmax over NaN logits picks class 0, a plausible-looking
    ~10 %, so a network without finite logits must not be scored."""
    correct = np.zeros(mlp.n_nets, dtype=np.int64)
    finite = np.ones(mlp.n_nets, dtype=bool)
    chunk = _eval_chunk(sum(mlp.sizes[1:]))
    for start in range(0, data.n_test, chunk):
        x = data.x_test[start : start + chunk].astype(DEFAULT_DTYPE)
        x *= _PIXEL_SCALE
        logits, _ = forward(mlp, x, training=False)  # (K, chunk, classes)
        finite &= np.isfinite(logits).all(axis=(1, 2))
        correct += (logits.argmax(axis=-1) == data.y_test[start : start + chunk]).sum(axis=1)
    return correct / data.n_test, finite
