"""Benchmark: the book's MNIST race (workload W) in core, beside PyTorch in the same run.

W: 3 networks (std_0.01, lecun_normal, he_normal) x 2,000 iterations, 784-100-100-100-100-10
ReLU, batch 128, SGD lr 0.01, on 60,000 training digits. Prints, as medians of runs that
alternate so that a busy machine slows each alike:

- core on two worker processes (the default) and on one, and their ratio, with the CPU time
  and blocking waits of the workers;
- PyTorch (float32, 2 threads, written the way a PyTorch user would) and core's ratio to it;
- the sgemm rate on one and two threads, and W's FLOP bound at the two-thread rate;
- where one step's time goes (GEMMs, elementwise work, call overhead), measured on W's own
  shapes; what the race adds to it (checkpoints, scoring); and what the split over two worker
  processes costs (W's 3 networks go 2 + 1, then 1 + 1 from the halfway step, when the first
  worker hands a network over: 1 1/2 each; a batch split by rows, as one network's is, would
  add two meetings a step).

With --busy, W also runs beside a CPU-bound process (a Python busy loop) competing for one of
the two cores, and the slowdown is printed. With --batch-norm, every hidden layer of both is
batch-normalized (the book's §6.3; PyTorch's BatchNorm1d, in eval mode for the test pass).
With --no-telemetry, core's races run without their telemetry (`train_compare(...,
telemetry=False)`): the difference between runs with and without it is what the telemetry
costs.

    python benchmarks/train_speed.py [--repeats 5] [--iterations 2000] [--busy] [--batch-norm]
                                     [--no-telemetry]

Without full MNIST on disk the available digits are tiled to 60,000: the time depends on the
shapes only, never on the pixel values.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import core
from core.forward import symmetry
from core.network.activations import ACTIVATIONS
from core.network.initializers import INITIALIZERS
from core.network.losses import softmax_cross_entropy
from core.network.mlp import (
    MLP,
    Cache,
    Grads,
    backward,
    empty_cache,
    first_layer_matrix,
    forward,
    init_mlp,
    zeros_like_grads,
)
from core.network.optim import make_optimizer
from core.race import procs, telemetry, training

INITIALIZERS_W = ("std_0.01", "lecun_normal", "he_normal")
SIZES = (784, 100, 100, 100, 100, 10)
BATCH = 128
LR = 0.01
N_TRAIN = 60_000
PIXEL_SCALE = np.float32(1 / 255)


def workload_flops(iterations: int, n_nets: int = len(INITIALIZERS_W)) -> float:
    """Minimal forward + backward FLOPs of W: forward and dW for every layer, dx for every
    layer but the first (the input needs no gradient); 2 FLOPs per multiply-add."""
    pairs = list(itertools.pairwise(SIZES))
    macs = sum(a * b for a, b in pairs)
    per_step = 2 * BATCH * (2 * macs + sum(a * b for a, b in pairs[1:]))
    return per_step * iterations * n_nets


def sgemm_rate(threads: int, n: int = 2048, repeats: int = 5) -> float:
    """Best observed float32 GEMM rate in GFLOP/s on an n x n x n product."""
    a = np.ones((n, n), np.float32)
    with threadpool_limits(limits=threads, user_api="blas"):
        a @ a
        best = min(_timed(lambda: a @ a) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def training_digits() -> core.Dataset:
    data = core.load_mnist()
    if data.n_train >= N_TRAIN:
        return data
    reps = -(-N_TRAIN // data.n_train)
    x = np.tile(data.x_train, (reps, 1))[:N_TRAIN]
    y = np.tile(data.y_train, reps)[:N_TRAIN]
    source = f"{data.source}, tiled to {N_TRAIN:,} training digits"
    return core.Dataset(x, y, data.x_test, data.y_test, source=source)


@dataclass(frozen=True)
class CoreRun:
    """One run of W in core: wall seconds, CPU seconds of this process and its workers, and
    how often they blocked (voluntary context switches: a worker waiting for its partner)."""

    seconds: float
    cpu: float
    blocked: int


def _usage() -> dict[int, tuple[float, int]]:
    """CPU seconds and voluntary context switches so far, per process: this one (key 0) and
    core's worker processes (read from /proc: they outlive a race, so rusage never counts
    them)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    usage = {0: (own.ru_utime + own.ru_stime, own.ru_nvcsw)}
    pool = procs.pool()
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pool.pids() if pool is not None else []:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        cpu = (int(stat[11]) + int(stat[12])) / tick  # utime, stime
        usage[pid] = (cpu, int(status.split("voluntary_ctxt_switches:")[1].split()[0]))
    return usage


