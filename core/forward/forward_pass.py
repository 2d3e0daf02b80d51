"""The book's §6.2.2 experiment: push random data through a deep net and look at every layer.

Defaults reproduce the book: 1000 samples of 100 standard-normal inputs, 5 hidden layers of
100 units, zero bias. Computed in float32 (NumPy's exp and tanh are 4× faster there) with
float64 statistics; a layer that leaves float32's range (~3.4e38) ends the report with a label.
Histograms are binned here so that a UI never ships raw values.

Backward, as in Glorot & Bengio's Fig. 7 and 8: a standard-normal gradient ∂L/∂a is injected
at the last layer and back-propagated; each layer reports ∂L/∂z and the std of ∂L/∂W. Beside
every measured std stands the one variance propagation predicts (`core.forward.theory`).

With batch norm (the book's §6.3), each layer's z is standardized over the samples before f
(γ = 1, β = 0, as at initialization), and the gradient flows back through that standardization.

References: Glorot & Bengio 2010 (Fig. 3, 6, 7, 8); He et al. 2015, arXiv:1502.01852 (§2.2).
"""

from __future__ import annotations

import contextlib
import functools
import math
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.forward.theory import predicted_stds
from core.network.activations import Activation, get_activation
from core.network.initializers import Initializer, get_initializer
from core.network.lsuv import scale_networks
from core.network.mlp import (
    MLP,
    Cache,
    Grads,
    backward,
    copied_with,
    forward,
    init_mlp,
    zeros_like_grads,
)
from core.types import DEFAULT_DTYPE, FloatArray, IntArray
from core.validation import (
    MAX_BINS,
    MAX_LAYERS,
    MAX_MULTIPLY_ADDS,
    MAX_VALUES,
    InvalidTypeError,
    check_bool,
    check_budget,
    check_float_dtype,
    check_int,
    check_real_array,
    check_seed,
)

SATURATION_THRESHOLD = 0.05  # |f'(z)| below 5 % of the activation's largest slope


@dataclass(frozen=True, eq=False)
class LayerStats:
    """One hidden layer's activations a = f(z): histogram and summary statistics.

    `saturated`: fraction of values whose |f'(z)| < 5 % of max |f'|.
    `dead`: fraction of units saturated for every sample (they pass no gradient at all).
    `zero_fraction`: fraction of exact zeros (ReLU's spike), excluded from `counts` when asked.
    `grad_*`: the back-propagated gradient ∂L/∂z at this layer (zeros excluded like `counts`);
    NaN std and empty counts at and below the layer where it overflowed
    (`ForwardResult.grad_overflow_layer`). `weight_grad_std`: std of ∂L/∂W, NaN there too, and
    inf where the std itself exceeds float64's range (possible only in float64 runs).
    `predicted_std`, `predicted_grad_std`: what variance propagation says they should be (inf
    where that overflows).
    Every other number is finite, and `counts` (`grad_counts`) counts every value binned.
    """

    layer: int
    counts: IntArray
    edges: FloatArray
    mean: float
    std: float
    saturated: float
    dead: float
    zero_fraction: float
    grad_counts: IntArray
    grad_edges: FloatArray
    grad_std: float
    weight_grad_std: float
    predicted_std: float
    predicted_grad_std: float


@dataclass(frozen=True, eq=False)
class ForwardResult:
    """Per-layer statistics; `overflow_layer` is the first layer whose values left the float
    range (the layers from there on are not reported), or None; `grad_overflow_layer` is the
    same for the backward pass, counted from the top."""

    activation: Activation
    initializer: Initializer
    width: int
    batch_norm: bool
    layers: tuple[LayerStats, ...]
    overflow_layer: int | None
    grad_overflow_layer: int | None = None


