"""A drill killed midway leaves nothing behind and the lab as it was."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from voxops.lab.supervisor import pid_alive


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_drill_killed_midway_cleans_up_and_restores_the_lab(cli, lab_dir, sig):
    drill_pids = lab_dir / "pids-drill"
    proc = subprocess.Popen(
        [sys.executable, "-m", "voxops", "lab", "drill", "trunk-down", "--dir", str(lab_dir), "--rate", "2", "--hold", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    started: dict[str, int] = {}
    try:
        # wait until the fault is on: the carrier is stopped while the drill's calls run
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for f in drill_pids.glob("*.pid"):
                started[f.stem] = json.loads(f.read_text())["pid"]
            if any(n.startswith("calls-") for n in started) and not (lab_dir / "pids" / "carrier-a-main.pid").exists():
                break
            time.sleep(0.05)
        else:
            pytest.fail("the drill never injected its fault")
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err.decode()
    assert "drill-capture" in started
    assert not any(pid_alive(pid) for pid in started.values()), started
    assert list(drill_pids.glob("*.pid")) == []
    code, out, _ = cli("lab", "status", "--dir", str(lab_dir), "--format", "json")
    assert code == 0, f"a lab process the drill stopped was not started again: {out}"
