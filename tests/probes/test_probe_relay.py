"""`voxops probe` checks each SBC node's media relay over ng: up while rtpengine answers,
a `media-relay-down` finding naming the node once it stops."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import free_port, need_tool
from tests.probes.specs import write_probe_spec
from tests.support.media_peers import start_rtpengine, wait_ng
from voxops.ops.gate import main as gate_main
from voxops.probes.relay_call import place_test_call
from voxops.render.engine import plan, render_all
from voxops.spec.loader import load_topology

NODE = "127.0.23.40"


def test_probe_names_the_node_whose_relay_stopped(tmp_path: Path, cli) -> None:
    rtpengine = need_tool("rtpengine")
    ng_port, sip_port = free_port(NODE), free_port(NODE)
    spec = write_probe_spec(
        tmp_path,
        trunk_hosts=[{"address": "127.0.23.41", "port": free_port("127.0.23.41")}],
        options_ping={"enabled": False},
        nodes=[{"name": "sbc-1", "address": NODE, "listen": [{"transport": "udp", "port": sip_port}]}],
        sbc_ping={"interval_s": 1, "failure_threshold": 2},
        sbc_extra={"media": {"port_min": 21200, "port_max": 21299, "ng_port": ng_port, "metrics_port": None}},
    )
    topo, _ = load_topology(spec)
    render_all(plan(topo, str(tmp_path / "out")), tmp_path / "out")
    relay = start_rtpengine(rtpengine, tmp_path / "out" / "sbc-1" / "etc" / "rtpengine.conf", tmp_path / "run")
    try:
        wait_ng(NODE, ng_port, relay)
        code, out, _ = cli("probe", spec, "--once", "--target", "sbc-1", "--format", "json")
        report = json.loads(out)
        relays = [t for t in report["targets"] if t["target"]["kind"] == "relay"]
        assert [(t["target"]["host"], t["target"]["port"], t["state"], t["last_code"]) for t in relays] == \
            [(NODE, ng_port, "up", 200)]
        assert "media-relay-down" not in [f["code"] for f in report["findings"]]
    finally:
        relay.stop()
    code, out, _ = cli("probe", spec, "--once", "--target", "sbc-1", "--format", "json")
    findings = [f for f in json.loads(out)["findings"] if f["code"] == "media-relay-down"]
    assert code == 1 and len(findings) == 1, out
    assert findings[0]["evidence"]["target"] == "sbc-1" and f"ng {NODE}:{ng_port}" in findings[0]["message"]
    assert findings[0]["evidence"]["consecutive_failures"] == 2 and findings[0]["runbook"] == "one-way-audio"
    ncode, nout, _ = cli("probe", spec, "--nagios", "--target", "sbc-1")
    assert ncode == 2 and "media relay of sbc-1" in nout


def test_a_relay_only_test_call_crosses_the_relay_both_ways(tmp_path: Path) -> None:
    """The deploy gate's test call: RTP from the public side reaches the private side and back."""
    rtpengine = need_tool("rtpengine")
    public, private, ng_port = "127.0.23.42", "127.0.24.42", free_port("127.0.23.42")
    spec = write_probe_spec(
        tmp_path, options_ping={"enabled": False},
        nodes=[{"name": "sbc-1", "address": public, "listen": [{"transport": "udp", "port": free_port(public)}]}],
        sbc_extra={"media": {"port_min": 21300, "port_max": 21399, "ng_port": ng_port, "metrics_port": None,
                             "nodes": [{"node": "sbc-1", "private": private}]}},
    )
    topo, _ = load_topology(spec)
    render_all(plan(topo, str(tmp_path / "out")), tmp_path / "out")
    relay = start_rtpengine(rtpengine, tmp_path / "out" / "sbc-1" / "etc" / "rtpengine.conf", tmp_path / "run")
    try:
        wait_ng(public, ng_port, relay)
        call = place_test_call(public, ng_port, public, private, packets=20)
        assert call.ok and call.to_private >= 15 and call.to_public >= 15, call
        assert gate_main(["relay-call", public, str(ng_port), public, private, "--timeout", "3"]) == 0
        # nothing listens on the next port: the gate fails instead of hanging
        assert gate_main(["relay-call", public, str(ng_port + 1 if ng_port < 65535 else 1), public, private,
                          "--timeout", "1"]) == 1
    finally:
        relay.stop()
    assert "voxops-gate-" in (tmp_path / "run" / "rtpengine.log").read_text(errors="replace")