def _used(before: dict[int, tuple[float, int]]) -> tuple[float, int]:
    """CPU seconds and voluntary context switches since `before`, of every process alive now
    (one started meanwhile counts from zero)."""
    after = _usage()
    cpu = sum(c - before.get(pid, (0.0, 0))[0] for pid, (c, _) in after.items())
    blocked = sum(b - before.get(pid, (0.0, 0))[1] for pid, (_, b) in after.items())
    return cpu, blocked


def run_core(
    data: core.Dataset, iterations: int, batch_norm: bool, workers: int, telemetry: bool
) -> CoreRun:
    """core.train_compare on W (training and the final test pass)."""
    before = _usage()
    result = core.train_compare(
        list(INITIALIZERS_W),
        iterations=iterations,
        data=data,
        batch_norm=batch_norm,
        workers=workers,
        telemetry=telemetry,
    )
    cpu, blocked = _used(before)
    if any(s is not None for steps in result.diverged_at.values() for s in steps):
        raise RuntimeError(f"a network diverged: {result.diverged_at}")
    return CoreRun(result.seconds, cpu, blocked)


def make_torch_run(data: core.Dataset, iterations: int, batch_norm: bool):  # type: ignore[no-untyped-def]
    """W in PyTorch as its users write it: one nn.Sequential and one optimizer per network."""
    import torch

    torch.set_num_threads(2)
    x = torch.from_numpy(data.x_train.astype(np.float32) / 255)
    y = torch.from_numpy(data.y_train.copy())  # writable: torch warns on read-only arrays
    x_test = torch.from_numpy(data.x_test.astype(np.float32) / 255)
    stds = {
        "std_0.01": lambda fan_in: 0.01,
        "lecun_normal": lambda fan_in: (1 / fan_in) ** 0.5,
        "he_normal": lambda fan_in: (2 / fan_in) ** 0.5,
    }

    def network(std) -> torch.nn.Sequential:  # type: ignore[no-untyped-def]
        layers: list[torch.nn.Module] = []
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(SIZES)):
            linear = torch.nn.Linear(fan_in, fan_out)
            torch.nn.init.normal_(linear.weight, std=std(fan_in))
            torch.nn.init.zeros_(linear.bias)
            layers.append(linear)
            if i < len(SIZES) - 2:
                if batch_norm:
                    layers.append(torch.nn.BatchNorm1d(fan_out))
                layers.append(torch.nn.ReLU())
        return torch.nn.Sequential(*layers)

    def run() -> float:
        torch.manual_seed(0)
        nets = [network(stds[name]) for name in INITIALIZERS_W]
        optimizers = [torch.optim.SGD(net.parameters(), lr=LR) for net in nets]
        loss_fn = torch.nn.CrossEntropyLoss()
        start = time.perf_counter()
        for _ in range(iterations):
            rows = torch.randint(0, len(y), (BATCH,))
            xb, yb = x[rows], y[rows]
            for net, opt in zip(nets, optimizers, strict=True):
                opt.zero_grad()
                loss_fn(net(xb), yb).backward()
                opt.step()
        with torch.no_grad():
            for net in nets:
                net.eval()
                net(x_test).argmax(dim=1)
        return time.perf_counter() - start

    return run, torch.__version__


# --- Where a step's time goes -------------------------------------------------------------


def _stack(sizes: tuple[int, ...], batch: int) -> tuple[MLP, Cache, Grads]:
    """W's three networks with one worker's buffers for `batch` rows."""
    rngs = [np.random.default_rng(k) for k in range(len(INITIALIZERS_W))]
    inits = [INITIALIZERS[name] for name in INITIALIZERS_W]
    mlp = init_mlp(rngs, inits, sizes, ACTIVATIONS["relu"])
    return mlp, empty_cache(mlp, batch), zeros_like_grads(mlp)


