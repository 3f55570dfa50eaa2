"""`voxops diagnose`: JSON fields, formats, exit codes, the sidecar index."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data" / "diagnosis"
SPEC = DATA / "topology.yaml"


@pytest.fixture
def capture(tmp_path):
    """A private copy of a test capture."""
    def copy(name: str) -> Path:
        dst = tmp_path / f"{name}.pcap"
        shutil.copy(DATA / f"{name}.pcap", dst)
        return dst
    return copy


def call_id_of(cli, pcap: Path) -> str:
    code, out, _ = cli("stats", pcap, "--format", "json")
    return json.loads(out)["call_list"][0]["call_id"]


def test_json_fields_and_exit_code(cli, capture):
    pcap = capture("one_way")
    cid = call_id_of(cli, pcap)
    code, out, err = cli("diagnose", cid, "--pcap", pcap, "--spec", SPEC, "--format", "json")
    assert code == 1, err
    data = json.loads(out)
    for key in ("call_id", "pdd_ms", "final_status", "codecs", "streams", "findings"):
        assert key in data
    assert data["call_id"] == cid
    assert data["final_status"] == 200
    finding = next(f for f in data["findings"] if f["code"] == "one-way-audio")
    assert set(finding) >= {"code", "severity", "message", "runbook"}
    assert finding["severity"] == "critical" and finding["runbook"] == "one-way-audio"
    assert len(data["streams"]) == 1
    for key in ("src", "dst", "ssrc", "payload_type", "packets", "lost", "mos", "r_factor", "call_id"):
        assert key in data["streams"][0]


def test_fail_on_sets_the_exit_code(cli, capture):
    pcap = capture("pdd3s")
    cid = call_id_of(cli, pcap)
    assert cli("diagnose", cid, "--pcap", pcap)[0] == 0  # high-pdd is a warning; default --fail-on error
    assert cli("diagnose", cid, "--pcap", pcap, "--fail-on", "warning")[0] == 1


def test_clean_call_text_and_html(cli, capture):
    pcap = capture("clean")
    cid = call_id_of(cli, pcap)
    code, out, _ = cli("diagnose", cid, "--pcap", pcap, "--fail-on", "info")
    assert code == 0
    assert "verdict: no problem found" in out and "INVITE" in out
    code, out, _ = cli("diagnose", cid, "--pcap", pcap, "--format", "html")
    assert out.startswith("<!doctype html>") and cid in out


def test_unknown_call_and_missing_capture_are_input_errors(cli, capture, tmp_path):
    pcap = capture("clean")
    code, _, err = cli("diagnose", "nope@nowhere", "--pcap", pcap)
    assert code == 2 and "nope@nowhere" in err
    code, _, err = cli("diagnose", "x", "--pcap", tmp_path / "absent.pcap")
    assert code == 2 and "no such capture" in err


def test_index_is_built_reused_and_invalidated(cli, capture):
    from voxops.analysis.loader import call_from_index
    from voxops.capture.index import index_path

    pcap = capture("loss5")
    cid = call_id_of(cli, pcap)
    assert not index_path(pcap).exists()
    first = cli("diagnose", cid, "--pcap", pcap, "--format", "json")
    assert index_path(pcap).exists()
    started = time.perf_counter()
    assert call_from_index(pcap, cid) is not None
    assert time.perf_counter() - started < 1.0
    again = cli("diagnose", cid, "--pcap", pcap, "--format", "json")
    assert json.loads(again[1]) == json.loads(first[1])
    with pcap.open("ab") as fh:  # the capture grows: the index no longer matches
        fh.write(b"\0" * 16)
    assert call_from_index(pcap, cid) is None
