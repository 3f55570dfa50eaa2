"""The rendered SBC with its media relay on loopback: a SIPp carrier calls a SIPp agent
through Kamailio + rtpengine; a capture on lo, read by tshark, shows RTP on both legs and
nothing of the carrier reaching the agent. A call that fails frees its relay session; with
the relay down the node answers 503 and counts it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import free_port, need_tool
from tests.support.media_peers import rtp_count, start_capture, start_rtpengine, udp_flows, wait_ng
from tests.support.sip_peers import Proc, metric, scrape, start_kamailio, wait_udp_listening
from voxops.lab.scenarios import CarrierMode, caller_scenario, carrier_scenario, write_media
from voxops.render.engine import plan, render_all
from voxops.spec.loader import load_topology_text

CARRIER, SBC_PUBLIC, SBC_PRIVATE, AGENT = "127.0.23.11", "127.0.23.1", "127.0.24.1", "127.0.24.21"
TRUNK = "carrier-a-main"

SPEC = """
version: 1
name: media-live
carriers:
  - name: carrier-a
    trunks:
      - {{name: {trunk}, hosts: [{{address: {carrier}, port: {pc}}}], options_ping: {{enabled: false}}}}
sbc:
  domain: sbc.media.test
  probing_mode: marked
  nodes: [{{name: sbc-media, address: {public}, listen: [{{transport: udp, port: {ps}}}], metrics_port: {pm}}}]
  admission: {{max_concurrent_calls: 4}}
  media:
    nodes: [{{node: sbc-media, public: {public}, private: {private}}}]
    port_min: 21000
    port_max: 21099
    ng_port: {ng}
    metrics_port: {rm}
agents:
  instances: [{{name: agent-1, host: {agent}, sip_port: {pa}, health_port: {ph}, max_calls: 4}}]
