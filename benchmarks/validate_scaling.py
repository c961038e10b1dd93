"""Validation cost against the number of facilities, and how fast hostile inputs are refused.

1. ``load_scenario`` of a region of N hospitals (with locations and a transfer strategy, the case
   that used to build the full N x N travel matrix at load time), for N = 1,000 .. 16,000: wall
   time and peak memory above an idle process, next to what the old check's full travel matrix
   alone costs for the same N (``travel_matrix_min``, the peer here). Linear cost shows as x4 per
   x4 in N; the matrix shows x16.
2. Time to refuse small hostile inputs: a 1 KB alias bomb, 600-level nesting, an 8 MiB file,
   ``/dev/zero`` and a FIFO as the census file.

Each measurement runs in a forked child (``os.wait4`` gives its own peak RSS), after the imports.
Run: ``PYTHONPATH=. python benchmarks/validate_scaling.py [--max-n 16000]``. The machine is shared:
the load average is printed next to the figures.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import yaml

warnings.simplefilter("ignore")
from twinworld.errors import ScenarioError  # noqa: E402
from twinworld.scenario import load_scenario  # noqa: E402
from twinworld.systems.hospital.config import HospitalRegionConfig  # noqa: E402
from twinworld.systems.hospital.travel import travel_matrix_min  # noqa: E402


def _measure(work: Callable[[], Any]) -> tuple[float, float, str]:
    """(wall s, peak MiB above an idle child, outcome) of ``work()`` in a forked child."""
    idle = os.fork()
    if idle == 0:
        os._exit(0)
    base = os.wait4(idle, 0)[2].ru_maxrss / 1024
    read, write = os.pipe()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            work()
            outcome = "ok"
        except ScenarioError as err:
            outcome = "refused: " + str(err).splitlines()[0][:90]
        os.write(write, outcome.encode())
        os._exit(0)
    os.close(write)
    _, _, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    outcome = os.read(read, 400).decode()
    os.close(read)
    return wall, usage.ru_maxrss / 1024 - base, outcome


def region(n: int) -> dict[str, Any]:
    hospitals = [{"name": f"H{i}", "ward_beds": 100, "arrivals_per_day": 1,
                  "location": [60 + (i % 100) * 1e-3, 24.9 + (i // 100) * 1e-3]} for i in range(n)]
    return {"twinworld": 1, "name": f"{n} hospitals", "horizon": "1d",
            "systems": {"h": {"kind": "hospital_region", "hospitals": hospitals}},
            "strategies": {"baseline": {}, "transfer": {"h": {"kind": "transfer"}}}}


def scaling(max_n: int, folder: Path) -> None:
    print("| hospitals | validate wall s | validate peak MiB | full travel matrix s | matrix peak MiB |")
    print("|---|---|---|---|---|")
    n = 1_000
    while n <= max_n:
        path = folder / f"region{n}.yaml"
        path.write_text(yaml.safe_dump(region(n)))
        wall, peak, outcome = _measure(lambda p=path: load_scenario(p))
        assert outcome == "ok", outcome
        config = HospitalRegionConfig.model_validate(region(n)["systems"]["h"])
        matrix = _measure(lambda c=config: travel_matrix_min(c)) if n <= 4_000 else None
        shown = f"{matrix[0]:.2f} | {matrix[1]:.0f}" if matrix else "- | -"
        print(f"| {n:,} | {wall:.2f} | {peak:.0f} | {shown} |")
        n *= 4 if n < 4_000 else 2


def hostile(folder: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    (folder / "bomb.yaml").write_text("twinworld: 1\nname: b\nhorizon: 1d\n" + "\n".join(lines) + "\n")
    (folder / "deep.yaml").write_text("twinworld: 1\nsystems: " + "[" * 600 + "]" * 600 + "\n")
    with open(folder / "big.yaml", "w") as handle:
        handle.write("# padding\n" * (2 ** 23 // 10 + 1))
    census = "twinworld: 1\nname: c\nhorizon: 1d\nsystems:\n  h:\n    kind: hospital_region\n" \
             "    hospitals: [{name: H, ward_beds: 1, arrivals_per_day: 1}]\n    census_csv: FILE\n"
    (folder / "zero.csv").symlink_to("/dev/zero")
    os.mkfifo(folder / "fifo.csv")
    (folder / "census_zero.yaml").write_text(census.replace("FILE", "zero.csv"))
    (folder / "census_fifo.yaml").write_text(census.replace("FILE", "fifo.csv"))
    print("\n| hostile input | size | refused in s | peak MiB | message |")
    print("|---|---|---|---|---|")
    for name in ("bomb", "deep", "big", "census_zero", "census_fifo"):
        path = folder / f"{name}.yaml"
        wall, peak, outcome = _measure(lambda p=path: load_scenario(p))
        print(f"| {name} | {path.stat().st_size:,} B | {wall:.3f} | {peak:.0f} | {outcome.removeprefix('refused: ')} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=16_000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (2-core machine)\n")
    load_scenario(region(2))  # import every plugin before the children fork
    with tempfile.TemporaryDirectory() as tmp:
        scaling(args.max_n, Path(tmp))
        hostile(Path(tmp))
    print(f"\nload average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")


if __name__ == "__main__":
    main()
