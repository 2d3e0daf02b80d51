"""Tests for core.data.idx and core.data.mnist, offline: a real HTTP server on 127.0.0.1 plays
the mirrors.

Every test runs with HOME, XDG_CACHE_HOME and the INITLAB_* variables pointed into tmp_path, so
the real user cache is never read or written.
"""

from __future__ import annotations

import gzip
import os
import re
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from core.data.mnist import (
    DOWNLOAD_DEADLINE,
    MIRRORS,
    MNIST_FILES,
    DownloadProgress,
    MnistError,
    load_mnist,
    load_sample,
    read_idx,
    resolve_cache_dir,
)
from tests.http_fixtures import (
    FILE_NAMES,
    HANG,
    NOT_FOUND,
    STALL,
    TRICKLE,
    TRUNCATE,
    WRONG_BYTES,
    MirrorServer,
    checksums,
    fake_mnist,
    idx_bytes,
    serve,
)
from tests.params import SLOW


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("INITLAB_MNIST_DIR", "INITLAB_CACHE_DIR", "INITLAB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    # A proxy from the environment must not intercept requests to 127.0.0.1.
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return fake_mnist(np.random.default_rng(0))


@pytest.fixture
def table(files: dict[str, bytes]) -> dict[str, tuple[int, str]]:
    return checksums(files)


@pytest.fixture
def server(files: dict[str, bytes]):
    with serve(files) as s:
        yield s


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def _load(server: MirrorServer, cache: Path, table, mirrors=("m1", "m2"), **kwargs):
    kwargs.setdefault("timeout", 2.0)
    return load_mnist(
        cache_dir=cache, mirrors=[server.url(m) for m in mirrors], files=table, **kwargs
    )


def _arrays(files: dict[str, bytes]) -> list[np.ndarray]:
    """Decode the four IDX files independently of the loader: 16-byte header for images, 8 for
    labels."""
    raw = [gzip.decompress(files[name]) for name in FILE_NAMES]
    x_train, x_test = (
        np.frombuffer(raw[i], np.uint8, offset=16).reshape(-1, 28, 28) for i in (0, 2)
    )
    y_train, y_test = (np.frombuffer(raw[i], np.uint8, offset=8) for i in (1, 3))
    return [x_train, y_train, x_test, y_test]


def _assert_same_digits(ds, files: dict[str, bytes]) -> None:
    x_train, y_train, x_test, y_test = _arrays(files)
    np.testing.assert_array_equal(ds.x_train, x_train.reshape(len(x_train), 784))
    np.testing.assert_array_equal(ds.y_train, y_train)
    np.testing.assert_array_equal(ds.x_test, x_test.reshape(len(x_test), 784))
    np.testing.assert_array_equal(ds.y_test, y_test)


# What a complete cache holds: each verified .gz and its uncompressed copy.
CACHED = sorted([*FILE_NAMES, *(name.removesuffix(".gz") for name in FILE_NAMES)])


def _leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def _write(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


# --- IDX parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
def test_read_idx_reads_images_and_labels(tmp_path, compress):
    images = np.arange(3 * 28 * 28, dtype=np.int64).reshape(3, 28, 28).astype(np.uint8)
    labels = np.array([7, 0, 9], dtype=np.uint8)
    for name, a in (("images", images), ("labels", labels)):
        data = idx_bytes(a)
        (tmp_path / name).write_bytes(gzip.compress(data) if compress else data)
    x, y = read_idx(tmp_path / "images"), read_idx(tmp_path / "labels")
    assert x.dtype == y.dtype == np.uint8
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)
    assert not x.flags.writeable and not y.flags.writeable


def test_read_idx_detects_gzip_by_content_not_suffix(tmp_path):
    labels = np.array([1, 2, 3], dtype=np.uint8)
    (tmp_path / "raw.gz").write_bytes(idx_bytes(labels))
    (tmp_path / "packed.idx").write_bytes(gzip.compress(idx_bytes(labels)))
    np.testing.assert_array_equal(read_idx(tmp_path / "raw.gz"), labels)
    np.testing.assert_array_equal(read_idx(tmp_path / "packed.idx"), labels)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x00\x08\x02" + b"\x00" * 12, r"bad IDX magic number in .*bad\.gz: got 2050"),
        (b"\x00\x00\x0d\x03" + b"\x00" * 12, r"bad IDX magic number .*expected 2051.*or 2049"),
        (b"\x00\x00", r"bad IDX magic number in .*bad\.gz: got none"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", r"IDX header too short in .*bad\.gz"),
        (
            idx_bytes(np.zeros((2, 28, 28), np.uint8))[:-1],
            r"wrong IDX size in .*bad\.gz: header says shape \(2, 28, 28\), so 1584 bytes, "
            r"but the data has 1583",
        ),
        (
            idx_bytes(np.zeros(5, np.uint8)) + b"\x00",
            r"wrong IDX size in .*bad\.gz: .*so 13 bytes, but the data has (14|more than 13) bytes",
        ),
    ],
    ids=["labels-magic-2050", "float-type", "empty", "short-header", "short-data", "trailing"],
)
@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
def test_read_idx_rejects_broken_files_naming_them(tmp_path, data, message, compress):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(MnistError, match=message):
        read_idx(path)


