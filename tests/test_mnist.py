"""Tests for core.idx and core.mnist, offline: a real HTTP server on 127.0.0.1 plays the mirrors.

Every test runs with HOME, XDG_CACHE_HOME and the INITLAB_* variables pointed into tmp_path, so
the real user cache is never read or written.
"""

from __future__ import annotations

import gzip
import os
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from core.idx import parse_idx
from core.mnist import (
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
    TRUNCATE,
    WRONG_BYTES,
    MirrorServer,
    checksums,
    fake_mnist,
    idx_bytes,
    serve,
)


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
    return [parse_idx(gzip.decompress(files[name])) for name in FILE_NAMES]


def _assert_same_digits(ds, files: dict[str, bytes]) -> None:
    x_train, y_train, x_test, y_test = _arrays(files)
    np.testing.assert_array_equal(ds.x_train, x_train.reshape(len(x_train), 784))
    np.testing.assert_array_equal(ds.y_train, y_train)
    np.testing.assert_array_equal(ds.x_test, x_test.reshape(len(x_test), 784))
    np.testing.assert_array_equal(ds.y_test, y_test)


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
        (idx_bytes(np.zeros(5, np.uint8)) + b"\x00", r"wrong IDX size in .*bad\.gz.*14 bytes"),
    ],
    ids=["labels-magic-2050", "float-type", "empty", "short-header", "short-data", "trailing"],
)
def test_read_idx_rejects_broken_files_naming_them(tmp_path, data, message):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(data))
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
    assert _leftovers(cache) == sorted(FILE_NAMES)
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
    assert _leftovers(cache) == sorted(FILE_NAMES)


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
        (HANG, "timed out after 0.5 s at"),
        (STALL, "timed out after 0.5 s with"),
    ],
)
def test_load_mnist_failed_download_leaves_no_partial_file(server, cache, table, mode, reason):
    server.modes["m1"] = mode
    ds = _load(server, cache, table, mirrors=("m1",), timeout=0.5)
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
    with pytest.raises(ValueError, match=r"timeout must be > 0 seconds, got 0"):
        load_mnist(cache_dir=cache, files=table, timeout=0)


def test_load_mnist_default_cache_is_the_user_cache_folder(tmp_path, server, table):
    ds = load_mnist(mirrors=[server.url("m1")], files=table)
    assert ds.kind == "full"
    assert _leftovers(tmp_path / "xdg" / "initlab" / "mnist") == sorted(FILE_NAMES)


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
