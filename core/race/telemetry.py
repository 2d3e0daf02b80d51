"""Telemetry of the training race: what every layer of every network does while it learns.

At each checkpoint of `train_compare` (step 0, every `progress_every` steps, the last step:
the checkpoints of `distinct_units`), for every network, measured on one training batch:

- each hidden layer's activations a = f(z): mean, std, the saturated fraction (|f'(z)| below
  5 % of f's largest slope) and the dead fraction (units saturated for every sample of the
  batch), as the forward experiment defines them (`core.forward.forward_pass`), and a histogram;
- each hidden layer's back-propagated gradient ∂L/∂z (z before batch norm, if any): its std;
- each weight matrix, the output layer's too: the update:data ratio std(ΔW) / std(W), where
  ΔW is the change the optimizer's step actually made to W (so it holds for SGD, Momentum and
  Adam alike, and an update below W's float32 rounding counts as no change).

Which step a checkpoint measures: checkpoint s ≥ 1 is training step s, whole: the forward and
backward pass of step s's batch through the weights W_{s−1} that step starts from, and the
update ΔW = W_s − W_{s−1} it makes, divided by std(W_{s−1}). Checkpoint 0, the
initialization, is step 1 seen the same way: W_0 on the first batch, and the first update. So
checkpoint s describes the weights as they were after s − 1 updates (after none for s = 0 and
s = 1), while `distinct_units` counts them after s; `Telemetry.steps` names the step measured.

Histogram edges are fixed for the whole race, so that histograms stack over time, and shared
by the layers and seeds of one initializer: a bounded activation's own range (sigmoid [0, 1],
tanh [−1, 1]); for an unbounded one, the values f takes for |z| ≤ 12 · max(σ, 1), with σ
the largest std of f's input that variance propagation predicts at initialization over the
hidden layers (q_1 = fan_in · Var(W) · E[x²] on the training pixels, q_l = fan_in · Var(W) ·
E[f(z)²]; 1 with batch norm or LSUV): ReLU [0, 12] for every init that does not explode,
so their histograms share edges. Values beyond the edges are counted in the end bins, and
their fraction is reported (`act_clipped`), so every value is counted.

A network that diverged at step d (its loss turned NaN or inf) is not measured from d on:
its rows there are NaN (counts 0) and `measured` is False.

A race split over workers by batch rows (`core.race.training`) measures the whole batch all the
same: each worker sums what it sees of its rows (sums, centred sums of squares, counts,
histogram counts, which units were saturated on every one of its rows), and, once all are in,
one worker combines them into the statistics of the whole batch; the update ratios are taken
once every worker's part of the update is written. A split race's telemetry is thus a
one-worker race's, up to float rounding (as its losses are).

References: Karpathy, CS231n "Neural Networks Part 3" (the update:data ratio, about 1e-3);
Glorot & Bengio 2010 (saturation); Chan, Golub & LeVeque 1979 (pooled variances); the book's
§6.2.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.data.dataset import Dataset
from core.forward.forward_pass import SATURATION_THRESHOLD
from core.forward.theory import gaussian_mean
from core.network.activations import Activation
from core.network.initializers import Initializer
from core.network.mlp import MLP, Cache, weight_views
from core.race.shared import PRIVATE, Memory
from core.types import FloatArray, IntArray

HISTOGRAM_BINS = 60
# An unbounded activation's edges cover f(z) for |z| ≤ RANGE_Z · max(σ, 1), σ the std of z
# predicted at initialization. The floor of 1 is the scale a variance-preserving init gives z;
# 12 leaves room for the spread training brings: on the book's race (2,000 steps of SGD, lr
# 0.01) the 99.9th percentile of ReLU activations grows from about 1.5 to 10-14 (He, LeCun,
# LSUV), so a range fitted to the initialization would clip a third of the trained values.
RANGE_Z = 12.0
_MOMENT_DIGITS = 10_000  # training digits, evenly spaced, that estimate E[x²] for the edges
_MAX_STD = 1e30  # caps a predicted std that overflows (std = 1 through many layers)

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Telemetry:
    """One initializer's telemetry over a race: axis 0 is the seed replicate, axis 1 the
    checkpoint (`checkpoints[c]`, measured at training step `steps[c]`; see the module doc).

    `act_mean`, `act_std`, `act_saturated`, `act_dead`, `act_clipped`, `grad_std`:
    (seeds, checkpoints, hidden layers); `update_ratio`: (seeds, checkpoints, weight
    matrices), the output layer last; `act_counts`: (seeds, checkpoints, hidden layers, bins)
    on the edges `act_edges` (bins + 1,), values beyond them counted in the end bins and their
    fraction in `act_clipped`. `measured` (seeds, checkpoints) is False where the network had
    diverged: the floats there are NaN and the counts 0. An update ratio is inf where std(W)
    was 0 and W moved (a zeros init), NaN where neither moved: the ratio is not defined.
    """

    checkpoints: IntArray
    steps: IntArray
    measured: BoolArray
    act_mean: FloatArray
    act_std: FloatArray
    act_saturated: FloatArray
    act_dead: FloatArray
    act_clipped: FloatArray
    act_counts: IntArray
    act_edges: FloatArray
    grad_std: FloatArray
    update_ratio: FloatArray


@dataclass(eq=False)
class RaceTelemetry:
    """The buffers every worker fills in, one row per network of the race (axis 0, K), and
    each network's histogram edges (K, bins + 1)."""

    checkpoints: IntArray
    measured: BoolArray  # (K, C)
    act_mean: FloatArray  # (K, C, hidden)
    act_std: FloatArray
    act_saturated: FloatArray
    act_dead: FloatArray
    act_clipped: FloatArray
    act_counts: IntArray  # (K, C, hidden, bins)
    act_edges: FloatArray  # (K, bins + 1)
    grad_std: FloatArray  # (K, C, hidden)
    update_ratio: FloatArray  # (K, C, weight matrices)

    @property
    def steps(self) -> IntArray:
        """The training step each checkpoint measures: checkpoint 0 is step 1."""
        return np.maximum(self.checkpoints, 1)

    def view(self, rows: slice, n_checkpoints: int) -> Telemetry:
        """The networks `rows` (one initializer's seeds) over the first checkpoints, as views."""
        c = slice(0, n_checkpoints)
        return Telemetry(
            checkpoints=self.checkpoints[c],
            steps=self.steps[c],
            measured=self.measured[rows, c],
            act_mean=self.act_mean[rows, c],
            act_std=self.act_std[rows, c],
            act_saturated=self.act_saturated[rows, c],
            act_dead=self.act_dead[rows, c],
            act_clipped=self.act_clipped[rows, c],
            act_counts=self.act_counts[rows, c],
            act_edges=self.act_edges[rows.start],
            grad_std=self.grad_std[rows, c],
            update_ratio=self.update_ratio[rows, c],
        )