def test_read_idx_rejects_truncated_gzip(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((4, 28, 28), np.uint8)))[:-10])
    with pytest.raises(MnistError, match=r"truncated gzip in .*cut\.gz"):
        read_idx(path)


def test_read_idx_rejects_corrupt_gzip(tmp_path):
    data = bytearray(gzip.compress(bytes(range(256)) * 50))
    data[20] ^= 0xFF
    path = tmp_path / "corrupt.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(MnistError, match=r"corrupt gzip in .*corrupt\.gz"):
        read_idx(path)


def test_read_idx_missing_file_raises_mnist_error(tmp_path):
    with pytest.raises(MnistError, match=r"cannot read .*nothing-here"):
        read_idx(tmp_path / "nothing-here")


def _bomb(tmp_path: Path, header: bytes, extra_mb: int) -> Path:
    """A small .gz holding `header`, then `extra_mb` MiB of zeros: 1 MiB gzips to about 1 KB,
    and the members are simply concatenated, as gzip allows."""
    member = gzip.compress(bytes(1 << 20), compresslevel=9, mtime=0)
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(header, mtime=0) + member * extra_mb)
    return path


def test_read_idx_refuses_a_gzip_bomb_decompressing_no_more_than_announced(tmp_path):
    # 300 KB on disk; the header announces 60,000 images (47 MB), and 300 MiB of zeros follow.
    header = b"".join(d.to_bytes(4, "big") for d in (2051, 60_000, 28, 28))
    path = _bomb(tmp_path, header, extra_mb=300)
    assert path.stat().st_size < 400_000
    tracemalloc.start()
    try:
        with pytest.raises(MnistError, match=r"wrong IDX size in .*bomb\.gz: .*more than 47040016"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 47_040_000 + 8 * 2**20  # the announced images and one chunk, never 300 MiB


def test_read_idx_refuses_a_gzip_too_long_for_its_header_without_decompressing(tmp_path):
    # The header announces 100 images (78,416 bytes); 256 MiB follow in 270 KB.
    path = _bomb(tmp_path, idx_bytes(np.zeros((100, 28, 28), np.uint8)), extra_mb=256)
    tracemalloc.start()
    try:
        with pytest.raises(
            MnistError, match=r"bomb\.gz has \d+ bytes, more than a gzip of the 78416"
        ):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


@pytest.mark.parametrize(
    ("dims", "max_count", "message"),
    [
        (
            (60_001, 28, 28),
            60_000,
            r"says shape \(60001, 28, 28\); MNIST's is \(count, 28, 28\) "
            r"with count at most 60,000",
        ),
        (
            (10_001,),
            10_000,
            r"says shape \(10001,\); MNIST's is \(count,\) with count at most 10,000",
        ),
        ((5, 32, 32), 60_000, r"says shape \(5, 32, 32\)"),
        ((2**32 - 1, 28, 28), 60_000, r"says shape \(4294967295, 28, 28\)"),
    ],
)
@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
def test_read_idx_checks_mnist_dims_before_allocating(tmp_path, dims, max_count, message, compress):
    magic = 2051 if len(dims) == 3 else 2049
    header = b"".join(d.to_bytes(4, "big") for d in (magic, *dims))
    # Header only: a reader that trusted it would allocate up to 3.7 GB before noticing.
    path = tmp_path / "big.idx"
    path.write_bytes(gzip.compress(header) if compress else header)
    tracemalloc.start()
    try:
        with pytest.raises(MnistError, match=rf"IDX header of .*big\.idx {message}"):
            read_idx(path, max_count)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_read_idx_refuses_a_gzip_longer_than_its_content_can_be(tmp_path):
    # Zero padding after a gzip member is legal, and gzip skips it one byte at a time: 10 GB of
    # it would take many minutes. Nothing that long can be a gzip of what the header announces.
    data = gzip.compress(idx_bytes(np.zeros(5, np.uint8)))
    path = tmp_path / "padded.gz"
    path.write_bytes(data + bytes(4096))
    with pytest.raises(
        MnistError, match=r"padded\.gz has 41\d\d bytes, more than a gzip of the 13 "
    ):
        read_idx(path)
    path.write_bytes(data + bytes(100))  # a little padding is harmless
    np.testing.assert_array_equal(read_idx(path), np.zeros(5, np.uint8))


def test_read_idx_maps_an_uncompressed_file_read_only(tmp_path):
    images = np.arange(5 * 784, dtype=np.int64).reshape(5, 28, 28).astype(np.uint8)
    path = tmp_path / "images"
    path.write_bytes(idx_bytes(images))
    x = read_idx(path)
    np.testing.assert_array_equal(x, images)
    with pytest.raises(ValueError, match="read-only"):
        x[0, 0, 0] = 1
    path.unlink()  # the mapping outlives the name, as a file handle would
    np.testing.assert_array_equal(x, images)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_read_idx_refuses_a_named_pipe_instead_of_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.gz")  # opening it would wait for a writer for ever
    with pytest.raises(MnistError, match=r"cannot read .*pipe\.gz: not a regular file"):
        read_idx(tmp_path / "pipe.gz")


def test_mnist_error_is_a_value_error():
    assert issubclass(MnistError, ValueError)


# --- the user's own folder ----------------------------------------------------------------------


def test_load_mnist_reads_folder_given_as_argument(tmp_path, files, table, server):
    folder = _write(tmp_path / "mine", files)
    ds = load_mnist(data_dir=folder, files=table, mirrors=[server.url("m1")])
    assert ds.kind == "folder"
    assert ds.source == f"MNIST from folder {folder}: 100 training + 20 test digits"
    assert ds.note == ""
    _assert_same_digits(ds, files)
    assert server.requests == []  # the user's files win: no download


def test_load_mnist_reads_env_folder_uncompressed_or_recompressed(monkeypatch, tmp_path, files):
    # Checksums are for the official gzip bytes; a user's copy only has to parse.
    folder = tmp_path / "env-mnist"
    folder.mkdir()
    for i, (name, data) in enumerate(files.items()):
        raw = gzip.decompress(data)
        if i % 2:
            (folder / name.removesuffix(".gz")).write_bytes(raw)
        else:
            (folder / name).write_bytes(gzip.compress(raw, compresslevel=1, mtime=1))
    monkeypatch.setenv("INITLAB_MNIST_DIR", str(folder))
    ds = load_mnist(files=MNIST_FILES, download=False)
    assert ds.kind == "folder"
    assert ds.source.startswith(f"MNIST from $INITLAB_MNIST_DIR folder {folder}: 100 training")
    _assert_same_digits(ds, files)


def test_load_mnist_folder_missing_file_raises_naming_it(tmp_path, files, table):
    folder = _write(tmp_path / "mine", {k: v for k, v in files.items() if "t10k-labels" not in k})
    with pytest.raises(MnistError) as err:
        load_mnist(data_dir=folder, files=table)
    message = str(err.value)
    assert str(folder) in message
    assert "is missing t10k-labels-idx1-ubyte.gz (or t10k-labels-idx1-ubyte)" in message
    assert "train-images" not in message


def test_load_mnist_env_folder_of_an_unknown_user_raises_mnist_error(monkeypatch, table):
    # Path.expanduser would raise RuntimeError, which the app does not catch.
    monkeypatch.setenv("INITLAB_MNIST_DIR", "~no-such-user-initlab/mnist")
    with pytest.raises(MnistError, match=r"folder ~no-such-user-initlab/mnist does not exist"):
        load_mnist(files=table)


def test_load_mnist_env_folder_that_does_not_exist_raises(monkeypatch, tmp_path, table):
    monkeypatch.setenv("INITLAB_MNIST_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(MnistError, match=r"\$INITLAB_MNIST_DIR folder .*nowhere does not exist"):
        load_mnist(files=table)


def test_load_mnist_folder_with_bad_header_raises_naming_file(tmp_path, files, table):
    broken = dict(files)
    broken["train-labels-idx1-ubyte.gz"] = gzip.compress(b"\x00\x00\x08\x07" + b"\x00" * 40)
    folder = _write(tmp_path / "mine", broken)
    with pytest.raises(MnistError, match=r"bad IDX magic number in .*train-labels-idx1-ubyte\.gz"):
        load_mnist(data_dir=folder, files=table)


def test_load_mnist_folder_with_swapped_files_raises(tmp_path, files, table):
    swapped = dict(files)
    swapped["t10k-images-idx3-ubyte.gz"] = files["t10k-labels-idx1-ubyte.gz"]
    folder = _write(tmp_path / "mine", swapped)
    with pytest.raises(MnistError, match=r"t10k-images-idx3-ubyte\.gz should hold 28x28 images"):
        load_mnist(data_dir=folder, files=table)


def test_load_mnist_folder_with_a_bomb_raises_mnist_error_naming_it(tmp_path, files, table):
    folder = _write(tmp_path / "mine", files)
    header = idx_bytes(np.zeros(20, np.uint8))
    bomb = _bomb(tmp_path, header, extra_mb=64).read_bytes()
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(bomb)
    tracemalloc.start()
    try:
        with pytest.raises(
            MnistError, match=r"mine/t10k-labels-idx1-ubyte\.gz has \d+ bytes, more than a gzip"
        ):
            load_mnist(data_dir=folder, files=table)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20  # the 64 MiB behind the header are never decompressed


def test_load_mnist_folder_with_too_many_test_digits_raises_naming_it(tmp_path, files, table):
    big = dict(files)
    big["t10k-labels-idx1-ubyte.gz"] = gzip.compress(idx_bytes(np.zeros(10_001, np.uint8)))
    folder = _write(tmp_path / "mine", big)
    with pytest.raises(MnistError, match=r"t10k-labels-idx1-ubyte\.gz says shape \(10001,\)"):
        load_mnist(data_dir=folder, files=table)


def test_load_mnist_folder_with_count_mismatch_raises(tmp_path, files, table):
    short = dict(files)
    short["train-labels-idx1-ubyte.gz"] = gzip.compress(idx_bytes(np.zeros(99, np.uint8)))
    folder = _write(tmp_path / "mine", short)
    with pytest.raises(MnistError, match=r"train-labels.* has 99 labels but .* has 100 images"):
        load_mnist(data_dir=folder, files=table)


def test_load_mnist_folder_with_label_out_of_range_raises(tmp_path, files, table):
    bad = dict(files)
    bad["t10k-labels-idx1-ubyte.gz"] = gzip.compress(idx_bytes(np.full(20, 11, np.uint8)))
    folder = _write(tmp_path / "mine", bad)
    with pytest.raises(MnistError, match=r"t10k-labels.* should hold labels 0\.\.9, found 11"):
        load_mnist(data_dir=folder, files=table)


# --- cache and download -------------------------------------------------------------------------


def test_load_mnist_downloads_verifies_and_caches(server, cache, table, files, capsys):
    rng_state = np.random.get_state()  # noqa: NPY002 (reading it to prove nobody used it)
    ds = _load(server, cache, table)
    assert ds.kind == "full"
    assert ds.source == "full MNIST: 100 training + 20 test digits (cache folder)"
    assert ds.note == ""
    _assert_same_digits(ds, files)
    assert _leftovers(cache) == CACHED
    assert server.requests == [f"/m1/{name}" for name in FILE_NAMES]
    # The loader never prints and never touches the global NumPy RNG.
    assert capsys.readouterr() == ("", "")
    after = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(a, b) for a, b in zip(rng_state, after, strict=True))


def test_load_mnist_uses_verified_cache_without_network(server, cache, table, files):
    _write(cache, files)
    server.modes["m1"] = NOT_FOUND
    ds = _load(server, cache, table)
    assert ds.kind == "full"
    assert server.requests == []


def test_load_mnist_tries_next_mirror_after_404(server, cache, table, files):
    server.modes["m1"] = NOT_FOUND
    ds = _load(server, cache, table)
    assert ds.kind == "full"
    _assert_same_digits(ds, files)
    assert server.requests[:2] == [f"/m1/{FILE_NAMES[0]}", f"/m2/{FILE_NAMES[0]}"]


def test_load_mnist_tries_next_mirror_after_checksum_mismatch(server, cache, table, files):
    server.modes[f"m1/{FILE_NAMES[2]}"] = WRONG_BYTES
    ds = _load(server, cache, table)
    assert ds.kind == "full"
    _assert_same_digits(ds, files)
    assert f"/m2/{FILE_NAMES[2]}" in server.requests
    assert _leftovers(cache) == CACHED


def test_load_mnist_checksum_mismatch_everywhere_falls_back_to_sample(server, cache, table):
    server.modes.update(m1=WRONG_BYTES, m2=WRONG_BYTES)
    ds = _load(server, cache, table)
    assert ds.kind == "sample"
    assert ds.note.startswith("download failed: SHA-256 mismatch")
    assert f"at {server.url('m1')}{FILE_NAMES[0]}" in ds.note
    assert f"at {server.url('m2')}{FILE_NAMES[0]}" in ds.note
    assert _leftovers(cache) == []


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        (NOT_FOUND, "HTTP 404 Not Found"),
        (WRONG_BYTES, "SHA-256 mismatch (got "),
        (TRUNCATE, "connection closed with 39,"),
        (STALL, "timed out after 0.5 s with"),
        # Each waits out its timeout; the fast loop times a hanging mirror out in
        # test_load_mnist_timeout_bounds_the_wait, and gives up a trickling one in the two
        # trickle tests below, the first of them with nothing left behind.
        pytest.param(HANG, "timed out after 0.5 s at", marks=SLOW),
        pytest.param(TRICKLE, "too slow: ", marks=SLOW),
    ],
)
def test_load_mnist_failed_download_leaves_no_partial_file(server, cache, table, mode, reason):
    server.modes["m1"] = mode
    ds = _load(server, cache, table, mirrors=("m1",), timeout=0.5, deadline=1.0)
    assert ds.kind == "sample"
    assert ds.n_train == 4000
    assert ds.note.startswith(f"download failed: {reason}"), ds.note
    assert ds.note.endswith(f"at {server.url('m1')}{FILE_NAMES[0]}")
    assert _leftovers(cache) == []  # no .part, no unverified file


