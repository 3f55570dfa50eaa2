"""The atheris harness treats a slow or memory-hungry input as a finding, like a crash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "benchmarks" / "fuzz_capture.py"


def run_harness(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "seed").write_bytes(b"\x00INVITE sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n")
    return subprocess.run(
        [sys.executable, str(HARNESS), "--runs", "20", f"-artifact_prefix={tmp_path}/", str(corpus)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env={**os.environ, **env},
    )


@pytest.mark.timeout(150)
def test_an_input_over_the_time_limit_is_a_finding(tmp_path):
    done = run_harness(tmp_path, VOXOPS_FUZZ_SLOW_S="0")
    assert done.returncode != 0
    assert "Finding: input took" in done.stdout + done.stderr
    assert list(tmp_path.glob("crash-*")), "the input is kept for replay"


@pytest.mark.timeout(150)
def test_an_input_over_the_rss_limit_is_a_finding(tmp_path):
    done = run_harness(tmp_path, VOXOPS_FUZZ_RSS_MB="1")
    assert done.returncode != 0
    assert "Finding: peak RSS" in done.stdout + done.stderr


@pytest.mark.timeout(150)
def test_runs_is_honoured_and_a_clean_run_passes(tmp_path):
    done = run_harness(tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Done 20 runs" in done.stderr