def allocate(
    checkpoints: IntArray,
    sizes: Sequence[int],
    initializers: Sequence[Initializer],
    activation: Activation,
    data: Dataset,
    seeds: int,
    batch_norm: bool,
) -> RaceTelemetry:
    """NaN-filled buffers for a race of len(initializers) × `seeds` networks with layer sizes
    `sizes` (input first), with each initializer's histogram edges for that race."""
    moment = pixel_second_moment(data)
    edges = [
        histogram_edges(activation, i, sizes, moment, batch_norm=batch_norm) for i in initializers
    ]
    n_nets, n_checkpoints = len(initializers) * seeds, len(checkpoints)
    hidden, matrices = len(sizes) - 2, len(sizes) - 1

    def nan(*shape: int) -> FloatArray:
        return np.full((n_nets, n_checkpoints, *shape), np.nan)

    return RaceTelemetry(
        checkpoints=checkpoints,
        measured=np.zeros((n_nets, n_checkpoints), dtype=bool),
        act_mean=nan(hidden),
        act_std=nan(hidden),
        act_saturated=nan(hidden),
        act_dead=nan(hidden),
        act_clipped=nan(hidden),
        act_counts=np.zeros((n_nets, n_checkpoints, hidden, HISTOGRAM_BINS), dtype=np.int64),
        act_edges=np.repeat(np.asarray(edges), seeds, axis=0),
        grad_std=nan(hidden),
        update_ratio=nan(matrices),
    )


