"""Array type aliases, the default float precision and the shape of a registry, shared by
every core module."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.floating]
IntArray = npt.NDArray[np.integer]

# float32 halves memory and doubles GEMM speed; gradient checks pass float64 explicitly.
DEFAULT_DTYPE = np.float32


class Named(Protocol):
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=Named)


def by_name(entries: Iterable[N]) -> Mapping[str, N]:
    """A read-only registry of `entries` under their names, in the order given (the order the
    page lists them in)."""
    return MappingProxyType({entry.name: entry for entry in entries})