def test_load_mnist_timeout_bounds_the_wait(server, cache, table):
    server.modes.update(m1=HANG, m2=HANG)
    start = time.perf_counter()
    ds = _load(server, cache, table, timeout=0.25)
    elapsed = time.perf_counter() - start
    assert ds.kind == "sample"
    assert ds.note.count("timed out after 0.25 s") == 2
    # Two mirrors x 0.25 s: it stops at the first file no mirror serves instead of trying all 4.
    assert elapsed < 1.5
    assert len(server.requests) == 2


def test_load_mnist_gives_up_a_trickling_mirror_at_the_deadline(server, cache, table, files):
    # One byte every 50 ms never trips the 0.3 s per-read timeout; only the deadline ends it.
    server.modes["m1"] = TRICKLE
    start = time.perf_counter()
    ds = _load(server, cache, table, timeout=0.3, deadline=0.6)
    elapsed = time.perf_counter() - start
    assert ds.kind == "full"  # m2 served every file
    _assert_same_digits(ds, files)
    # The slow mirror is not asked again for the other files.
    assert server.requests == [f"/m1/{FILE_NAMES[0]}"] + [f"/m2/{name}" for name in FILE_NAMES]
    assert elapsed < 2.5  # the trickle lasts 5 s: waiting for its end would take longer
    assert _leftovers(cache) == CACHED