# Over 60 lines with its docstring: the public signature and its contract; the body, 48.
def activation_histograms(
    activation: str,
    initializer: str | Initializer,
    *,
    n_layers: int = 5,
    width: int = 100,
    n_samples: int = 1000,
    bins: int = 30,
    seed: int = 0,
    exclude_zeros: bool = False,
    batch_norm: bool = False,
    dtype: npt.DTypeLike = DEFAULT_DTYPE,
) -> ForwardResult:
    """Histogram and statistics of every hidden layer's activations, with shared edges.

    x (n_samples, width) ~ N(0, 1); for each layer: z = a @ W with W (width, width) drawn by
    `initializer`, a = f(z), or f of z standardized over the samples with `batch_norm`.
    Edges are shared across layers, so they can be compared, and span the activation's output
    range where it is bounded (sigmoid: 0 to 1; tanh: -1 to 1) or the values seen where it is
    not (ReLU's upper side).

    The work is bounded (see `core.validation`): at most `MAX_LAYERS` layers, `MAX_BINS` bins,
    n_layers × (width² + 4 × n_samples × width + 4 × bins) values held, and
    n_layers × (3 × n_samples × width² + width³ for orthogonal's QR) multiply-adds. The
    buffers of the last call are kept for the next one of the same shape (one set at most),
    its random inputs and its drawn network for the next ones of the same seed and shape
    (`_draws`, `_network`).
    `dtype` is float32 or float64.
    """
    act = get_activation(activation)
    init = get_initializer(initializer)
    dtype = _check_arguments(init, n_layers, width, n_samples, bins, seed, exclude_zeros, dtype)
    check_bool("batch_norm", batch_norm)

    init_ss, x, top_grad = _draws(seed, n_samples, width, dtype)
    network = functools.partial(_network, init_ss, init, act, x, batch_norm=batch_norm)
    key = (n_layers, width, n_samples, dtype, batch_norm)
    with np.errstate(over="ignore", invalid="ignore"), _pooled_buffers(key) as buffers:
        mlp, cache = network(n_layers, out=buffers.cache)
        buffers.keep(mlp, cache)
        extremes = _extremes(cache)
        overflow_layer = len(extremes) + 1 if len(extremes) < n_layers else None
        if overflow_layer is not None:  # backward starts at the last layer within range
            mlp, cache = network(overflow_layer - 1)
            extremes = extremes[: overflow_layer - 1]
        slopes: list[FloatArray] = []
        grad_tops: list[float] = []
        deltas, weight_grad_stds, grad_overflow_layer = _backward(
            mlp,
            cache,
            top_grad,
            slopes=slopes,
            out=buffers.grads if overflow_layer is None else None,
            grad_tops=grad_tops,
        )
        stats = _layer_stats(
            act, cache, slopes, deltas, extremes, grad_tops, bins, exclude_zeros, buffers.scratch(x)
        )
    predicted = _predicted_stds(
        act,
        init.variance(width, width),
        len(stats),
        width,
        batch_norm=batch_norm,
        unit_variance=init.data_dependent,
    )
    layers = tuple(
        LayerStats(
            layer=i + 1,
            **stats[i],
            weight_grad_std=weight_grad_stds[i],
            predicted_std=float(predicted.activation[i]),
            predicted_grad_std=float(predicted.gradient[i]),
        )
        for i in range(len(stats))
    )
    return ForwardResult(act, init, width, batch_norm, layers, overflow_layer, grad_overflow_layer)


# The theory depends on none of the draws: the page's redraws (another seed, more samples)
# reuse it.
_predicted_stds = functools.lru_cache(maxsize=256)(predicted_stds)


def _check_arguments(
    init: Initializer,
    n_layers: int,
    width: int,
    n_samples: int,
    bins: int,
    seed: int,
    exclude_zeros: bool,
    dtype: npt.DTypeLike,
) -> np.dtype:
    """Refuse what `activation_histograms` cannot run, before any work; returns the dtype."""
    check_int("n_layers", n_layers, low=1, high=MAX_LAYERS)
    check_int("width", width, low=1, high=MAX_VALUES)
    check_int("n_samples", n_samples, low=1, high=MAX_VALUES)
    check_int("bins", bins, low=1, high=MAX_BINS)
    check_seed(seed)
    check_bool("exclude_zeros", exclude_zeros)
    checked = check_float_dtype(dtype)
    check_budget(  # per layer: W, then a, f'(z), ∂L/∂z (and x̂), and two histograms
        n_layers * (width * width + 4 * n_samples * width + 4 * bins),
        MAX_VALUES,
        what="values to hold",
        formula="n_layers × (width² + 4 × n_samples × width + 4 × bins)",
        arguments="n_layers, width, n_samples or bins",
    )
    qr = width**3 if init.distribution == "orthogonal" else 0  # a QR decomposition per layer
    check_budget(
        n_layers * (3 * n_samples * width * width + qr),
        MAX_MULTIPLY_ADDS,
        what="multiply-adds",
        formula="n_layers × (3 × n_samples × width²"
        + (" + width³ for orthogonal's QR)" if qr else ")"),
        arguments="n_layers, width or n_samples",
    )
    return checked


