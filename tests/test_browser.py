"""The app in a real headless Chromium: what AppTest cannot see (rendering, the URL, live runs).

A fixture starts `streamlit run` on a free local port (offline, empty MNIST cache, so the
bundled sample is used) and drives Debian's /usr/bin/chromium through Playwright's sync API.
Never `playwright install`: the system browser is used. Without Playwright or a browser the
tests skip with the reason. At the end the terminal shows three measurements: time to the
first chart, the default training run's time, and the server's peak memory (VmHWM).

Screenshots go to each test's tmp dir. With INITLAB_UPDATE_SCREENSHOT=1, `docs/screenshot.png`
(the README's picture) is rewritten too: the page after the default 2,000-iteration race.
"""

from __future__ import annotations

import contextlib
import gettext
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import core
from tests import live_server

pytestmark = pytest.mark.browser

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright (the Python package) is not installed"
)

ROOT = live_server.ROOT
CHART_SECONDS = 60_000  # Playwright timeouts are in ms
TRAIN_SECONDS = 300_000
# The README's picture is rewritten only on request, so that a test run leaves the tree clean.
SCREENSHOTS = (ROOT / "docs",) if os.environ.get("INITLAB_UPDATE_SCREENSHOT") == "1" else ()
VIEWPORT = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
# How far the tables' columns reach past their visible width (a table scrolls sideways there).
TABLES_OVERFLOW = """() => Math.max(
  ...[...document.querySelectorAll('[data-testid="stDataFrame"] .dvn-scroller')]
     .map(grid => grid.scrollWidth - grid.clientWidth))"""
# stMain scrolls, not the document: what is wider than the window widens stMain's scroll area.
MAIN_OVERFLOW = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  return Math.max(main.scrollWidth, document.documentElement.scrollWidth) - main.clientWidth;
}"""

if not Path(live_server.CHROMIUM).is_file():
    pytest.skip(
        f"no Chromium at {live_server.CHROMIUM} "
        "(apt-get install -y chromium, or set INITLAB_CHROMIUM)",
        allow_module_level=True,
    )

MEASUREMENTS: dict[str, str] = {}


@contextlib.contextmanager
def _streamlit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A server of the test's own (`live_server.streamlit_server`): its base URL and pid."""
    cache = tmp_path_factory.mktemp("mnist-cache")
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    try:
        with live_server.streamlit_server(cache, log) as (url, pid):
            yield url, pid
    except live_server.ServerDidNotStart as e:
        pytest.fail(str(e))


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[str]:
    """One server for the module's tests; its peak memory is reported at the end."""
    with _streamlit(tmp_path_factory) as (url, pid):
        try:
            yield url
        finally:
            peak = live_server.peak_memory_kib(pid)
            if peak is not None:
                MEASUREMENTS["peak memory of the streamlit process (VmHWM)"] = (
                    f"{peak / 1024:.0f} MiB"
                )
            _report(request.config, MEASUREMENTS)


def _report(config: pytest.Config, measurements: dict[str, str]) -> None:
    """Print the measurements past pytest's output capture, so that a plain run shows them."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not measurements:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for name, value in measurements.items():
            reporter.write_line(f"[browser measurement] {name}: {value}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=live_server.CHROMIUM, args=live_server.CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()


def open_app(page: Any, url: str) -> float:
    """Load `url` and wait for the first chart to draw; return the seconds it took. Then wait
    for the run that the page's measured width starts to end, so that it cannot stop a race."""
    start = time.perf_counter()
    page.goto(url, wait_until="networkidle")
    first_chart(page).wait_for(timeout=CHART_SECONDS)
    seconds = time.perf_counter() - start
    live_server.wait_for_idle(page, CHART_SECONDS)
    return seconds


def wait_until_it_fits(page: Any) -> None:
    """Wait for nothing to stick out of the window sideways; else fail with the overflow."""
    try:
        page.wait_for_function(f"() => ({MAIN_OVERFLOW})() <= 0", timeout=CHART_SECONDS)
    except sync_api.TimeoutError:
        overflow = page.evaluate(MAIN_OVERFLOW)
        width = page.viewport_size["width"]
        pytest.fail(f"the page is {overflow} px wider than the {width}-px window")


