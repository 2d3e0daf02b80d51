"""The race's telemetry: every number against a recomputation by hand, its checkpoints, its
reproducibility, diverged networks, histograms that count every value, and the book's race."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import core.race.procs
import core.race.training
from core.data.dataset import Dataset
from core.forward.forward_pass import SATURATION_THRESHOLD
from core.network.activations import ACTIVATIONS, Activation
from core.network.initializers import INITIALIZERS
from core.network.mlp import Cache, backward, forward, init_mlp
from core.network.optim import Adam, Momentum
from core.race.telemetry import (
    HISTOGRAM_BINS,
    RANGE_Z,
    Recorder,
    Telemetry,
    _histogram,
    _Partials,
    histogram_edges,
    pixel_second_moment,
)
from core.race.training import TrainProgress, train_compare
from tests.params import SLOW

FLOAT_FIELDS = (
    "act_mean",
    "act_std",
    "act_saturated",
    "act_dead",
    "act_clipped",
    "grad_std",
    "update_ratio",
)


# --- against a recomputation by hand ---------------------------------------------------------


@dataclasses.dataclass
class _Seen:
    """What the race's one network saw at each step: its parameters before the step, the
    batch and the labels; and, from the test pass, its parameters after the last step."""

    weights: list[list[np.ndarray]] = dataclasses.field(default_factory=list)
    biases: list[list[np.ndarray]] = dataclasses.field(default_factory=list)
    x: list[np.ndarray] = dataclasses.field(default_factory=list)
    y: list[np.ndarray] = dataclasses.field(default_factory=list)


def _spy_on_the_race(monkeypatch: pytest.MonkeyPatch) -> _Seen:
    """Record, from the training loop's own calls, the weights and batch of every step (in
    threads: a worker process would not see the spies)."""
    seen = _Seen()
    monkeypatch.setattr(core.race.procs, "pool", lambda: None)

    def spied_forward(mlp, x, *, training=True, out=None):  # type: ignore[no-untyped-def]
        if training or len(seen.weights) == len(seen.x):  # steps, then the test pass's W_N
            seen.weights.append([w[0].astype(np.float64) for w in mlp.weights])
            seen.biases.append([b[0, 0].astype(np.float64) for b in mlp.biases])
        if training:
            seen.x.append(x.astype(np.float64))
        return forward(mlp, x, training=training, out=out)

    def spied_loss(logits, y, **kwargs):  # type: ignore[no-untyped-def]
        seen.y.append(np.array(y))
        return softmax_cross_entropy(logits, y, **kwargs)

    softmax_cross_entropy = core.race.training.softmax_cross_entropy
    monkeypatch.setattr(core.race.training, "forward", spied_forward)
    monkeypatch.setattr(core.race.training, "softmax_cross_entropy", spied_loss)
    return seen


def _by_hand(
    weights: list[np.ndarray],
    biases: list[np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    act: Activation,
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """One plain network in float64: every hidden z and a, every hidden ∂L/∂z, every ∂L/∂W."""
    zs, activations, a = [], [], x
    for w, b in zip(weights[:-1], biases[:-1], strict=True):
        z = a @ w + b
        a = act.fn(z)
        zs.append(z)
        activations.append(a)
    logits = a @ weights[-1] + biases[-1]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dz = (p - np.eye(10)[y]) / len(x)  # mean cross-entropy
    inputs = [x, *activations]
    dws, dzs = [inputs[-1].T @ dz], []
    for layer in range(len(zs) - 1, -1, -1):
        dz = (dz @ weights[layer + 1].T) * act.grad(zs[layer])
        dzs.insert(0, dz)
        dws.insert(0, inputs[layer].T @ dz)
    return zs, activations, dzs, dws


def _updates_by_hand(optimizer: str, lr: float, dws_per_step: list[list[np.ndarray]]) -> list:
    """ΔW of every step, by the optimizer's formula in float64, from the gradients by hand."""
    updates, velocity, m, v = [], None, None, None
    for t, dws in enumerate(dws_per_step, start=1):
        if optimizer == "sgd":
            updates.append([-lr * g for g in dws])
        elif optimizer == "momentum":
            mu = Momentum(lr).momentum
            velocity = [
                mu * vel - lr * g for vel, g in zip(velocity or [0] * len(dws), dws, strict=True)
            ]
            updates.append(velocity)
        else:
            adam = Adam(lr)
            m = [
                adam.beta1 * mm + (1 - adam.beta1) * g
                for mm, g in zip(m or [0] * len(dws), dws, strict=True)
            ]
            v = [
                adam.beta2 * vv + (1 - adam.beta2) * g**2
                for vv, g in zip(v or [0] * len(dws), dws, strict=True)
            ]
            lr_t = lr * math.sqrt(1 - adam.beta2**t) / (1 - adam.beta1**t)
            updates.append(
                [-lr_t * mm / (np.sqrt(vv) + adam.eps) for mm, vv in zip(m, v, strict=True)]
            )
    return updates


