"""The dashboard in a real headless browser: Debian's chromium driven by Playwright (no browser
download: it is launched from /usr/bin/chromium). Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.helpers import ROOT

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(os.environ.get("TWINWORLD_SCREENSHOTS", ROOT / "artifacts" / "screenshots"))
playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")]

# Facility points drawn per kind, read from the figure and the SVG it rendered.
COUNT_POINTS = """(selector) => {
  const host = document.querySelector(selector);
  const gd = host.classList.contains('js-plotly-plot') ? host : host.querySelector('.js-plotly-plot');
  const groups = gd.querySelectorAll('.scatterlayer .trace');
  const out = {};
  gd._fullData.forEach((t, i) => {
    if (t.meta && t.meta.facility) out[t.meta.facility] = groups[i].querySelectorAll('path.point').length;
  });
  return out;
}"""
POINT_POSITION = """(selector) => {
  const gd = document.querySelector(selector).querySelector('.js-plotly-plot') || document.querySelector(selector);
  const t = gd._fullData[0], fl = gd._fullLayout, box = gd.getBoundingClientRect();
  return {x: box.left + fl._size.l + fl.xaxis.l2p(t.x[0]), y: box.top + fl._size.t + fl.yaxis.l2p(t.y[0]),
          run: t.customdata[0], names: gd._fullData.map(d => d.name)};
}"""

# every KPI the hospital region declares (the replay reproduces each of them)
HOSPITAL_KPIS = [k.name for k in __import__("twinworld.systems.hospital", fromlist=["plugin"]).plugin.kpis]


# ------------------------------------------------------------------------------ fixtures --
@pytest.fixture(scope="module")
def surge_sweep(tmp_path_factory) -> Path:
    """A real (small) sweep of the flu-wave scenario: 6 sampled scenarios x 5 strategies."""
    import twinworld

    folder = tmp_path_factory.mktemp("surge") / "sweep"
    twinworld.sweep(ROOT / "scenarios" / "hospital_surge.yaml", folder,
                    twinworld.SweepOptions(scenarios=6, progress=False),
                    executor=twinworld.ExecutorOptions(kind="inprocess"))
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


class Board:
    """A dashboard served from a thread of the test process, and one browser page on it."""

    def __init__(self, browser: Any, **options: Any) -> None:
        from twinworld.dashboard import DashboardOptions, start_dashboard

        self.dashboard = start_dashboard(DashboardOptions(**options))
        self.dashboard.serve_in_thread()
        self.page = browser.new_page(viewport={"width": 1440, "height": 1000})
        self.problems: list[str] = []
        self.hosts: set[str] = set()
        self.scripts: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("request", self._request)

    def _request(self, request: Any) -> None:
        self.hosts.add(urlparse(request.url).netloc)
        if request.resource_type == "script":
            self.scripts.append(urlparse(request.url).path)

    def open(self, tab: str | None = None) -> Any:
        self.page.goto(self.dashboard.url)
        self.page.wait_for_selector(".topbar")
        if tab:
            self.page.get_by_text(tab, exact=True).first.click()
        return self.page

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.page.close()
        self.dashboard.close()

    def assert_clean(self) -> None:
        assert self.problems == []
        # Everything the page loaded came from the dashboard itself: no CDN, no tiles, no fonts.
        assert self.hosts == {f"127.0.0.1:{self.dashboard.port}"}
        # Graphs draw with the cartesian bundle in assets/, never the full 4.8 MB plotly.min.js.
        assert any(path.endswith("plotly-cartesian.min.js") for path in self.scripts), self.scripts
        assert not any(path.endswith("plotly.min.js") and "cartesian" not in path for path in self.scripts), \
            self.scripts


@pytest.fixture()
def board(browser) -> Iterator[Any]:
    opened: list[Board] = []

    def start(**options: Any) -> Board:
        opened.append(Board(browser, **options))
        return opened[-1]
    yield start
    for b in opened:
        b.close()


def wait_text(page: Any, selector: str, text: str, timeout_ms: float = 30_000) -> None:
    page.wait_for_function("([s, t]) => { const e = document.querySelector(s); return e && e.innerText.includes(t); }",
                           arg=[selector, text], timeout=timeout_ms)


# ------------------------------------------------------------------------------ tests --
def test_every_view_loads_without_console_errors(board, surge_sweep) -> None:
    b = board(sweeps=(surge_sweep,), scenario=ROOT / "scenarios" / "storm_cascade.yaml")
    page = b.open()
    wait_text(page, "#map-summary", "hospitals")
    b.shot("region-map")
    page.get_by_text("Run replay", exact=True).click()
    wait_text(page, "#replay-title", "Scenario run: baseline, seed 5")
    page.wait_for_selector("#replay-map .main-svg")
    b.shot("run-replay")
    page.get_by_text("Sweep explorer", exact=True).click()
    wait_text(page, "#explorer-recommendation", "Recommend")
    wait_text(page, "#explorer-discovery", "fails")
    b.shot("sweep-explorer")
    page.get_by_text("Live", exact=True).click()
    wait_text(page, "#live-message", "No twin broker given")
    b.shot("live-without-twin")
    b.assert_clean()


def test_map_shows_the_scenarios_facilities(board) -> None:
    b = board(scenario=ROOT / "scenarios" / "storm_cascade.yaml")
    page = b.open()
    wait_text(page, "#map-summary", "grid buses")
    page.wait_for_selector("[id*='region-graph'] .scatterlayer .point")
    drawn = page.evaluate(COUNT_POINTS, "[id*='region-graph']")
    assert drawn == {"hospital": 5, "bus": 118}
    assert page.inner_text("#count-hospital") == "5" and page.inner_text("#count-bus") == "118"
    assert page.inner_text("#count-grid-lines") == "186"
    b.assert_clean()


def test_road_map_of_helsinki(board) -> None:
    b = board(scenario=ROOT / "scenarios" / "helsinki_evacuation.yaml")
    page = b.open()
    wait_text(page, "#map-summary", "road links")
    page.wait_for_selector("[id*='region-graph'] .scatterlayer .point")
    assert page.evaluate(COUNT_POINTS, "[id*='region-graph']") == {"shelter": 4, "exit": 3, "place": 4}
    assert page.inner_text("#count-road-links") == "328"
    b.shot("region-map-helsinki")
    # The replay of an evacuation: the road links change colour as the flood comes in.
    page.get_by_text("Run replay", exact=True).click()
    page.wait_for_selector("#replay-map .main-svg")
    wait_text(page, "#replay-clock", "t = 0.00 hours of 10")
    page.locator("#replay-slider [role=slider]").first.focus()
    page.keyboard.press("End")
    wait_text(page, "#replay-clock", "t = 10.00 hours of 10")
    page.wait_for_function("() => document.querySelector('#replay-map .js-plotly-plot')._fullData"
                           ".some(t => t.name === 'road closed')")
    b.shot("run-replay-helsinki")
    b.assert_clean()


def test_choosing_a_strategy_filters_the_explorer(board, surge_sweep) -> None:
    b = board(sweeps=(surge_sweep,))
    page = b.open("Sweep explorer")
    wait_text(page, "#explorer-run-count", "30")
    page.click("#explorer-strategy")
    page.get_by_role("option", name="transfer").click()
    wait_text(page, "#explorer-counts", "runs of transfer")
    assert page.inner_text("#explorer-run-count") == "6"
    position = page.evaluate(POINT_POSITION, "#explorer-scatter")
    assert position["names"] == ["transfer"]
    rows = page.locator("#worst-runs tbody tr")
    assert rows.count() == 6
    assert all(t.endswith("transfer") for t in page.locator("#worst-runs tbody tr td:nth-child(2)").all_inner_texts())
    # The ranking keeps every strategy and marks the chosen one.
    assert page.locator("#ranking-table tbody tr").count() == 5
    assert "transfer" in page.inner_text("#ranking-table tr.highlight")
    b.shot("sweep-explorer-transfer")
    b.assert_clean()


def test_clicking_a_point_opens_that_run_in_the_replay(board, surge_sweep) -> None:
    b = board(sweeps=(surge_sweep,))
    page = b.open("Sweep explorer")
    wait_text(page, "#explorer-run-count", "30")
    page.wait_for_selector("#explorer-scatter .scatterlayer .point")
    page.locator("#explorer-scatter").scroll_into_view_if_needed()
    point = page.evaluate(POINT_POSITION, "#explorer-scatter")
    page.mouse.move(point["x"], point["y"])
    page.mouse.click(point["x"], point["y"])
    wait_text(page, "#replay-title", point["run"], timeout_ms=60_000)
    # The replay re-ran the sweep's row: every KPI is reproduced exactly.
    reproduced = page.locator("#replay-kpis tbody td:nth-child(4)").all_inner_texts()
    assert len(reproduced) == len(HOSPITAL_KPIS) and set(reproduced) == {"yes"}
    before = page.inner_text("#replay-clock")
    page.locator("#replay-play").click()
    page.wait_for_function("(t) => document.querySelector('#replay-clock').innerText !== t", arg=before)
    page.locator("#replay-play").click()
    b.shot("run-replay-from-sweep")
    b.assert_clean()


def test_replay_button_on_a_worst_run(board, surge_sweep) -> None:
    b = board(sweeps=(surge_sweep,))
    page = b.open("Sweep explorer")
    wait_text(page, "#explorer-run-count", "30")
    first = page.locator("#worst-runs tbody tr").first
    run_id = first.locator("td").first.inner_text()
    first.get_by_role("button", name="replay").click()
    wait_text(page, "#replay-title", run_id, timeout_ms=60_000)
    assert page.locator("#replay-kpis tbody tr").count() == len(HOSPITAL_KPIS)
    b.assert_clean()


def test_bad_paths_and_unfinished_sweeps_are_shown_on_the_page(board, surge_sweep, tmp_path) -> None:
    unfinished = tmp_path / "unfinished"
    shutil.copytree(surge_sweep, unfinished)
    manifest = json.loads((unfinished / "manifest.json").read_text())
    manifest["complete"] = False
    (unfinished / "manifest.json").write_text(json.dumps(manifest))
    b = board(sweeps=(unfinished, tmp_path / "nowhere"), scenario=tmp_path / "missing.yaml")
    page = b.open()
    wait_text(page, "#startup-messages", "nowhere: no such folder")
    text = page.inner_text("#startup-messages")
    assert "the sweep is not finished" in text and "missing.yaml" in text
    wait_text(page, "#explorer-status", "not finished")   # the explorer opens first without a scenario
    page.get_by_text("Region map", exact=True).click()
    wait_text(page, "#map-message", "missing.yaml: file not found")
    b.shot("bad-inputs")
    b.assert_clean()


def test_token_is_required(board) -> None:
    b = board(scenario=ROOT / "scenarios" / "hospital_surge.yaml", token="browser-secret")
    bare = b.dashboard.url.split("?")[0]
    response = b.page.goto(bare)
    assert response.status == 401 and "token is required" in b.page.inner_text("body")
    b.page.goto(b.dashboard.url)
    wait_text(b.page, "#map-summary", "hospitals")
    assert "token" not in b.page.url          # traded for a cookie
    b.page.reload()
    wait_text(b.page, "#map-summary", "hospitals")


# ------------------------------------------------------------------------------ live --
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def broker(tmp_path: Path) -> Iterator[tuple[str, int]]:
    import subprocess

    mosquitto = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if mosquitto is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    port = _free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    process = subprocess.Popen([mosquitto, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("mosquitto did not start")
    yield "127.0.0.1", port
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.mqtt
def test_live_view_updates_when_a_message_is_published(board, broker) -> None:
    from twinworld.feeds.mqtt import publish_json

    host, port = broker
    b = board(scenario=ROOT / "scenarios" / "hospital_surge.yaml", twin=f"{host}:{port}")
    page = b.open("Live")
    wait_text(page, "#live-broker", "connected")
    page.evaluate("window.__notReloaded = true")
    prefix = "twinworld/flu-wave-across-the-region-s-hospitals"      # the twin's own for this scenario
    publish_json(host, port, f"{prefix}/hospitals/state/Central", {"ward_occupied": 401, "icu_occupied": 33})
    wait_text(page, "#live-census-hospitals", "401")
    publish_json(host, port, f"{prefix}/hospitals/state/Harbour", b"{garbage")
    publish_json(host, port, f"{prefix}/twin/recommendation", {
        "recommended": "transfer", "primary": "patients_turned_away", "direction": "minimize", "draws": 20,
        "strategies": [{"strategy": "transfer", "mean": 4.0, "ci_low": 2.0, "ci_high": 6.0, "share_best": 0.7},
                       {"strategy": "baseline", "mean": 9.0, "ci_low": 6.5, "ci_high": 11.0, "share_best": 0.3}],
        "posterior": {"hospitals.flu_wave.peak_multiplier": {"median": 1.42, "low": 1.31, "high": 1.55}},
        "ess": 143.2, "messages": {"received": 12, "quarantined": 1}})
    wait_text(page, "#live-recommended", "transfer")
    wait_text(page, "#live-quarantined", "1")
    assert "1.42" in page.inner_text("#live-posterior") and "1.55" in page.inner_text("#live-posterior")
    assert page.inner_text("#live-received") == "3"
    assert "malformed" in page.inner_text("#live-quarantine")
    assert page.evaluate("window.__notReloaded === true")
    b.shot("live-twin")
    b.assert_clean()


@pytest.mark.mqtt
def test_broker_that_is_down_is_a_message_not_a_crash(board) -> None:
    port = _free_port()              # nothing listens there
    b = board(scenario=ROOT / "scenarios" / "hospital_surge.yaml", twin=f"127.0.0.1:{port}")
    page = b.open("Live")
    wait_text(page, "#live-message", f"cannot reach MQTT broker 127.0.0.1:{port}")
    assert "Connection refused" in page.inner_text("#live-message")
    assert page.inner_text("#live-broker") == "unreachable"
    b.assert_clean()
