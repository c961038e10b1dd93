"""The report opens in a real headless browser (Debian's chromium) and its figures render."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from tests.ranking_synthetic import synthetic_runs
from twinworld.analysis import RankOptions, rank
from twinworld.viz import write_report

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Appended to a copy of the report: after load, record how many images decoded and their widths.
PROBE = """<script>
window.addEventListener('load', () => {
  const imgs = Array.from(document.images);
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0);
  document.body.setAttribute('data-probe', imgs.length + ':' + ok.length);
});
</script></body>"""

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")]


def _chromium(*args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    runs = synthetic_runs({"baseline": 12.0, "transfer": 10.0, "combined": 11.0}, scenarios=120,
                          seed=2, fail_above={"transfer": 1.5})
    ranking = rank(runs, RankOptions(constraints=[{"kpi": "cost", "max": 40, "share": 0.9}]), directions={"cost": "minimize"})
    return write_report(ranking, tmp_path_factory.mktemp("report") / "report.html")


def test_every_figure_decodes_in_chromium(report):
    expected = report.read_text().count("<img ")
    probe = report.with_name("probe.html")
    probe.write_text(report.read_text().replace("</body>", PROBE))
    done = _chromium("--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    found = re.search(r'data-probe="(\d+):(\d+)"', done.stdout)
    assert found, done.stderr[-2000:]
    total, decoded = map(int, found.groups())
    assert total == expected >= 4 and decoded == total
    assert 'id="ranking-table"' in done.stdout


def test_screenshot_is_not_blank(report):
    shot = report.with_name("shot.png")
    done = _chromium("--window-size=1200,2400", "--hide-scrollbars", f"--screenshot={shot}", report.as_uri())
    assert shot.exists(), done.stderr[-2000:]
    pixels = imread(shot)[..., :3]
    assert pixels.shape[0] >= 2000 and pixels.shape[1] >= 1100
    not_white = (pixels < 0.9).any(axis=2)
    # Text, tables and plots cover a real share of the page, and colour (plots) is present.
    assert not_white.mean() > 0.03
    colour = np.ptp(pixels, axis=2) > 0.2
    assert colour.mean() > 0.001
