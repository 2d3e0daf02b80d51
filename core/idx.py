"""IDX parsing: the file format MNIST ships in, gzip-compressed or raw.

Format (LeCun et al., http://yann.lecun.com/exdb/mnist/): a big-endian header, then the data.
    magic: 0x00 0x00 <type code> <number of dimensions>; MNIST uses type 0x08 (uint8), so
    2051 = 0x00000803 for images (count, rows, cols) and 2049 = 0x00000801 for labels (count),
    followed by one big-endian uint32 per dimension and then prod(dims) bytes.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy as np

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049
_NDIM = {IDX_IMAGES_MAGIC: 3, IDX_LABELS_MAGIC: 1}
_GZIP_MAGIC = b"\x1f\x8b"


class MnistError(ValueError):
    """MNIST files are missing, malformed or fail their checksum; the message names the file."""


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file into a read-only uint8 array: `(count, rows, cols)` or `(count,)`.

    Compression is detected from the content (gzip magic bytes), not the suffix, so a user's
    renamed or re-compressed copy still loads.
    """
    name = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise MnistError(f"cannot read {name}: {e.strerror or e}") from e
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except EOFError as e:
            raise MnistError(f"truncated gzip in {name}: the file ends mid-stream") from e
        except (OSError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
            raise MnistError(f"corrupt gzip in {name}: {e}") from e
    return parse_idx(data, name)


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse uncompressed IDX bytes; `name` only appears in error messages.

    The array is a read-only view of `data` (no copy of the 47 MB of training images).
    """
    magic = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
    if magic not in _NDIM:
        shown = "none (file shorter than 4 bytes)" if magic is None else f"{magic} ({magic:#010x})"
        raise MnistError(
            f"bad IDX magic number in {name}: got {shown}, expected {IDX_IMAGES_MAGIC} "
            f"(uint8 images) or {IDX_LABELS_MAGIC} (uint8 labels)"
        )
    ndim = _NDIM[magic]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise MnistError(
            f"IDX header too short in {name}: {len(data)} bytes, need {header} for {ndim} "
            "dimension(s)"
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + math.prod(dims)
    if len(data) != expected:
        raise MnistError(
            f"wrong IDX size in {name}: header says shape {dims}, so {expected} bytes, but "
            f"the data has {len(data)} bytes"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)
