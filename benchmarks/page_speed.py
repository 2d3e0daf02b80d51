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
  results table, and its training alone as the page's caption times it (the race in `core`,
  sharing the cores with the page's redraws and the browser drawing them);
- the server's peak memory (VmHWM) at the end of the round.

Beside them stand their peers, measured in the same rounds: the page's first chart alone on an
otherwise empty page (`benchmarks/chart_alone.py`: what Streamlit, the browser and that chart
cost on this machine), and the default race by `core.train_compare` alone in a fresh Python
process (its workers started ahead, as the page starts them). The gap between the two columns
is what the page itself costs.

Medians over the rounds (and over every warm load and slider move) are printed.

    python benchmarks/page_speed.py [--rounds 3] [--warm 2] [--moves 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live_server import (  # noqa: E402 (the project's root is on the path first)
    CHROMIUM,
    CHROMIUM_ARGS,
    peak_memory_kib,
    run_caption,
    streamlit_server,
    train_and_wait,
    trained_seconds,
    wait_for_idle,
)

VIEWPORT = {"width": 1400, "height": 900}
CHART_MS = 60_000  # Playwright timeouts are in ms
RACE_MS = 300_000
DEFAULT_LAYERS = 5  # the sidebar's "Hidden layers" when the page opens
PEER_SCRIPT = "benchmarks/chart_alone.py"


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
    wait_for_idle(page, CHART_MS)  # the run started by the last move, or by the page's width
    slider = page.get_by_test_id("stSidebar").get_by_role("slider").first
    slider.focus()
    histograms = charts(page).first
    start = time.perf_counter()
    slider.press("ArrowRight")
    histograms.get_by_text(f"Layer {layers + 1}", exact=True).wait_for(timeout=CHART_MS)
    return time.perf_counter() - start


def race(page: Any) -> tuple[float, float]:
    """Seconds from the click on Train to the results table (the second data frame), and the
    race's training as the caption below the table gives it."""
    seconds = train_and_wait(page, RACE_MS)
    trained = trained_seconds(run_caption(page))
    return seconds, float("nan") if trained is None else trained


# The default race as the page runs it, in a process of its own: the workers start ahead and
# have a second to get ready, as they have while a visitor reads the page before pressing Train.
CORE_RACE = """
import time, core
from ui.config import DEFAULT_TRAIN
from ui.training import progress_every
core.start_race_workers()
data = core.load_sample()
time.sleep(1)
start = time.perf_counter()
core.train_compare(**DEFAULT_TRAIN.train_compare_kwargs(), data=data,
                   progress_every=progress_every(DEFAULT_TRAIN))
print(time.perf_counter() - start)
"""


def core_race() -> float:
    """Seconds the default race takes in `core.train_compare` alone (the page's peer)."""
    done = subprocess.run(
        [sys.executable, "-c", CORE_RACE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return float(done.stdout.split()[-1])


def chart_alone(browser: Any) -> dict[str, list[float]]:
    """A fresh server of the first chart alone: a cold load and a warm one (the page's peer)."""
    seen: dict[str, list[float]] = {"cold": [], "warm": []}
    with (
        tempfile.TemporaryDirectory() as tmp,
        streamlit_server(Path(tmp), Path(tmp) / "streamlit.log", PEER_SCRIPT) as (url, _pid),
    ):
        for name in seen:
            context = browser.new_context(viewport=VIEWPORT)
            seen[name].append(open_page(context.new_page(), url))
            context.close()
    return seen


def one_round(browser: Any, warm: int, moves: int) -> dict[str, list[float]]:
    """A fresh server: a cold load, `warm` warm loads, `moves` slider moves, one race, and the
    server's peak memory."""
    seen: dict[str, list[float]] = {k: [] for k in ("cold", "warm", "slider", "race", "training")}
    with (
        tempfile.TemporaryDirectory() as tmp,
        streamlit_server(Path(tmp), Path(tmp) / "streamlit.log") as (url, pid),
    ):
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
        seconds, trained = race(page)
        seen["race"].append(seconds)
        seen["training"].append(trained)
        context.close()
        seen["peak memory"] = [(peak_memory_kib(pid) or 0) / 1024]
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
    peer: dict[str, list[float]] = {"race": []}
    peer["training"] = peer["race"]  # both beside the race in core alone
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(args.rounds):  # the page and its peers take turns
                for name, values in one_round(browser, args.warm, args.moves).items():
                    seen.setdefault(name, []).extend(values)
                for name, values in chart_alone(browser).items():
                    peer.setdefault(name, []).extend(values)
                peer["race"].append(core_race())
        finally:
            browser.close()
    rows = [
        ("first chart, cold load (fresh server)", "cold", "s"),
        ("first chart, warm load", "warm", "s"),
        ("slider move to updated histograms", "slider", "s"),
        ("default race, click to results table", "race", "s"),
        ("  of it, training (the page's caption)", "training", "s"),
        ("server peak memory (VmHWM)", "peak memory", "MiB"),
    ]
    print(f"Init Lab page, median of {args.rounds} fresh servers (all values in brackets)")
    print(f"  {'':40}{'page':>12}   {'peer':>10}   peer: the chart alone; the race in core alone")
    for label, name, unit in rows:
        values = seen[name]
        if not values:  # none asked for (--warm 0, --moves 0)
            continue
        print(f"  {label:40}{_median(values, unit):>12}   {_median(peer.get(name), unit):>10}   "
              f"[{_spread(values, unit)}] [{_spread(peer.get(name), unit)}]")  # fmt: skip


def _median(values: list[float] | None, unit: str) -> str:
    if not values:
        return "-"
    median = statistics.median(values)
    return f"{median:.2f} {unit}" if unit == "s" else f"{median:.0f} {unit}"


def _spread(values: list[float] | None, unit: str) -> str:
    return " ".join(f"{v:.2f}" if unit == "s" else f"{v:.0f}" for v in values or [])


if __name__ == "__main__":
    main()