def _phases(data: core.Dataset, sizes: tuple[int, ...], batch: int, steps: int) -> dict:
    """Seconds per step of each phase of one worker's step, as `core.race.training` runs it (the
    same calls on the same buffers; median of five rounds, as the races are medians: a best
    round against a median race had put a millisecond a step into "the rest")."""
    mlp, cache, grads = _stack(sizes, batch)
    opt = make_optimizer("sgd", LR)
    rng = np.random.default_rng(0)
    x_train = np.ascontiguousarray(data.x_train[:, : sizes[0]])
    pixels = np.empty(cache.x.shape, dtype=np.uint8)
    rounds: list[dict[str, float]] = []
    for _ in range(5):
        spent = dict.fromkeys(("batch", "forward", "loss", "backward", "update"), 0.0)
        for _ in range(steps):
            t0 = time.perf_counter()
            rows = rng.integers(0, data.n_train, batch)
            np.take(x_train, rows, axis=0, out=pixels)
            np.multiply(pixels, PIXEL_SCALE, out=cache.x)
            t1 = time.perf_counter()
            logits, _ = forward(mlp, cache.x, out=cache)
            t2 = time.perf_counter()
            _, dlogits = softmax_cross_entropy(logits, data.y_train[rows] % sizes[-1])
            t3 = time.perf_counter()
            backward(mlp, cache, dlogits, out=grads)
            t4 = time.perf_counter()
            opt.step([mlp.flat], [grads.flat])
            t5 = time.perf_counter()
            for name, dt in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
                spent[name] += dt
        rounds.append({name: dt / steps for name, dt in spent.items()})
    return {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}


def step_products(mlp: MLP, cache: Cache, grads: Grads) -> None:
    """One step's products alone, on the step's own buffers (after a forward pass): per layer
    x̃ @ W̃, then x̃ᵀ dz of every layer and dz Wᵀ of all but the first, as `core.network.mlp`'s
    forward and backward take them. Writes over the buffers' z and dz."""
    np.matmul(cache.inputs[0], first_layer_matrix(mlp.blocks[0]), out=cache.z_buffers[0])
    for layer in range(1, len(mlp.blocks)):
        np.matmul(cache.inputs[layer], mlp.blocks[layer], out=cache.z_buffers[layer])
    for layer in range(len(mlp.blocks) - 1, 0, -1):
        dz = cache.z_buffers[layer]
        a_prev = cache.inputs[layer].transpose(0, 2, 1)
        np.matmul(a_prev, dz, out=grads.blocks[layer])
        dz_prev = cache.dz_buffers[layer - 1]
        if layer == 1:
            dz_prev = dz_prev.reshape(dz.shape[1], mlp.n_nets, -1).transpose(1, 0, 2)
        np.matmul(dz, mlp.weights[layer].transpose(0, 2, 1), out=dz_prev)
    np.matmul(cache.inputs[0].T, cache.dz_buffers[0], out=first_layer_matrix(grads.blocks[0]))


def gemm_seconds(steps: int) -> float:
    """Seconds per step of one worker's GEMMs alone (median of five rounds)."""
    mlp, cache, grads = _stack(SIZES, BATCH)
    forward(mlp, cache.x, out=cache)
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(steps):
            step_products(mlp, cache, grads)
        rounds.append((time.perf_counter() - start) / steps)
    return statistics.median(rounds)


def step_breakdown(data: core.Dataset, steps: int) -> dict[str, object]:
    """One worker's W step split into GEMMs, call overhead (the same step on 2-unit layers
    and 2 rows: the same NumPy calls with next to no arithmetic) and the rest, elementwise
    work and its memory traffic; and the step's phases."""
    with threadpool_limits(limits=1, user_api="blas"):
        phases = _phases(data, SIZES, BATCH, steps)
        tiny = _phases(data, (SIZES[0], 2, 2, 2, 2, SIZES[-1]), 2, steps)
        gemms = gemm_seconds(steps)
    step = sum(phases.values())
    overhead = sum(tiny.values())
    return {
        "step": step,
        "GEMMs": gemms,
        "call overhead": overhead,
        "elementwise and memory": step - gemms - overhead,
        "phases": phases,
    }