@functools.lru_cache(maxsize=1)
def _draws(
    seed: int, n_samples: int, width: int, dtype: np.dtype
) -> tuple[np.random.SeedSequence, FloatArray, FloatArray]:
    """The seed of the weights, x and the injected ∂L/∂a (n_samples, width) ~ N(0, 1), both
    read-only: kept for the next call of the same seed and shape. A page redraws on every
    change of the activation, the initializer or the depth, none of which changes them, and
    2 × 10^5 normal numbers take ~2-3 ms, more than the histograms of every layer."""
    data_ss, init_ss, grad_ss = np.random.SeedSequence(seed).spawn(3)
    x = np.random.default_rng(data_ss).standard_normal((n_samples, width), dtype=dtype)
    top_grad = np.random.default_rng(grad_ss).standard_normal(x.shape, dtype=dtype)
    x.flags.writeable = top_grad.flags.writeable = False  # shared by later calls
    return init_ss, x, top_grad


def _drawn(
    init_ss: np.random.SeedSequence,
    init: Initializer,
    act: Activation,
    sizes: tuple[int, ...],
    dtype: np.dtype,
    batch_norm: bool,
) -> MLP:
    """A stack of one net of `sizes`, its weights drawn from `init_ss`, zero bias."""
    rngs = [np.random.default_rng(init_ss)]
    return init_mlp(rngs, [init], sizes, act, dtype, batch_norm=batch_norm, linear_output=False)


_KEPT_PARAMETERS = 2**22  # larger networks are drawn anew, so that little memory stays held
_STAND_IN = get_activation("linear")  # the f of a kept net: each call sets its own on a copy


@functools.lru_cache(maxsize=2)  # the two latest: an overflow runs a shallower net too
def _kept_draw(
    entropy: int,
    spawn_key: tuple[int, ...],
    init: Initializer,
    sizes: tuple[int, ...],
    dtype: np.dtype,
    batch_norm: bool,
) -> MLP:
    """`_drawn`'s net for the weights' seed `entropy` / `spawn_key`, kept for the next calls."""
    init_ss = np.random.SeedSequence(entropy, spawn_key=spawn_key)
    return _drawn(init_ss, init, _STAND_IN, sizes, dtype, batch_norm)


def _network(
    init_ss: np.random.SeedSequence,
    init: Initializer,
    act: Activation,
    x: FloatArray,
    n_layers: int,
    *,
    batch_norm: bool,
    out: Cache | None = None,
) -> tuple[MLP | None, Cache]:
    """The net of `n_layers` square layers drawn from `init_ss` (the same first layers for any
    `n_layers`), LSUV-scaled on x if the initializer asks, and its forward pass on x: a stack
    of one network (`core.network.mlp`), zero bias, f after every layer, into `out` if given
    (from `empty_cache` for this net). No layers: no net.

    The draw is kept (`_kept_draw`) and each call runs a copy of it with its own f: a change
    of activation, of the samples or of what is counted draws no weight again (~0.8 ms)."""
    if n_layers == 0:  # the first layer already left the float range
        return None, Cache(x, [], [], [], [], [], [])
    sizes = (x.shape[1],) * (n_layers + 1)
    if n_layers * x.shape[1] ** 2 <= _KEPT_PARAMETERS:
        kept = _kept_draw(init_ss.entropy, init_ss.spawn_key, init, sizes, x.dtype, batch_norm)
        mlp = copied_with(kept, act)
    else:
        mlp = _drawn(init_ss, init, act, sizes, x.dtype, batch_norm)
    if init.data_dependent:  # LSUV: every W rescaled on this batch, in place
        scale_networks(mlp, [init], x)
    _, cache = forward(mlp, x, out=out)
    return mlp, cache


