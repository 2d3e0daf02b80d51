"""The book's §6.2.2 experiment: push random data through a deep net and look at every layer.

Defaults reproduce the book: 1000 samples of 100 standard-normal inputs, 5 hidden layers of
100 units, zero bias. Computed in float32 (NumPy's exp and tanh are 4× faster there) with
float64 statistics; a layer that leaves float32's range (~3.4e38) ends the report with a label.
Histograms are binned here so that a UI never ships raw values.

Backward, as in Glorot & Bengio's Fig. 7 and 8: a standard-normal gradient ∂L/∂a is injected
at the last layer and back-propagated; each layer reports ∂L/∂z and the std of ∂L/∂W. Beside
every measured std stands the one variance propagation predicts (`core.theory`).

With batch norm (the book's §6.3), each layer's z is standardized over the samples before f
(γ = 1, β = 0, as at initialization), and the gradient flows back through that standardization.

References: Glorot & Bengio 2010 (Fig. 3, 6, 7, 8); He et al. 2015, arXiv:1502.01852 (§2.2).
"""

from __future__ import annotations

import functools
import math
import sys
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.activations import Activation, get_activation
from core.initializers import Initializer, get_initializer
from core.lsuv import scale_networks
from core.mlp import MLP, Cache, backward, forward, init_mlp
from core.theory import predicted_stds
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
    n_layers × (3 × n_samples × width² + width³ for orthogonal's QR) multiply-adds.
    `dtype` is float32 or float64.
    """
    act = get_activation(activation)
    init = get_initializer(initializer)
    dtype = _check_arguments(init, n_layers, width, n_samples, bins, seed, exclude_zeros, dtype)
    check_bool("batch_norm", batch_norm)

    data_ss, init_ss, grad_ss = np.random.SeedSequence(seed).spawn(3)
    x = np.random.default_rng(data_ss).standard_normal((n_samples, width), dtype=dtype)
    top_grad = np.random.default_rng(grad_ss).standard_normal(x.shape, dtype=dtype)
    network = functools.partial(_network, init_ss, init, act, x, batch_norm=batch_norm)
    with np.errstate(over="ignore", invalid="ignore"):
        mlp, cache = network(n_layers)
        overflow_layer = _first_overflow(cache)
        if overflow_layer is not None:  # backward starts at the last layer within range
            mlp, cache = network(overflow_layer - 1)
        deltas, weight_grad_stds, grad_overflow_layer = _backward(mlp, cache, top_grad)

    activations = [a[0] for a in cache.a]  # K = 1: (n_samples, width) each
    predicted = predicted_stds(
        act,
        init.variance(width, width),
        len(activations),
        width,
        batch_norm=batch_norm,
        unit_variance=init.data_dependent,
    )
    binned = _Binning(bins, _shared_range(act, activations), _symmetric_range(deltas), x.size)
    stats = tuple(
        LayerStats(
            layer=i + 1,
            **_value_stats(activations[i], cache.z[i][0], act, binned, exclude_zeros),
            **_grad_stats(deltas[i], binned, exclude_zeros),
            weight_grad_std=weight_grad_stds[i],
            predicted_std=float(predicted.activation[i]),
            predicted_grad_std=float(predicted.gradient[i]),
        )
        for i in range(len(activations))
    )
    return ForwardResult(act, init, width, batch_norm, stats, overflow_layer, grad_overflow_layer)


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


def _network(
    init_ss: np.random.SeedSequence,
    init: Initializer,
    act: Activation,
    x: FloatArray,
    n_layers: int,
    *,
    batch_norm: bool,
) -> tuple[MLP | None, Cache]:
    """The net of `n_layers` square layers drawn from `init_ss` (the same first layers for any
    `n_layers`), LSUV-scaled on x if the initializer asks, and its forward pass on x: a stack
    of one network (`core.mlp`), zero bias, f after every layer. No layers: no net."""
    if n_layers == 0:  # the first layer already left the float range
        return None, Cache(x, [], [], [], [], [], [])
    mlp = init_mlp(
        [np.random.default_rng(init_ss)],
        [init],
        (x.shape[1],) * (n_layers + 1),
        act,
        x.dtype,
        batch_norm=batch_norm,
        linear_output=False,
    )
    if init.data_dependent:  # LSUV: every W rescaled on this batch, in place
        scale_networks(mlp, [init], x)
    _, cache = forward(mlp, x)
    return mlp, cache


def _first_overflow(cache: Cache) -> int | None:
    """The first layer (1-based) whose z (f's input) or a left the float range, or None."""
    for layer, (z, a) in enumerate(zip(cache.z, cache.a, strict=True), start=1):
        if not (np.isfinite(z).all() and np.isfinite(a).all()):
            return layer
    return None


def _backward(
    mlp: MLP | None, cache: Cache, top_grad: FloatArray
) -> tuple[list[FloatArray | None], list[float], int | None]:
    """∂L/∂z per layer (None at and below a layer where it left the float range) and the std
    of ∂L/∂W, from ∂L/∂a of the last layer, by the network's own backward pass; with the
    first layer (counted from the input) whose ∂L/∂z is out of range, or None."""
    if mlp is None:
        return [], [], None
    dzs: list[FloatArray] = []
    grads = backward(mlp, cache, top_grad[np.newaxis], dzs=dzs)
    deltas: list[FloatArray | None] = [dz[0] for dz in dzs]  # K = 1: (n_samples, width)
    overflow = next(
        (i + 1 for i in reversed(range(len(dzs))) if not np.isfinite(dzs[i]).all()), None
    )
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
        std = math.sqrt(float(np.square(centred, out=centred).sum()) / values.size)
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


def _shared_range(act: Activation, values: list[FloatArray]) -> tuple[float, float]:
    """The histogram range: the activation's own where bounded, else the values seen.

    The values seen widen a declared bound they cross, so that no value is left uncounted
    (the bounds are exact for what the activations compute: `core.activations`).
    """
    seen_low = min((float(a.min()) for a in values), default=0.0)
    seen_high = max((float(a.max()) for a in values), default=1.0)
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


def _symmetric_range(values: list[FloatArray | None]) -> tuple[float, float]:
    """±max|value| over the layers that have values: gradients are centred on zero."""
    tops = (max(float(v.max()), -float(v.min())) for v in values if v is not None)
    top = max(tops, default=0.0)
    top = top if top > 0 else 1.0
    return -top, top


@dataclass(frozen=True, eq=False)
class _Binning:
    """The bins every layer shares, and float64 scratch space for one layer's values."""

    bins: int
    value_range: tuple[float, float]
    grad_range: tuple[float, float]
    scratch: FloatArray

    def __init__(self, bins: int, value_range: tuple, grad_range: tuple, size: int) -> None:
        object.__setattr__(self, "bins", bins)
        object.__setattr__(self, "value_range", value_range)
        object.__setattr__(self, "grad_range", grad_range)
        object.__setattr__(self, "scratch", np.empty(size))

    def counts(self, values: FloatArray, value_range: tuple[float, float]) -> IntArray:
        return _bin_counts(values, self.bins, *value_range, self.scratch)


def _value_stats(
    a: FloatArray, z: FloatArray, act: Activation, binned: _Binning, exclude_zeros: bool
) -> dict[str, object]:
    """Histogram and statistics of one layer's a = f(z)."""
    n_zeros = a.size - np.count_nonzero(a)
    counts = binned.counts(a[a != 0] if exclude_zeros else a, binned.value_range)
    slope = np.abs(act.grad(z))
    saturated = np.less(slope, SATURATION_THRESHOLD * act.max_slope)  # (n_samples, width)
    mean, std = _mean_std(a, binned.scratch)
    return {
        "counts": counts,
        "edges": _edges(*binned.value_range, binned.bins),
        "mean": mean,
        "std": std,
        "saturated": np.count_nonzero(saturated) / saturated.size,
        "dead": np.count_nonzero(saturated.all(axis=0)) / saturated.shape[1],
        "zero_fraction": n_zeros / a.size,
    }


def _grad_stats(
    delta: FloatArray | None, binned: _Binning, exclude_zeros: bool
) -> dict[str, object]:
    """Histogram and std of one layer's ∂L/∂z."""
    if delta is None:  # below a backward overflow
        return {
            "grad_counts": np.zeros(binned.bins, dtype=np.intp),
            "grad_edges": _edges(*binned.grad_range, binned.bins),
            "grad_std": float("nan"),
        }
    binned_values = delta[delta != 0] if exclude_zeros else delta
    return {
        "grad_counts": binned.counts(binned_values, binned.grad_range),
        "grad_edges": _edges(*binned.grad_range, binned.bins),
        "grad_std": _mean_std(delta, binned.scratch)[1],
    }
