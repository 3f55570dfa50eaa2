"""`voxops stats`: KPIs per trunk named from the spec, SLO windows, 503 spikes, PNG."""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "diagnosis"
SPEC = DATA / "topology.yaml"


def test_trunk_kpis_from_spec(cli):
    code, out, err = cli("stats", DATA / "trunk503.pcap", "--spec", SPEC, "--format", "json")
    assert code == 0, err
    r = json.loads(out)
    for key in ("asr", "ner", "isa", "acd_s", "pdd_ms", "response_codes", "mos", "spikes_503", "windows",
                "slo_breaches", "findings"):
        assert key in r
    assert (r["calls"], r["seizures"], r["answered"]) == (14, 14, 8)
    assert r["asr"] == 57.14 and r["isa"] == 42.86
    assert r["trunks"]["carrier-b/b-main"]["asr"] == 0.0 and r["trunks"]["carrier-a/a-main"]["asr"] == 100.0
    assert r["response_codes"]["carrier-b/b-main"] == {"INVITE 503": 6}
    assert r["response_codes"]["carrier-a/a-main"] == {"BYE 200": 8, "INVITE 200": 8}
    assert [s["trunk"] for s in r["spikes_503"]] == ["carrier-b/b-main"]
    assert len(r["slo_breaches"]) == 1
    assert {(b["trunk"], b["kpi"]) for b in r["slo_breaches"][0]["breaches"]} == {
        (None, "asr"), ("carrier-b/b-main", "asr")}
    assert {f["code"] for f in r["findings"]} == {"asr-below-slo", "trunk-503-spike"}
    assert set(r["pdd_ms"]) == {"count", "p50", "p95", "max"}


def test_fail_on_and_window(cli):
    assert cli("stats", DATA / "trunk503.pcap", "--fail-on", "error")[0] == 1
    code, out, _ = cli("stats", DATA / "clean.pcap", "--window", "1m", "--format", "json")
    r = json.loads(out)
    assert code == 0 and r["window_s"] == 60 and r["findings"] == []
    assert r["mos"]["calls_with_media"] == 1 and r["mos"]["below_threshold"] == []
    assert cli("stats", DATA / "clean.pcap", "--window", "five")[0] == 2


def test_png(cli, tmp_path):
    out = tmp_path / "s.png"
    code, _, _ = cli("stats", DATA / "loss5.pcap", "--format", "png", "--output", out)
    assert code == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
