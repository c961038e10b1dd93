"""``twinworld dashboard`` as a user starts it: the address it prints, refusals, problems as messages."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from tests.helpers import ROOT, run_cli


def test_non_loopback_without_token_is_refused() -> None:
    result = run_cli("dashboard", "--host", "0.0.0.0", timeout=120)
    assert result.returncode == 2
    assert "error: refusing to listen on 0.0.0.0" in result.stderr and "needs a token" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_short_token_is_refused() -> None:
    result = run_cli("dashboard", "--host", "0.0.0.0", "--token", "abc", timeout=120)
    assert result.returncode == 2 and "at least 8 characters" in result.stderr


def _start(*args: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "300"}
    process = subprocess.Popen([sys.executable, "-m", "twinworld", "dashboard", *args], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if "http://" in line:
            return process, line[line.index("http://"):].split()[0]
        if process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"no address printed: {process.stderr.read()}")


def test_prints_a_loopback_address_and_reports_bad_paths(tmp_path) -> None:
    missing = tmp_path / "no-such-sweep"
    process, url = _start(str(missing), "--scenario", str(ROOT / "scenarios" / "hospital_surge.yaml"))
    try:
        assert url.startswith("http://127.0.0.1:") and not url.startswith("http://127.0.0.1:0/")
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200 and b"twinworld dashboard" in response.read()
        with urllib.request.urlopen(url + "_dash-layout", timeout=30) as response:
            layout = json.dumps(json.loads(response.read()))   # the page's startup messages
        assert f"{missing}: no such folder" in layout
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert f"error: {missing}: no such folder" in err
    assert "Traceback" not in out + err
    assert process.returncode == 0 and "stopped" in out


def test_token_protects_every_request() -> None:
    process, url = _start("--scenario", str(ROOT / "scenarios" / "hospital_surge.yaml"), "--token", "cli-secret-1")
    try:
        assert url.endswith("/?token=cli-secret-1")
        bare = url.split("?")[0]
        for path in ("", "_dash-layout", "_dash-dependencies"):
            try:
                urllib.request.urlopen(bare + path, timeout=30)
                raise AssertionError(f"{path or '/'} answered without the token")
            except urllib.error.HTTPError as err:
                assert err.code == 401
        request = urllib.request.Request(bare + "_dash-layout", headers={"Authorization": "Bearer cli-secret-1"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