def _extremes(cache: Cache) -> list[tuple[float, float]]:
    """The least and the largest a of every layer, up to the first layer whose z (f's input)
    or a left the float range (there min or max is inf or NaN), which is not listed."""
    extremes = []
    for z, a in zip(cache.z, cache.a, strict=True):
        seen = float(a.min()), float(a.max()), float(z.min()), float(z.max())
        if not all(map(math.isfinite, seen)):
            break
        extremes.append(seen[:2])
    return extremes


def _backward(
    mlp: MLP | None,
    cache: Cache,
    top_grad: FloatArray,
    *,
    slopes: list[FloatArray] | None = None,
    out: Grads | None = None,
    grad_tops: list[float] | None = None,
) -> tuple[list[FloatArray | None], list[float], int | None]:
    """∂L/∂z per layer (None at and below a layer where it left the float range) and the std
    of ∂L/∂W, from ∂L/∂a of the last layer, by the network's own backward pass (into `out`, if
    given; f'(z) of every layer into `slopes`, max|∂L/∂z| of those in range into `grad_tops`);
    with the first layer (counted from the input) whose ∂L/∂z is out of range, or None."""
    if mlp is None:
        return [], [], None
    dzs: list[FloatArray] = []
    grads = backward(mlp, cache, top_grad[np.newaxis], out=out, dzs=dzs, slopes=slopes)
    deltas: list[FloatArray | None] = [dz[0] for dz in dzs]  # K = 1: (n_samples, width)
    overflow, tops = None, []
    for i in reversed(range(len(dzs))):  # from the top down to the first out of range
        low, high = float(dzs[i].min()), float(dzs[i].max())  # NaN if any value is
        if not (math.isfinite(low) and math.isfinite(high)):
            overflow = i + 1
            break
        tops.append(max(high, -low))
    if grad_tops is not None:
        grad_tops.extend(tops)
    weight_grad_stds = [float("nan")] * len(dzs)
    for i in range(overflow or 0, len(dzs)):
        a_prev = cache.x if i == 0 else cache.a[i - 1][0]
        weight_grad_stds[i] = _weight_grad_std(a_prev, dzs[i][0], grads.weights[i][0])
    deltas[: overflow or 0] = [None] * (overflow or 0)
    return deltas, weight_grad_stds, overflow


def _weight_grad_std(
    a: FloatArray, delta: FloatArray, weight_grad: FloatArray | None = None
) -> float:
    """std of ∂L/∂W = aᵀδ / n_samples, (width, width), as a float64 number; `weight_grad` is
    aᵀδ if backward already took it.

    The product is taken in the arrays' precision, where it may overflow although a and δ do
    not (float32: 10^20 × 10^20); then again on a / max|a| and δ / max|δ|, whose products are
    at most n_samples, with the two scales multiplied back in float64. The result is inf only
    where the std itself exceeds float64's range.
    """
    n = len(delta)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is handled below
        if weight_grad is None:
            weight_grad = a.T @ delta  # (width, width)
        std = float(weight_grad.std(dtype=np.float64)) / n
    if math.isfinite(std):
        return std
    a_top, delta_top = float(np.abs(a).max()), float(np.abs(delta).max())
    weight_grad = (a / a_top).T @ (delta / delta_top)  # (width, width), entries <= n
    return float(weight_grad.std(dtype=np.float64)) / n * a_top * delta_top


def _mean_std(values: FloatArray, scratch: FloatArray | None = None) -> tuple[float, float]:
    """Mean and std in float64, finite for any finite values: when the plain sums overflow
    (float64 values beyond 10^154), they are taken of values / max|values| and scaled back.
    `scratch`, float64 and as large, spares an allocation (and its page faults)."""
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is handled below
        mean = float(values.sum(dtype=np.float64)) / values.size
        centred = np.subtract(values, mean, dtype=np.float64, out=_shaped(scratch, values))
        centred = centred.reshape(-1)  # (n,), a view: contiguous
        std = math.sqrt(float(np.dot(centred, centred)) / values.size)
    if math.isfinite(mean) and math.isfinite(std):
        return mean, std
    top = float(np.abs(values).max())
    scaled = values / top  # |scaled| <= 1
    return float(scaled.mean(dtype=np.float64)) * top, float(scaled.std(dtype=np.float64)) * top