@pytest.mark.parametrize(
    ("optimizer", "lr", "activation"),
    [("sgd", 0.1, "relu"), ("momentum", 0.05, "tanh"), ("adam", 0.003, "relu")],
)
def test_telemetry_matches_a_recomputation_by_hand(
    tiny: Dataset, monkeypatch: pytest.MonkeyPatch, optimizer: str, lr: float, activation: str
) -> None:
    """Each checkpoint against the race's own weights before and after its step, pushed by hand
    through the batch of that step: activation statistics, histogram, ∂L/∂z, and the
    update:data ratio, which must also be the optimizer's formula applied by hand."""
    seen = _spy_on_the_race(monkeypatch)
    act = ACTIVATIONS[activation]
    result = train_compare(
        ["he_normal"],
        activation=activation,
        hidden=(12, 8),
        iterations=7,
        batch_size=16,
        lr=lr,
        optimizer=optimizer,
        data=tiny,
        progress_every=3,
        workers=1,
    )
    tele = result.telemetry["he_normal"]
    assert len(seen.x) == 7 and len(seen.weights) == 8  # W_0 .. W_7
    assert_array_equal(tele.steps, [1, 3, 6, 7])
    by_hand = [
        _by_hand(seen.weights[s], seen.biases[s], seen.x[s], seen.y[s], act) for s in range(7)
    ]
    updates = _updates_by_hand(optimizer, lr, [dws for *_, dws in by_hand])
    for c, step in enumerate(tele.steps):
        zs, activations, dzs, _ = by_hand[step - 1]
        assert tele.measured[0, c]
        for layer, (z, a) in enumerate(zip(zs, activations, strict=True)):
            saturated = np.abs(act.grad(z)) < SATURATION_THRESHOLD * act.max_slope
            assert tele.act_mean[0, c, layer] == pytest.approx(a.mean(), rel=1e-5)
            assert tele.act_std[0, c, layer] == pytest.approx(a.std(), rel=1e-5)
            assert tele.act_saturated[0, c, layer] == pytest.approx(saturated.mean())
            assert tele.act_dead[0, c, layer] == pytest.approx(saturated.all(axis=0).mean())
            edges = tele.act_edges
            counts, _ = np.histogram(np.clip(a, edges[0], edges[-1]), edges)
            assert np.abs(tele.act_counts[0, c, layer] - counts).sum() <= 2  # float32 vs 64
            assert tele.grad_std[0, c, layer] == pytest.approx(dzs[layer].std(), rel=1e-4)
        before, after = seen.weights[step - 1], seen.weights[step]
        for m, (w0, w1, expected) in enumerate(zip(before, after, updates[step - 1], strict=True)):
            assert tele.update_ratio[0, c, m] == pytest.approx((w1 - w0).std() / w0.std(), rel=1e-5)
            assert tele.update_ratio[0, c, m] == pytest.approx(expected.std() / w0.std(), rel=2e-3)


# --- shapes, checkpoints, progress -----------------------------------------------------------


