"""The real page for the browser tests and the page benchmark: `streamlit run
streamlit_app.py` on a free local port, offline, and the headless Chromium that drives it."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("INITLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_SECONDS = 60


class ServerDidNotStart(RuntimeError):
    """`streamlit run` exited or did not answer in time; the message holds its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.read().strip() == b"ok"
    except OSError:
        return False


def peak_memory_kib(pid: int) -> int | None:
    """VmHWM (peak resident set) of a Linux process, in KiB; None where /proc has no such line."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) if match else None


@contextlib.contextmanager
def streamlit_server(
    cache_dir: Path, log: Path, script: str = "streamlit_app.py"
) -> Iterator[tuple[str, int]]:
    """`streamlit run script` (the page, or another script of this repository) on a free port,
    offline, with an MNIST cache of its own (empty: the bundled sample is used) and its output
    in `log`: its base URL and pid."""
    port = free_port()
    env = {**os.environ, "INITLAB_OFFLINE": "1", "INITLAB_CACHE_DIR": str(cache_dir)}
    env.pop("INITLAB_MNIST_DIR", None)
    cmd = [sys.executable, "-m", "streamlit", "run", script]
    cmd += ["--server.headless", "true", "--server.address", "127.0.0.1"]
    cmd += ["--server.port", str(port), "--browser.gatherUsageStats", "false"]
    cmd += ["--server.fileWatcherType", "none"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise ServerDidNotStart(f"streamlit did not start; its log:\n{log.read_text()}")
            time.sleep(0.1)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_for_idle(page: Any, timeout_ms: int = 60_000) -> None:
    """Wait until the page's script has stopped running (the run a new width starts right
    after a load included): a key pressed meanwhile may land on a widget about to be redrawn."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        timeout=timeout_ms
    )


def results_table(page: Any) -> Any:
    """A finished race's results table: the page's second data frame (the layer statistics
    are the first)."""
    return page.get_by_test_id("stDataFrame").nth(1)


def train_and_wait(page: Any, timeout_ms: int = 300_000) -> float:
    """Press Train and wait for the results table; return seconds."""
    start = time.perf_counter()
    page.get_by_role("button", name="Train").click()
    results_table(page).wait_for(timeout=timeout_ms)
    return time.perf_counter() - start


def run_caption(page: Any) -> str:
    """The caption below a finished race's table: how many networks trained, in how long."""
    return page.get_by_text(re.compile(r"networks trained together")).first.inner_text()


def trained_seconds(caption: str) -> float | None:
    """The race's training time as `run_caption` gives it (core's shared wall time)."""
    found = re.search(r"in ([\d.]+) s", caption)
    return float(found.group(1)) if found else None
