"""Tiny MNIST-shaped IDX files and a real HTTP server on 127.0.0.1 that can misbehave on demand.

The downloader is tested against real sockets (not a mocked urlopen) so that timeouts,
truncated bodies and 404s take the same code paths as on the internet.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

# Behaviours of one mirror (or of one file on one mirror).
OK = "ok"
NOT_FOUND = "404"
WRONG_BYTES = "wrong"  # right length, one byte flipped: only the SHA-256 can tell
TRUNCATE = "truncate"  # full Content-Length, half the body, then close
HANG = "hang"  # say nothing until released: the client must time out before the headers
STALL = "stall"  # headers and half the body, then silence: the client must time out mid-body
TRICKLE = "trickle"  # one byte every TRICKLE_GAP s, each read well within any per-read timeout
TRICKLE_GAP = 0.05
TRICKLE_FOR = 5.0  # s; then the connection closes, so a client without a deadline ends anyway

FILE_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def idx_bytes(a: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX: magic 2051 for (n, rows, cols), 2049 for (n,)."""
    magic = {3: 2051, 1: 2049}[a.ndim]
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in a.shape)
    return header + a.astype(np.uint8).tobytes()


def fake_mnist(rng: np.random.Generator, n_train: int = 100, n_test: int = 20) -> dict[str, bytes]:
    """The four gzip IDX files with noise images; 100 noise images gzip to about 78 KB,
    more than one 64 KiB download chunk, so progress is reported more than once."""
    arrays = (
        rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, size=n_train, dtype=np.uint8),
        rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, size=n_test, dtype=np.uint8),
    )
    # mtime=0 keeps the bytes reproducible.
    return {
        name: gzip.compress(idx_bytes(a), mtime=0)
        for name, a in zip(FILE_NAMES, arrays, strict=True)
    }


def checksums(files: Mapping[str, bytes]) -> dict[str, tuple[int, str]]:
    """The `files=` table load_mnist expects: name -> (bytes, SHA-256)."""
    return {name: (len(data), hashlib.sha256(data).hexdigest()) for name, data in files.items()}


@dataclass
class MirrorServer:
    """Serves `files` under /<mirror>/<name>; `modes` picks each mirror's behaviour.

    A key "m1" sets mirror m1's behaviour; "m1/<name>" overrides it for one file.
    """

    files: dict[str, bytes]
    modes: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    base: str = ""

    def url(self, mirror: str) -> str:
        return f"{self.base}/{mirror}/"

    def mode(self, mirror: str, name: str) -> str:
        return self.modes.get(f"{mirror}/{name}", self.modes.get(mirror, OK))


def _handler(state: MirrorServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            _, mirror, name = self.path.split("/", 2)
            body = state.files.get(name)
            mode = state.mode(mirror, name)
            if body is None or mode == NOT_FOUND:
                self.send_error(404)
                return
            if mode == HANG:
                state.release.wait(10)
                return
            if mode == WRONG_BYTES:
                middle = len(body) // 2
                body = body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1 :]
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if mode == TRICKLE:
                end = time.monotonic() + TRICKLE_FOR
                for i in range(len(body)):
                    if state.release.is_set() or time.monotonic() > end:
                        return
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(TRICKLE_GAP)
                return
            if mode in (TRUNCATE, STALL):
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                if mode == STALL:
                    state.release.wait(10)
                return  # HTTP/1.0: returning closes the connection
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep pytest's output clean

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that timed out and left makes the handler's writes fail: expected


@contextlib.contextmanager
def serve(files: Mapping[str, bytes]) -> Iterator[MirrorServer]:
    """Run a MirrorServer on 127.0.0.1 on a free port for the duration of the block."""
    state = MirrorServer(files=dict(files))
    server = _QuietServer(("127.0.0.1", 0), _handler(state))
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll interval makes shutdown() return in milliseconds instead of 0.5 s.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()  # free any handler still hanging
        server.shutdown()
        server.server_close()
        thread.join()