# --- A competing process -------------------------------------------------------------------

BUSY_LOOP = "while True: pass"


def with_busy_core(fn: Callable[[], CoreRun]) -> CoreRun:
    """`fn()` while a CPU-bound process competes for the cores."""
    hog = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    try:
        time.sleep(0.2)  # let it start spinning
        return fn()
    finally:
        hog.kill()
        hog.wait()


# --- Report --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--batch-norm", action="store_true")
    parser.add_argument("--busy", action="store_true", help="also run W beside a busy loop")
    parser.add_argument("--no-telemetry", action="store_true", help="time W without telemetry")
    args = parser.parse_args()

    data = training_digits()
    print(f"data: {data.source}")
    try:
        torch_run, torch_version = make_torch_run(data, args.iterations, args.batch_norm)
    except ImportError:
        torch_run, torch_version = None, None
        print("PyTorch is not installed (pip install torch): core alone")

    def core_run(workers: int) -> Callable[[], CoreRun]:
        return lambda: run_core(
            data, args.iterations, args.batch_norm, workers, not args.no_telemetry
        )

    runs: dict[str, Callable[[], CoreRun | float]] = {"two": core_run(2), "one": core_run(1)}
    if torch_run is not None:
        runs["torch"] = torch_run
    if args.busy:
        runs["two, busy"] = lambda: with_busy_core(core_run(2))
    run_core(data, 10, args.batch_norm, 2, True)  # the worker processes started and warm
    seen: dict[str, list[CoreRun | float]] = {name: [] for name in runs}
    for repeat in range(args.repeats):
        # Alternate the order, so that none always runs on a warmer machine.
        for name in list(runs)[:: 1 if repeat % 2 == 0 else -1]:
            seen[name].append(runs[name]())
    times = {
        name: [r.seconds if isinstance(r, CoreRun) else r for r in runs_seen]
        for name, runs_seen in seen.items()
    }

    def median(name: str) -> float:
        return statistics.median(times[name])

    def paired(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))

    per_step = args.iterations * len(INITIALIZERS_W) / 1e3  # → ms per iteration per network
    rate_1, rate_2 = sgemm_rate(1), sgemm_rate(2)
    bound = workload_flops(args.iterations) / rate_2 / 1e9
    print(
        f"W: {len(INITIALIZERS_W)} networks x {args.iterations} iterations, "
        f"{'-'.join(map(str, SIZES))} ReLU{' with batch norm' if args.batch_norm else ''}, "
        f"batch {BATCH}, SGD {LR}{' without telemetry' if args.no_telemetry else ''}; "
        f"median of {args.repeats} runs"
    )
    print(f"{'':30}{'seconds':>9}{'ms/iter/net':>13}{'CPU s':>8}{'blocked/step':>14}")
    rows = [("core, 2 workers", "two"), ("core, 1 worker", "one")]
    if torch_run is not None:
        rows.append((f"PyTorch {torch_version}, 2 threads", "torch"))
    if args.busy:
        rows.append(("core, 2 workers, busy core", "two, busy"))
    for label, name in rows:
        line = f"{label:30}{median(name):>9.2f}{median(name) / per_step:>13.3f}"
        records = [r for r in seen[name] if isinstance(r, CoreRun)]
        if records:
            cpu = statistics.median(r.cpu for r in records)
            blocked = statistics.median(r.blocked for r in records) / args.iterations
            line += f"{cpu:>8.2f}{blocked:>14.1f}"
        print(line)
    print(
        f"sgemm 2048³: {rate_1:.0f} GFLOP/s on 1 thread, {rate_2:.0f} on 2; "
        f"W needs {workload_flops(args.iterations) / 1e9:.0f} GFLOP: FLOP bound {bound:.2f} s"
    )
    print("ratios (paired medians):")
    print(f"  2 workers / 1 worker        {paired('two', 'one'):.2f}  (target <= 0.60)")
    print(f"  core / FLOP bound           {median('two') / bound:.2f}  (target <= 2.0)")
    if torch_run is not None:
        target = "" if args.batch_norm else "  (target <= 0.50)"
        print(f"  core / PyTorch              {paired('two', 'torch'):.2f}{target}")
    if args.busy:
        print(f"  busy core / idle            {paired('two, busy', 'two'):.2f}  (limit 2.5)")
    if not args.batch_norm:
        print_breakdown(data, args.iterations, median("one"), median("two"), rate_2)
    print(
        "all runs (s): "
        + "; ".join(f"{name} " + " ".join(f"{t:.2f}" for t in times[name]) for name in runs)
    )