def test_telemetry_fields_and_checkpoints_line_up_with_distinct_units(tiny: Dataset) -> None:
    result = train_compare(
        ["he_normal", "std_0.01"], hidden=(20, 10), iterations=25, seeds=2, data=tiny,
        batch_size=8, progress_every=10,
    )  # fmt: skip
    assert set(result.telemetry) == {"he_normal", "std_0.01"}
    for name, tele in result.telemetry.items():
        assert isinstance(tele, Telemetry)
        assert_array_equal(tele.checkpoints, result.checkpoints)
        assert_array_equal(tele.checkpoints, [0, 10, 20, 25])
        assert_array_equal(tele.steps, [1, 10, 20, 25])
        assert result.distinct_units[name].shape == (2, 4, 2)
        for field in ("act_mean", "act_std", "act_saturated", "act_dead", "grad_std"):
            assert getattr(tele, field).shape == (2, 4, 2)  # seeds, checkpoints, hidden layers
        assert tele.update_ratio.shape == (2, 4, 3)  # seeds, checkpoints, weight matrices
        assert tele.act_counts.shape == (2, 4, 2, HISTOGRAM_BINS)
        assert tele.act_edges.shape == (HISTOGRAM_BINS + 1,)
        assert tele.measured.all()
        for field in FLOAT_FIELDS:
            assert np.isfinite(getattr(tele, field)).all()


def test_checkpoint_zero_and_one_measure_the_same_first_step(tiny: Dataset) -> None:
    """With progress_every = 1, checkpoint 0 (the initialization) and 1 are both step 1."""
    tele = train_compare(
        ["lecun_normal"], hidden=(10,), iterations=3, data=tiny, progress_every=1
    ).telemetry["lecun_normal"]
    assert_array_equal(tele.steps, [1, 1, 2, 3])
    for field in (*FLOAT_FIELDS, "act_counts"):
        values = getattr(tele, field)
        assert_array_equal(values[:, 0], values[:, 1])
    for field in ("act_mean", "grad_std", "update_ratio"):  # the next step is another one
        assert not np.array_equal(getattr(tele, field)[:, 1], getattr(tele, field)[:, 2])


def test_on_progress_carries_the_telemetry_so_far(tiny: Dataset) -> None:
    seen: list[TrainProgress] = []
    result = train_compare(
        ["he_normal", "std_0.01"], hidden=(10,), iterations=25, data=tiny, progress_every=10,
        on_progress=seen.append,
    )  # fmt: skip
    # Every checkpoint is reported unless the reports fell behind (a busy machine), but
    # always the last, and each with the telemetry up to its own step.
    steps = [p.step for p in seen]
    assert steps == sorted(set(steps)) and set(steps) <= {10, 20, 25} and steps[-1] == 25
    for progress in seen:
        n_checkpoints = int(np.searchsorted(result.checkpoints, progress.step)) + 1
        tele = progress.telemetry["he_normal"]
        assert_array_equal(tele.checkpoints, result.checkpoints[:n_checkpoints])
        assert tele.measured.all() and np.isfinite(tele.update_ratio).all()
        assert_array_equal(
            tele.act_counts, result.telemetry["he_normal"].act_counts[:, :n_checkpoints]
        )


@pytest.mark.parametrize(
    ("initializers", "workers"),
    [(["he_normal", "std_0.01"], 1), (["he_normal", "std_0.01"], 2), (["he_normal"], 2)],
    ids=["one worker", "networks split", "rows split"],
)
def test_telemetry_switch_leaves_the_race_unchanged(
    tiny: Dataset, initializers: list[str], workers: int
) -> None:
    kwargs = {"hidden": (10, 10), "iterations": 20, "data": tiny, "progress_every": 5,
              "workers": workers}  # fmt: skip
    on = train_compare(initializers, **kwargs)
    off = train_compare(initializers, telemetry=False, **kwargs)
    assert off.telemetry == {}
    seen: list[TrainProgress] = []
    train_compare(initializers, telemetry=False, on_progress=seen.append, **kwargs)
    assert all(p.telemetry == {} for p in seen)
    for name in on.losses:
        assert_array_equal(on.losses[name], off.losses[name])
        assert_array_equal(on.test_accuracy[name], off.test_accuracy[name])
        assert_array_equal(on.distinct_units[name], off.distinct_units[name])


