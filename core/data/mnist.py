"""MNIST loading: the user's folder, else the verified cache (downloaded if needed), else a sample.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, under CC BY-SA 3.0.
The mirrors are tried in torchvision's order; the sizes and SHA-256 digests are those of the
official gzip files, so a download that does not match them is never used.

Order of `load_mnist`:
    1. a folder named by `data_dir` or $INITLAB_MNIST_DIR (checked by IDX header and shape only,
       since a user's copy may be re-compressed or uncompressed; errors raise `MnistError`);
    2. the cache folder, downloading missing files unless offline;
    3. the bundled 5,000-digit sample, with `Dataset.note` saying why.

The cache keeps each verified `.gz` and, beside it, its uncompressed IDX copy, which later loads
memory-map (milliseconds, instead of 0.3 s of gunzip). Files are written through part files
named after the writing process, renamed into place only once verified; a part left by a killed
process is deleted by the next load.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import http.client
import math
import os
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO

import numpy as np

from core.data.dataset import Dataset, DatasetKind
from core.data.idx import MnistError, read_idx, write_idx

__all__ = [
    "DOWNLOAD_DEADLINE",
    "MIRRORS",
    "MNIST_FILES",
    "SAMPLE_PATH",
    "DownloadProgress",
    "MnistError",
    "load_mnist",
    "load_sample",
    "read_idx",
    "resolve_cache_dir",
]

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

# filename -> (bytes, SHA-256), in the order train images, train labels, test images, test labels.
MNIST_FILES: Mapping[str, tuple[int, str]] = MappingProxyType(
    {
        "train-images-idx3-ubyte.gz": (
            9912422,
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        ),
        "train-labels-idx1-ubyte.gz": (
            28881,
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        ),
        "t10k-images-idx3-ubyte.gz": (
            1648877,
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        ),
        "t10k-labels-idx1-ubyte.gz": (
            4542,
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ),
    }
)

SAMPLE_PATH = Path(__file__).with_name("mnist_sample.npz")

ENV_DATA_DIR = "INITLAB_MNIST_DIR"
ENV_CACHE_DIR = "INITLAB_CACHE_DIR"
ENV_OFFLINE = "INITLAB_OFFLINE"

# Seconds one mirror gets for one file, however steadily it trickles: the 9.9 MB file at 83 KB/s.
DOWNLOAD_DEADLINE = 120.0
_CHUNK_BYTES = 64 * 1024  # progress granularity: about 150 callbacks for the 9.9 MB file
_USER_AGENT = "initlab-mnist-loader"
_PART = ".part"
# Largest count each file may hold (train images, train labels, test images, test labels),
# checked before anything is allocated.
_MAX_COUNTS = (60_000, 60_000, 10_000, 10_000)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


@dataclass(frozen=True, slots=True)
class DownloadProgress:
    """One progress report: `done_bytes` of `total_bytes` of `file` received from `mirror`."""

    file: str
    done_bytes: int
    total_bytes: int
    mirror: str


ProgressFn = Callable[[DownloadProgress], None]


class _Unavailable(Exception):
    """The cache cannot provide MNIST; the message is the readable reason for the fallback."""


class _AttemptFailed(Exception):
    """One mirror failed for one file; the next mirror is tried."""


def load_mnist(
    *,
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    mirrors: Sequence[str] = MIRRORS,
    files: Mapping[str, tuple[int, str]] = MNIST_FILES,
    timeout: float = 10.0,
    deadline: float = DOWNLOAD_DEADLINE,
    on_progress: ProgressFn | None = None,
) -> Dataset:
    """Return MNIST from the user's folder, the cache (downloading if allowed) or the sample.

    Only a folder the user named explicitly can raise (`MnistError`); every other failure
    (offline, mirrors down, cache not writable, corrupt cache) falls back to the bundled sample
    with the reason in `Dataset.note`. `timeout` bounds each connection attempt, DNS included,
    and each read; `deadline` bounds one file's whole download from one mirror, so a mirror
    that trickles bytes is given up too. `on_progress` is called from the calling thread.

    $INITLAB_OFFLINE turns downloads off when it is 1, true, yes or on (any case), and leaves
    them on when it is 0, false, no, off or empty; any other value also turns them off, and
    the note says so: the safe reading of a setting nobody can parse is not to download.
    """
    if len(files) != 4:
        raise ValueError(
            "files must map 4 names (train images, train labels, test images, test labels) "
            f"to (bytes, sha256), got {len(files)}: {list(files)}"
        )
    for arg, value in (("timeout", timeout), ("deadline", deadline)):
        if not 0 < value < math.inf:  # also refuses NaN, which compares false
            raise ValueError(f"{arg} must be a finite number of seconds > 0, got {value}")

    if data_dir is not None:
        root = _expand(data_dir)
        return _load_folder(root, files, label=f"folder {root}")
    if env_dir := os.environ.get(ENV_DATA_DIR):
        root = _expand(env_dir)
        return _load_folder(root, files, label=f"${ENV_DATA_DIR} folder {root}")

    cache = resolve_cache_dir(cache_dir)
    why_off = "download=False" if not download else _offline_reason()
    try:
        return _load_cache(cache, files, why_off, mirrors, timeout, deadline, on_progress)
    except _Unavailable as e:
        return _sample(note=str(e))


def load_sample() -> Dataset:
    """The bundled 5,000 real MNIST digits (4,000 train + 1,000 test, 10 classes balanced)."""
    return _sample(note="")


def resolve_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where downloads go: `cache_dir`, else $INITLAB_CACHE_DIR, else the user cache folder.

    The user cache folder is $XDG_CACHE_HOME/initlab/mnist or ~/.cache/initlab/mnist, never
    next to the source (which may be read-only, and is shared by every checkout).
    """
    if cache_dir is not None:
        return _expand(cache_dir)
    if env := os.environ.get(ENV_CACHE_DIR):
        return _expand(env)
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says a relative value must be ignored.
    base = Path(xdg) if os.path.isabs(xdg) else _expand("~/.cache")
    return base / "initlab" / "mnist"


