"""Benchmark: the real page in a headless Chromium, timed the way a visitor waits for it.

Starts `streamlit run streamlit_app.py` (offline, with an empty MNIST cache, so the bundled
sample is used) and drives Debian's /usr/bin/chromium through Playwright, as
`tests/test_browser.py` does. Each round starts a fresh server and measures:

- cold load: the first visit to a fresh server, from navigation to the first drawn chart
  (the script's imports and the first histograms included);
- warm load: a new visit to the same server, to the first drawn chart;
- slider: "Hidden layers" in the sidebar moved one step (a new, uncached configuration), from
  the key press to the histograms showing the new layer;
- race: the default race (3 initializers, 2,000 iterations), from the click on Train to the
  results table;
- the server's peak memory (VmHWM) at the end of the round.

Medians over the rounds (and over every warm load and slider move) are printed.

    python benchmarks/page_speed.py [--rounds 3] [--warm 2] [--moves 3]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
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
VIEWPORT = {"width": 1400, "height": 900}
SERVER_START_SECONDS = 60
CHART_MS = 60_000  # Playwright timeouts are in ms
RACE_MS = 300_000
DEFAULT_LAYERS = 5  # the sidebar's "Hidden layers" when the page opens


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.read().strip() == b"ok"
    except OSError:
        return False


def peak_memory_mib(pid: int) -> float:
    """VmHWM (peak resident set) of a Linux process, in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no VmHWM for process {pid}")
    return int(match.group(1)) / 1024


@contextmanager
def streamlit_server(cache_dir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`streamlit run streamlit_app.py` on a free port, offline; yields its URL and process."""
    port = _free_port()
    env = {**os.environ, "INITLAB_OFFLINE": "1", "INITLAB_CACHE_DIR": str(cache_dir)}
    env.pop("INITLAB_MNIST_DIR", None)
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "streamlit_app.py",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    log = cache_dir / "streamlit.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start; its log:\n{log.read_text()}")
            time.sleep(0.1)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def charts(page: Any) -> Any:
    return page.get_by_test_id("stVegaLiteChart")


def open_page(page: Any, url: str) -> float:
    """Seconds from navigating to `url` to the first drawn chart."""
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    charts(page).first.locator("svg.marks, canvas").first.wait_for(timeout=CHART_MS)
    return time.perf_counter() - start


def move_layers_slider(page: Any, layers: int) -> float:
    """Seconds from pressing → on "Hidden layers" (now at `layers`) to a chart of layer
    `layers` + 1."""
    slider = page.get_by_test_id("stSidebar").get_by_role("slider").first
    slider.focus()
    histograms = charts(page).first
    start = time.perf_counter()
    slider.press("ArrowRight")
    histograms.get_by_text(f"Layer {layers + 1}", exact=True).wait_for(timeout=CHART_MS)
    return time.perf_counter() - start


def race(page: Any) -> float:
    """Seconds from the click on Train to the results table (the second data frame)."""
    start = time.perf_counter()
    page.get_by_role("button", name="Train").click()
    page.get_by_test_id("stDataFrame").nth(1).wait_for(timeout=RACE_MS)
    return time.perf_counter() - start


def one_round(browser: Any, warm: int, moves: int) -> dict[str, list[float]]:
    """A fresh server: a cold load, `warm` warm loads, `moves` slider moves, one race."""
    seen: dict[str, list[float]] = {"cold": [], "warm": [], "slider": [], "race": []}
    with tempfile.TemporaryDirectory() as tmp, streamlit_server(Path(tmp)) as (url, server):
        for visit in range(1 + warm):
            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            seen["cold" if visit == 0 else "warm"].append(open_page(page, url))
            if visit == warm:
                for move in range(moves):
                    seen["slider"].append(move_layers_slider(page, DEFAULT_LAYERS + move))
            context.close()
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        open_page(page, url)
        seen["race"].append(race(page))
        context.close()
        seen["peak memory"] = [peak_memory_mib(server.pid)]
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="fresh servers")
    parser.add_argument("--warm", type=int, default=2, help="warm loads per server")
    parser.add_argument("--moves", type=int, default=3, help="slider moves per server")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright  # a dev requirement, not the app's

    if not Path(CHROMIUM).is_file():
        sys.exit(f"no Chromium at {CHROMIUM} (apt-get install -y chromium, or INITLAB_CHROMIUM)")
    seen: dict[str, list[float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(args.rounds):
                for name, values in one_round(browser, args.warm, args.moves).items():
                    seen.setdefault(name, []).extend(values)
        finally:
            browser.close()
    rows = [
        ("first chart, cold load (fresh server)", "cold", "s"),
        ("first chart, warm load", "warm", "s"),
        ("slider move to updated histograms", "slider", "s"),
        ("default race, click to results table", "race", "s"),
        ("server peak memory (VmHWM)", "peak memory", "MiB"),
    ]
    print(f"Init Lab page, median of {args.rounds} fresh servers (all values in brackets)")
    for label, name, unit in rows:
        values = seen[name]
        spread = " ".join(f"{v:.2f}" if unit == "s" else f"{v:.0f}" for v in values)
        median = statistics.median(values)
        shown = f"{median:.2f} {unit}" if unit == "s" else f"{median:.0f} {unit}"
        print(f"  {label:40}{shown:>12}   [{spread}]")


if __name__ == "__main__":
    main()