@pytest.mark.usefixtures("global_rng_untouched")
def test_telemetry_is_reproducible_from_seed(tiny: Dataset, seed: int) -> None:
    """Same seed → identical telemetry; another seed → another; and, as for the losses, the
    split of the networks over workers changes nothing beyond float rounding."""
    kwargs = {"hidden": (10, 10), "iterations": 12, "data": tiny, "progress_every": 4,
              "seed": seed, "seeds": 2, "workers": 2}  # fmt: skip
    inits = ["he_normal", "lecun_uniform"]
    a = train_compare(inits, **kwargs)
    b = train_compare(inits, **kwargs)
    c = train_compare(inits, **{**kwargs, "seed": seed + 1})
    one_worker = train_compare(inits, **{**kwargs, "workers": 1})
    for name in a.telemetry:
        for field in (*FLOAT_FIELDS, "act_counts", "act_edges", "measured", "steps"):
            assert_array_equal(getattr(a.telemetry[name], field), getattr(b.telemetry[name], field))
        for field in FLOAT_FIELDS:
            assert_allclose(
                getattr(a.telemetry[name], field),
                getattr(one_worker.telemetry[name], field),
                rtol=1e-4,
            )
        assert not np.array_equal(a.telemetry[name].act_mean, c.telemetry[name].act_mean)


# --- races split over workers ----------------------------------------------------------------

BOOK_RACE = ["std_0.01", "lecun_normal", "he_normal"]


