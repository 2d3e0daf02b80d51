"""The `Dataset` container: validated, read-only MNIST-style arrays plus where they came from.

Every loader returns one, so training code and the UI never need to know whether the digits
came from the full download, the user's own folder or the bundled sample.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

DatasetKind = Literal["full", "folder", "sample", "custom"]
DATASET_KINDS: tuple[DatasetKind, ...] = ("full", "folder", "sample", "custom")

N_PIXELS = 28 * 28
N_CLASSES = 10


@dataclass(frozen=True, slots=True, eq=False)
class Dataset:
    """Train/test images and labels, checked once so every consumer can trust them.

    Images are uint8 `(n, 784)`, C-contiguous (a `(n, 28, 28)` input is flattened); labels are
    int64 `(n,)` in 0..9. All four arrays are read-only: the same object is shared between
    all users of the app, so nobody may scale it in place. Writable inputs are copied, so the
    caller's arrays stay theirs to change.

    `source` is the human-readable line the UI shows, `kind` tells the UI which data it has
    ("full" download, user "folder", bundled "sample", or "custom" arrays built in code), and
    `note` is why the loader fell back to the sample ("" when nothing went wrong).
    """

    x_train: npt.NDArray[np.uint8] = field(repr=False)
    y_train: npt.NDArray[np.int64] = field(repr=False)
    x_test: npt.NDArray[np.uint8] = field(repr=False)
    y_test: npt.NDArray[np.int64] = field(repr=False)
    _: KW_ONLY
    source: str
    kind: DatasetKind = "custom"
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in DATASET_KINDS:
            raise ValueError(f"kind must be one of {DATASET_KINDS}, got {self.kind!r}")
        for split in ("train", "test"):
            x = _checked_images(getattr(self, f"x_{split}"), f"x_{split}")
            y = _checked_labels(getattr(self, f"y_{split}"), f"y_{split}")
            if len(x) != len(y):
                raise ValueError(
                    f"length mismatch: x_{split} has {len(x)} images but y_{split} has "
                    f"{len(y)} labels"
                )
            # frozen: object.__setattr__ is the documented way to normalise fields at init.
            object.__setattr__(self, f"x_{split}", x)
            object.__setattr__(self, f"y_{split}", y)

    @property
    def n_train(self) -> int:
        """Number of training digits."""
        return len(self.y_train)

    @property
    def n_test(self) -> int:
        """Number of test digits."""
        return len(self.y_test)


def _checked_images(x: npt.ArrayLike, name: str) -> npt.NDArray[np.uint8]:
    """Return `x` as a read-only C-contiguous uint8 `(n, 784)` array, or raise ValueError."""
    x = np.asarray(x)
    if x.dtype != np.uint8:
        raise ValueError(f"{name} must have dtype uint8 (pixels 0..255), got {x.dtype}")
    if x.ndim == 3 and x.shape[1:] == (28, 28):
        x = x.reshape(len(x), N_PIXELS)  # (n, 28, 28) -> (n, 784)
    elif x.ndim != 2 or x.shape[1] != N_PIXELS:
        raise ValueError(f"{name} must have shape (n, 784) or (n, 28, 28), got {x.shape}")
    if len(x) == 0:
        raise ValueError(f"{name} is empty: need at least one image")
    return _readonly(x)


def _checked_labels(y: npt.ArrayLike, name: str) -> npt.NDArray[np.int64]:
    """Return `y` as a read-only int64 `(n,)` array of classes 0..9, or raise ValueError."""
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name} must have an integer dtype (class indices), got {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"{name} must have shape (n,), got {y.shape}")
    if len(y) and (y.min() < 0 or y.max() >= N_CLASSES):
        raise ValueError(
            f"{name} must hold labels in 0..{N_CLASSES - 1}, found values from {y.min()} "
            f"to {y.max()}"
        )
    if y.dtype != np.int64:
        y = y.astype(np.int64)  # a fresh array nobody else holds, so no second copy below
        y.flags.writeable = False
    return _readonly(y)


def _readonly(a: np.ndarray) -> np.ndarray:
    """A read-only C-contiguous version of `a`.

    Already read-only contiguous arrays (what the loaders produce) are kept, so the 47 MB of
    MNIST training images are never copied; anything the caller could still write is copied.
    """
    if a.flags.writeable or not a.flags.c_contiguous:
        a = np.array(a, order="C")  # a copy the caller cannot reach
        a.flags.writeable = False
    return a
