"""`voxops watch --follow`: a capture read while it is written, records cut anywhere."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.analysis import sbc_synthetic
from tests.watch.test_watch_equality import _offline_record, synthetic  # noqa: F401 - the fixture


def test_a_growing_capture_gives_the_offline_records(synthetic: Path, tmp_path: Path) -> None:  # noqa: F811
    data = synthetic.read_bytes()
    growing, jsonl = tmp_path / "growing.pcap", tmp_path / "calls.jsonl"
    growing.write_bytes(data[:10])  # not even the whole file header yet
    proc = subprocess.Popen(
        [sys.executable, "-m", "voxops", "watch", "--follow", str(growing), "--spec", str(sbc_synthetic.SPEC),
         "--jsonl", str(jsonl), "--idle-timeout", "3s", "--setup-timeout", "3s", "--duration", "60s"],
        stderr=subprocess.PIPE, text=True)
    try:
        cuts = [10, 37, 5000, 5001, len(data) // 3, len(data) // 2 + 7, len(data)]  # mid-header, mid-record
        with growing.open("ab") as out:
            for a, b in zip(cuts, cuts[1:], strict=False):
                out.write(data[a:b])
                out.flush()
                time.sleep(0.4)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if jsonl.exists() and len(jsonl.read_text().splitlines()) == len(sbc_synthetic.TRUTH):
                break
            time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert sorted(r["call_id"] for r in records) == sorted(sbc_synthetic.TRUTH)
    for live in records:
        assert live["finished_by"] in {"bye", "failure", "timeout"}  # none was left for the shutdown
        assert {**live, "node": None, "finished_by": None} == _offline_record(live["call_id"], synthetic,
                                                                              sbc_synthetic.SPEC)