def first_chart(page: Any) -> Any:
    return page.get_by_test_id("stVegaLiteChart").first.locator("svg.marks, canvas").first


def assert_no_error_box(page: Any) -> None:
    assert page.get_by_test_id("stException").count() == 0
    errors = page.get_by_test_id("stAlertContentError")
    assert errors.count() == 0, errors.all_inner_texts()


def select(page: Any, label: str, option: str) -> None:
    page.get_by_role("combobox", name=label).first.click()
    page.get_by_role("option", name=option, exact=True).click()


def save_full_page(page: Any, *paths: Path) -> None:
    """Screenshot the whole app: its main area scrolls inside the window, so grow the window."""
    height = page.evaluate(
        "document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight"
    )
    page.set_viewport_size({"width": VIEWPORT["width"], "height": int(height)})
    page.mouse.move(VIEWPORT["width"] - 5, 5)  # no hover: charts show a toolbar under the pointer
    page.wait_for_timeout(1000)  # let Vega re-lay out at the new size
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path))


def test_browser_page_loads_with_five_histograms(server: str, page: Any) -> None:
    seconds = open_app(page, server)
    MEASUREMENTS["time to first chart (first page load)"] = f"{seconds:.1f} s"
    chart = page.get_by_test_id("stVegaLiteChart").first
    for layer in range(1, 6):
        assert chart.get_by_text(f"Layer {layer}", exact=True).count() == 1
    assert chart.get_by_text("Layer 6", exact=True).count() == 0
    notes = page.get_by_test_id("stAlertContentInfo").all_inner_texts()
    assert any("Verdict" in note and "saturated" in note for note in notes), notes
    assert_no_error_box(page)


def test_browser_control_change_redraws_and_updates_url(server: str, page: Any) -> None:
    seconds = open_app(page, server)
    MEASUREMENTS["time to first chart (warm server)"] = f"{seconds:.1f} s"
    select(page, "Activation", "ReLU")
    chart = page.get_by_test_id("stVegaLiteChart").first
    chart.get_by_text("ReLU output", exact=True).first.wait_for(timeout=CHART_SECONDS)
    page.wait_for_url(re.compile(r"fwd\.activation=relu"), timeout=CHART_SECONDS)
    assert_no_error_box(page)


@pytest.mark.parametrize(
    "query",
    [
        "fwd.activation=relu&fwd.init=he_normal&fwd.layers=10",
        "activation=relu&init=he_normal&layers=10",
    ],
    ids=["link", "old link"],
)
def test_browser_url_opens_that_view(server: str, page: Any, query: str) -> None:
    open_app(page, f"{server}/?{query}")
    page.get_by_test_id("stVegaLiteChart").first.get_by_text("Layer 10", exact=True).wait_for(
        timeout=CHART_SECONDS
    )
    assert "steady" in page.get_by_test_id("stAlertContentInfo").first.inner_text()
    assert_no_error_box(page)


def loss_legend(page: Any) -> list[str]:
    """The loss chart's SVG texts (axis labels and the legend's initializer labels)."""
    loss = page.get_by_test_id("stVegaLiteChart").nth(1)
    loss.locator("svg.marks").first.wait_for(timeout=CHART_SECONDS)
    return loss.locator("svg text").all_text_contents()


def test_browser_short_training_run_draws_curves(server: str, page: Any, tmp_path: Path) -> None:
    open_app(page, f"{server}/?race.iterations=200")
    live_server.train_and_wait(page, TRAIN_SECONDS)
    texts = loss_legend(page)
    for name in ("std_0.01", "lecun_normal", "he_normal"):
        assert core.INITIALIZERS[name].label in texts
    assert "The 3 networks trained together" in live_server.run_caption(page)
    inside = page.get_by_text("Inside the race: what every layer does")
    inside.wait_for(timeout=CHART_SECONDS)
    charts = page.get_by_test_id("stVegaLiteChart")
    sync_api.expect(charts).to_have_count(6, timeout=CHART_SECONDS)  # 3 before, 3 inside
    assert "update:data ratio (log)" in charts.nth(3).locator("svg text").all_text_contents()
    assert_no_error_box(page)
    save_full_page(page, *(d / "screenshot.png" for d in (*SCREENSHOTS, tmp_path)))
    assert (tmp_path / "screenshot.png").stat().st_size > 10_000