def _shaped(scratch: FloatArray | None, like: FloatArray) -> FloatArray | None:
    """The first like.size numbers of `scratch` in like's shape (None stays None)."""
    return None if scratch is None else scratch[: like.size].reshape(like.shape)


_FLOAT_MAX = sys.float_info.max
_EQUAL = 2.0**-20  # values closer than this, relative to their size, are drawn as one value
_TINY_SPAN = 1e-290  # spans below it leave float64's full precision when cut into bins
_NARROW = 2.0**-20  # how far below the range a layer's std (or mean) may lie, see _summary
_CANCEL = 2.0**20  # how far (mean / std)² may go in a one-pass variance, see _summary


def _shared_range(act: Activation, values: list[FloatArray]) -> tuple[float, float]:
    """The histogram range: the activation's own where bounded, else the values seen.

    The values seen widen a declared bound they cross, so that no value is left uncounted
    (the bounds are exact for what the activations compute: `core.network.activations`).
    """
    seen_low = min((float(a.min()) for a in values), default=0.0)
    seen_high = max((float(a.max()) for a in values), default=1.0)
    return _value_range(act, seen_low, seen_high)


def _value_range(act: Activation, seen_low: float, seen_high: float) -> tuple[float, float]:
    """`_shared_range` of values whose least is `seen_low` and largest `seen_high`."""
    low = seen_low if act.low is None else min(act.low, seen_low)
    high = seen_high if act.high is None else max(act.high, seen_high)
    if high - low <= max(abs(low), abs(high)) * _EQUAL or high - low < _TINY_SPAN:
        # All values equal (a zeros init), or equal but for rounding: equal-width bins that
        # narrow would share their edges, so a range around them instead, within float64.
        middle = low / 2 + high / 2
        pad = max(0.5, abs(middle) / 256)
        low, high = max(middle - pad, -_FLOAT_MAX), min(middle + pad, _FLOAT_MAX)
    return low, high


def _edges(low: float, high: float, bins: int) -> FloatArray:
    """`bins` + 1 equal-width edges from low to high, finite even where high - low is not."""
    if math.isfinite(high - low):
        return np.linspace(low, high, bins + 1)
    t = np.arange(bins + 1) / bins
    edges = low * (1 - t) + high * t  # never forms high - low
    edges[0], edges[-1] = low, high
    return edges


def uniform_histogram(
    values: FloatArray, bins: int, value_range: tuple[float, float]
) -> tuple[IntArray, FloatArray]:
    """np.histogram(values, bins, value_range) for equal-width bins, by index arithmetic and
    bincount: 10× faster than np.histogram on 10^5 values, which redraws need.

    As np.histogram, values outside the range (and NaN) are not counted; the forward pass
    always passes a range that holds every value. `value_range` is finite with low < high.
    """
    check_int("bins", bins, low=1, high=MAX_BINS)
    low, high = _check_range(value_range)
    values = check_real_array("values", values).ravel()
    # Written so that NaN (whose comparisons are all False) takes the filtering branch too.
    if not (values.min(initial=low) >= low and values.max(initial=high) <= high):
        values = values[(values >= low) & (values <= high)]  # values outside are not counted
    return _bin_counts(values, bins, low, high), _edges(low, high, bins)


