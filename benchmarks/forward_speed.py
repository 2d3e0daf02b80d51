"""Benchmark: where one forward experiment's time goes, and the σ × depth map's time.

`core.activation_histograms` at the page's settings (5 hidden layers × 100 units, 1,000
samples, sigmoid with std 0.05) and a few others, split into its parts: the draws (x, the
injected gradient), the weights drawn with a forward pass, a forward pass alone, the backward
pass (with the std of ∂L/∂W), the variance-propagation theory (which a call takes from a cache
after the first call of its settings), and the histograms with every per-layer statistic; then
the whole call, and the call as the page makes it (`core.activation_histograms`, under the
one-BLAS-thread limit). Then
`core.depth_sweep` at the page's settings (44 σ × 50 layers × 100 units, 200 samples).

Medians of many repetitions, each part timed on its own and the whole call as the page makes
it. BLAS is held to one thread (as a race is): on a busy machine its threads spin waiting for
a core and a 100×100 product takes many times longer (`--blas-threads 0` keeps the process's
own setting).

    python benchmarks/forward_speed.py [--repeats 200] [--blas-threads 1]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import core
from core import forward_pass as fp
from core.forward.sweep import depth_sweep
from core.forward.theory import predicted_stds
from core.network.activations import get_activation
from core.network.initializers import Initializer, get_initializer, normal_std
from core.network.mlp import forward

SETTINGS: list[tuple[str, str | Initializer, dict]] = [  # the page's default first
    ("sigmoid", normal_std(0.05), {}),
    ("sigmoid", "std_1", {}),
    ("tanh", "xavier_normal", {}),
    ("relu", "he_normal", {}),
    ("gelu", "he_normal", {}),
    ("relu", "he_normal", {"batch_norm": True}),
    ("relu", "he_normal", {"exclude_zeros": True}),
    ("sigmoid", "std_1", {"n_samples": 10_000}),
]
SWEEP = {"max_depth": 50, "width": 100, "n_samples": 200}  # the page's map


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm: imports, first allocations
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def parts(
    activation: str, initializer: str | Initializer, kwargs: dict
) -> dict[str, Callable[[], object]]:
    """Each part of one experiment as a call that repeats it on the same inputs."""
    act, init = get_activation(activation), get_initializer(initializer)
    n_samples, width = kwargs.get("n_samples", 1000), 100
    batch_norm, exclude_zeros = kwargs.get("batch_norm", False), kwargs.get("exclude_zeros", False)
    data_ss, init_ss, grad_ss = np.random.SeedSequence(0).spawn(3)

    def draws() -> np.ndarray:
        x = np.random.default_rng(data_ss).standard_normal((n_samples, width), dtype=np.float32)
        np.random.default_rng(grad_ss).standard_normal(x.shape, dtype=np.float32)
        return x

    x = draws()
    top_grad = np.random.default_rng(grad_ss).standard_normal(x.shape, dtype=np.float32)
    network = functools.partial(fp._network, init_ss, init, act, x, 5, batch_norm=batch_norm)
    mlp, cache = network()
    buffers = fp._Buffers()
    buffers.keep(mlp, cache)
    buffers.scratch(x)
    slopes: list[np.ndarray] = []
    grad_tops: list[float] = []
    deltas, _, _ = fp._backward(
        mlp, cache, top_grad, slopes=slopes, out=buffers.grads, grad_tops=grad_tops
    )
    extremes = fp._extremes(cache)

    def stats() -> None:
        fp._layer_stats(act, cache, slopes, deltas, extremes, grad_tops, 30, exclude_zeros, buffers)

    return {
        "draws": draws,
        "init+fwd": lambda: network(out=cache),  # the weights drawn, then a forward pass
        "forward": lambda: forward(mlp, x, out=cache),
        "backward": lambda: fp._backward(mlp, cache, top_grad, slopes=[], out=buffers.grads),
        "theory": lambda: predicted_stds(act, init.variance(width, width), 5, width),
        "stats": lambda: (fp._extremes(cache), stats()),
        "total": lambda: fp.activation_histograms(activation, initializer, **kwargs),
        "page": lambda: core.activation_histograms(activation, initializer, **kwargs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--blas-threads", type=int, default=1, help="0: the process's own")
    args = parser.parse_args()
    limit = (
        threadpool_limits(limits=args.blas_threads, user_api="blas")
        if args.blas_threads
        else contextlib.nullcontext()
    )
    with limit, np.errstate(over="ignore", invalid="ignore"):
        names = None
        for activation, initializer, kwargs in SETTINGS:
            calls = parts(activation, initializer, kwargs)
            timed = {name: median_ms(fn, args.repeats) for name, fn in calls.items()}
            if names is None:
                names = list(timed)
                print(f"{'setting':<42}" + "".join(f"{n:>10}" for n in names) + "   (ms, medians)")
            label = f"{activation}/{get_initializer(initializer).name} {kwargs or ''}"
            print(f"{label:<42}" + "".join(f"{timed[n]:>10.2f}" for n in names))
        sweep = median_ms(lambda: depth_sweep("relu", **SWEEP), max(5, args.repeats // 20))
        print(f"depth_sweep relu {SWEEP}: {sweep:.1f} ms")


if __name__ == "__main__":
    main()