def test_load_mnist_asks_a_fast_failing_mirror_again_for_the_next_file(server, cache, table):
    server.modes[f"m1/{FILE_NAMES[0]}"] = NOT_FOUND
    assert _load(server, cache, table).kind == "full"
    assert server.requests[:3] == [
        f"/m1/{FILE_NAMES[0]}",
        f"/m2/{FILE_NAMES[0]}",
        f"/m1/{FILE_NAMES[1]}",
    ]


def test_load_mnist_trickle_note_is_readable(server, cache, table):
    server.modes["m1"] = TRICKLE
    ds = _load(server, cache, table, mirrors=("m1",), deadline=0.3)
    assert ds.kind == "sample"
    assert re.fullmatch(
        rf"download failed: too slow: [\d,]+ of {table[FILE_NAMES[0]][0]:,} bytes received in "
        rf"0\.3 s at {re.escape(server.url('m1'))}{FILE_NAMES[0]}",
        ds.note,
    ), ds.note


def test_load_mnist_default_deadline_suits_the_largest_file():
    # 9.9 MB in the deadline is 83 KB/s: slow links pass, a stuck mirror is not waited on for ever.
    assert 60 <= DOWNLOAD_DEADLINE <= 600
    assert MNIST_FILES["train-images-idx3-ubyte.gz"][0] / DOWNLOAD_DEADLINE > 16_000


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_load_mnist_removes_parts_left_by_dead_or_stale_writers(monkeypatch, cache, table):
    cache.mkdir()
    me, dead, old = os.getpid(), _dead_pid(), time.time() - 3600
    parts = {
        f"{FILE_NAMES[0]}.{dead}.a1b2c3d4.part": None,  # its process is gone
        f"{FILE_NAMES[1]}.{me}.e5f6g7h8.part": old,  # alive, but nobody wrote it for an hour
        f"{FILE_NAMES[2]}.k2j3h4l5.part": old,  # an older naming, without a pid
        f"t10k-images-idx3-ubyte.{dead}.x.part": None,  # part of an uncompressed copy
        f"{FILE_NAMES[3]}.{me}.i9j0k1l2.part": None,  # being written right now: kept
        "browser-download.zip.part": old,  # not ours, even in a shared folder: kept
    }
    for name, mtime in parts.items():
        (cache / name).write_bytes(b"partial")
        if mtime is not None:
            os.utime(cache / name, (mtime, mtime))
    monkeypatch.setenv("INITLAB_OFFLINE", "1")  # cleaning needs no network
    assert load_mnist(cache_dir=cache, files=table).kind == "sample"
    assert _leftovers(cache) == sorted(
        [f"{FILE_NAMES[3]}.{me}.i9j0k1l2.part", "browser-download.zip.part"]
    )