def race_extras(data: core.Dataset, iterations: int) -> dict[str, float]:
    """Seconds of what a race does beside its steps, on W's networks: scoring the test digits
    (once), and at every checkpoint counting the distinct units and summing the telemetry of
    one batch (best of three)."""
    mlp, cache, _ = _stack(SIZES, BATCH)
    cache.x[...] = data.x_train[:BATCH] * PIXEL_SCALE
    forward(mlp, cache.x, out=cache)
    dzs: list[np.ndarray] = []
    backward(mlp, cache, cache.z[-1], out=zeros_like_grads(mlp), dzs=dzs)
    edges = np.repeat(np.linspace(0, 12, telemetry.HISTOGRAM_BINS + 1)[None], mlp.n_nets, axis=0)

    def count_units() -> None:
        for w, b in zip(mlp.weights[:-1], mlp.biases[:-1], strict=True):
            for k in range(mlp.n_nets):
                symmetry.distinct_units(w[k], b[k])

    with threadpool_limits(limits=1, user_api="blas"):
        best = {
            "scoring": min(_timed(lambda: training._test_accuracy(mlp, data)) for _ in range(3)),
            "unit counts": min(_timed(count_units) for _ in range(3)),
            "telemetry sums": min(
                _timed(lambda: telemetry._Partials.of_rows(mlp, cache, dzs, edges))
                for _ in range(3)
            ),
        }
    checkpoints = len(range(50, iterations, 50)) + 2  # train_compare's default progress_every
    return {
        "scoring the test digits, once": best["scoring"],
        f"counting units, {checkpoints} checkpoints": best["unit counts"] * checkpoints,
        f"telemetry sums, {checkpoints} checkpoints": best["telemetry sums"] * checkpoints,
    }


def print_breakdown(
    data: core.Dataset, iterations: int, one: float, two: float, rate_2: float
) -> None:
    """Where a step of W goes: one worker's step measured alone, what the race adds, then the
    split's cost."""
    parts = step_breakdown(data, steps=max(50, min(300, iterations // 4)))
    step = float(parts["step"])
    extras = race_extras(data, iterations)
    meeting = procs.meeting_seconds()
    one, two = one / iterations, two / iterations
    flops = workload_flops(1) / 1e9
    print(f"one step of W, 3 networks (ms): 1 worker {one * 1e3:.3f}, 2 workers {two * 1e3:.3f}")
    print(f"  1 worker's step, measured alone        {step * 1e3:7.3f}  100 %")
    for name in ("GEMMs", "elementwise and memory", "call overhead"):
        seconds = float(parts[name])
        print(f"    {name:36}{seconds * 1e3:7.3f}  {seconds / step:4.0%}")
    phases = parts["phases"]
    assert isinstance(phases, dict)
    print("    by phase: " + ", ".join(f"{k} {v * 1e3:.3f}" for k, v in phases.items()))
    print(f"  the race's 1-worker step beyond it     {(one - step) * 1e3:7.3f}")
    for name, seconds in extras.items():
        print(f"    {name:36}{seconds / iterations * 1e3:7.3f}  ({seconds:.3f} s a race)")
    rest = one - step - sum(extras.values()) / iterations
    print(f"    the rest (reports, bookkeeping, noise){rest * 1e3:7.3f}")
    print(f"  2 workers, 1 1/2 networks each: half   {one / 2 * 1e3:7.3f}")
    print(f"    plus the split (calls not halved)   {(two - one / 2) * 1e3:7.3f}")
    print(f"  a rows split would add two meetings    {2 * meeting * 1e3:7.3f}  (2 processes)")
    print(
        f"  GEMMs alone: {flops / float(parts['GEMMs']):.0f} GFLOP/s on one thread; "
        f"at the two-thread sgemm rate a step needs {flops / rate_2 * 1e3:.3f}"
    )


if __name__ == "__main__":
    main()