@pytest.mark.slow
def test_browser_default_training_run(server: str, page: Any, tmp_path: Path) -> None:
    """The default race (2,000 iterations, 3 initializers) on the bundled sample, timed."""
    open_app(page, server)
    seconds = live_server.train_and_wait(page, TRAIN_SECONDS)
    caption = live_server.run_caption(page)
    shared = live_server.trained_seconds(caption)
    assert shared is not None, caption
    MEASUREMENTS["default training run (click to results table)"] = f"{seconds:.1f} s"
    MEASUREMENTS["default training run (core's shared time, live redraws included)"] = f"{shared} s"
    assert "bundled sample" in caption
    assert_no_error_box(page)
    # The README's picture: the book's default race, replacing the short run's screenshot.
    save_full_page(page, *(d / "screenshot.png" for d in SCREENSHOTS), tmp_path / "race.png")


def test_browser_downloads_the_chart_as_png_and_svg(server: str, page: Any, tmp_path: Path) -> None:
    """The files are rendered on the server when clicked, and arrive as real PNG and SVG."""
    open_app(page, server)
    files = {}
    for kind in ("PNG", "SVG"):
        start = time.perf_counter()
        with page.expect_download(timeout=CHART_SECONDS) as download:
            page.get_by_role("button", name=kind, exact=True).first.click()
        MEASUREMENTS[f"histogram {kind} download (click to file)"] = (
            f"{time.perf_counter() - start:.1f} s"
        )
        assert download.value.suggested_filename == f"initlab-activations.{kind.lower()}"
        files[kind] = tmp_path / download.value.suggested_filename
        download.value.save_as(files[kind])
    assert files["PNG"].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert b"<svg" in files["SVG"].read_bytes()[:500]
    assert "Layer 5" in files["SVG"].read_text()
    assert_no_error_box(page)


def share_link(page: Any) -> Any:
    """The link at the end of the race that holds the page's settings."""
    return page.get_by_test_id("stMarkdown").locator("a[href*='?']").last


def test_browser_link_follows_a_race_control(server: str, page: Any) -> None:
    """A race control reruns only its fragment; the link at its end must still follow it."""
    open_app(page, f"{server}/?fwd.activation=tanh")
    link = share_link(page)
    assert link.inner_text() == "this link"
    href = link.get_attribute("href")
    assert href.startswith(server) and href.endswith("?fwd.activation=tanh")
    page.get_by_role("button", name="He Fig. 3 · 30 layers").click()  # sets the race's controls
    page.wait_for_url(re.compile(r"race\.layers=30"), timeout=CHART_SECONDS)
    sync_api.expect(link).to_have_attribute("href", re.compile(r"race\.layers=30"))
    assert "fwd.activation=tanh" in link.get_attribute("href")
    assert_no_error_box(page)


def test_browser_expanders_draw_their_content_when_opened(server: str, page: Any) -> None:
    """Closed, the code and the prose are not drawn (they would delay the first chart);
    opened, they come at once. Opened while a race trains, one fills once the race has
    finished (its rerun waits for it), and the race is not stopped."""
    open_app(page, f"{server}/?race.iterations=1000")
    assert page.get_by_test_id("stCode").count() == 0
    page.get_by_text("Same init in PyTorch / Keras").click()
    sync_api.expect(page.get_by_test_id("stCode")).to_have_count(2, timeout=CHART_SECONDS)
    assert "torch.nn.init" in page.get_by_test_id("stCode").first.inner_text()
    page.get_by_role("button", name="Train").click()
    page.get_by_text("Training: step", exact=False).wait_for(timeout=CHART_SECONDS)
    page.get_by_text("About: what this shows, and why").click()
    live_server.results_table(page).wait_for(timeout=TRAIN_SECONDS)
    page.get_by_text("What the experiment shows.", exact=False).wait_for(timeout=CHART_SECONDS)
    assert page.get_by_text("Stopped at step", exact=False).count() == 0
    assert_no_error_box(page)


