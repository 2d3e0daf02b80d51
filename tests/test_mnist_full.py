"""Tests for core.data.mnist with full-sized MNIST files (60,000 + 10,000 digits) in the cache.

The files are built from the bundled digits, tiled, so nothing is downloaded. They check the
uncompressed copy the cache keeps beside each verified `.gz`: written once, memory-mapped by
later loads, and rebuilt when it is damaged.
"""

from __future__ import annotations

import gzip
import mmap
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.data.mnist import load_mnist, load_sample
from tests.http_fixtures import FILE_NAMES, checksums, idx_bytes
from tests.params import SLOW

UNPACKED = [name.removesuffix(".gz") for name in FILE_NAMES]
# Header + pixels (or labels): the size each uncompressed copy must have.
SIZES = [16 + 60_000 * 784, 8 + 60_000, 16 + 10_000 * 784, 8 + 10_000]


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("INITLAB_MNIST_DIR", "INITLAB_CACHE_DIR", "INITLAB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def arrays() -> list[np.ndarray]:
    """Full-sized MNIST: the bundled digits tiled to 60,000 training and 10,000 test digits."""
    ds = load_sample()
    return [
        np.resize(ds.x_train, (60_000, 784)).reshape(60_000, 28, 28),
        np.resize(ds.y_train, 60_000).astype(np.uint8),
        np.resize(ds.x_test, (10_000, 784)).reshape(10_000, 28, 28),
        np.resize(ds.y_test, 10_000).astype(np.uint8),
    ]


@pytest.fixture(scope="module")
def packed(arrays, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("full-gz")
    # Stored, not compressed: still gzip files, unpacked by the same code, in a fraction of
    # the time (compressing 55 MB took about a second).
    for name, a in zip(FILE_NAMES, arrays, strict=True):
        (folder / name).write_bytes(gzip.compress(idx_bytes(a), compresslevel=0, mtime=0))
    return folder


@pytest.fixture
def cache(packed, tmp_path) -> Path:
    return shutil.copytree(packed, tmp_path / "cache")


@pytest.fixture
def table(packed) -> dict[str, tuple[int, str]]:
    return checksums({name: (packed / name).read_bytes() for name in FILE_NAMES})


def _load(cache: Path, table):
    return load_mnist(cache_dir=cache, files=table, download=False)


def _assert_full(ds, arrays) -> None:
    assert (ds.kind, ds.note) == ("full", "")
    assert (ds.n_train, ds.n_test) == (60_000, 10_000)
    for got, want in zip((ds.x_train, ds.y_train, ds.x_test, ds.y_test), arrays, strict=True):
        assert not got.flags.writeable
        # np.array_equal: assert_array_equal takes seconds on 47 MB.
        assert np.array_equal(got, want.reshape(len(want), -1).squeeze())


def _mapped(a: np.ndarray) -> bool:
    """Whether `a` is a view of a memory-mapped file (array -> ... -> memoryview -> mmap)."""
    base: object = a
    while isinstance(base, np.ndarray):
        base = base.base
    return isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)


def test_load_mnist_full_cache_leaves_an_uncompressed_copy(cache, table, arrays):
    ds = _load(cache, table)
    _assert_full(ds, arrays)
    assert [(cache / name).stat().st_size for name in UNPACKED] == SIZES
    assert sorted(p.name for p in cache.iterdir()) == sorted([*FILE_NAMES, *UNPACKED])


def test_load_mnist_full_later_loads_map_the_copy_not_the_gz(cache, table, arrays):
    _load(cache, table)
    for name in FILE_NAMES:
        (cache / name).unlink()  # from now on only the uncompressed copies can serve
    ds = _load(cache, table)
    _assert_full(ds, arrays)
    assert _mapped(ds.x_train) and _mapped(ds.x_test)
    with pytest.raises(ValueError, match="read-only"):
        ds.x_train[0, 0] = 1


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("train-images-idx3-ubyte", lambda p: p.write_bytes(p.read_bytes()[:-1])),
        pytest.param(
            "train-images-idx3-ubyte",
            lambda p: p.write_bytes(b"\x00\x00\x08\x03" + b"\xff" * 12),
            marks=SLOW,
        ),
        pytest.param("t10k-labels-idx1-ubyte", lambda p: p.write_bytes(b"garbage"), marks=SLOW),
        pytest.param("t10k-images-idx3-ubyte", lambda p: p.unlink(), marks=SLOW),
    ],
    ids=["truncated", "bad-header", "garbage", "missing"],
)
def test_load_mnist_full_rebuilds_a_damaged_copy_from_the_gz(cache, table, arrays, name, damage):
    _load(cache, table)
    damage(cache / name)
    _assert_full(_load(cache, table), arrays)
    assert [(cache / n).stat().st_size for n in UNPACKED] == SIZES


def test_load_mnist_full_loads_when_the_copy_cannot_be_written(cache, table, arrays):
    (cache / "train-images-idx3-ubyte").mkdir()  # nothing can be renamed over a folder
    _assert_full(_load(cache, table), arrays)
    assert sorted(p.name for p in cache.iterdir()) == sorted([*FILE_NAMES, *UNPACKED])


def test_load_mnist_full_user_folder_of_uncompressed_files_is_mapped(cache, table, arrays):
    _load(cache, table)
    for name in FILE_NAMES:
        (cache / name).unlink()
    ds = load_mnist(data_dir=cache, files=table)
    assert ds.kind == "folder"
    assert _mapped(ds.x_train)
    assert np.array_equal(ds.x_test, arrays[2].reshape(10_000, 784))


RACE_MEMORY_SCRIPT = """
import json, sys
from pathlib import Path
import core
from core.race import procs, shared
from core.data.mnist import load_mnist

cache, table = sys.argv[1], {k: tuple(v) for k, v in json.loads(sys.argv[2]).items()}
data = load_mnist(cache_dir=cache, files=table, download=False)

def peak(pid="self"):
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) * 1024

peaks = {}
def report(progress):
    for pid in procs.pool().pids():
        peaks[pid] = peak(pid)

core.train_compare(
    ["std_0.01", "lecun_normal", "he_normal"], iterations=300, data=data, workers=2,
    on_progress=report, progress_every=100,
)
spilled = max((entry[2] for entry in shared._spilled.values()), default=0)
print(json.dumps({"caller": peak(), "workers": list(peaks.values()), "spilled": spilled}))
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_race_on_full_mnist_maps_the_digits_and_stays_under_400_mb(cache, table):
    """Full MNIST from the cache: the workers map the cached file (only the labels are
    written out for them, once), and the caller's peak memory plus every worker's stays under
    400 MB (a worker counts the pages of the digits it read, shared as they are)."""
    import json
    import subprocess
    import sys

    _load(cache, table)  # the uncompressed copies, mapped by the race's load
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", RACE_MEMORY_SCRIPT, str(cache), json.dumps(table)],
        cwd=root, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(seen["workers"]) == 2
    assert seen["spilled"] < 1_000_000  # 70,000 labels, never the 55 MB of pixels
    total = seen["caller"] + sum(seen["workers"])
    assert total < 400 * 2**20, f"{total / 2**20:.0f} MiB"
