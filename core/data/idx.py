"""IDX parsing: the file format MNIST ships in, gzip-compressed or raw.

Format (LeCun et al., http://yann.lecun.com/exdb/mnist/): a big-endian header, then the data.
    magic: 0x00 0x00 <type code> <number of dimensions>; MNIST uses type 0x08 (uint8), so
    2051 = 0x00000803 for images (count, rows, cols) and 2049 = 0x00000801 for labels (count),
    followed by one big-endian uint32 per dimension and then prod(dims) bytes.

The header is checked against MNIST's shapes before anything is allocated, and a gzip file is
never decompressed past the size its header announces, so a gzip bomb or a file of the wrong
size is refused with `MnistError` naming it, never with MemoryError.
"""

from __future__ import annotations

import gzip
import math
import mmap
import os
import stat
import weakref
import zlib
from typing import BinaryIO

import numpy as np

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049
_NDIM = {IDX_IMAGES_MAGIC: 3, IDX_LABELS_MAGIC: 1}
_GZIP_MAGIC = b"\x1f\x8b"

IMAGE_SHAPE = (28, 28)
MAX_COUNT = 60_000  # MNIST's largest split, its training set
_GUNZIP_CHUNK = 1 << 20  # bytes decompressed at a time into the preallocated array

# The file behind each live mapping `read_idx` made, (path, device, inode): worker processes
# map the same file instead of receiving a copy of its digits (`mapped_file`).
_MAPPED: weakref.WeakKeyDictionary[mmap.mmap, tuple[str, int, int]] = weakref.WeakKeyDictionary()


class MnistError(ValueError):
    """MNIST files are missing, malformed or fail their checksum; the message names the file."""


def read_idx(path: str | os.PathLike[str], max_count: int = MAX_COUNT) -> np.ndarray:
    """Read an MNIST IDX file into a read-only uint8 array: `(count, 28, 28)` or `(count,)`.

    Compression is detected from the content (gzip magic bytes), not the suffix, so a user's
    renamed or re-compressed copy still loads. An uncompressed file is memory-mapped, so
    reading one costs neither a copy nor time; a gzip file is decompressed into one array.
    """
    name = os.fspath(path)
    try:
        # stat first: opening a FIFO or a device would block or never end.
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise MnistError(f"cannot read {name}: not a regular file")
        with open(path, "rb") as f:
            if f.read(2) != _GZIP_MAGIC:
                return _map_raw(f, name, max_count)
            f.seek(0)
            return _gunzip(f, name, max_count)
    except OSError as e:
        raise MnistError(f"cannot read {name}: {e.strerror or e}") from e


def write_idx(out: BinaryIO, a: np.ndarray) -> None:
    """Write the uint8 array `a`, `(count, rows, cols)` or `(count,)`, as uncompressed IDX."""
    magic = IDX_IMAGES_MAGIC if a.ndim == 3 else IDX_LABELS_MAGIC
    out.write(b"".join(d.to_bytes(4, "big") for d in (magic, *a.shape)))
    out.write(np.ascontiguousarray(a, dtype=np.uint8).data)


def _map_raw(f: BinaryIO, name: str, max_count: int) -> np.ndarray:
    """Memory-map an uncompressed IDX file after checking its header against its size."""
    f.seek(0)
    dims, header = _read_header(f, name, max_count)
    expected = header + math.prod(dims)
    actual = os.fstat(f.fileno()).st_size
    if actual != expected:
        raise _size_error(name, dims, expected, f"has {actual}")
    # The array holds the mapping open (and is read-only, as the mapping is) until it is freed.
    mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    status = os.fstat(f.fileno())
    _MAPPED[mapped] = (os.path.abspath(name), status.st_dev, status.st_ino)
    return np.frombuffer(mapped, np.uint8, count=math.prod(dims), offset=header).reshape(dims)


def mapped_file(a: np.ndarray) -> tuple[str, int, int, int] | None:
    """(path, device, inode, byte offset of `a` in it) if `a` is a view of a file `read_idx`
    mapped and still maps, else None."""
    base: object = a
    while isinstance(base, np.ndarray):
        base = base.base
    if not isinstance(base, memoryview) or not isinstance(base.obj, mmap.mmap):
        return None
    source = _MAPPED.get(base.obj)
    if source is None:
        return None
    start = np.frombuffer(base, np.uint8).ctypes.data  # the mapping's first byte
    return (*source, a.ctypes.data - start)


def _gunzip(f: BinaryIO, name: str, max_count: int) -> np.ndarray:
    """Decompress into an array of exactly the size the header announces, never more."""
    try:
        with gzip.GzipFile(fileobj=f) as z:
            dims, header = _read_header(z, name, max_count)
            expected = header + math.prod(dims)
            # Deflate grows even random bytes by far less than 1 %: a longer file holds more
            # than the header says (and gzip would skip trailing zero padding byte by byte).
            if (packed := os.fstat(f.fileno()).st_size) > expected + expected // 100 + 1024:
                raise MnistError(
                    f"{name} has {packed} bytes, more than a gzip of the {expected} bytes its "
                    f"IDX header announces can have"
                )
            a = np.empty(math.prod(dims), np.uint8)  # (count * rows * cols,)
            done = 0
            while done < a.size:
                chunk = z.read(min(_GUNZIP_CHUNK, a.size - done))
                if not chunk:
                    raise _size_error(name, dims, expected, f"has {header + done}")
                a[done : done + len(chunk)] = np.frombuffer(chunk, np.uint8)
                done += len(chunk)
            # One byte more reads to the gzip trailer, which checks the CRC, or reveals extra data.
            if z.read(1):
                raise _size_error(name, dims, expected, f"has more than {expected}")
    except EOFError as e:
        raise MnistError(f"truncated gzip in {name}: the file ends mid-stream") from e
    except (gzip.BadGzipFile, zlib.error) as e:
        raise MnistError(f"corrupt gzip in {name}: {e}") from e
    a.flags.writeable = False
    return a.reshape(dims)


def _read_header(f: BinaryIO, name: str, max_count: int) -> tuple[tuple[int, ...], int]:
    """The dims and header length of an MNIST IDX stream, checked before any allocation."""
    head = f.read(4)
    magic = int.from_bytes(head, "big") if len(head) == 4 else None
    if magic not in _NDIM:
        shown = "none (file shorter than 4 bytes)" if magic is None else f"{magic} ({magic:#010x})"
        raise MnistError(
            f"bad IDX magic number in {name}: got {shown}, expected {IDX_IMAGES_MAGIC} "
            f"(uint8 images) or {IDX_LABELS_MAGIC} (uint8 labels)"
        )
    ndim = _NDIM[magic]
    header = 4 + 4 * ndim
    raw = f.read(4 * ndim)
    if len(raw) != 4 * ndim:
        raise MnistError(
            f"IDX header too short in {name}: {4 + len(raw)} bytes, need {header} for {ndim} "
            "dimension(s)"
        )
    dims = tuple(int.from_bytes(raw[4 * i : 4 * i + 4], "big") for i in range(ndim))
    if dims[0] > max_count or dims[1:] not in ((), IMAGE_SHAPE):
        expected = "(count, 28, 28)" if ndim == 3 else "(count,)"
        raise MnistError(
            f"IDX header of {name} says shape {dims}; MNIST's is {expected} with count at most "
            f"{max_count:,}"
        )
    return dims, header


def _size_error(name: str, dims: tuple[int, ...], expected: int, actual: str) -> MnistError:
    return MnistError(
        f"wrong IDX size in {name}: header says shape {dims}, so {expected} bytes, but the "
        f"data {actual} bytes"
    )
