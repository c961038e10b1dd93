"""The HTML report and the ``rank`` / ``report`` commands on a synthetic sweep folder."""

from __future__ import annotations

import html
import re

import pytest

from tests.helpers import run_cli
from tests.ranking_synthetic import synthetic_runs, write_sweep
from twinworld.analysis import rank
from twinworld.analysis.sensitivity import sensitivity
from twinworld.viz import report_html, write_report
from twinworld.viz.report import report_figures

MEANS = {"baseline": 12.0, "transfer": 10.0, "surge_beds": 10.8, "combined": 13.0}


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    runs = synthetic_runs(MEANS, scenarios=150, seed=9, fail_above={"transfer": 1.6, "combined": 1.3})
    return write_sweep(tmp_path_factory.mktemp("sweep"), runs, ranking={
        "primary": "cost", "risk": "cvar", "constraints": [{"kpi": "cost", "max": 40, "share": 0.8}]})


def test_report_holds_the_ranking_table_and_every_figure(sweep_dir, tmp_path):
    ranking = rank(sweep_dir)
    figures = report_figures(ranking, sensitivity=sensitivity(ranking.results, kpi=ranking.primary))
    # ranking, distribution, regret, a discovery scatter for each strategy that fails somewhere,
    # and the recommended strategy's sensitivity
    with_box = [f.strategy for f in ranking.discovery if f.box is not None]
    assert {"transfer", "combined"} <= set(with_box)
    assert set(figures) == {"ranking", "distribution", "regret", "sensitivity",
                            *(f"discovery-{s}" for s in with_box)}
    path = write_report(ranking, tmp_path / "report.html")
    text = path.read_text()
    table = re.search(r'<table id="ranking-table">(.*?)</table>', text, re.S).group(1)
    for name in MEANS:
        assert f"<td>{name}</td>" in table
    assert table.count("<tr") == len(MEANS) + 1
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert sorted(alt for alt, _ in images) == sorted(figures)
    assert all(len(data) > 5000 for _, data in images)
    assert html.escape(ranking.recommendation) in text
    for finding in ranking.discovery:
        assert html.escape(finding.text) in text
    # Self-contained: nothing to fetch.
    assert not re.search(r'(src|href)="(https?:|//)', text)
    assert "surge exceeds" in text and "coverage" in text
    # Sensitivity: extra-trees scores of both sampled parameters for every strategy.
    sens = re.search(r'<table id="sensitivity-table">(.*?)</table>', text, re.S).group(1)
    assert "<td>surge</td>" in sens and "<td>loss</td>" in sens and sens.count("<tr") == 3


def test_report_html_from_a_dataframe_without_parameters():
    runs = synthetic_runs(MEANS, scenarios=20, seed=1).drop(columns=["param.surge", "param.loss"])
    text = report_html(rank(runs, directions={"cost": "minimize"}))
    assert "nothing to discover" in text and text.count("<img ") == 3
    assert "No sampled parameters in the results: nothing to attribute." in text


def test_cli_rank_prints_tables_and_recommendation(sweep_dir):
    done = run_cli("rank", str(sweep_dir), "--risk", "mean", "--pareto", "cost", timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "cost (minimize) ranked by mean" in out and "Constraints" in out
    for name in MEANS:
        assert name in out
    assert "Recommend 'surge_beds'" in out or "Recommend 'transfer'" in out
    assert "discovery:" in out and "Pareto set" in out


def test_cli_report_writes_one_file(sweep_dir, tmp_path):
    output = tmp_path / "out" / "report.html"
    done = run_cli("report", str(sweep_dir), "--output", str(output), timeout=120)
    assert done.returncode == 0, done.stderr
    assert output.exists() and "wrote" in done.stdout
    assert output.read_text().count("<img ") >= 3


def test_cli_errors_are_one_line(tmp_path):
    done = run_cli("rank", str(tmp_path), timeout=60)
    assert done.returncode == 2
    assert "no results/*.parquet" in done.stderr and "Traceback" not in done.stderr
