"""Benchmark: where one forward experiment's time goes, and the σ × depth map's time.

`core.activation_histograms` at the page's default (sigmoid, std 1, 5 hidden layers × 100
units, 1,000 samples) and a few other settings, split into its parts:

- draws: x and the injected gradient, 2 × 10^5 normal numbers (a call of a new seed or shape
  draws them; the next calls of that seed and shape reuse them);
- weights: the weights drawn (`init_mlp`; a call of a new seed, initializer or shape draws
  them, the next ones copy that draw);
- forward: the forward pass;
- backward: the backward pass, with the std of ∂L/∂W and each layer's range of ∂L/∂z;
- extremes: each layer's least and largest a and z (the overflow check, the shared range);
- stats: the histograms and every other per-layer statistic;
- theory: the variance-propagation theory (a call takes it from a cache after the first call
  of its settings);

- GEMMs: the matrix products of forward and backward alone (`train_speed.step_products`), on
  the experiment's own network and buffers: the floor below which no rewrite of the rest can
  bring a call (the backward pass skips the input's gradient: 3 × layers − 1 products);

their sum (`parts`: forward, backward, extremes and stats, what a call does besides copying
its kept draws and looking up its theory), then the whole call three ways: `call` with the
random inputs and the drawn network of earlier calls (as on the page's change of activation
or of the zero spike; a change of initializer or depth adds `weights`, of the samples
`draws`), `new seed` (nothing kept from earlier calls: everything drawn), and `page`, the
call under the one-BLAS-thread limit that `core.activation_histograms` sets.
The last line gives the call at the page's default beside the target. Then `core.depth_sweep`
at the page's settings (44 σ × 50 layers × 100 units, 200 samples).

Every repetition runs each part and each call once, in turn (the order rotating), so that all
are timed under the same load; medians are printed. BLAS is held to one thread (as core
holds it): on a busy machine its threads spin waiting for a core and a 100×100 product takes
many times longer (`--blas-threads 0` keeps the process's own setting).

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
from benchmarks.train_speed import step_products
from core import forward_pass as fp
from core.forward.sweep import depth_sweep
from core.forward.theory import predicted_stds
from core.network.activations import get_activation
from core.network.initializers import Initializer, get_initializer, normal_std
from core.network.mlp import forward, zeros_like_grads

TARGET_MS = 5.0  # the whole call at the page's default
SETTINGS: list[tuple[str, str | Initializer, dict]] = [  # the page's default first
    ("sigmoid", "std_1", {}),
    ("sigmoid", normal_std(0.05), {}),
    ("tanh", "xavier_normal", {}),
    ("relu", "he_normal", {}),
    ("gelu", "he_normal", {}),
    ("relu", "he_normal", {"batch_norm": True}),
    ("relu", "he_normal", {"exclude_zeros": True}),
    ("sigmoid", "std_1", {"n_samples": 5000}),
]
PARTS_OF_A_CALL = ("forward", "backward", "extremes", "stats")
COLUMNS = (
    "draws",
    "weights",
    *PARTS_OF_A_CALL,
    "theory",
    "GEMMs",
    "parts",
    "call",
    "new seed",
    "page",
)
SWEEP = {"max_depth": 50, "width": 100, "n_samples": 200}  # the page's map


def medians_ms(calls: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median time of each call in ms, the calls taking turns (their order rotating)."""
    names = list(calls)
    for fn in calls.values():
        fn()  # warm: imports, first allocations, caches
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            calls[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) * 1e3 for name, t in times.items()}


def cold_call(activation: str, initializer: str | Initializer, kwargs: dict) -> object:
    """The call with nothing kept from earlier calls, as a new seed makes it (a call of a
    seed of its own would evict what the other calls of this benchmark reuse)."""
    fp._draws.cache_clear()
    fp._kept_draw.cache_clear()
    return fp.activation_histograms(activation, initializer, **kwargs)


def parts(
    activation: str, initializer: str | Initializer, kwargs: dict
) -> dict[str, Callable[[], object]]:
    """Each part of one experiment as a call that repeats it on the same inputs, then the
    whole call three ways."""
    act, init = get_activation(activation), get_initializer(initializer)
    n_layers, width, n_samples = 5, 100, kwargs.get("n_samples", 1000)
    batch_norm, exclude_zeros = kwargs.get("batch_norm", False), kwargs.get("exclude_zeros", False)
    dtype = np.dtype(np.float32)
    init_ss, x, top_grad = fp._draws(0, n_samples, width, dtype)

    draws = functools.partial(fp._draws.__wrapped__, 0, n_samples, width, dtype)  # uncached
    sizes = (width,) * (n_layers + 1)
    weights = functools.partial(fp._drawn, init_ss, init, act, sizes, dtype, batch_norm)

    mlp, cache = fp._network(init_ss, init, act, x, n_layers, batch_norm=batch_norm)
    # The same network with buffers of its own for its products alone, which write over the
    # z and ∂L/∂z that the other parts read (without batch norm: its products are the same).
    product_mlp, product_cache = fp._network(init_ss, init, act, x, n_layers, batch_norm=False)
    assert product_mlp is not None
    product_grads = zeros_like_grads(product_mlp)
    buffers = fp._Buffers()
    buffers.keep(mlp, cache)
    buffers.scratch(x)
    slopes: list[np.ndarray] = []
    grad_tops: list[float] = []
    deltas, _, _ = fp._backward(
        mlp, cache, top_grad, slopes=slopes, out=buffers.grads, grad_tops=grad_tops
    )
    extremes = fp._extremes(cache)
    stats = functools.partial(
        fp._layer_stats, act, cache, slopes, deltas, extremes, grad_tops, 30, exclude_zeros
    )
    return {
        "draws": draws,
        "weights": weights,
        "forward": lambda: forward(mlp, x, out=cache),
        "backward": lambda: fp._backward(mlp, cache, top_grad, slopes=[], out=buffers.grads),
        "extremes": lambda: fp._extremes(cache),
        "stats": lambda: stats(buffers),
        "theory": lambda: predicted_stds(act, init.variance(width, width), n_layers, width),
        "GEMMs": functools.partial(step_products, product_mlp, product_cache, product_grads),
        "call": lambda: fp.activation_histograms(activation, initializer, **kwargs),
        "new seed": functools.partial(cold_call, activation, initializer, kwargs),
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
        first = None
        for activation, initializer, kwargs in SETTINGS:
            timed = medians_ms(parts(activation, initializer, kwargs), args.repeats)
            timed["parts"] = sum(timed[name] for name in PARTS_OF_A_CALL)
            if first is None:
                first = timed
                print(f"{'setting':<42}" + "".join(f"{n:>9}" for n in COLUMNS) + "  (ms, medians)")
            label = f"{activation}/{get_initializer(initializer).name} {kwargs or ''}"
            print(f"{label:<42}" + "".join(f"{timed[n]:>9.2f}" for n in COLUMNS))
        sweep = medians_ms({"sweep": lambda: depth_sweep("relu", **SWEEP)}, args.repeats // 20 + 5)
        print(f"depth_sweep relu {SWEEP}: {sweep['sweep']:.1f} ms")
        assert first is not None
        print(
            f"the page's default: {first['call']:.2f} ms a call (target {TARGET_MS:.0f} ms), "
            f"{first['new seed']:.2f} ms with a new seed, {first['page']:.2f} ms as the page "
            f"calls it; its matrix products alone {first['GEMMs']:.2f} ms"
        )


if __name__ == "__main__":
    main()
