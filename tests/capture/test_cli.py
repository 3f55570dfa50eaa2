"""`voxops calls`, `voxops ladder`, `voxops export` end to end, in-process."""

from __future__ import annotations

import json

import pytest

from tests.conftest import need_tool, shared_pcap
from tests.support.capture import DATA, tshark_summary

UDP = DATA / "udp_proxy.pcapng"
FIELDS = {"call_id", "method", "from_uri", "to_uri", "start", "final_status", "duration_s", "pdd_ms", "messages"}


def test_calls_json_fields_and_values(cli):
    code, out, err = cli("calls", UDP, "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert set(rows[0]) >= FIELDS
    assert [r["final_status"] for r in rows] == [200, 200, 486, 200, 404]
    assert [r["messages"] for r in rows] == [13, 13, 3, 13, 3]
    busy = rows[2]
    assert busy["to_uri"] == "sip:busy@127.0.3.2:5060" and busy["duration_s"] is None
    assert isinstance(busy["start"], float) and busy["pdd_ms"] >= 0
    answered = rows[0]
    assert 0.29 < answered["duration_s"] < 0.4  # the scenario pauses 300 ms before BYE


def test_calls_filters(cli):
    def ids(*args: str) -> list[str]:
        code, out, err = cli("calls", UDP, "-f", "json", *args)
        assert code == 0, err
        return [r["call_id"] for r in json.loads(out)]

    everything = ids()
    assert ids("--status", "4xx") == [everything[2], everything[4]]
    assert ids("--status", "486") == [everything[2]]
    assert ids("--status", "answered") == [everything[0], everything[1], everything[3]]
    assert ids("--number", "nobody") == [everything[4]]
    code, out, _ = cli("calls", UDP, "-f", "json")
    starts = [r["start"] for r in json.loads(out)]
    assert ids("--since", str(starts[3] - 0.001)) == everything[3:]
    assert ids("--until", str(starts[1] + 0.001)) == everything[:2]
    assert ids("--since", "2000-01-01T00:00:00", "--until", "2000-01-02T00:00:00") == []


def test_calls_all_adds_options_dialogs(cli):
    path = shared_pcap("sipp_uac_Media_DTMF_Speex.pcap")
    _, out, _ = cli("calls", path, "-f", "json")
    assert [r["method"] for r in json.loads(out)] == ["INVITE"]
    _, out, _ = cli("calls", path, "-f", "json", "--all")
    assert sorted(r["method"] for r in json.loads(out)) == ["INVITE", "OPTIONS", "OPTIONS"]


def test_calls_text_table(cli):
    code, out, _ = cli("calls", UDP)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("time: t+ seconds since ")
    assert lines[1].split()[:2] == ["start", "call-id"]
    assert "486" in lines[4] and "busy" in lines[4]
    assert lines[-1] == "5 dialogs"


@pytest.mark.parametrize("content", [b"", b"not a capture at all"])
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path, content):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(content)
    for command in (("calls", bad), ("ladder", bad), ("export", bad, "--call-id", "x", "-o", tmp_path / "o.pcap")):
        code, out, err = cli(*command)
        assert code == 2 and out == ""
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    code, _, err = cli("calls", tmp_path / "missing.pcap")
    assert code == 2 and "no such capture file" in err
    code, _, err = cli("calls", UDP, "--status", "sometimes")
    assert code == 2


def test_ladder_formats_to_files_and_call_id_prefix(cli, tmp_path):
    for fmt in ("text", "svg", "png", "html", "mermaid"):
        out = tmp_path / f"ladder.{fmt}"
        code, _, err = cli("ladder", UDP, "--call-id", "1-14684", "-f", fmt, "-o", out)
        assert code == 0, err
        assert out.stat().st_size > 100
    code, out, _ = cli("ladder", UDP, "--call-id", "1-14684")
    assert "486 Busy Here" in out and "\x1b[" not in out
    code, _, err = cli("ladder", UDP)
    assert code == 2 and "5 calls" in err
    code, _, err = cli("ladder", UDP, "--call-id", "1-146")
    assert code == 2 and "matches 5 calls" in err
    code, _, err = cli("ladder", UDP, "--call-id", "1-14684", "-f", "png")
    assert code == 2 and "-o" in err
    code, _, err = cli("ladder", UDP, "--call-id", "1-14684", "-o", tmp_path / "no" / "such" / "dir.txt")
    assert code == 2 and "cannot write" in err


def test_ladder_names_hosts_from_the_spec(cli, tmp_path):
    spec = tmp_path / "topology.yaml"
    spec.write_text(
        "version: 1\nname: capture-test\ncarriers:\n  - name: carrier-a\n    trunks:\n"
        "      - name: main\n        hosts: [{address: 127.0.3.1, port: 5070, transport: udp}]\n"
        "sbc:\n  domain: sbc.test\n  nodes:\n"
        "    - {name: sbc-1, address: 127.0.3.2, listen: [{transport: udp, port: 5060}]}\n"
        "agents:\n  pipeline: echo\n  instances:\n"
        "    - {name: agent-3, host: 127.0.3.3, sip_port: 5060, health_port: 8081, max_calls: 4}\n"
    )
    code, out, err = cli("ladder", UDP, "--call-id", "1-14682", "--spec", spec, "-f", "mermaid")
    assert code == 0, err
    participants = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("participant")]
    assert participants == ["participant H0 as carrier-a", "participant H1 as sbc-1", "participant H2 as agent-3"]


def test_export_cuts_one_call_with_its_media(cli, tmp_path):
    need_tool("tshark")
    source = shared_pcap("sip-rtp-l16.pcap")
    out = tmp_path / "one.pcap"
    code, _, err = cli("export", source, "--call-id", "1-2120@10.0.2.20", "-o", out)
    assert code == 0, err
    assert tshark_summary(out) == {"1-2120@10.0.2.20": (6, 200)}
    from voxops.capture import scan

    cut = scan(out)
    assert cut.packets == len(cut.sip) + len(cut.udp) and len(cut.udp) > 400  # 8.5 s at 50 packets/s
    # the other calls' RTP stays out: one stream per direction at most
    ports = {(int(s), int(d)) for s, d in zip(cut.udp.sport, cut.udp.dport, strict=True)}
    assert len(ports) <= 2
    frag = tmp_path / "frag.pcap"
    code, _, err = cli("export", DATA / "fragmented.pcap", "--call-id", "1-14959", "-o", frag)
    assert code == 0, err
    assert tshark_summary(frag) == {"1-14959@127.0.3.1": (6, 200)}


def test_ladder_shows_the_calls_rtp_through_the_cli(cli):
    code, out, err = cli("ladder", shared_pcap("sip-rtp-ilbc.pcap"), "-f", "mermaid")
    assert code == 0, err
    assert "RTP iLBC ssrc 0x043eefa7 284 pkts" in out