def pixel_second_moment(data: Dataset) -> float:
    """E[x²] of the training pixels scaled to [0, 1], on up to 10,000 evenly spaced digits."""
    digits = data.x_train[:: max(1, data.n_train // _MOMENT_DIGITS)]  # (n, 784), a view
    # Σ x² of the uint8 values, exact in int64 and summed in chunks: a bincount would first
    # copy the 7.8 M values to 63 MB of indices (0.03-0.13 s, a race's share of telemetry).
    total = np.einsum("ij,ij->", digits, digits, dtype=np.int64)
    return float(total / (255**2 * digits.size))


def histogram_edges(
    activation: Activation,
    initializer: Initializer,
    sizes: Sequence[int],
    input_second_moment: float,
    *,
    batch_norm: bool = False,
    bins: int = HISTOGRAM_BINS,
) -> FloatArray:
    """Fixed edges (bins + 1,) for one initializer's activations over a whole race.

    Bounded f: its range. Unbounded: [min, max] of f(z) over |z| ≤ RANGE_Z · max(σ, 1), σ
    the largest predicted std of f's input over the hidden layers at initialization (zero
    biases): q_1 = fan_in·Var(W)·E[x²], q_l = fan_in·Var(W)·E[f(z_{l−1})²], or 1 where batch
    norm or LSUV sets it.
    """
    if activation.low is not None and activation.high is not None:
        return np.linspace(activation.low, activation.high, bins + 1)
    stds = _predicted_input_stds(
        activation, initializer, sizes, input_second_moment, batch_norm=batch_norm
    )
    top = RANGE_Z * min(max([*stds, 1.0]), _MAX_STD)
    z = np.linspace(-top, top, 4001)
    with np.errstate(over="ignore"):
        values = activation.fn(z)
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    if activation.low is not None:
        low = activation.low
    return np.linspace(low, high, bins + 1)


def _predicted_input_stds(
    activation: Activation,
    initializer: Initializer,
    sizes: Sequence[int],
    input_second_moment: float,
    *,
    batch_norm: bool,
) -> list[float]:
    """√q of f's input at every hidden layer at initialization, by variance propagation."""
    stds, second = [], input_second_moment  # E[a_{l-1}²], the pixels' for layer 1
    with np.errstate(over="ignore", invalid="ignore"):
        for fan_in, fan_out in itertools.pairwise(sizes[:-1]):  # hidden layers
            unit = batch_norm or initializer.data_dependent
            q = 1.0 if unit else fan_in * initializer.variance(fan_in, fan_out) * second
            q = min(q, _MAX_STD**2)
            stds.append(math.sqrt(q))
            second = gaussian_mean(lambda z: activation.fn(z) ** 2, q)
    return stds


class Recorder:
    """Fills the rows `nets` of a `RaceTelemetry` from the training loop of one team, whose
    member m trains the team's stacked networks on the rows `rows[m]` of every batch.

    At a checkpoint's step (`measures(step)`), in the loop's order:

    1. every member, after its backward pass: `measure_rows(member, step, mlp, cache, dzs)`,
       sums over its own rows (`_Partials`), stored where every member can read them
       (`_Slots`: members may be processes);
    2. every member, once every member's sums are in and before its optimizer step:
       `before_update(member, mlp, part)`, its part of the parameters before the update;
    3. every member, once every part of the update is written: `record(member, step, mlp,
       alive)`. Member 0 combines the sums into the whole batch's statistics, as one member
       seeing the whole batch would have computed them, while the others take the largest
       update:data ratios; then each takes its share of the remaining ratios.

    Outside a checkpoint's step nothing is called, so a step costs one dict lookup and
    allocates nothing. What members exchange lives in `memory`, shared by worker processes.
    """

    def __init__(
        self,
        race: RaceTelemetry,
        nets: IntArray,
        mlp: MLP,
        rows: Sequence[slice],
        memory: Memory = PRIVATE,
    ) -> None:
        self.race = race
        self.nets = nets
        self._members = len(rows)
        self._edges = race.act_edges[nets]  # (K, bins + 1)
        self._columns: dict[int, list[int]] = {}
        for c, step in enumerate(race.steps):
            self._columns.setdefault(int(step), []).append(c)
        bins = self._edges.shape[1] - 1
        self._sums = _Slots(memory, self._members, len(nets), mlp.sizes[1:-1], bins)
        # The parameters a checkpoint's step starts from, each member writing its part.
        self._before = memory.empty(mlp.flat.shape, mlp.flat.dtype)
        self._before_weights = weight_views(mlp, self._before)

    def measures(self, step: int) -> bool:
        """Whether `step` is the step of a checkpoint."""
        return step in self._columns

    def measure_rows(
        self, member: int, step: int, mlp: MLP, cache: Cache, dzs: list[FloatArray]
    ) -> None:
        """Sum this member's rows of the batch of `step`: `cache` holds its forward pass and
        `dzs` the ∂L/∂z of its backward pass, hidden layers first to last."""
        self._sums.store(member, step, _Partials.of_rows(mlp, cache, dzs, self._edges))

    def before_update(self, member: int, mlp: MLP, part: slice) -> None:
        """Copy this member's part of the parameters before the optimizer's step."""
        self._before[part] = mlp.flat[part]

    def record(self, member: int, step: int, mlp: MLP, alive: BoolArray) -> None:
        """Record the checkpoint of `step` for the networks still alive after its divergence
        check (every member holds the same `alive`) and without a NaN activation."""
        partials = self._sums.load(step)
        # A NaN activation with a finite loss cannot happen, but must not be recorded if it does.
        measured = alive & ~np.any([p.nan for p in partials], axis=0)
        if not measured.any():
            return
        if member == 0:
            self._record_statistics(step, partials, measured)
        self._record_updates(member, step, mlp, measured)

    def _record_statistics(self, step: int, partials: list[_Partials], measured: BoolArray) -> None:
        """The whole batch's activation and gradient statistics, from every member's sums."""
        race, rows = self.race, self.nets[measured]
        stats = _Partials.pooled(partials)
        for c in self._columns[step]:
            for name, values in stats.items():
                getattr(race, name)[rows, c] = values[measured]
            race.measured[rows, c] = True

    def _record_updates(self, member: int, step: int, mlp: MLP, measured: BoolArray) -> None:
        """This member's share of the update:data ratios std(W_s − W_{s−1}) / std(W_{s−1}),
        matrix by matrix: the first (the largest) to the last member, member 0 combining the
        statistics meanwhile."""
        rows, every = self.nets[measured], measured.all()
        for m in range(self._members - 1 - member, len(mlp.weights), self._members):
            before, after = self._before_weights[m], mlp.weights[m]  # (K, fan_in, fan_out)
            if not every:
                before, after = before[measured], after[measured]
            ratio = _update_ratios(before, after)
            for c in self._columns[step]:
                self.race.update_ratio[rows, c, m] = ratio


@dataclass(frozen=True, eq=False)
class _Partials:
    """One member's sums over its rows of a checkpoint's batch, per network (K) and hidden
    layer (L), from which the whole batch's statistics follow exactly (`pooled`): sums and
    counts add up, and sums of squares centred on each member's own mean combine by Chan,
    Golub & LeVeque's formula; a unit is dead when it is saturated on every member's rows.
    """

    values: IntArray  # (L,): values of a layer per network on these rows, rows × units
    nan: BoolArray  # (K,): a NaN among the network's activations on these rows
    act_sum: FloatArray  # (K, L), float64
    act_m2: FloatArray  # (K, L): Σ (a − mean of these rows)²
    saturated: IntArray  # (K, L): values with |f'(z)| below 5 % of f's largest slope
    always_saturated: list[BoolArray]  # per layer (K, units): saturated on every one of these rows
    counts: IntArray  # (K, L, bins), on each network's edges, the end bins taking what lies beyond
    beyond: IntArray  # (K, L): values beyond the edges
    grad_sum: FloatArray  # (K, L): ∂L/∂z, as for a
    grad_m2: FloatArray  # (K, L)

    @staticmethod
    def of_rows(mlp: MLP, cache: Cache, dzs: list[FloatArray], edges: FloatArray) -> _Partials:
        """The sums of one forward and backward pass: every hidden z, a = f(z) and ∂L/∂z
        (K, rows, units) in `cache` and `dzs`; `edges` (K, bins + 1) each network's."""
        n_nets, n_hidden, bins = mlp.n_nets, len(cache.a), edges.shape[1] - 1
        limit = SATURATION_THRESHOLD * mlp.activation.max_slope
        zeros = functools.partial(np.zeros, (n_nets, n_hidden))
        sums = {name: zeros() for name in ("act_sum", "act_m2", "grad_sum", "grad_m2")}
        saturated, beyond = zeros(dtype=np.int64), zeros(dtype=np.int64)
        counts = np.zeros((n_nets, n_hidden, bins), dtype=np.int64)
        nan = np.zeros(n_nets, dtype=bool)
        always_saturated = []
        for layer, (z, a, dz) in enumerate(zip(cache.z[:-1], cache.a, dzs, strict=True)):
            total, sums["act_m2"][:, layer] = _sum_m2(a)
            sums["act_sum"][:, layer] = total
            sums["grad_sum"][:, layer], sums["grad_m2"][:, layer] = _sum_m2(dz)
            flat = np.abs(mlp.activation.grad(z)) < limit  # (K, rows, units)
            saturated[:, layer] = _count_per_network(flat)
            always_saturated.append(flat.all(axis=1))  # (K, units)
            # Only a network whose sum is not finite can hold a NaN: the others are not searched.
            nan_here = ~np.isfinite(total)
            for k in np.flatnonzero(nan_here):
                nan_here[k] = np.isnan(a[k]).any()
            nan |= nan_here
            if not nan_here.any():
                counts[:, layer], beyond[:, layer] = _bin(a, edges)
            elif not nan_here.all():  # bins hold numbers only
                numbers = ~nan_here
                counts[numbers, layer], beyond[numbers, layer] = _bin(a[numbers], edges[numbers])
        values = np.array([a.shape[1] * a.shape[2] for a in cache.a], dtype=np.int64)
        return _Partials(
            values,
            nan,
            saturated=saturated,
            always_saturated=always_saturated,
            counts=counts,
            beyond=beyond,
            **sums,
        )

    @staticmethod
    def pooled(partials: Sequence[_Partials]) -> dict[str, npt.NDArray[np.generic]]:
        """The whole batch's statistics (K, L) (counts (K, L, bins)), named as the fields of
        `RaceTelemetry`; with one member, exactly what that member alone computes."""
        values = sum(p.values for p in partials)  # (L,)
        act_mean, act_std = _pooled_mean_std(partials, "act_sum", "act_m2")
        _, grad_std = _pooled_mean_std(partials, "grad_sum", "grad_m2")
        n_units = np.array([s.shape[1] for s in partials[0].always_saturated])  # (L,)
        dead = np.zeros_like(act_mean)
        for layer in range(len(n_units)):
            always = np.logical_and.reduce([p.always_saturated[layer] for p in partials])
            dead[:, layer] = np.count_nonzero(always, axis=1) / n_units[layer]
        return {
            "act_mean": act_mean,
            "act_std": act_std,
            "act_saturated": sum(p.saturated for p in partials) / values,
            "act_dead": dead,
            "act_clipped": sum(p.beyond for p in partials) / values,
            "act_counts": sum(p.counts for p in partials),
            "grad_std": grad_std,
        }


class _Slots:
    """Each member's sums of a checkpoint's rows, where every member can read them: two slots
    a member, chosen by the parity of the step, so that while member 0 still combines one
    step's sums another member may already store its next checkpoint's (the next step's, at
    most: it cannot pass the next step's first meeting before member 0 has combined)."""

    def __init__(
        self, memory: Memory, members: int, n_nets: int, units: Sequence[int], bins: int
    ) -> None:
        n_hidden = len(units)

        def slot() -> _Partials:
            def pairs(dtype: type) -> npt.NDArray[np.generic]:
                return memory.empty((n_nets, n_hidden), dtype)

            return _Partials(
                values=memory.empty(n_hidden, np.int64),
                nan=memory.empty(n_nets, np.bool_),
                act_sum=pairs(np.float64),
                act_m2=pairs(np.float64),
                saturated=pairs(np.int64),
                always_saturated=[memory.empty((n_nets, u), np.bool_) for u in units],
                counts=memory.empty((n_nets, n_hidden, bins), np.int64),
                beyond=pairs(np.int64),
                grad_sum=pairs(np.float64),
                grad_m2=pairs(np.float64),
            )

        self._slots = [(slot(), slot()) for _ in range(members)]
        self._steps = memory.full((members, 2), -1, np.int64)  # the step each slot holds

    def store(self, member: int, step: int, partials: _Partials) -> None:
        slot = self._slots[member][step % 2]
        for name in _ARRAY_FIELDS:
            getattr(slot, name)[...] = getattr(partials, name)
        for mine, theirs in zip(slot.always_saturated, partials.always_saturated, strict=True):
            mine[...] = theirs
        self._steps[member, step % 2] = step

    def load(self, step: int) -> list[_Partials]:
        """Every member's sums of `step` (views of the slots)."""
        if (self._steps[:, step % 2] != step).any():
            raise RuntimeError(f"a member's sums of step {step} are missing at a checkpoint")
        return [slots[step % 2] for slots in self._slots]


_ARRAY_FIELDS = (
    "values", "nan", "act_sum", "act_m2", "saturated", "counts", "beyond", "grad_sum", "grad_m2",
)  # fmt: skip


def _pooled_mean_std(
    partials: Sequence[_Partials], sum_field: str, m2_field: str
) -> tuple[FloatArray, FloatArray]:
    """Mean and std (K, L) of the whole batch from each member's sum and centred sum of
    squares (Chan, Golub & LeVeque 1979): M2 = Σ_m [M2_m + n_m (mean_m − mean)²]."""
    values = sum(p.values for p in partials)  # (L,)
    mean = sum(getattr(p, sum_field) for p in partials) / values
    m2 = np.zeros_like(mean)
    for p in partials:
        m2 += getattr(p, m2_field)
        if len(partials) > 1:  # one member: its own mean is the mean, and M2 is its own
            m2 += p.values * (getattr(p, sum_field) / p.values - mean) ** 2
    return mean, np.sqrt(m2 / values)


def _sum_m2(x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Sum and sum of squares about the mean over axes 1 and 2 of x (K, m, n), per network,
    each (K,), float64: the sum in float64, then the centred values' dot product with
    themselves in x's dtype; about 4× faster than `var(dtype=float64)`, which makes float64
    copies of x."""
    total = x.sum(axis=(1, 2), dtype=np.float64)
    centred = x - (total / (x.shape[1] * x.shape[2])).astype(x.dtype)[:, None, None]
    flat = centred.reshape(x.shape[0], -1)  # (K, m·n), contiguous: no copy
    return total, np.vecdot(flat, flat).astype(np.float64)


def _count_per_network(mask: BoolArray) -> IntArray:
    """True values of mask (K, m, n) per network, (K,): one count per network's block, which
    NumPy does several times faster than a count over axes (1, 2)."""
    return np.array([np.count_nonzero(block) for block in mask], dtype=np.int64)


def _update_ratios(w_before: FloatArray, w_after: FloatArray) -> FloatArray:
    """std(ΔW) / std(W) per network of W (K, fan_in, fan_out), (K,): inf where std(W) is 0
    and W moved, NaN where neither moved (the training loop ignores those warnings)."""
    # The difference of two nearby floats is exact (Sterbenz), even in float32.
    return _std(w_after - w_before) / _std(w_before)


def _std(x: FloatArray) -> FloatArray:
    """Std over axes 1 and 2 of x (K, m, n), per network, (K,) float64. The mean only centres
    the values here, so it is summed in x's dtype: an error δ in it adds (δ / std)² to the
    variance, far below float32 rounding."""
    flat = x.reshape(x.shape[0], -1)  # (K, m·n), a copy for a strided view
    centred = flat - flat.mean(axis=1, dtype=x.dtype)[:, None]
    return np.sqrt(np.vecdot(centred, centred).astype(np.float64) / flat.shape[1])


def _histogram(a: FloatArray, edges: FloatArray) -> tuple[IntArray, FloatArray]:
    """Counts (K, bins) of a (K, batch, units) on each network's equal-width edges
    (K, bins + 1), values beyond the edges in the end bins; and the fraction beyond, (K,)."""
    counts, beyond = _bin(a, edges)
    return counts, beyond / (a.shape[1] * a.shape[2])


def _bin(a: FloatArray, edges: FloatArray) -> tuple[IntArray, IntArray]:
    """Counts (K, bins) of a (K, batch, units) on each network's equal-width edges
    (K, bins + 1), values beyond the edges in the end bins; and how many lie beyond, (K,).

    One bincount for all networks: network k's values map to buckets k·(bins + 2) + 0 (below
    the edges), + 1 .. bins (the bins) and + bins + 1 (the top edge and above), computed in
    a's dtype (a value within rounding of an inner edge may fall either side, as it may
    anyway); the end buckets join the end bins, and what lies beyond is counted exactly.
    """
    n_nets, bins = edges.shape[0], edges.shape[1] - 1
    per_net = bins + 2
    low, high = edges[:, 0], edges[:, -1]
    scale = bins / (high - low)
    base = np.arange(n_nets) * per_net  # (K,)
    scaled = a * scale.astype(a.dtype)[:, None, None]
    scaled -= (low * scale - 1 - base).astype(a.dtype)[:, None, None]
    np.clip(scaled, base[:, None, None], (base + bins + 1)[:, None, None], out=scaled)
    buckets = np.bincount(scaled.astype(np.intp).ravel(), minlength=n_nets * per_net)
    buckets = buckets.reshape(n_nets, per_net)
    counts = buckets[:, 1:-1].copy()
    counts[:, 0] += buckets[:, 0]  # below the edges: into the first bin
    counts[:, -1] += buckets[:, -1]  # the top edge and above: into the last bin
    # Counted by comparison, only for a network whose smallest or largest value lies beyond.
    beyond = np.zeros(n_nets, dtype=np.int64)
    outside = (a.min(axis=(1, 2)) < low) | (a.max(axis=(1, 2)) > high)
    for k in np.flatnonzero(outside):
        beyond[k] = np.count_nonzero(a[k] < low[k]) + np.count_nonzero(a[k] > high[k])
    return counts, beyond