def test_browser_hostile_url_keeps_the_page_and_says_what_it_changed(
    server: str, page: Any
) -> None:
    open_app(page, f"{server}/?fwd.seed=inf&tseed=-Infinity&fwd.layers=999&junk=%3Cb%3E")
    chart = page.get_by_test_id("stVegaLiteChart").first
    chart.get_by_text("Layer 30", exact=True).wait_for(timeout=CHART_SECONDS)
    warning = page.get_by_test_id("stAlertContentWarning").first.inner_text()
    assert "could not be used as they were" in warning and "cap" in warning
    page.wait_for_url(re.compile(r"fwd\.layers=30"), timeout=CHART_SECONDS)
    assert "junk" not in page.url and "tseed" not in page.url
    assert page.get_by_role("button", name="Train").is_enabled()
    assert_no_error_box(page)


CROWD = 8  # visitors pressing Train together
CROWD_INITIALIZERS = ("std_0.01", "lecun_normal", "lecun_uniform", "glorot_normal")
CROWD_INITIALIZERS += ("glorot_uniform", "he_normal", "he_uniform", "orthogonal")


@pytest.mark.slow
def test_browser_crowd_pressing_train_together_is_served_in_line(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """8 visitors, each racing an initializer of their own, press Train within a second: the
    queue serves every one of them (the later ones see their place in line), each page shows
    its own race, and the memory of a server of their own stays under 400 MiB."""
    with _streamlit(tmp_path_factory) as (server, pid):
        _crowd_races(browser, server)
        peak = live_server.peak_memory_kib(pid)
    MEASUREMENTS[f"peak memory of a server with {CROWD} visitors (VmHWM)"] = (
        f"{(peak or 0) / 1024:.0f} MiB"
    )
    assert peak is None or peak < 400 * 1024, f"server peak memory {peak / 1024:.0f} MiB"


def _crowd_races(browser: Any, server: str) -> None:
    contexts = [browser.new_context(viewport=VIEWPORT) for _ in range(CROWD)]
    try:
        pages = [c.new_page() for c in contexts]
        for page, name in zip(pages, CROWD_INITIALIZERS, strict=True):
            open_app(page, f"{server}/?race.initializers={name}&race.iterations=500")
        start = time.perf_counter()
        for page in pages:
            page.get_by_role("button", name="Train").click()
        pages[-1].get_by_text(re.compile(r"number \d+ in line")).wait_for(timeout=CHART_SECONDS)
        for page, name in zip(pages, CROWD_INITIALIZERS, strict=True):
            live_server.results_table(page).wait_for(timeout=TRAIN_SECONDS)
            assert core.INITIALIZERS[name].label in loss_legend(page), "its own race"
            assert_no_error_box(page)
        MEASUREMENTS[f"{CROWD} visitors pressing Train together (first click to last table)"] = (
            f"{time.perf_counter() - start:.1f} s"
        )
    finally:
        for c in contexts:
            c.close()


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_browser_page_in_chinese_and_japanese_runs_the_race(
    server: str, page: Any, tmp_path: Path, lang: str
) -> None:
    """The page opened with `lang=zh` or `lang=ja` speaks that language from its title to the
    race's views, keeps it in the link, and is saved as a screenshot."""
    from ui.i18n import DOMAIN, LOCALE_DIR

    say = gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang]).gettext
    open_app(page, f"{server}/?lang={lang}&race.iterations=300")
    assert page.get_by_text(say("Activations, layer by layer")).count() == 1
    page.get_by_role("button", name=say("Train")).click()
    live_server.results_table(page).wait_for(timeout=TRAIN_SECONDS)
    page.get_by_text(say("Inside the race: what every layer does")).wait_for(timeout=CHART_SECONDS)
    assert (
        say("Layer {n}").split("{n}")[0]
        in page.get_by_test_id("stVegaLiteChart").first.inner_text()
    )
    assert f"lang={lang}" in share_link(page).get_attribute("href")
    assert page.get_by_text("Training race on MNIST").count() == 0, "no English heading left"
    assert_no_error_box(page)
    save_full_page(page, *(d / f"screenshot-{lang}.png" for d in (*SCREENSHOTS, tmp_path)))
    page.set_viewport_size(VIEWPORT)  # at desktop width the page never scrolls sideways
    page.wait_for_timeout(500)
    overflow = page.evaluate(
        "document.querySelector('[data-testid=\"stMain\"]').scrollWidth"
        " - document.querySelector('[data-testid=\"stMain\"]').clientWidth"
    )
    assert overflow <= 1, f"{overflow} px wider than the {VIEWPORT['width']}-px window"