def test_load_mnist_names_part_files_after_its_process(server, cache, table):
    seen: list[str] = []
    _load(server, cache, table, on_progress=lambda p: seen.extend(_leftovers(cache)))
    parts = {name for name in seen if name.endswith(".part")}
    assert parts
    assert all(re.fullmatch(rf"[\w.-]+\.gz\.{os.getpid()}\.\w+\.part", name) for name in parts)


def test_load_mnist_removes_its_part_file_on_keyboard_interrupt(server, cache, table):
    def interrupt(p: DownloadProgress) -> None:
        if p.done_bytes > 0:
            assert any(name.endswith(".part") for name in _leftovers(cache))
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _load(server, cache, table, on_progress=interrupt)
    assert _leftovers(cache) == []


def test_load_mnist_keeps_verified_files_and_fetches_only_the_rest(server, cache, table, files):
    server.modes[f"m1/{FILE_NAMES[3]}"] = NOT_FOUND
    ds = _load(server, cache, table, mirrors=("m1",))
    assert ds.kind == "sample"
    assert "HTTP 404" in ds.note and FILE_NAMES[3] in ds.note
    assert _leftovers(cache) == sorted(FILE_NAMES[:3])
    server.requests.clear()
    server.modes.clear()
    ds = _load(server, cache, table, mirrors=("m1",))
    assert ds.kind == "full"
    assert server.requests == [f"/m1/{FILE_NAMES[3]}"]


