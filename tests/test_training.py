"""train_compare: the book's MNIST race on real digits, its protocol, divergence and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from core.dataset import Dataset
from core.mnist import load_sample
from core.training import TrainProgress, train_compare


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_sample()


@pytest.fixture(scope="module")
def tiny() -> Dataset:
    """Random 'digits' for protocol tests where learning is beside the point."""
    rng = np.random.default_rng(0)
    return Dataset(
        rng.integers(0, 256, (64, 784), dtype=np.uint8),
        rng.integers(0, 10, 64),
        rng.integers(0, 256, (16, 784), dtype=np.uint8),
        rng.integers(0, 10, 16),
        source="random test digits",
    )


def test_book_race_std001_does_not_learn_while_he_does(digits: Dataset) -> None:
    """The book's Fig. 6-15 on real MNIST digits: std=0.01 stays at ln 10, He learns."""
    result = train_compare(["std_0.01", "lecun_normal", "he_normal"], iterations=1000, data=digits)
    final = {name: losses[-100:].mean() for name, losses in result.losses.items()}
    assert final["std_0.01"] == pytest.approx(np.log(10), abs=0.01)
    assert final["he_normal"] < 0.5
    assert final["lecun_normal"] < 1.0
    assert result.test_accuracy["std_0.01"] < 0.2
    assert result.test_accuracy["he_normal"] > 0.85
    assert all(step is None for step in result.diverged_at.values())
    assert "bundled sample" in result.data_source


def test_train_compare_feeds_every_network_the_same_batches(tiny: Dataset) -> None:
    """Adding a network to the race must not change another's run: same batches, same init."""
    alone = train_compare(["he_normal"], iterations=30, data=tiny)
    raced = train_compare(["std_0.01", "he_normal", "glorot_uniform"], iterations=30, data=tiny)
    np.testing.assert_allclose(raced.losses["he_normal"], alone.losses["he_normal"], rtol=1e-5)


@pytest.mark.usefixtures("global_rng_untouched")
def test_train_compare_is_reproducible_from_seed(tiny: Dataset, seed: int) -> None:
    a = train_compare(["he_normal", "lecun_uniform"], iterations=20, data=tiny, seed=seed)
    b = train_compare(["he_normal", "lecun_uniform"], iterations=20, data=tiny, seed=seed)
    c = train_compare(["he_normal", "lecun_uniform"], iterations=20, data=tiny, seed=seed + 1)
    for name in a.losses:
        np.testing.assert_array_equal(a.losses[name], b.losses[name])
        assert not np.array_equal(a.losses[name], c.losses[name])
    assert a.test_accuracy == b.test_accuracy


def test_diverging_network_is_reported_not_raised(digits: Dataset) -> None:
    result = train_compare(["std_1", "he_normal"], lr=0.1, iterations=200, data=digits)
    step = result.diverged_at["std_1"]
    assert step is not None and 1 <= step <= 200
    losses = result.losses["std_1"]
    assert not np.isfinite(losses[step - 1])
    assert np.isnan(losses[step:]).all()
    assert np.isfinite(losses[: step - 1]).all()
    assert np.isnan(result.test_accuracy["std_1"])
    # the other network is untouched by its neighbour's NaNs
    assert result.diverged_at["he_normal"] is None
    assert np.isfinite(result.losses["he_normal"]).all()
    assert result.test_accuracy["he_normal"] > 0.5


def test_on_progress_reports_growing_curves(tiny: Dataset) -> None:
    seen: list[TrainProgress] = []
    train_compare(
        ["he_normal", "std_0.01"],
        iterations=25,
        data=tiny,
        on_progress=seen.append,
        progress_every=10,
    )
    assert [p.step for p in seen] == [10, 20, 25]
    assert all(p.iterations == 25 for p in seen)
    assert all(len(p.losses["he_normal"]) == p.step for p in seen)
    assert seen[-1].elapsed >= seen[0].elapsed >= 0


@pytest.mark.parametrize(("optimizer", "lr"), [("sgd", 0.1), ("momentum", 0.01), ("adam", 0.001)])
def test_every_optimizer_lowers_the_loss(digits: Dataset, optimizer: str, lr: float) -> None:
    result = train_compare(["he_normal"], optimizer=optimizer, lr=lr, iterations=150, data=digits)
    losses = result.losses["he_normal"]
    assert losses[-20:].mean() < 0.6 * losses[:20].mean()


def test_train_compare_result_fields(tiny: Dataset) -> None:
    result = train_compare(["lecun_normal"], iterations=5, data=tiny, hidden=(20,), batch_size=8)
    assert result.losses["lecun_normal"].shape == (5,)
    assert "the book's" in result.labels["lecun_normal"]
    assert 0 <= result.test_accuracy["lecun_normal"] <= 1
    assert result.seconds > 0
    assert result.data_source == "random test digits"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initializers": ["kaiming"]}, "choose one of: zeros"),
        ({"initializers": []}, "at least one initializer"),
        ({"initializers": ["he_normal", "kaiming_normal"]}, "may appear once"),
        ({"activation": "swish"}, "choose one of: sigmoid"),
        ({"optimizer": "rmsprop"}, "choose one of: sgd, momentum, adam"),
        ({"hidden": 100}, "sequence of layer widths"),
        ({"hidden": (100, 0)}, "hidden layer width must be an integer >= 1"),
        ({"iterations": 0}, "iterations must be an integer >= 1"),
        ({"batch_size": 1.5}, "batch_size must be an integer"),
        ({"lr": -0.1}, "lr must be a finite number > 0"),
        ({"lr": float("nan")}, "lr must be a finite number > 0"),
        ({"seed": -2}, "seed must be an integer >= 0"),
    ],
)
def test_train_compare_bad_input_names_valid_choices(
    tiny: Dataset, kwargs: dict[str, object], message: str
) -> None:
    args = {"initializers": ["he_normal"], "iterations": 2, "data": tiny, **kwargs}
    with pytest.raises(ValueError, match=message):
        train_compare(args.pop("initializers"), **args)  # type: ignore[arg-type]
