"""`voxops rtp`: the JSON a user compares with `tshark -z rtp,streams`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import shared_pcap

DATA = Path(__file__).resolve().parent.parent / "data" / "diagnosis"
FIELDS = {"src", "dst", "ssrc", "payload_type", "packets", "lost", "seq_errors", "max_delta_ms",
          "max_jitter_ms", "mean_jitter_ms", "start", "end", "call_id", "mos", "r_factor"}


def test_json_streams(cli):
    code, out, _ = cli("rtp", DATA / "loss5.pcap", "--format", "json")
    assert code == 0
    streams = json.loads(out)
    assert len(streams) == 2
    assert all(set(s) >= FIELDS for s in streams)
    lossy = next(s for s in streams if s["lost"])
    assert lossy["lost"] == 5 and lossy["seq_errors"] == 5 and isinstance(lossy["ssrc"], int)
    assert lossy["src"].startswith("127.0.4.2:") and lossy["call_id"]


def test_heuristic_finds_rtp_without_sdp(cli):
    pcap = shared_pcap("mario_choppy_speech.pcap")
    code, out, _ = cli("rtp", pcap, "--format", "json")
    assert json.loads(out) == []
    code, out, _ = cli("rtp", pcap, "--rtp-heuristic", "--format", "json")
    (stream,) = json.loads(out)
    assert stream["packets"] == 4196 and stream["call_id"] is None
    assert abs(stream["max_jitter_ms"] - 30.249) < 0.01


def test_text_table(cli):
    code, out, _ = cli("rtp", DATA / "clean.pcap")
    assert code == 0 and "0x00001111" in out and "0x00002222" in out


def test_not_a_capture(cli, tmp_path):
    bad = tmp_path / "x.pcap"
    bad.write_text("hello")
    code, _, err = cli("rtp", bad)
    assert code == 2 and err
