"""A capture replayed over HEP into `voxops watch`: its records equal the offline diagnosis
of each call, and its /metrics counters equal the offline `voxops stats`."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.analysis import sbc_synthetic
from tests.conftest import free_port
from tests.watch.replay import hep_packets, send_udp
from voxops.analysis.diagnosis import CallDiagnosis
from voxops.records.model import CallRecord, record_from_diagnosis
from voxops.records.store import Query, RecordStore

HOST = "127.0.31.2"
REPO = Path(__file__).resolve().parents[2]
DIAG = REPO / "tests" / "data" / "diagnosis"


def _voxops(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "voxops", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr  # 1: findings
    return done.stdout


def _metrics(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        name_labels, value = line.rsplit(" ", 1)
        name, _, labels = name_labels.partition("{")
        pairs = tuple(sorted(tuple(p.split("=", 1)) for p in labels.rstrip("}").split(",") if p))
        out[(name, tuple((k, v.strip('"')) for k, v in pairs))] = float(value)
    return out


def _watch(capture: Path, spec: Path, tmp: Path) -> tuple[list[dict], dict]:
    hep_port, metrics_port = free_port(HOST), free_port(HOST, kind=socket.SOCK_STREAM)
    jsonl = tmp / "calls.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "voxops", "watch", "--hep", f"{HOST}:{hep_port}", "--spec", str(spec),
         "--metrics", f"{HOST}:{metrics_port}", "--jsonl", str(jsonl), "--db", str(tmp / "calls.db"),
         "--idle-timeout", "3s", "--setup-timeout", "3s", "--duration", "120s"],
        stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        for _ in range(2):  # "HEP on ...", "metrics on ...": listening
            assert "voxops watch:" in proc.stderr.readline()
        packets = hep_packets(capture)
        send_udp(packets, (HOST, hep_port))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            m = _metrics(metrics_port)
            seen = m.get(("voxops_watch_packets_total", (("kind", "hep"),)), 0)
            if seen == len(packets) and m.get(("voxops_watch_calls_active", ()), 1) == 0:
                break
            time.sleep(0.5)
        metrics = _metrics(metrics_port)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert metrics[("voxops_watch_packets_total", (("kind", "hep"),))] == len(packets), "HEP lost on loopback"
    return [json.loads(line) for line in jsonl.read_text().splitlines()], metrics


def _offline_record(call_id: str, capture: Path, spec: Path) -> dict:
    diag = CallDiagnosis.model_validate_json(_voxops("diagnose", call_id, "--pcap", str(capture), "--spec", str(spec),
                                                     "--format", "json", "--no-audio", "--no-index"))
    return record_from_diagnosis(diag).model_dump(mode="json")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sbc_synthetic.build(tmp_path_factory.mktemp("synthetic"))


@pytest.mark.parametrize("case", ["synthetic", "trunk503"])
def test_records_and_metrics_equal_the_offline_commands(case: str, synthetic: Path, tmp_path: Path) -> None:
    capture, spec = ((synthetic, sbc_synthetic.SPEC) if case == "synthetic"
                     else (DIAG / "trunk503.pcap", DIAG / "topology.yaml"))
    records, metrics = _watch(capture, spec, tmp_path)
    stored = RecordStore(str(tmp_path / "calls.db"), create=False)
    assert sorted(r.model_dump_json() for r in stored.search(Query([]))) == sorted(
        CallRecord.model_validate(r).model_dump_json() for r in records)
    stored.close()
    stats = json.loads(_voxops("stats", str(capture), "--spec", str(spec), "--format", "json"))
    assert sorted(r["call_id"] for r in records) == sorted(c["call_id"] for c in stats["call_list"])
    if case == "synthetic":
        truth = {cid: t.codes for cid, t in sbc_synthetic.TRUTH.items()}
        assert {r["call_id"]: {f["code"] for f in r["findings"]} for r in records} == truth
    for live in records:
        assert live["node"] and live["finished_by"] in {"bye", "failure", "timeout"}
        assert {**live, "node": None, "finished_by": None} == _offline_record(live["call_id"], capture, spec)
    for trunk, ratios in stats["trunks"].items():
        for kind in ("calls", "seizures", "answered"):
            assert metrics.get((f"voxops_watch_{kind}_total", (("trunk", trunk),)), 0) == ratios[kind], (trunk, kind)
    for trunk, codes in stats["response_codes"].items():
        for key, count in codes.items():
            method, code = key.split()
            labels = (("code", code), ("method", method), ("trunk", trunk))
            assert metrics[("voxops_watch_responses_total", labels)] == count, (trunk, key)
    mos_calls = sum(v for (name, _), v in metrics.items() if name == "voxops_watch_mos_count")
    assert mos_calls == stats["mos"]["calls_with_media"]
    pdd_calls = sum(v for (name, _), v in metrics.items() if name == "voxops_watch_pdd_milliseconds_count")
    assert pdd_calls == stats["pdd_ms"]["count"]
