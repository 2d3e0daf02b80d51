"""Memory a race shares with its worker processes: arrays in anonymous files that every process
maps, sent to a worker by reference (which file, where in it), never by value.

Why anonymous files (`memfd_create`, or a temporary file unlinked at once) and not named
shared memory: nothing has a name, so nothing can leak when a process dies (the kernel frees
the memory once the last process has closed and unmapped it), and nothing depends on
/dev/shm, which containers often mount at 64 MB. The file descriptors travel to the workers
over their connections (`SCM_RIGHTS`).

The training digits are not copied per race: arrays `core.data.idx` mapped from the MNIST cache are
mapped again by the workers from the same file, and other data (the bundled sample, a caller's
own arrays, the labels) is written once to a temporary file on disk, never to /dev/shm (full
MNIST is 47 MB of pixels), and reused by later races on the same `Dataset`.

An array sent by reference is pickled as (file, offset, shape, strides, dtype), its views
likewise, so that the objects of a race (networks whose parameters are views of one flat
vector, buffers, telemetry) arrive in a worker as views of the same memory.
"""

from __future__ import annotations

import collections
import contextlib
import io
import math
import mmap
import os
import pickle
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from core.data.dataset import Dataset
from core.data.idx import mapped_file

SEGMENT_BYTES = 16 << 20  # an arena's segments: only the pages written cost memory
_ALIGN = 64  # every array starts on a cache line: members never share one across arrays
_SPILLED_DATASETS = 2  # datasets whose spill file is kept for later races (two races at once)


class SharedFd(int):
    """A file descriptor sent along with a race's tasks: it arrives in a worker as that
    process's own descriptor of the same file or pipe."""


def anonymous_file(size: int) -> int:
    """A read-write file descriptor of `size` zero bytes with no name on any file system:
    `memfd_create` where the platform has it, else a temporary file unlinked at once."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("initlab-race", os.MFD_CLOEXEC)
    else:
        fd, path = tempfile.mkstemp(prefix="initlab-race-")
        os.unlink(path)
    try:
        os.ftruncate(fd, size)
    except OSError:
        os.close(fd)
        raise
    return fd


class Memory(Protocol):
    """Where a race allocates what its workers share: an `Arena`, or `PRIVATE` memory when
    they are threads of this process."""

    def empty(self, shape: int | Sequence[int], dtype: npt.DTypeLike) -> np.ndarray: ...

    def full(
        self, shape: int | Sequence[int], value: object, dtype: npt.DTypeLike
    ) -> np.ndarray: ...

    def copy(self, a: np.ndarray) -> np.ndarray: ...


class _PrivateMemory:
    """Plain NumPy arrays, for workers that are threads."""

    def empty(self, shape: int | Sequence[int], dtype: npt.DTypeLike) -> np.ndarray:
        return np.empty(shape, dtype)

    def full(self, shape: int | Sequence[int], value: object, dtype: npt.DTypeLike) -> np.ndarray:
        return np.full(shape, value, dtype)

    def copy(self, a: np.ndarray) -> np.ndarray:
        return a.copy()


PRIVATE: Memory = _PrivateMemory()


@dataclass(eq=False)
class _Region:
    """A file this process has mapped, to be mapped by the workers too."""

    fd: SharedFd
    size: int
    writable: bool
    start: int  # address of its first byte in this process (0: not mapped here)
    base: npt.NDArray[np.uint8] | None  # this process's mapping, kept alive by its arrays


class Arena:
    """Arrays allocated in anonymous files that a race's workers map too (`Exports`).

    The files are closed by `close` (the workers have their own descriptors by then); the
    mappings live as long as an array of this process uses them, so a result's arrays stay
    valid after the race, and the memory goes with the last of them.
    """

    def __init__(self, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.segment_bytes = segment_bytes
        self.regions: list[_Region] = []
        self._used = 0

    def empty(self, shape: int | Sequence[int], dtype: npt.DTypeLike) -> np.ndarray:
        """An uninitialized C-contiguous array in shared memory."""
        dtype = np.dtype(dtype)
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        count = math.prod(shape)
        nbytes = max(1, count) * dtype.itemsize
        if not self.regions or self._used + nbytes > self.regions[-1].size:
            size = max(self.segment_bytes, -(-nbytes // mmap.PAGESIZE) * mmap.PAGESIZE)
            fd = anonymous_file(size)
            mapped = mmap.mmap(fd, size)
            base = np.frombuffer(mapped, np.uint8)
            self.regions.append(_Region(SharedFd(fd), size, True, base.ctypes.data, base))
            self._used = 0
        region = self.regions[-1]
        assert region.base is not None
        start = self._used
        self._used = -(-(start + nbytes) // _ALIGN) * _ALIGN
        return region.base[start : start + nbytes].view(dtype)[:count].reshape(shape)

    def full(self, shape: int | Sequence[int], value: object, dtype: npt.DTypeLike) -> np.ndarray:
        a = self.empty(shape, dtype)
        a.fill(value)
        return a

    def copy(self, a: np.ndarray) -> np.ndarray:
        """`a`'s values in shared memory."""
        shared = self.empty(a.shape, a.dtype)
        shared[...] = a
        return shared

    def close(self) -> None:
        """Close the files; the mappings stay while arrays use them."""
        for region in self.regions:
            if region.fd >= 0:
                os.close(region.fd)
                region.fd = SharedFd(-1)