def test_load_mnist_replaces_a_corrupt_cached_file(server, cache, table, files):
    _write(cache, files)
    (cache / FILE_NAMES[1]).write_bytes(b"garbage")
    ds = _load(server, cache, table)
    assert ds.kind == "full"
    assert server.requests == [f"/m1/{FILE_NAMES[1]}"]
    assert (cache / FILE_NAMES[1]).read_bytes() == files[FILE_NAMES[1]]


def test_load_mnist_offline_with_corrupt_cache_falls_back_with_note(
    monkeypatch, server, cache, table, files
):
    _write(cache, files)
    data = bytearray(files[FILE_NAMES[0]])
    data[100] ^= 0xFF
    (cache / FILE_NAMES[0]).write_bytes(bytes(data))
    (cache / FILE_NAMES[2]).unlink()
    monkeypatch.setenv("INITLAB_OFFLINE", "1")
    ds = _load(server, cache, table)
    assert ds.kind == "sample"
    assert ds.note == (
        f"the cache folder {cache} is incomplete ({FILE_NAMES[0]} fails its SHA-256 check; "
        f"{FILE_NAMES[2]} missing) and downloads are off (INITLAB_OFFLINE=1)"
    )
    assert server.requests == []


def test_load_mnist_offline_env_never_touches_the_network(monkeypatch, server, cache, table):
    monkeypatch.setenv("INITLAB_OFFLINE", "1")
    ds = _load(server, cache, table)
    assert ds.kind == "sample"
    assert ds.note == (
        f"MNIST is not in the cache folder {cache} and downloads are off (INITLAB_OFFLINE=1)"
    )
    assert server.requests == []
    assert not cache.exists()


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "Yes", "on", " On "])
def test_load_mnist_offline_env_accepts_usual_true_spellings(
    monkeypatch, server, cache, table, value
):
    monkeypatch.setenv("INITLAB_OFFLINE", value)
    ds = _load(server, cache, table)
    assert ds.kind == "sample"
    assert ds.note.endswith(f"downloads are off (INITLAB_OFFLINE={value})")
    assert server.requests == []