"""


def _call(sipp: str, workdir: Path, target: str, port: int, rtp_port: int, audio: Path, name: str) -> int:
    scen = workdir / f"{name}.xml"
    scen.write_text(caller_scenario(audio=audio, hold_ms=2000, answer_timeout_ms=5000))
    cp = subprocess.run([sipp, target, "-sf", str(scen), "-s", "agent", "-i", CARRIER, "-p", str(port),
                         "-mi", CARRIER, "-mp", str(rtp_port), "-m", "1", "-r", "1", "-l", "1", "-nostdin",
                         "-timeout", "20s", "-trace_msg", "-message_file", str(workdir / f"{name}.msg")],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir, timeout=40)
    return cp.returncode


def _agent(sipp: str, workdir: Path, port: int, rtp_port: int, mode: CarrierMode, audio: Path, g729: Path) -> Proc:
    scen = workdir / f"agent-{mode.value}.xml"
    scen.write_text(carrier_scenario(mode, audio=audio, g729=g729))
    return Proc([sipp, "-sf", str(scen), "-i", AGENT, "-p", str(port), "-mi", AGENT, "-mp", str(rtp_port),
                 "-aa", "-nostdin", "-trace_msg", "-message_file", str(workdir / f"agent-{mode.value}.msg")],
                workdir / f"agent-{mode.value}.log", workdir)


def _relay_sessions(port: int) -> tuple[float, float]:
    """(sessions the relay holds now, sessions it ever managed), from its own /metrics."""
    samples = scrape(SBC_PUBLIC, port)
    return metric(samples, "rtpengine_sessions", type="own"), metric(samples, "rtpengine_sessions_total")


def _wait_relay_idle(port: int, timeout: float = 5) -> tuple[float, float]:
    end = time.monotonic() + timeout
    while True:
        held, total = _relay_sessions(port)
        if held == 0 or time.monotonic() > end:
            return held, total
        time.sleep(0.1)


@pytest.mark.slow
def test_media_is_anchored_on_both_legs_and_the_agent_never_sees_the_carrier(tmp_path: Path) -> None:
    kamailio, rtpengine, sipp = need_tool("kamailio"), need_tool("rtpengine"), need_tool("sipp")
    dumpcap, tshark, kamcmd = need_tool("dumpcap"), need_tool("tshark"), need_tool("kamcmd")
    # free_port hands out ephemeral ports (32768-60999); the relay's RTP range sits below
    # them so a listener can never land inside it.
    ports = {"pc": free_port(CARRIER), "ps": free_port(SBC_PUBLIC), "pm": free_port(SBC_PUBLIC),
             "ng": free_port(SBC_PUBLIC), "rm": free_port(SBC_PUBLIC), "pa": free_port(AGENT), "ph": free_port(AGENT)}
    topo = load_topology_text(SPEC.format(trunk=TRUNK, carrier=CARRIER, public=SBC_PUBLIC, private=SBC_PRIVATE,
                                          agent=AGENT, **ports))
    render_all(plan(topo, str(tmp_path)), tmp_path)
    etc, run = tmp_path / "sbc-media" / "etc", tmp_path / "sbc-media" / "run"
    audio, g729 = write_media(tmp_path / "media")
    pcap = tmp_path / "relay.pcapng"
    procs: list[Proc] = []
    try:
        procs.append(start_capture(dumpcap, [CARRIER, SBC_PUBLIC, SBC_PRIVATE, AGENT], pcap))
        relay = start_rtpengine(rtpengine, etc / "rtpengine.conf", run)
        procs.append(relay)
        wait_ng(SBC_PUBLIC, ports["ng"], relay)
        procs.append(start_kamailio(kamailio, etc / "kamailio.cfg", run))
        wait_udp_listening(SBC_PUBLIC, ports["ps"])
        agent = _agent(sipp, tmp_path, ports["pa"], free_port(AGENT), CarrierMode.answer, audio, g729)
        procs.append(agent)
        target = f"{SBC_PUBLIC}:{ports['ps']}"

        rc = _call(sipp, tmp_path, target, ports["pc"], free_port(CARRIER), audio, "call")
        log = (run / "kamailio.log").read_text(errors="replace")[-3000:]
        assert rc == 0, log
        assert _wait_relay_idle(ports["rm"]) == (0, 1), "the BYE did not free the relay session"
        sbc_metrics = scrape(SBC_PUBLIC, ports["pm"])
        assert metric(sbc_metrics, "voxops_sbc_relay_calls_total", trunk=TRUNK) == 1
        assert metric(sbc_metrics, "voxops_sbc_relay_unavailable_total") == 0

        # the agent fails the next call: the failure route frees its relay session
        agent.stop()
        procs.append(_agent(sipp, tmp_path, ports["pa"], free_port(AGENT), CarrierMode.reject, audio, g729))
        time.sleep(0.5)
        _call(sipp, tmp_path, target, ports["pc"], free_port(CARRIER), audio, "failed")
        # the agent's 503 reaches the carrier as 500 (a proxy never forwards a 503, RFC 3261 16.7)
        assert "SIP/2.0 500" in (tmp_path / "failed.msg").read_text(errors="replace")
        assert _wait_relay_idle(ports["rm"]) == (0, 2), "a failed call left its session on the relay"
        time.sleep(0.5)  # the last packets reach the capture

        # the relay stops: the node answers 503 at once, so the carrier can take the call elsewhere
        relay.stop()
        # the agent's 503 marked it inactive: make it a candidate again, as its pings would
        subprocess.run([kamcmd, "-s", f"unix:{run / 'kamailio_ctl'}", "dispatcher.set_state", "a", "2",
                        f"sip:{AGENT}:{ports['pa']}"], check=True, capture_output=True, timeout=10)
        _call(sipp, tmp_path, target, ports["pc"], free_port(CARRIER), audio, "relay-down")
        assert "SIP/2.0 503 Media Relay Unavailable" in (tmp_path / "relay-down.msg").read_text(errors="replace")
        assert metric(scrape(SBC_PUBLIC, ports["pm"]), "voxops_sbc_relay_unavailable_total", trunk=TRUNK) == 1
    finally:
        for proc in reversed(procs):
            proc.stop()

    flows = udp_flows(tshark, pcap, [ports["pc"], ports["ps"], ports["pa"]])
    # RTP both ways on the carrier leg (carrier <-> public side) and on the agent leg
    legs = {(CARRIER, SBC_PUBLIC), (SBC_PUBLIC, CARRIER), (AGENT, SBC_PRIVATE), (SBC_PRIVATE, AGENT)}
    counts = {leg: rtp_count(flows, *leg) for leg in legs}
    assert all(n >= 50 for n in counts.values()), counts  # 2 s at 50 packets a second, each way
    # not one packet of any kind between the carrier and the agent
    assert not [f for f in flows if {f["ip.src"], f["ip.dst"]} == {CARRIER, AGENT}]
    # SDP toward the agent names only the relay's private side, toward the carrier its public side
    sdp_to = {dst: {a for f in flows if f["ip.dst"] == dst
                    for a in (f["sdp.connection_info.address"] + "," + f["sdp.owner.address"]).split(",") if a}
              for dst in (AGENT, CARRIER)}
    assert sdp_to[AGENT] == {SBC_PRIVATE}, sdp_to
    assert sdp_to[CARRIER] == {SBC_PUBLIC}, sdp_to
