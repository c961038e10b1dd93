"""Every bad scenario in tests/data/bad_scenarios is one clear error: exit 2, its exact message,
no traceback, within a time and a memory bound.

The corpus covers, for every system, non-finite and huge numbers, tiny steps, runs too large to
finish, YAML alias bombs and deep nesting, oversized files, wrong encodings, FIFOs, devices and
folders where files belong, path escapes through every file field, and checks that need the data
files. Inputs that cannot live in git (an 8 MiB file, FIFOs, a symlink out of the folder, a folder
named like a file) are made in a copy of the corpus before the cases run. Each case runs the real
command line (``twinworld validate CASE.yaml``) in a child process forked from a warm server
(:mod:`tests.forkserver`), so its time, exit code, output and peak memory are its own.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.forkserver import BoundedCLI
from twinworld.limits import MAX_SCENARIO_FILE_BYTES

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_scenarios"
CASES = sorted(p.stem for p in CORPUS.glob("*.expected"))
#: Wall-clock seconds a bad scenario may take to be refused (generous: a shared, loaded machine;
#: most take well under a second).
TIME_BOUND_S = 20.0
#: Memory a bad scenario may add to an idle twinworld process before it is refused, MiB.
MEMORY_BOUND_MB = 300


def _make_generated(folder: Path) -> None:
    """Inputs that cannot be committed: made fresh in the corpus copy."""
    with open(folder / "oversized_file.yaml", "w") as handle:
        handle.write("twinworld: 1\n")
        handle.write("# padding\n" * (MAX_SCENARIO_FILE_BYTES // 10 + 1))
    for name in ("fifo.csv", "fifo.osm", "fifo.m", "fifo_scenario.yaml"):
        os.mkfifo(folder / name)
    (folder / "a_folder").mkdir()
    (folder / "folder_scenario.yaml").mkdir()
    (folder / "link_to_passwd.csv").symlink_to("/etc/passwd")
    (folder / "dev_zero_scenario.yaml").symlink_to("/dev/zero")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus") / "bad_scenarios"
    shutil.copytree(CORPUS, folder)
    _make_generated(folder)
    return folder


@pytest.fixture(scope="module")
def cli() -> BoundedCLI:
    with BoundedCLI() as server:
        yield server


def test_corpus_is_complete() -> None:
    yamls = {p.stem for p in CORPUS.glob("*.yaml")}
    assert yamls - set(CASES) == set(), "every bad scenario needs a .expected message"
    assert len(CASES) >= 80


@pytest.mark.parametrize("case", CASES)
def test_bad_scenario_is_one_clear_error(case: str, corpus: Path, cli: BoundedCLI) -> None:
    expected = (CORPUS / f"{case}.expected").read_text(encoding="utf-8").strip()
    result = cli.run("validate", f"{case}.yaml", cwd=corpus, timeout_s=TIME_BOUND_S,
                     extra_mb=4 * MEMORY_BOUND_MB)
    assert not result.timed_out, f"{case} took more than {TIME_BOUND_S} s"
    assert "Traceback" not in result.stdout + result.stderr, result.stderr[-3000:]
    assert result.code == 2, result.stderr[-3000:]
    assert result.stderr.strip() == f"error: {expected}"
    assert result.wall_s < TIME_BOUND_S
    assert result.grew_mb < MEMORY_BOUND_MB, f"{case} grew {result.grew_mb:.0f} MiB"