@pytest.mark.parametrize("value", ["0", "false", "No", "OFF", ""])
def test_load_mnist_offline_env_accepts_usual_false_spellings(
    monkeypatch, server, cache, table, value
):
    monkeypatch.setenv("INITLAB_OFFLINE", value)
    assert _load(server, cache, table).kind == "full"


def test_load_mnist_offline_env_unrecognised_value_stays_offline_and_says_why(
    monkeypatch, server, cache, table
):
    monkeypatch.setenv("INITLAB_OFFLINE", "sometimes")
    ds = _load(server, cache, table)
    assert ds.kind == "sample"
    assert server.requests == []
    assert ds.note.endswith(
        "downloads are off (INITLAB_OFFLINE='sometimes', which is read as on: the values "
        "understood are 1, on, true, yes (on) and 0, false, no, off or empty (off))"
    )


def test_load_mnist_download_false_falls_back(server, cache, table):
    ds = _load(server, cache, table, download=False)
    assert ds.kind == "sample"
    assert ds.note.endswith("downloads are off (download=False)")
    assert server.requests == []


def test_load_mnist_cache_under_a_regular_file_falls_back_with_note(tmp_path, server, table):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder's parent should be")
    cache = blocker / "mnist"
    ds = _load(server, cache, table)
    assert ds.kind == "sample"
    assert ds.note.startswith(f"cannot create the cache folder {cache}: ")
    assert server.requests == []


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores directory permissions"
)
def test_load_mnist_read_only_cache_falls_back_with_note(server, cache, table):
    cache.mkdir()
    cache.chmod(0o500)
    try:
        ds = _load(server, cache, table)
    finally:
        cache.chmod(0o700)
    assert ds.kind == "sample"
    assert ds.note.startswith(f"the cache folder {cache} is not writable: ")


def test_load_mnist_reports_progress_with_increasing_bytes(server, cache, table):
    events: list[DownloadProgress] = []
    server.modes["m1"] = NOT_FOUND
    _load(server, cache, table, on_progress=events.append)
    assert [e.file for e in events if e.done_bytes == 0] == list(FILE_NAMES)
    for name in FILE_NAMES:
        size = table[name][0]
        done = [e.done_bytes for e in events if e.file == name]
        assert done[0] == 0 and done[-1] == size
        assert np.all(np.diff(done) > 0)
        assert {(e.total_bytes, e.mirror) for e in events if e.file == name} == {
            (size, server.url("m2"))
        }
    assert len([e for e in events if e.file == FILE_NAMES[0]]) >= 3  # 78 KB in 64 KiB chunks