def _expand(path: str | os.PathLike[str]) -> Path:
    """`path` with `~` expanded where possible: unlike `Path.expanduser`, an unknown user or
    a missing home leaves it as it is (then reported as a missing folder) instead of raising."""
    return Path(os.path.expanduser(path))


def _offline_reason() -> str | None:
    """Why $INITLAB_OFFLINE turns downloads off, or None if it leaves them on."""
    value = os.environ.get(ENV_OFFLINE, "")
    word = value.strip().lower()
    if word in _FALSE:
        return None
    if word in _TRUE:
        return f"{ENV_OFFLINE}={value}"
    return (
        f"{ENV_OFFLINE}={value!r}, which is read as on: the values understood are "
        f"{', '.join(sorted(_TRUE))} (on) and {', '.join(sorted(_FALSE - {''}))} or empty (off)"
    )


def _sample(note: str) -> Dataset:
    """The bundled digits, with `note` saying why they are used instead of full MNIST."""
    try:
        with np.load(SAMPLE_PATH, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    except (OSError, KeyError, ValueError) as e:
        reason = f"; the loader had fallen back because {note}" if note else ""
        raise MnistError(
            f"bundled MNIST sample {SAMPLE_PATH.name} is unreadable: {e}{reason}"
        ) from e
    for a in arrays.values():
        a.flags.writeable = False  # fresh arrays: locking them spares Dataset a copy
    counts = f"{len(arrays['y_train']):,} training + {len(arrays['y_test']):,} test"
    source = f"bundled sample of real MNIST digits: {counts} (offline)"
    return Dataset(**arrays, source=source, kind="sample", note=note)


def _load_folder(root: Path, files: Mapping[str, tuple[int, str]], label: str) -> Dataset:
    """The user's own files: any gzip bytes or none, so only IDX headers and shapes are checked."""
    if not root.is_dir():
        raise MnistError(f"MNIST {label} does not exist or is not a folder")
    paths: list[Path] = []
    missing: list[str] = []
    for name in files:
        raw = name.removesuffix(".gz")
        found = next((p for p in (root / name, root / raw) if p.is_file()), None)
        if found is None:
            missing.append(name if raw == name else f"{name} (or {raw})")
        else:
            paths.append(found)
    if missing:
        raise MnistError(f"MNIST {label} is missing {', '.join(missing)}")
    arrays = [read_idx(path, limit) for path, limit in zip(paths, _MAX_COUNTS, strict=True)]
    return _dataset(arrays, paths, kind="folder", source_prefix=f"MNIST from {label}")


def _load_cache(
    cache: Path,
    files: Mapping[str, tuple[int, str]],
    why_off: str | None,
    mirrors: Sequence[str],
    timeout: float,
    deadline: float,
    on_progress: ProgressFn | None,
) -> Dataset:
    """The cached files: their uncompressed copies where valid, else the verified `.gz` files,
    downloading those that are missing or fail their checksum unless `why_off` says not to."""
    paths = [cache / name for name in files]
    _remove_stale_parts(cache, [*files, *map(_unpacked_name, files)], deadline + timeout)
    arrays: dict[str, np.ndarray] = {}
    for path, limit in zip(paths, _MAX_COUNTS, strict=True):
        # Missing or invalid (by header and size): rebuilt below from the verified .gz.
        with contextlib.suppress(MnistError):
            arrays[path.name] = read_idx(path.with_name(_unpacked_name(path.name)), limit)
    packed = {name: spec for name, spec in files.items() if name not in arrays}
    problems = {name: _cache_problem(cache / name, *spec) for name, spec in packed.items()}
    stale = [name for name, problem in problems.items() if problem]
    if stale:
        if why_off is not None:
            if all(problems.get(name) == "missing" for name in files):
                detail = f"MNIST is not in the cache folder {cache}"
            else:
                listed = "; ".join(f"{name} {problems[name]}" for name in stale)
                detail = f"the cache folder {cache} is incomplete ({listed})"
            raise _Unavailable(f"{detail} and downloads are off ({why_off})")
        _download_missing(
            cache, {name: files[name] for name in stale}, mirrors, timeout, deadline, on_progress
        )
    try:
        for path, limit in zip(paths, _MAX_COUNTS, strict=True):
            if path.name not in arrays:
                arrays[path.name] = _unpack(path, limit)
        return _dataset(
            [arrays[name] for name in files], paths, kind="full", source_prefix="full MNIST"
        )
    except MnistError as e:  # only reachable if the checksum table itself names a bad file
        raise _Unavailable(f"cached MNIST is unreadable: {e}") from e


def _unpacked_name(name: str) -> str:
    """The uncompressed copy of cached `name`: the official name without `.gz`."""
    return name.removesuffix(".gz") if name.endswith(".gz") else f"{name}.idx"


def _unpack(gz: Path, max_count: int) -> np.ndarray:
    """Decompress the verified `gz`, leaving its uncompressed copy for the next load to map.

    Writing the copy is best effort: a read-only cache still loads, only more slowly.
    """
    a = read_idx(gz, max_count)
    with contextlib.suppress(OSError), _atomic_write(gz.with_name(_unpacked_name(gz.name))) as out:
        write_idx(out, a)
    return a


@contextlib.contextmanager
def _atomic_write(dest: Path) -> Iterator[BinaryIO]:
    """Write `dest` via `<dest>.<pid>.<random>.part`, renamed over `dest` if the block ends well.

    The rename is atomic, so a partial or unverified file is never under `dest`. The part is
    deleted on any exception, KeyboardInterrupt included; the pid in its name lets a later load
    delete one whose process was killed, and the random tail keeps two threads apart.
    """
    fd, part = tempfile.mkstemp(dir=dest.parent, prefix=f"{dest.name}.{os.getpid()}.", suffix=_PART)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.replace(part, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)


def _remove_stale_parts(cache: Path, names: Sequence[str], max_age: float) -> None:
    """Delete the part files of `names` whose process is gone or that nobody wrote for `max_age`
    seconds (longer than any download may last). Best effort: a cache that cannot be listed or
    written is reported by the load itself. Only our own names are matched, so pointing the
    cache at a shared folder never deletes anyone else's `.part` files."""
    now = time.time()
    for name in names:
        for part in cache.glob(f"{glob.escape(name)}.*{_PART}"):
            with contextlib.suppress(OSError):
                if not _writer_alive(part.name) or now - part.stat().st_mtime > max_age:
                    part.unlink()


def _writer_alive(part_name: str) -> bool:
    """Whether the process named in `<name>.<pid>.<random>.part` may still be writing it.

    An unknown writer (a name without a pid, or a system without POSIX signals) counts as
    alive, so only the age test applies to it.
    """
    fields = part_name.removesuffix(_PART).rsplit(".", 2)
    if len(fields) != 3 or not fields[1].isdigit() or os.name != "posix":
        return True
    try:
        os.kill(int(fields[1]), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # someone else's process, or not a pid at all
        return True
    return True


def _cache_problem(path: Path, size: int, sha256: str) -> str:
    """Why the cached `path` cannot be used, or "" if its size and SHA-256 match the table."""
    try:
        actual = path.stat().st_size
        if actual != size:
            return f"has {actual} bytes, expected {size}"
        with open(path, "rb") as f:
            if hashlib.file_digest(f, "sha256").hexdigest() != sha256:
                return "fails its SHA-256 check"
    except FileNotFoundError:
        return "missing"
    except OSError as e:
        return f"is unreadable ({e.strerror or e})"
    return ""


def _download_missing(
    cache: Path,
    files: Mapping[str, tuple[int, str]],
    mirrors: Sequence[str],
    timeout: float,
    deadline: float,
    on_progress: ProgressFn | None,
) -> None:
    """Fetch each file into `cache`, stopping at the first that no mirror can provide.

    A mirror whose failure took `timeout` or longer (it hung, stalled or trickled) is not asked
    for the remaining files: a slow mirror is slow for every file.
    """
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _Unavailable(f"cannot create the cache folder {cache}: {e.strerror or e}") from e
    slow: set[str] = set()
    for name, (size, sha256) in files.items():
        failures: list[str] = []
        for mirror in [m for m in mirrors if m not in slow]:
            url = f"{mirror.rstrip('/')}/{name}"
            report = _reporter(on_progress, name, size, mirror)
            started = time.monotonic()
            try:
                _fetch(url, cache / name, size, sha256, timeout, deadline, report)
                break
            except _AttemptFailed as e:
                failures.append(f"{e} at {url}")
                if time.monotonic() - started >= timeout:
                    slow.add(mirror)
            except OSError as e:  # the .part file itself: the cache is the problem, not the mirror
                raise _Unavailable(
                    f"the cache folder {cache} is not writable: {e.strerror or e}"
                ) from e
        else:
            reasons = "; ".join(failures) if failures else f"no mirrors given for {name}"
            raise _Unavailable(f"download failed: {reasons}")


def _reporter(
    on_progress: ProgressFn | None, name: str, size: int, mirror: str
) -> Callable[[int], None]:
    def report(done: int) -> None:
        if on_progress is not None:
            on_progress(DownloadProgress(name, done, size, mirror))

    return report


def _fetch(
    url: str,
    dest: Path,
    size: int,
    sha256: str,
    timeout: float,
    deadline: float,
    report: Callable[[int], None],
) -> None:
    """Stream `url` into `dest` through a part file; keep it only if size and SHA-256 match."""
    with _atomic_write(dest) as out:
        digest = _stream(url, out, size, timeout, deadline, report)
        if digest != sha256:
            raise _AttemptFailed(
                f"SHA-256 mismatch (got {digest[:16]}..., expected {sha256[:16]}...)"
            )


def _stream(
    url: str,
    out: BinaryIO,
    size: int,
    timeout: float,
    deadline: float,
    report: Callable[[int], None],
) -> str:
    """Copy the response body to `out`; return its SHA-256 hex digest.

    `read1` returns what one socket read brings (bounded by `timeout`), so the `deadline` on
    the whole attempt is checked at least that often, however slowly the server trickles.
    """
    give_up = time.monotonic() + deadline
    digest = hashlib.sha256()
    done = reported = 0
    with _open(url, timeout) as response:
        length = response.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) != size:
            raise _AttemptFailed(f"server offers {int(length):,} bytes, expected {size:,}")
        report(0)
        while True:
            try:
                chunk = response.read1(_CHUNK_BYTES)
            except (OSError, http.client.HTTPException) as e:
                raise _AttemptFailed(_read_error(e, timeout, done, size)) from e
            if not chunk:
                break
            if done + len(chunk) > size:  # never let a wrong server fill the disk
                raise _AttemptFailed(f"server sent more than the expected {size:,} bytes")
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            if done - reported >= _CHUNK_BYTES or done == size:
                report(done)
                reported = done
            if done < size and time.monotonic() > give_up:
                raise _AttemptFailed(f"too slow: {_received(done, size)} in {deadline:g} s")
    if done != size:
        raise _AttemptFailed(f"connection closed with {_received(done, size)}")
    return digest.hexdigest()


def _open(url: str, timeout: float) -> http.client.HTTPResponse:
    """`urlopen` bounded by `timeout` in wall-clock time, name lookup included.

    urllib's timeout covers socket operations only: getaddrinfo ignores it, so a hanging
    resolver could stall the app's start for tens of seconds. The request runs in a daemon
    thread; if it is abandoned, the thread closes whatever it eventually opens.
    """
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    lock = threading.Lock()
    finished = threading.Event()
    results: list[http.client.HTTPResponse | Exception] = []
    abandoned = False

    def worker() -> None:
        try:
            result = urllib.request.urlopen(request, timeout=timeout)
        except Exception as e:  # handed to the caller's thread below
            result = e
        with lock:
            if abandoned:
                _close(result)
                return
            results.append(result)
        finished.set()

    threading.Thread(target=worker, name=f"initlab-open {url}", daemon=True).start()
    finished.wait(timeout)
    with lock:
        if not results:
            abandoned = True
            raise _AttemptFailed(f"timed out after {timeout:g} s")
    result = results[0]
    if not isinstance(result, Exception):
        return result
    _close(result)  # an HTTPError holds the connection open
    raise _AttemptFailed(_open_error(result, timeout)) from result


def _close(result: object) -> None:
    """Close a response (or an HTTPError, which is also one) nobody will read."""
    close = getattr(result, "close", None)
    if close is not None:
        close()


def _open_error(e: BaseException, timeout: float) -> str:
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}"
    reason = e.reason if isinstance(e, urllib.error.URLError) else e
    if isinstance(reason, TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(reason, OSError) and reason.strerror:
        return f"cannot connect ({reason.strerror})"
    if isinstance(reason, (OSError, http.client.HTTPException, str)):
        return f"cannot connect ({reason})"
    raise e  # not a network failure: a bug, so let it surface


def _read_error(e: BaseException, timeout: float, done: int, size: int) -> str:
    if isinstance(e, TimeoutError):
        return f"timed out after {timeout:g} s with {_received(done, size)}"
    if isinstance(e, http.client.IncompleteRead):
        return f"connection closed with {_received(done, size)}"
    return f"connection error with {_received(done, size)} ({e})"


def _received(done: int, size: int) -> str:
    return f"{done:,} of {size:,} bytes received"


def _dataset(
    arrays: Sequence[np.ndarray], paths: Sequence[Path], kind: DatasetKind, source_prefix: str
) -> Dataset:
    """The four IDX arrays (train images, train labels, test images, test labels) as a Dataset;
    `paths` name them in errors."""
    x_train, y_train = _checked_split(arrays[0], arrays[1], paths[0], paths[1])
    x_test, y_test = _checked_split(arrays[2], arrays[3], paths[2], paths[3])
    source = f"{source_prefix}: {len(y_train):,} training + {len(y_test):,} test digits"
    if kind == "full":
        source += " (cache folder)"
    return Dataset(x_train, y_train, x_test, y_test, source=source, kind=kind)


def _checked_split(
    x: np.ndarray, y: np.ndarray, images_path: Path, labels_path: Path
) -> tuple[np.ndarray, np.ndarray]:
    """Images `(n, 28, 28)` and labels `(n,)` that belong together, or MnistError."""
    if x.ndim != 3:
        raise MnistError(
            f"{images_path} should hold 28x28 images (IDX magic 2051), got shape {x.shape}"
        )
    if y.ndim != 1:
        raise MnistError(f"{labels_path} should hold labels (IDX magic 2049), got shape {y.shape}")
    if len(x) != len(y):
        raise MnistError(f"{labels_path} has {len(y)} labels but {images_path} has {len(x)} images")
    if len(y) == 0:
        raise MnistError(f"{images_path} holds no images")
    if y.max() > 9:
        raise MnistError(f"{labels_path} should hold labels 0..9, found {y.max()}")
    return x, y
