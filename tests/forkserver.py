"""Run twinworld's command line many times under a time and memory bound, cheaply.

``python -m tests.forkserver`` imports twinworld (and the heavy libraries its systems use) once,
then reads JSON requests on stdin, one a line: ``{"argv": [...], "cwd": "...", "timeout_s": 30,
"extra_mb": 1024}``. For each it forks a child that runs ``twinworld.cli.main`` with that argv
(address space limited to the server's plus ``extra_mb``), waits for it at most ``timeout_s``
(then kills it), and answers one JSON line: exit code, stdout, stderr, wall time and the child's
peak resident memory (``os.wait4``'s ``ru_maxrss``) above that of a child that does nothing. Forking shares the
imports, so a case costs milliseconds instead of a fresh interpreter's two seconds.

:class:`BoundedCLI` is the test side: it starts the server and sends requests.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["BoundedCLI", "Outcome"]


@dataclass
class Outcome:
    """What one bounded command did."""

    code: int | None
    stdout: str
    stderr: str
    wall_s: float
    grew_mb: float
    timed_out: bool
    base_mb: float = 0.0
    peak_mb: float = 0.0


def _vm_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _child(argv: list[str], cwd: str, out: str, err: str, extra_mb: int) -> None:
    """In the forked child: bound memory, redirect output, run the command line, exit."""
    code = 1
    try:
        os.chdir(cwd)
        limit = _vm_bytes() + extra_mb * 2 ** 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        for fd, path in ((1, out), (2, err)):
            handle = os.open(path, os.O_WRONLY | os.O_TRUNC)
            os.dup2(handle, fd)
            os.close(handle)
        from twinworld.cli.app import main

        sys.argv = ["twinworld", *argv]
        try:
            main()
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:  # noqa: BLE001 - print it as the interpreter would, then exit 1
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _idle_child_mb() -> float:
    """Peak memory of a child that does nothing: what a fork starts from (file-backed pages of
    shared libraries are not copied at fork, so the server's own RSS would be too high a base)."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    return os.wait4(pid, 0)[2].ru_maxrss / 1024


def _serve_one(request: dict, out: str, err: str) -> dict:
    base_mb = _idle_child_mb()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(request["argv"], request["cwd"], out, err, int(request.get("extra_mb", 1024)))
    deadline = started + float(request.get("timeout_s", 60))
    timed_out = False
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            timed_out = True
            break
        time.sleep(0.005)
    code = os.waitstatus_to_exitcode(status)
    return {"code": code, "stdout": Path(out).read_text(errors="replace"),
            "stderr": Path(err).read_text(errors="replace"), "wall_s": time.monotonic() - started,
            "grew_mb": max(0.0, usage.ru_maxrss / 1024 - base_mb), "timed_out": timed_out,
            "base_mb": base_mb, "peak_mb": usage.ru_maxrss / 1024}


def _warm_up() -> None:
    """Import what the systems use, and read the bundled networks, once for every child."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import twinworld.cli.app  # noqa: F401
        from twinworld.scenario.registry import default_registry

        default_registry()
        try:
            from twinworld.systems.grid.engine import cached_engine

            cached_engine("case9")
            cached_engine("case118")
        except Exception:  # noqa: BLE001, S110 - without pandapower the grid cases fail on their own
            pass


def serve() -> None:
    _warm_up()
    folder = tempfile.mkdtemp(prefix="twinworld-forkserver-")
    out, err = os.path.join(folder, "out"), os.path.join(folder, "err")
    for path in (out, err):
        Path(path).touch()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(_serve_one(json.loads(line), out, err)), flush=True)


class BoundedCLI:
    """Client of the fork server (a context manager)."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        environment = {key: value for key, value in os.environ.items()
                       if key not in ("TWINWORLD_DATA_ROOT", "TWINWORLD_ALLOW_LARGE")}
        environment.update({"PYTHONPATH": str(ROOT), "COLUMNS": "200", "PYTHONWARNINGS": "ignore",
                            **(env or {})})
        self.process = subprocess.Popen([sys.executable, "-m", "tests.forkserver"], cwd=ROOT,
                                        env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        ready = self.process.stdout.readline()  # type: ignore[union-attr]
        if "ready" not in ready:
            raise RuntimeError("the fork server did not start")

    def run(self, *argv: str, cwd: Path, timeout_s: float = 60, extra_mb: int = 1024) -> Outcome:
        request = {"argv": list(argv), "cwd": str(cwd), "timeout_s": timeout_s, "extra_mb": extra_mb}
        self.process.stdin.write(json.dumps(request) + "\n")  # type: ignore[union-attr]
        self.process.stdin.flush()  # type: ignore[union-attr]
        return Outcome(**json.loads(self.process.stdout.readline()))  # type: ignore[union-attr]

    def close(self) -> None:
        self.process.stdin.close()  # type: ignore[union-attr]
        self.process.wait(timeout=30)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    serve()