def test_load_mnist_bounds_a_hanging_name_lookup(monkeypatch, cache, table):
    # getaddrinfo ignores socket timeouts; the loader must not wait for the resolver.
    released = threading.Event()

    def slow_getaddrinfo(*args, **kwargs):
        released.wait(10)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
    start = time.perf_counter()
    try:
        ds = load_mnist(
            cache_dir=cache, mirrors=["http://mnist-mirror.invalid/"], files=table, timeout=0.3
        )
    finally:
        released.set()
    assert time.perf_counter() - start < 1.5
    assert ds.kind == "sample"
    assert ds.note.startswith("download failed: timed out after 0.3 s at http://mnist-mirror")


def test_load_mnist_connection_refused_falls_back(cache, table):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nobody listens
    ds = load_mnist(
        cache_dir=cache, mirrors=[f"http://127.0.0.1:{port}/"], files=table, timeout=2.0
    )
    assert ds.kind == "sample"
    assert ds.note.startswith("download failed: cannot connect (")
    assert _leftovers(cache) == []


def test_load_mnist_rejects_bad_arguments(cache, table):
    with pytest.raises(ValueError, match=r"files must map 4 names.*got 3"):
        load_mnist(cache_dir=cache, files=dict(list(table.items())[:3]))
    for arg, value in [("timeout", 0), ("timeout", float("nan")), ("deadline", float("inf"))]:
        with pytest.raises(ValueError, match=rf"{arg} must be a finite number of seconds > 0"):
            load_mnist(cache_dir=cache, files=table, **{arg: value})


def test_load_mnist_default_cache_is_the_user_cache_folder(tmp_path, server, table):
    ds = load_mnist(mirrors=[server.url("m1")], files=table)
    assert ds.kind == "full"
    assert _leftovers(tmp_path / "xdg" / "initlab" / "mnist") == CACHED


def test_resolve_cache_dir_order(monkeypatch, tmp_path):
    assert resolve_cache_dir() == tmp_path / "xdg" / "initlab" / "mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert resolve_cache_dir() == tmp_path / "home" / ".cache" / "initlab" / "mnist"
    monkeypatch.setenv("INITLAB_CACHE_DIR", str(tmp_path / "env"))
    assert resolve_cache_dir() == tmp_path / "env"
    assert resolve_cache_dir(tmp_path / "arg") == tmp_path / "arg"


def test_mnist_tables_list_the_official_files_and_mirrors():
    assert list(MNIST_FILES) == list(FILE_NAMES)
    assert MNIST_FILES["train-images-idx3-ubyte.gz"][0] == 9912422
    assert all(len(sha) == 64 and int(sha, 16) >= 0 for _, sha in MNIST_FILES.values())
    assert MIRRORS[0].startswith("https://ossci-datasets.s3.amazonaws.com/")
    assert MIRRORS[1].startswith("https://storage.googleapis.com/cvdf-datasets/")


# --- the bundled sample -------------------------------------------------------------------------


def test_load_sample_holds_5000_balanced_real_digits():
    ds = load_sample()
    assert (ds.n_train, ds.n_test) == (4000, 1000)
    assert (ds.kind, ds.note) == ("sample", "")
    assert ds.source == "bundled sample of real MNIST digits: 4,000 training + 1,000 test (offline)"
    assert ds.x_train.dtype == np.uint8 and ds.x_train.shape == (4000, 784)
    assert not ds.x_train.flags.writeable and not ds.y_test.flags.writeable
    np.testing.assert_array_equal(np.bincount(ds.y_train), [400] * 10)
    np.testing.assert_array_equal(np.bincount(ds.y_test), [100] * 10)
    # MNIST's fingerprint: mean pixel about 33 of 255, about 80 % of pixels exactly 0.
    pixels = np.concatenate([ds.x_train, ds.x_test])
    assert 30 < pixels.mean() < 37
    assert 0.75 < (pixels == 0).mean() < 0.85
    assert pixels.max() == 255


def test_load_sample_splits_are_disjoint_and_interleaved_by_class():
    ds = load_sample()
    rows = np.concatenate([ds.x_train, ds.x_test]).view(np.dtype((np.void, 784)))  # (5000, 1)
    assert len(np.unique(rows)) == 5000
    np.testing.assert_array_equal(ds.y_train[:20], np.tile(np.arange(10), 2))
    np.testing.assert_array_equal(ds.y_test[:20], np.tile(np.arange(10), 2))