def _bin_counts(
    values: FloatArray, bins: int, low: float, high: float, scratch: FloatArray | None = None
) -> IntArray:
    """Counts of `values`, all within [low, high], in `bins` equal-width bins; `scratch`
    (float64, at least values.size) spares an allocation."""
    span = high - low
    scaled = _shaped(scratch, values)
    if not math.isfinite(span):  # float64 values near its range: halve, so differences fit
        scaled = np.multiply(values, 0.5, dtype=np.float64, out=scaled)
        scaled -= low * 0.5
        scaled *= bins / (high * 0.5 - low * 0.5)
    else:  # float64: exact for float32 inputs
        scaled = np.subtract(values, low, dtype=np.float64, out=scaled)
        if math.isfinite(bins / span):
            scaled *= bins / span
        else:  # a subnormal span: divide first
            scaled /= span
            scaled *= bins
    counts = np.bincount(scaled.astype(np.intp).ravel(), minlength=bins + 1)
    counts[bins - 1] += counts[bins]  # the top edge's own values go in the last bin
    return counts[:bins]


def _check_range(value_range: object) -> tuple[float, float]:
    """`value_range` as finite floats (low, high) with low < high."""
    message = (
        f"value_range must be two finite numbers (low, high) with low < high, got {value_range!r}"
    )
    try:
        low, high = (float(v) for v in value_range)  # type: ignore[attr-defined]
    except (TypeError, ValueError) as e:
        raise InvalidTypeError(message) from e
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(message)
    return low, high


def _symmetric_range(tops: list[float]) -> tuple[float, float]:
    """±max|value| over the layers' max|value| (`tops`): gradients are centred on zero."""
    top = max(tops, default=0.0)
    top = top if top > 0 else 1.0
    return -top, top


@dataclass(eq=False)
class _Buffers:
    """What one experiment writes, kept for the next one of the same shape: fresh arrays this
    large cost their page faults on every call (0.3-0.5 ms each for the layers' inputs alone)."""

    cache: Cache | None = None
    grads: Grads | None = None
    floats: FloatArray | None = None  # float64, one layer's values
    index: IntArray | None = None  # their bins
    slope: FloatArray | None = None  # one layer's |f'(z)|
    mask: npt.NDArray[np.bool_] | None = None  # one layer's yes/no per value

    def keep(self, mlp: MLP | None, cache: Cache) -> None:
        """Hold `cache` (and gradients laid out for `mlp`) for the next experiment."""
        if self.cache is None and mlp is not None:
            self.cache, self.grads = cache, zeros_like_grads(mlp)

    def scratch(self, like: FloatArray) -> _Buffers:
        """These buffers, with room for one layer's values shaped and typed like `like`."""
        if self.slope is None or self.slope.shape != like.shape or self.slope.dtype != like.dtype:
            self.floats, self.index = np.empty(like.size), np.empty(like.size, dtype=np.intp)
            self.slope = np.empty_like(like)
            self.mask = np.empty(like.shape, dtype=bool)
        return self


_POOL_LOCK = threading.Lock()
_POOL: dict[tuple, _Buffers] = {}  # the buffers of the last shape run; one set at most


@contextlib.contextmanager
def _pooled_buffers(key: tuple) -> Iterator[_Buffers]:
    """Buffers for an experiment of shape `key`: the last experiment's if it had that shape
    and no other experiment is using them (two visitors of one server), else new ones."""
    with _POOL_LOCK:
        buffers = _POOL.pop(key, None) or _Buffers()
    try:
        yield buffers
    finally:
        with _POOL_LOCK:
            _POOL.clear()
            _POOL[key] = buffers