class Exports:
    """What one race sends its workers: the files (`fds`, in order) and the pickling that
    replaces every array in them by a reference (`dumps`)."""

    def __init__(self, arena: Arena) -> None:
        self.fds: list[SharedFd] = []
        self._regions: list[_Region] = []
        self._by_id: dict[int, tuple[int, int, np.ndarray]] = {}  # id → (region, offset, array)
        self._owned: list[int] = []  # descriptors opened here, closed by `close`
        for region in arena.regions:
            self._add_region(region)

    def _add_region(self, region: _Region) -> int:
        self._regions.append(region)
        self.fds.append(region.fd)
        return len(self._regions) - 1

    def add_fd(self, fd: SharedFd) -> None:
        """Send `fd` too (a pipe of a meeting, say): objects holding it arrive holding the
        worker's own descriptor."""
        if fd not in self.fds:
            self.fds.append(fd)

    def share_dataset(self, data: Dataset) -> None:
        """Send `data`'s arrays by reference: from the file they are mapped from, or from a
        temporary copy made once per dataset."""
        spilled = []
        for a in (data.x_train, data.y_train, data.x_test, data.y_test):
            if not self._share_mapped(a):
                spilled.append(a)
        if spilled:
            fd, size, offsets = _spill(data, spilled)
            self._owned.append(fd)
            index = self._add_region(_Region(fd, size, False, 0, None))
            for a, offset in zip(spilled, offsets, strict=True):
                self._by_id[id(a)] = (index, offset, a)

    def _share_mapped(self, a: np.ndarray) -> bool:
        """Refer to `a` in the file it is mapped from, if it is, and that file is unchanged."""
        source = mapped_file(a)
        if source is None or not a.flags.c_contiguous:
            return False
        path, device, inode, offset = source
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return False
        status = os.fstat(fd)
        if (status.st_dev, status.st_ino) != (device, inode) or offset + a.nbytes > status.st_size:
            os.close(fd)  # replaced since it was mapped: its bytes may differ
            return False
        self._owned.append(fd)
        index = self._add_region(_Region(SharedFd(fd), status.st_size, False, 0, None))
        self._by_id[id(a)] = (index, offset, a)
        return True

    def dumps(self, obj: object) -> bytes:
        """`obj` pickled, arrays in the race's files by reference."""
        out = io.BytesIO()
        _RefPickler(out, self).dump(obj)
        return out.getvalue()

    def reference(self, obj: object) -> tuple[object, ...] | None:
        """The persistent reference that replaces `obj`, or None to pickle it by value."""
        if isinstance(obj, SharedFd):
            return ("fd", self.fds.index(obj))
        if type(obj) is not np.ndarray:
            return None
        known = self._by_id.get(id(obj))
        if known is not None and known[2] is obj:
            region, offset, _ = known
        else:
            found = self._locate(obj)
            if found is None:
                return None
            region, offset = found
        spec = self._regions[region]
        fd = self.fds.index(spec.fd)
        place = (fd, spec.size, spec.writable, offset)
        return ("array", *place, obj.shape, obj.strides, obj.dtype.str)

    def _locate(self, a: np.ndarray) -> tuple[int, int] | None:
        """(region, offset) of `a`'s memory within one of the race's mapped regions."""
        address = a.__array_interface__["data"][0]
        for i, region in enumerate(self._regions):
            if region.start and region.start <= address < region.start + region.size:
                return i, address - region.start
        return None

    def close(self) -> None:
        """Close the descriptors opened here (the workers have their own by now)."""
        for fd in self._owned:
            os.close(fd)
        self._owned = []


