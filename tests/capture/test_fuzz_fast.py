"""The uninstrumented fuzz runner: a hang, an exception or a memory blow-up is a finding,
written out and replayed alone; a clean run says how many inputs it ran."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parents[2] / "benchmarks" / "fuzz_fast.py"
spec = importlib.util.spec_from_file_location("fuzz_fast", RUNNER)
assert spec is not None and spec.loader is not None
fuzz_fast = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fuzz_fast)


@pytest.fixture
def alarm():
    old = signal.signal(signal.SIGALRM, fuzz_fast._alarm)
    yield
    signal.signal(signal.SIGALRM, old)


def test_a_hang_is_stopped_and_reported(alarm):
    started = time.monotonic()
    problem = fuzz_fast.guarded(lambda _data: time.sleep(30), b"x", slow_s=0.5)
    assert problem is not None and problem.startswith("Hang")
    assert time.monotonic() - started < 5


def test_an_unexpected_exception_is_reported_with_where(alarm):
    def target(data: bytes) -> None:
        raise KeyError(data)

    problem = fuzz_fast.guarded(target, b"boom")
    assert problem is not None and problem.startswith("KeyError: b'boom'") and "in target" in problem
    assert fuzz_fast.guarded(lambda _data: None, b"ok", rss_limit_mb=1 << 20) is None


def test_an_input_past_the_rss_limit_is_reported(alarm):
    problem = fuzz_fast.guarded(lambda _data: bytearray(64 << 20), b"big", rss_limit_mb=1)
    assert problem is not None and problem.startswith("peak RSS")


def test_mutations_stay_within_the_length_limit():
    import random

    rng = random.Random(3)
    corpus = [b"INVITE sip:a@b SIP/2.0\r\n\r\n", bytes(range(256))]
    out = [fuzz_fast.mutate(rng, rng.choice(corpus), corpus, 64) for _ in range(500)]
    assert all(len(o) <= 64 for o in out) and len(set(out)) > 300


@pytest.mark.timeout(300)
def test_a_short_capture_run_is_clean_and_counted(tmp_path):
    done = subprocess.run([sys.executable, str(RUNNER), "capture", "--runs", "400", "--findings", str(tmp_path)],
                          capture_output=True, text=True, timeout=280, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "DONE capture: 400 inputs" in done.stdout and "0 finding(s)" in done.stdout