def _members_per_team(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """Record, for every race run, how many members each of its teams has."""
    seen: list[list[int]] = []
    teams = core.race.training._teams

    def spied_teams(run, n_workers):  # type: ignore[no-untyped-def]
        made = teams(run, n_workers)
        seen.append([t.members for t in made])
        return made

    monkeypatch.setattr(core.race.training, "_teams", spied_teams)
    return seen


def _assert_same_telemetry(split: Telemetry, one: Telemetry, units: int, batch: int) -> None:
    """Equal up to float rounding, as the two runs' losses are (rtol 1e-4: their weights
    differ in the last bits, and training amplifies that a little): statistics to rtol 1e-4,
    and a value or two on the other side of a bin edge or of the saturation threshold."""
    assert_array_equal(split.measured, one.measured)
    assert_array_equal(split.steps, one.steps)
    assert_array_equal(split.act_edges, one.act_edges)
    for field in ("act_std", "grad_std", "update_ratio"):
        assert_allclose(getattr(split, field), getattr(one, field), rtol=1e-4, err_msg=field)
    # A mean near 0 (tanh's) is a sum that cancels: its rounding is relative to the spread.
    assert_array_equal(np.isnan(split.act_mean), np.isnan(one.act_mean))
    measured = ~np.isnan(one.act_mean)
    error = np.abs(split.act_mean - one.act_mean)[measured]
    assert (error <= 1e-4 * (np.abs(one.act_mean) + one.act_std)[measured]).all()
    for field in ("act_saturated", "act_clipped"):
        assert_allclose(getattr(split, field), getattr(one, field), atol=2.5 / (batch * units))
    assert_allclose(split.act_dead, one.act_dead, atol=1.5 / units)
    assert_array_equal(split.act_counts.sum(axis=-1), one.act_counts.sum(axis=-1))
    assert np.abs(split.act_counts - one.act_counts).sum(axis=-1).max() <= 4


@pytest.mark.parametrize(
    ("initializers", "workers", "teams"),
    [
        (["he_normal"], 2, [2]),
        # In the full suite only: it starts a third worker process twice (two are kept), and
        # "rows split" walks the same path in the fast loop, where the diverging race below is
        # also split three ways.
        pytest.param(["lecun_normal", "he_normal"], 3, [3], marks=SLOW),
        (["lsuv"], 2, [2]),
        (BOOK_RACE, 2, [1, 1]),
        (["std_0.01", "lsuv", "he_normal"], 2, [1, 1]),
    ],
    ids=["rows split", "rows split three ways", "lsuv rows split", "networks split 2 + 1",
         "lsuv networks split"],
)  # fmt: skip
def test_split_race_telemetry_equals_one_workers(
    digits: Dataset,
    monkeypatch: pytest.MonkeyPatch,
    initializers: list[str],
    workers: int,
    teams: list[int],
) -> None:
    """Each member of a split sees its rows of the batch only; the telemetry is still the
    whole batch's (means, stds, histograms, dead units, ∂L/∂z), and the update ratio that of
    the whole update, as one worker measures them; and a rerun with the same split is exact."""
    seen = _members_per_team(monkeypatch)
    kwargs = {"iterations": 20, "data": digits, "progress_every": 5}
    split = train_compare(initializers, workers=workers, **kwargs)
    again = train_compare(initializers, workers=workers, **kwargs)
    one = train_compare(initializers, workers=1, **kwargs)
    assert seen == [teams, teams, [1]]
    for name in initializers:
        assert split.telemetry[name].measured.all()
        _assert_same_telemetry(split.telemetry[name], one.telemetry[name], units=100, batch=128)
        for field in (*FLOAT_FIELDS, "act_counts", "measured"):
            assert_array_equal(
                getattr(split.telemetry[name], field), getattr(again.telemetry[name], field)
            )


def test_split_race_telemetry_of_a_diverging_network_equals_one_workers(
    digits: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """std = 1 at lr 0.1 blows up within a few steps: every member leaves it out from the
    same checkpoint on, while its neighbour in the split is measured as it would be alone.
    (At lr 0.1 rounding differences grow to percents over a few hundred steps, so the race
    is kept short.)"""
    seen = _members_per_team(monkeypatch)
    kwargs = {"lr": 0.1, "iterations": 20, "data": digits, "progress_every": 2}
    split = train_compare(["std_1", "he_normal"], workers=2, **kwargs)
    one = train_compare(["std_1", "he_normal"], workers=1, **kwargs)
    assert seen[0] == [1, 1]
    (step,) = split.diverged_at["std_1"]
    assert step is not None and not split.telemetry["std_1"].measured[0, -1]
    assert split.telemetry["std_1"].measured[0, 0]
    for name in ("std_1", "he_normal"):
        _assert_same_telemetry(split.telemetry[name], one.telemetry[name], units=100, batch=128)
    split = train_compare(["std_1", "he_normal"], workers=3, **kwargs)
    assert seen[-1] == [3]
    for name in ("std_1", "he_normal"):
        _assert_same_telemetry(split.telemetry[name], one.telemetry[name], units=100, batch=128)


def test_split_race_telemetry_of_saturated_tanh_equals_one_workers(
    digits: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tanh from std = 1 saturates most values, whichever member sees them. (Its training
    is chaotic: rounding differences grow to percents within 20 steps, so only the first
    steps can be compared.)"""
    seen = _members_per_team(monkeypatch)
    kwargs = {"activation": "tanh", "iterations": 3, "data": digits, "progress_every": 1}
    split = train_compare(["std_1"], workers=2, **kwargs).telemetry["std_1"]
    one = train_compare(["std_1"], workers=1, **kwargs).telemetry["std_1"]
    assert seen[0] == [2]
    assert split.act_saturated.max() > 0.5
    _assert_same_telemetry(split, one, units=100, batch=128)


@pytest.mark.usefixtures("races_in_threads")
def test_a_late_combining_member_still_combines_its_own_steps_sums(
    tiny: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a checkpoint at every step, the other member may run a whole step (and sum its
    next rows) before member 0 combines: member 0 must still combine the sums of the step
    it records. Member 0 is held back at every checkpoint to make that happen."""
    record = Recorder.record

    def late_record(self, member, step, mlp, alive):  # type: ignore[no-untyped-def]
        if member == 0:
            time.sleep(0.05)
        record(self, member, step, mlp, alive)

    kwargs = {"hidden": (20, 20), "iterations": 6, "data": tiny, "progress_every": 1,
              "batch_size": 32}  # fmt: skip
    one = train_compare(["he_normal"], workers=1, **kwargs).telemetry["he_normal"]
    monkeypatch.setattr(Recorder, "record", late_record)
    split = train_compare(["he_normal"], workers=2, **kwargs).telemetry["he_normal"]
    _assert_same_telemetry(split, one, units=20, batch=32)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_pooled_row_sums_equal_the_whole_batchs_statistics(
    activation: str, rng: np.random.Generator
) -> None:
    """The sums of uneven row slices of a batch, pooled, give the statistics of the whole
    batch: counts, saturated and dead units exactly, means and stds to float64 rounding of
    float32 sums; a network with a NaN activation is flagged, and its neighbours unaffected."""
    act = ACTIVATIONS[activation]
    inits = [INITIALIZERS["std_1"], INITIALIZERS["he_normal"], INITIALIZERS["std_0.01"]]
    mlp = init_mlp([rng] * 3, inits, (20, 16, 12, 10), act)
    mlp.biases[0][1, 0, :4] = -50  # four units of network 1 dead on every row
    mlp.weights[1][2, 0, 0] = np.nan  # network 2 turns NaN in layer 2
    x = rng.random((30, 20), dtype=np.float32)
    logits, cache = forward(mlp, x)
    dlogits = rng.standard_normal(logits.shape, dtype=np.float32)
    dzs: list[np.ndarray] = []
    backward(mlp, cache, dlogits, dzs=dzs)
    edges = np.stack([histogram_edges(act, i, mlp.sizes, 0.1) for i in inits])
    whole = _Partials.pooled([_Partials.of_rows(mlp, cache, dzs, edges)])
    parts = []
    for rows in (slice(0, 7), slice(7, 8), slice(8, 30)):
        view = Cache(
            cache.x[rows],
            z=[z[:, rows] for z in cache.z],
            a=[a[:, rows] for a in cache.a],
            norms=[],
            inputs=[],
            z_buffers=[],
            dz_buffers=[],
        )
        parts.append(_Partials.of_rows(mlp, view, [dz[:, rows] for dz in dzs], edges))
    assert [p.nan.tolist() for p in parts] == [[False, False, True]] * 3
    pooled = _Partials.pooled(parts)
    assert whole["act_dead"][1, 0] >= 4 / 16
    assert (whole["act_counts"][:2].sum(axis=-1) == [30 * 16, 30 * 12]).all()
    for name, values in whole.items():
        if name in ("act_mean", "act_std", "grad_std"):
            assert_allclose(pooled[name][:2], values[:2], rtol=1e-6, err_msg=name)
        else:
            assert_array_equal(pooled[name][:2], values[:2], err_msg=name)


# --- diverged networks -----------------------------------------------------------------------


def test_diverged_network_telemetry_is_nan_from_its_divergence_on(digits: Dataset) -> None:
    """std = 1 at lr 0.1 blows up within a few steps: 40 leave checkpoints on both sides."""
    result = train_compare(
        ["std_1", "he_normal"], lr=0.1, iterations=40, data=digits, progress_every=10
    )
    (step,) = result.diverged_at["std_1"]
    assert step is not None and 1 < step < 40
    tele = result.telemetry["std_1"]
    after = tele.steps >= step
    assert after.any() and (~after).any()
    assert not tele.measured[0, after].any() and tele.measured[0, ~after].all()
    for field in FLOAT_FIELDS:
        values = getattr(tele, field)[0]
        assert np.isnan(values[after]).all()
        assert not np.isnan(values[~after]).any()
    assert (tele.act_counts[0, after] == 0).all()
    he = result.telemetry["he_normal"]
    assert he.measured.all()
    for field in FLOAT_FIELDS:
        assert np.isfinite(getattr(he, field)).all()


# --- histograms ------------------------------------------------------------------------------


def test_histograms_count_every_value_even_beyond_the_edges(digits: Dataset) -> None:
    """Adam rescues std = 0.01 by growing its deep activations far past the fixed range,
    chosen at the initialization: those values land in the last bin, counted (about 5 % of a
    layer's by step 100)."""
    result = train_compare(
        ["std_0.01", "he_normal"], optimizer="adam", lr=1e-3, iterations=100, data=digits,
        progress_every=50,
    )  # fmt: skip
    for tele in result.telemetry.values():
        assert (tele.act_counts.sum(axis=-1) == 128 * 100).all()  # batch × units, every one
    small = result.telemetry["std_0.01"]
    assert (small.act_clipped[0, 0] == 0).all()  # nothing beyond the edges at the start...
    assert small.act_clipped[0, -1].max() > 0.01  # ...a few percent once trained
    beyond = small.act_clipped[0, -1] * 128 * 100  # ReLU: all of them above the top edge
    assert (small.act_counts[0, -1, :, -1] >= np.round(beyond)).all()


def test_histogram_puts_values_beyond_the_edges_in_the_end_bins() -> None:
    edges = np.linspace(0.0, 4.0, 5)[None]  # bins [0, 1) [1, 2) [2, 3) [3, 4]
    a = np.array([[[-5.0, 0.0, 0.5, 1.0, 3.99, 4.0, 4.5, np.inf]]], dtype=np.float32)
    counts, clipped = _histogram(a, edges)
    assert_array_equal(counts, [[3, 1, 0, 4]])
    assert clipped[0] == pytest.approx(3 / 8)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_histogram_edges_are_fixed_by_the_activation_and_init(activation: str) -> None:
    act = ACTIVATIONS[activation]
    sizes, moment = (784, 100, 100, 10), 0.1
    for init in INITIALIZERS.values():
        edges = histogram_edges(act, init, sizes, moment)
        assert edges.shape == (HISTOGRAM_BINS + 1,)
        assert np.isfinite(edges).all() and (np.diff(edges) > 0).all()
        if act.low is not None:
            assert edges[0] == act.low
        if act.high is not None:
            assert edges[-1] == act.high
    if act.high is None:  # unbounded: ±12 σ of z, σ at least 1
        he = histogram_edges(act, INITIALIZERS["he_normal"], sizes, moment)
        assert he[-1] == pytest.approx(float(act.fn(np.array([RANGE_Z]))[0]))
        exploding = histogram_edges(act, INITIALIZERS["std_1"], sizes, moment)
        assert exploding[-1] > 10 * he[-1]


def test_pixel_second_moment_of_the_digits(digits: Dataset) -> None:
    """E[x²] for MNIST pixels in [0, 1]: mean 0.13, std 0.31, so about 0.11."""
    assert pixel_second_moment(digits) == pytest.approx(0.11, abs=0.01)


def test_telemetry_with_batch_norm_measures_fs_input(digits: Dataset) -> None:
    """With batch norm the input to f is standardized: He and std = 0.01 look alike there."""
    result = train_compare(
        ["std_0.01", "he_normal"], batch_norm=True, iterations=1, hidden=(50, 50), data=digits
    )
    small, he = result.telemetry["std_0.01"], result.telemetry["he_normal"]
    assert_allclose(small.act_std[0, 0], he.act_std[0, 0], rtol=0.1)
    assert_array_equal(small.act_edges, he.act_edges)
    assert np.isfinite(small.grad_std).all()


# --- the book's race on the bundled digits ---------------------------------------------------


@pytest.mark.slow
def test_book_race_telemetry_shows_why_std_001_does_not_learn(digits: Dataset) -> None:
    """std = 0.01's hidden weights barely move (update:data ratio below 1e-5 at every
    checkpoint) while He's move at Karpathy's healthy 1e-3 or so; std = 0.01's fourth layer
    is all but silent (activation std below 1e-3)."""
    result = train_compare(["std_0.01", "lecun_normal", "he_normal"], data=digits)
    small, he = result.telemetry["std_0.01"], result.telemetry["he_normal"]
    assert small.measured.all() and he.measured.all()
    assert (small.update_ratio[0, :, :-1] < 1e-5).all()  # hidden layers' W, every checkpoint
    hidden_he = he.update_ratio[0, :, :-1]
    assert ((hidden_he > 1e-4) & (hidden_he < 1e-2)).all()
    assert (small.act_std[0, :, 3] < 1e-3).all()
    assert (he.act_std[0, :, 3] > 0.1).all()