class _RefPickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, exports: Exports) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._exports = exports

    def persistent_id(self, obj: object) -> tuple[object, ...] | None:
        return self._exports.reference(obj)


class Imports:
    """A worker's side of `Exports`: the descriptors it received, mapped on demand."""

    def __init__(self, fds: Sequence[int]) -> None:
        self.fds = list(fds)
        self._maps: dict[int, mmap.mmap] = {}

    def loads(self, payload: bytes) -> object:
        return _RefUnpickler(io.BytesIO(payload), self).load()

    def resolve(self, ref: tuple[object, ...]) -> object:
        if ref[0] == "fd":
            return self.fds[int(ref[1])]  # type: ignore[call-overload]
        _, fd, size, writable, offset, shape, strides, dtype = ref
        mapped = self._maps.get(fd)  # type: ignore[call-overload]
        if mapped is None:
            access = mmap.ACCESS_WRITE if writable else mmap.ACCESS_READ
            mapped = mmap.mmap(self.fds[fd], size, access=access)  # type: ignore[index]
            self._maps[fd] = mapped  # type: ignore[index]
        return np.ndarray(shape, dtype, buffer=mapped, offset=offset, strides=strides)  # type: ignore[arg-type, call-overload]

    def close(self) -> None:
        """Close the descriptors; a mapping goes once nothing uses it any more."""
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds = []
        for mapped in self._maps.values():
            # An array still using it keeps it: the mapping then goes with that array.
            with contextlib.suppress(BufferError):
                mapped.close()
        self._maps = {}


class _RefUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, imports: Imports) -> None:
        super().__init__(file)
        self._imports = imports

    def persistent_load(self, pid: object) -> object:
        return self._imports.resolve(pid)  # type: ignore[arg-type]


# --- Datasets written once to a temporary file ---------------------------------------------

_spill_lock = threading.Lock()
# id(dataset) → (dataset, fd, size, {id(array): offset}); the dataset is held so its id
# cannot be reused by another while its file is kept.
_spilled: collections.OrderedDict[int, tuple[Dataset, int, int, dict[int, int]]] = (
    collections.OrderedDict()
)


def _spill(data: Dataset, arrays: Sequence[np.ndarray]) -> tuple[SharedFd, int, list[int]]:
    """A descriptor of a temporary file (unlinked) holding `data`'s `arrays`, written at the
    first race on `data` and kept for the next ones, and each array's offset in it."""
    with _spill_lock:
        entry = _spilled.get(id(data))
        if entry is None or entry[0] is not data or any(id(a) not in entry[3] for a in arrays):
            if entry is not None:
                os.close(_spilled.pop(id(data))[1])
            entry = _write_spill(data, arrays)
            _spilled[id(data)] = entry
            while len(_spilled) > _SPILLED_DATASETS:
                os.close(_spilled.popitem(last=False)[1][1])
        _spilled.move_to_end(id(data))
        _, fd, size, offsets = entry
        # A descriptor of the race's own: evicting the entry meanwhile cannot close it.
        return SharedFd(os.dup(fd)), size, [offsets[id(a)] for a in arrays]


def _write_spill(
    data: Dataset, arrays: Sequence[np.ndarray]
) -> tuple[Dataset, int, int, dict[int, int]]:
    offsets, size = {}, 0
    for a in arrays:
        offsets[id(a)] = size
        size = -(-(size + a.nbytes) // _ALIGN) * _ALIGN
    fd, path = tempfile.mkstemp(prefix="initlab-digits-")
    try:
        os.unlink(path)
        with os.fdopen(os.dup(fd), "wb") as out:
            for a in arrays:
                out.seek(offsets[id(a)])
                out.write(np.ascontiguousarray(a).data)
            out.truncate(max(size, 1))
    except BaseException:
        os.close(fd)
        raise
    return data, fd, max(size, 1), offsets


def forget_spilled() -> None:
    """Close every kept spill file (their memory goes with the workers' mappings)."""
    with _spill_lock:
        while _spilled:
            os.close(_spilled.popitem()[1][1])