def _layer_stats(
    act: Activation,
    cache: Cache,
    slopes: list[FloatArray],
    deltas: list[FloatArray | None],
    extremes: list[tuple[float, float]],
    grad_tops: list[float],
    bins: int,
    exclude_zeros: bool,
    buffers: _Buffers,
) -> list[dict[str, object]]:
    """Every `LayerStats` field of each layer but the backward std of ∂L/∂W and the theory."""
    value_range = _value_range(
        act,
        min((low for low, _ in extremes), default=0.0),
        max((high for _, high in extremes), default=1.0),
    )
    grad_range = _symmetric_range(grad_tops)
    edges, grad_edges = _edges(*value_range, bins), _edges(*grad_range, bins)
    threshold = SATURATION_THRESHOLD * act.max_slope
    stats = []
    for i in range(len(extremes)):
        a, delta = cache.a[i][0], deltas[i]
        slope = np.abs(slopes[i][0], out=buffers.slope)  # (n_samples, width)
        saturated = np.less(slope, threshold, out=buffers.mask)  # NaN: not saturated
        # A unit is dead where it is saturated for every sample.
        n_saturated, n_dead = _count(saturated), _count(saturated.all(axis=0))
        counts, mean, std = _summary(a, value_range, bins, exclude_zeros, buffers)
        if delta is None:  # below a backward overflow
            grad_counts, grad_std = np.zeros(bins, dtype=np.intp), float("nan")
        else:
            grad_counts, _, grad_std = _summary(
                delta, grad_range, bins, exclude_zeros, buffers, with_mean=False
            )
        stats.append(
            {
                "counts": counts,
                "edges": edges,
                "mean": mean,
                "std": std,
                "saturated": n_saturated / slope.size,
                "dead": n_dead / slope.shape[1],
                "zero_fraction": _zero_count(a, extremes[i], buffers) / a.size,
                "grad_counts": grad_counts,
                "grad_edges": grad_edges,
                "grad_std": grad_std,
            }
        )
    return stats


def _count(mask: npt.NDArray[np.bool_]) -> int:
    """How many values are True: counting a bool mask is 5-10× faster than counting the
    non-zeros of a float array (of a strided one, as every layer's a is)."""
    return int(np.count_nonzero(mask))


def _zero_count(a: FloatArray, extremes: tuple[float, float], buffers: _Buffers) -> int:
    """How many values of `a` are 0, whose least and largest value are `extremes`."""
    low, high = extremes
    if low > 0 or high < 0:  # no zero (sigmoid's every value, say): nothing to count
        return 0
    return _count(np.equal(a, 0, out=buffers.mask))


def _summary(
    values: FloatArray,
    value_range: tuple[float, float],
    bins: int,
    exclude_zeros: bool,
    buffers: _Buffers,
    with_mean: bool = True,
) -> tuple[IntArray, float, float]:
    """Counts of `values` (all within `value_range`; zeros left out if `exclude_zeros`) in
    `bins` equal-width bins, with their mean (0 unless `with_mean`) and std, in float64.

    One float64 copy d = values − low serves all three: d · bins / span is what `_bin_counts`
    bins (here cast to bin numbers as it is multiplied), and std(values) = std(d). Where d
    cannot give them to full precision (a layer's spread far narrower than the range all
    layers share, a mean far below |low|), they are taken from the values themselves.
    """
    low, high = value_range
    span = high - low
    scale = bins / span if math.isfinite(span) else math.inf
    if exclude_zeros or not math.isfinite(scale):  # the general path (and far ranges)
        binned = values[values != 0] if exclude_zeros else values
        counts = _bin_counts(binned, bins, low, high, buffers.floats)
        return (counts, *_mean_std(values, buffers.floats))
    n = values.size
    d = np.subtract(values, low, dtype=np.float64, out=_shaped(buffers.floats, values))
    d = d.reshape(-1)  # (n,), a view: the buffer is contiguous
    index = np.multiply(d, scale, out=buffers.index[:n], casting="unsafe")  # truncated: d >= 0
    counts = np.bincount(index, minlength=bins + 1)
    counts[bins - 1] += counts[bins]  # the top edge's own values go in the last bin
    mean_d = float(d.sum()) / n
    mean = low + mean_d if with_mean else 0.0
    var = float(np.dot(d, d)) / n - mean_d * mean_d
    if not mean_d * mean_d <= var * _CANCEL:  # E[d²] − E[d]² cancelled too many digits
        d -= mean_d
        var = float(np.dot(d, d)) / n
    std = math.sqrt(max(var, 0.0))
    # Each d is within 2^-52 · span of exact, and low + mean_d within 2^-52 · max(|low|,
    # |mean_d|): keep what leaves the std and the mean ~30 bits.
    precise_std = span * _NARROW <= std < math.inf  # d·d may overflow near the float range
    precise_mean = not with_mean or max(abs(low), abs(mean_d)) * _NARROW <= abs(mean)
    if not (precise_std and precise_mean):
        return (counts[:bins], *_mean_std(values, buffers.floats))
    return counts[:bins], mean, std
