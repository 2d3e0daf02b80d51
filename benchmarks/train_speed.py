"""Benchmark: the book's MNIST race (workload W) in core, beside PyTorch in the same run.

W: 3 networks (std_0.01, lecun_normal, he_normal) x 2,000 iterations, 784-100-100-100-100-10
ReLU, batch 128, SGD lr 0.01, on 60,000 training digits. Prints ms per iteration per network,
the ratio to PyTorch (float32, 2 threads, written the way a PyTorch user would), the sgemm rate
and W's FLOP bound. Runs alternate between the two, and medians are reported, so that a busy
machine slows both alike. With --batch-norm, every hidden layer of both is batch-normalized
(the book's §6.3; PyTorch's BatchNorm1d, in eval mode for the test pass).

    python benchmarks/train_speed.py [--repeats 5] [--iterations 2000] [--batch-norm]

Without full MNIST on disk the available digits are tiled to 60,000: the time depends on the
shapes only, never on the pixel values.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import core

INITIALIZERS = ("std_0.01", "lecun_normal", "he_normal")
SIZES = (784, 100, 100, 100, 100, 10)
BATCH = 128
LR = 0.01
N_TRAIN = 60_000


def workload_flops(iterations: int, n_nets: int = len(INITIALIZERS)) -> float:
    """Minimal forward + backward FLOPs of W: forward and dW for every layer, dx for every
    layer but the first (the input needs no gradient); 2 FLOPs per multiply-add."""
    pairs = list(itertools.pairwise(SIZES))
    macs = sum(a * b for a, b in pairs)
    per_step = 2 * BATCH * (2 * macs + sum(a * b for a, b in pairs[1:]))
    return per_step * iterations * n_nets


def sgemm_rate(n: int = 2048, repeats: int = 5) -> float:
    """Best observed float32 GEMM rate in GFLOP/s on an n x n x n product, on every core
    (core pins BLAS to one thread for its own small products; the bound is the machine's)."""
    a = np.ones((n, n), np.float32)
    with threadpool_limits(limits=os.cpu_count(), user_api="blas"):
        a @ a
        best = min(_timed(lambda: a @ a) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
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


def run_core(data: core.Dataset, iterations: int, batch_norm: bool) -> float:
    """Seconds of core.train_compare on W (training and the final test pass)."""
    result = core.train_compare(
        list(INITIALIZERS), iterations=iterations, data=data, batch_norm=batch_norm
    )
    if any(s is not None for steps in result.diverged_at.values() for s in steps):
        raise RuntimeError(f"a network diverged: {result.diverged_at}")
    return result.seconds


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
        nets = [network(stds[name]) for name in INITIALIZERS]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--batch-norm", action="store_true")
    args = parser.parse_args()

    data = training_digits()
    print(f"data: {data.source}")
    try:
        torch_run, torch_version = make_torch_run(data, args.iterations, args.batch_norm)
    except ImportError:
        torch_run, torch_version = None, None
        print("PyTorch is not installed (pip install torch): core alone")

    core_times, torch_times = [], []
    for repeat in range(args.repeats):
        # Alternate who goes first, so that neither always runs on a warmer machine.
        runs = [lambda: core_times.append(run_core(data, args.iterations, args.batch_norm))]
        if torch_run is not None:
            runs.append(lambda: torch_times.append(torch_run()))
        for run in runs[:: 1 if repeat % 2 == 0 else -1]:
            run()

    per_step = args.iterations * len(INITIALIZERS) / 1e3  # → ms per iteration per network
    core_s = statistics.median(core_times)
    rate = sgemm_rate()
    flops = workload_flops(args.iterations)
    print(
        f"W: {len(INITIALIZERS)} networks x {args.iterations} iterations, "
        f"{'-'.join(map(str, SIZES))} ReLU{' with batch norm' if args.batch_norm else ''}, "
        f"batch {BATCH}, SGD {LR}; "
        f"median of {args.repeats} runs"
    )
    print(f"{'':24}{'seconds':>10}{'ms/iter/net':>14}")
    print(f"{'core (NumPy, stacked)':24}{core_s:>10.2f}{core_s / per_step:>14.3f}")
    if torch_times:
        torch_s = statistics.median(torch_times)
        print(f"{'PyTorch ' + torch_version:24}{torch_s:>10.2f}{torch_s / per_step:>14.3f}")
        target = "" if args.batch_norm else " (target <= 0.60)"
        print(f"ratio core / PyTorch: {core_s / torch_s:.2f}{target}")
    print(
        f"sgemm rate: {rate:.0f} GFLOP/s; W needs {flops / 1e9:.1f} GFLOP, "
        f"so its FLOP bound is {flops / rate / 1e9:.2f} s"
    )
    print(
        "all runs (s): core "
        + " ".join(f"{t:.2f}" for t in core_times)
        + ("; PyTorch " + " ".join(f"{t:.2f}" for t in torch_times) if torch_times else "")
    )


if __name__ == "__main__":
    main()