@pytest.mark.parametrize("lang", ["en", "zh", "ja"])
def test_browser_page_fits_a_phone_before_and_after_a_race(
    server: str, browser: Any, tmp_path: Path, lang: str
) -> None:
    """At 390 px the histograms, the race's charts and the views inside it wrap into the
    window: nothing scrolls sideways, in any language."""
    from ui.i18n import DOMAIN, LOCALE_DIR

    say = gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True).gettext
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        open_app(page, f"{server}/?lang={lang}&race.iterations=60")
        wait_until_it_fits(page)
        page.get_by_role("button", name=say("Train")).click()
        live_server.results_table(page).wait_for(timeout=TRAIN_SECONDS)
        page.get_by_text(say("Inside the race: what every layer does")).wait_for(
            timeout=CHART_SECONDS
        )
        charts = page.get_by_test_id("stVegaLiteChart")
        sync_api.expect(charts).to_have_count(6, timeout=CHART_SECONDS)  # 3 before, 3 inside
        for i in range(6):
            charts.nth(i).locator("svg.marks").wait_for(timeout=CHART_SECONDS)
        wait_until_it_fits(page)
        assert_no_error_box(page)
        page.screenshot(path=str(tmp_path / f"phone-{lang}.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["en", "zh", "ja"])
def test_browser_tables_show_every_column_on_a_laptop(
    server: str, browser: Any, lang: str
) -> None:
    """In a 1,280-px window, with the sidebar open, the per-layer table and a race's results
    (two seeds: a column more) show all their columns in every language: none hides behind a
    sideways scroll."""
    from ui.i18n import DOMAIN, LOCALE_DIR

    say = gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True).gettext
    context = browser.new_context(viewport=LAPTOP)

    def assert_tables_fit(count: int) -> None:
        sync_api.expect(page.get_by_test_id("stDataFrame")).to_have_count(count)
        try:
            page.wait_for_function(f"() => ({TABLES_OVERFLOW})() <= 1", timeout=CHART_SECONDS)
        except sync_api.TimeoutError:
            overflow = page.evaluate(TABLES_OVERFLOW)
            pytest.fail(f"a table's columns reach {overflow} px past its width")

    try:
        page = context.new_page()
        open_app(page, f"{server}/?lang={lang}&race.iterations=60&race.seeds=2")
        assert_tables_fit(1)
        page.get_by_role("button", name=say("Train")).click()
        live_server.results_table(page).wait_for(timeout=TRAIN_SECONDS)
        assert_tables_fit(2)
    finally:
        context.close()


def test_browser_turning_a_phone_mid_race_keeps_the_race(server: str, browser: Any) -> None:
    """A new width while a race trains (a phone turned, a window resized) waits for the race,
    then redraws the page at that width: the race ends with its table, never "stopped"."""
    context = browser.new_context(viewport={"width": PHONE["height"], "height": PHONE["width"]})
    try:
        page = context.new_page()
        open_app(page, server)  # the default race: 2,000 steps, seconds long
        page.get_by_role("button", name="Train").click()
        progress = page.get_by_text(re.compile(r"Training: step [1-9]"))
        progress.first.wait_for(timeout=TRAIN_SECONDS)
        page.set_viewport_size(PHONE)
        assert progress.count() == 1, "turned while the race trained"
        live_server.results_table(page).wait_for(timeout=TRAIN_SECONDS)
        assert page.get_by_text("the page reran while training").count() == 0
        wait_until_it_fits(page)  # the charts follow the phone's width
        assert_no_error_box(page)
    finally:
        context.close()


def test_browser_every_view_fits_a_phone(server: str, browser: Any) -> None:
    """The other views of the activations (gradients, std against depth, the σ × depth map) at
    390 px, in Japanese, the language with the longest titles."""
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        for view in ("backward", "depth", "sweep"):
            open_app(page, f"{server}/?lang=ja&fwd.view={view}")
            wait_until_it_fits(page)
            assert_no_error_box(page)
    finally:
        context.close()
