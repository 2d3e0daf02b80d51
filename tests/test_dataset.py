"""Tests for core.data.dataset: what a Dataset accepts, how it stores it, and what it refuses."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from core.data.dataset import Dataset


def _images(n: int, rng: np.random.Generator, shape: tuple[int, ...] = (28, 28)) -> np.ndarray:
    return rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)


def _labels(n: int) -> np.ndarray:
    return np.arange(n) % 10


@pytest.fixture
def parts() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "x_train": _images(12, rng),
        "y_train": _labels(12),
        "x_test": _images(5, rng, shape=(784,)),
        "y_test": _labels(5).astype(np.uint8),
    }


def test_dataset_stores_images_flat_uint8_and_labels_int64(parts):
    ds = Dataset(**parts, source="test digits")
    assert ds.x_train.shape == (12, 784)
    assert ds.x_test.shape == (5, 784)
    assert ds.x_train.dtype == ds.x_test.dtype == np.uint8
    assert ds.y_train.dtype == ds.y_test.dtype == np.int64
    np.testing.assert_array_equal(ds.x_train, parts["x_train"].reshape(12, 784))
    np.testing.assert_array_equal(ds.y_test, parts["y_test"])


def test_dataset_counts_and_defaults(parts):
    ds = Dataset(**parts, source="test digits")
    assert (ds.n_train, ds.n_test) == (12, 5)
    assert (ds.source, ds.kind, ds.note) == ("test digits", "custom", "")


def test_dataset_arrays_are_read_only_and_c_contiguous(parts):
    ds = Dataset(**parts, source="s")
    for a in (ds.x_train, ds.y_train, ds.x_test, ds.y_test):
        assert not a.flags.writeable
        assert a.flags.c_contiguous
    with pytest.raises(ValueError, match="read-only"):
        ds.x_train[0, 0] = 1


def test_dataset_copies_writable_inputs(parts):
    ds = Dataset(**parts, source="s")
    x_before, y_before = ds.x_train.copy(), ds.y_train.copy()
    parts["x_train"][:] = 7
    parts["y_train"][:] = 9
    np.testing.assert_array_equal(ds.x_train, x_before)
    np.testing.assert_array_equal(ds.y_train, y_before)


def test_dataset_keeps_read_only_inputs_without_copying(parts):
    x = np.ascontiguousarray(parts["x_test"])
    x.flags.writeable = False
    y = parts["y_train"].astype(np.int64)
    y.flags.writeable = False
    ds = Dataset(parts["x_train"], y, x, parts["y_test"], source="s")
    assert ds.x_test is x  # the 47 MB MNIST images must not be duplicated
    assert ds.y_train is y


def test_dataset_copies_non_contiguous_images(parts):
    x = np.asfortranarray(parts["x_test"])
    x.flags.writeable = False
    ds = Dataset(parts["x_train"], parts["y_train"], x, parts["y_test"], source="s")
    assert ds.x_test.flags.c_contiguous
    np.testing.assert_array_equal(ds.x_test, x)


def test_dataset_is_frozen(parts):
    ds = Dataset(**parts, source="s")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.source = "other"  # type: ignore[misc]


def test_dataset_repr_omits_arrays(parts):
    ds = Dataset(**parts, source="test digits", kind="sample", note="why")
    assert repr(ds) == "Dataset(source='test digits', kind='sample', note='why')"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("x_train", np.zeros((3, 784), np.float32), r"x_train must have dtype uint8.*float32"),
        ("x_test", np.zeros((3, 784), np.int64), r"x_test must have dtype uint8.*int64"),
        ("x_train", np.zeros((3, 28, 27), np.uint8), r"x_train must have shape .*\(3, 28, 27\)"),
        ("x_train", np.zeros((3, 783), np.uint8), r"x_train must have shape .*\(3, 783\)"),
        ("x_train", np.zeros(784, np.uint8), r"x_train must have shape .*\(784,\)"),
        ("x_test", np.zeros((0, 784), np.uint8), r"x_test is empty"),
        ("y_train", np.zeros(12, np.float64), r"y_train must have an integer dtype.*float64"),
        ("y_train", np.zeros(12, bool), r"y_train must have an integer dtype.*bool"),
        ("y_train", np.zeros((12, 1), np.int64), r"y_train must have shape \(n,\).*\(12, 1\)"),
        ("y_test", np.array([0, 1, 2, 3, 10]), r"y_test must hold labels in 0\.\.9.*10"),
        ("y_test", np.array([0, -1, 2, 3, 4]), r"y_test must hold labels in 0\.\.9.*-1"),
        ("y_train", np.zeros(11, np.int64), r"length mismatch: x_train has 12 images .* 11 labels"),
    ],
)
def test_dataset_rejects_bad_arrays_naming_the_problem(parts, field, value, message):
    parts[field] = value
    with pytest.raises(ValueError, match=message):
        Dataset(**parts, source="s")


def test_dataset_rejects_unknown_kind(parts):
    with pytest.raises(ValueError, match=r"kind must be one of .*'full'.*got 'mnist'"):
        Dataset(**parts, source="s", kind="mnist")  # type: ignore[arg-type]


def test_dataset_requires_source_by_keyword(parts):
    with pytest.raises(TypeError):
        Dataset(*parts.values(), "positional source")  # type: ignore[misc]
