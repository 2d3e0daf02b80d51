"""MNIST loading: the user's folder, else the verified cache (downloaded if needed), else a sample.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, under CC BY-SA 3.0.
The mirrors are tried in torchvision's order; the sizes and SHA-256 digests are those of the
official gzip files, so a download that does not match them is never used.

Order of `load_mnist`:
    1. a folder named by `data_dir` or $INITLAB_MNIST_DIR (checked by IDX header and shape only,
       since a user's copy may be re-compressed or uncompressed; errors raise `MnistError`);
    2. the cache folder, downloading missing files unless offline;
    3. the bundled 5,000-digit sample, with `Dataset.note` saying why.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO

import numpy as np

from core.dataset import Dataset, DatasetKind
from core.idx import MnistError, read_idx

__all__ = [
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

SAMPLE_PATH = Path(__file__).with_name("data") / "mnist_sample.npz"

ENV_DATA_DIR = "INITLAB_MNIST_DIR"
ENV_CACHE_DIR = "INITLAB_CACHE_DIR"
ENV_OFFLINE = "INITLAB_OFFLINE"

_CHUNK_BYTES = 64 * 1024  # progress granularity: about 150 callbacks for the 9.9 MB file
_USER_AGENT = "initlab-mnist-loader"


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
    on_progress: ProgressFn | None = None,
) -> Dataset:
    """Return MNIST from the user's folder, the cache (downloading if allowed) or the sample.

    Only a folder the user named explicitly can raise (`MnistError`); every other failure
    (offline, mirrors down, cache not writable, corrupt cache) falls back to the bundled sample
    with the reason in `Dataset.note`. `timeout` bounds each connection attempt, DNS included,
    and each read. `on_progress` is called from the calling thread.
    """
    if len(files) != 4:
        raise ValueError(
            "files must map 4 names (train images, train labels, test images, test labels) "
            f"to (bytes, sha256), got {len(files)}: {list(files)}"
        )
    if timeout <= 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout}")

    if data_dir is not None:
        root = Path(data_dir).expanduser()
        return _load_folder(root, files, label=f"folder {root}")
    if env_dir := os.environ.get(ENV_DATA_DIR):
        root = Path(env_dir).expanduser()
        return _load_folder(root, files, label=f"${ENV_DATA_DIR} folder {root}")

    cache = resolve_cache_dir(cache_dir)
    offline = os.environ.get(ENV_OFFLINE) == "1"
    why_off = None
    if not download:
        why_off = "download=False"
    elif offline:
        why_off = f"{ENV_OFFLINE}=1"
    try:
        return _load_cache(cache, files, why_off, mirrors, timeout, on_progress)
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
        return Path(cache_dir).expanduser()
    if env := os.environ.get(ENV_CACHE_DIR):
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says a relative value must be ignored.
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "initlab" / "mnist"


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
    return _dataset_from_files(paths, kind="folder", source_prefix=f"MNIST from {label}")


def _load_cache(
    cache: Path,
    files: Mapping[str, tuple[int, str]],
    why_off: str | None,
    mirrors: Sequence[str],
    timeout: float,
    on_progress: ProgressFn | None,
) -> Dataset:
    problems = {name: _cache_problem(cache / name, *spec) for name, spec in files.items()}
    stale = [name for name, problem in problems.items() if problem]
    if stale:
        if why_off is not None:
            if all(problems[name] == "missing" for name in files):
                detail = f"MNIST is not in the cache folder {cache}"
            else:
                listed = "; ".join(f"{name} {problems[name]}" for name in stale)
                detail = f"the cache folder {cache} is incomplete ({listed})"
            raise _Unavailable(f"{detail} and downloads are off ({why_off})")
        missing = {name: files[name] for name in stale}
        _download_missing(cache, missing, mirrors, timeout, on_progress)
    try:
        return _dataset_from_files(
            [cache / name for name in files], kind="full", source_prefix="full MNIST"
        )
    except MnistError as e:  # only reachable if the checksum table itself names a bad file
        raise _Unavailable(f"cached MNIST is unreadable: {e}") from e


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
    on_progress: ProgressFn | None,
) -> None:
    """Fetch each file into `cache`, stopping at the first that no mirror can provide."""
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _Unavailable(f"cannot create the cache folder {cache}: {e.strerror or e}") from e
    for name, (size, sha256) in files.items():
        failures: list[str] = []
        for mirror in mirrors:
            url = f"{mirror.rstrip('/')}/{name}"
            report = _reporter(on_progress, name, size, mirror)
            try:
                _fetch(url, cache / name, size, sha256, timeout, report)
                break
            except _AttemptFailed as e:
                failures.append(f"{e} at {url}")
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
    url: str, dest: Path, size: int, sha256: str, timeout: float, report: Callable[[int], None]
) -> None:
    """Stream `url` to a unique `<name>.*.part`, verify size and SHA-256, then `os.replace`.

    The unique part name keeps two concurrent downloads (two browser tabs) from writing into
    one file; the rename is atomic, so a partial or unverified file is never under `dest`.
    """
    fd, part = tempfile.mkstemp(dir=dest.parent, prefix=f"{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _stream(url, out, size, timeout, report)
        if digest != sha256:
            raise _AttemptFailed(
                f"SHA-256 mismatch (got {digest[:16]}..., expected {sha256[:16]}...)"
            )
        os.replace(part, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)


def _stream(
    url: str, out: BinaryIO, size: int, timeout: float, report: Callable[[int], None]
) -> str:
    """Copy the response body to `out` chunk by chunk; return its SHA-256 hex digest."""
    digest = hashlib.sha256()
    done = 0
    with _open(url, timeout) as response:
        length = response.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) != size:
            raise _AttemptFailed(f"server offers {int(length):,} bytes, expected {size:,}")
        report(0)
        while True:
            try:
                chunk = response.read(_CHUNK_BYTES)
            except (OSError, http.client.HTTPException) as e:
                raise _AttemptFailed(_read_error(e, timeout, done, size)) from e
            if not chunk:
                break
            if done + len(chunk) > size:  # never let a wrong server fill the disk
                raise _AttemptFailed(f"server sent more than the expected {size:,} bytes")
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            report(done)
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


def _dataset_from_files(paths: list[Path], kind: DatasetKind, source_prefix: str) -> Dataset:
    """Read the four IDX files (train images, train labels, test images, test labels)."""
    x_train, y_train = _read_split(paths[0], paths[1])
    x_test, y_test = _read_split(paths[2], paths[3])
    source = f"{source_prefix}: {len(y_train):,} training + {len(y_test):,} test digits"
    if kind == "full":
        source += " (cache folder)"
    return Dataset(x_train, y_train, x_test, y_test, source=source, kind=kind)


def _read_split(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    x = read_idx(images_path)  # (n, 28, 28)
    y = read_idx(labels_path)  # (n,)
    if x.ndim != 3 or x.shape[1:] != (28, 28):
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
