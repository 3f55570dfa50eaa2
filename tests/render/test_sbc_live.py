"""The rendered SBC on loopback between SIPp carriers, agents and an IVR: weights, failover, admission, overflow, metrics."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import free_port, need_tool
from tests.support.sip_peers import (
    FakeCarrier,
    count_invites,
    count_responses,
    flood_options,
    metric,
    options_ping,
    run_uac,
    scrape,
    start_kamailio,
    start_uas,
    wait_dispatcher_active,
    wait_udp_listening,
)
from voxops.probes.sip_options import send_options
from voxops.render.engine import plan, render_all
from voxops.spec.loader import load_topology_text

SBC, CAR_A, CAR_B, CALLER, IVR = "127.0.5.1", "127.0.5.11", "127.0.5.12", "127.0.5.21", "127.0.5.30"
INTERVAL_S, THRESHOLD = 1, 2

SPEC = """
version: 1
name: sbc-live
carriers:
  - name: carrier-a
    trunks:
      - {{name: carrier-a-main, hosts: [{{address: {a}, port: {pa}}}], weight: 75,
         options_ping: {{interval_s: {i}, failure_threshold: {t}}}}}
  - name: carrier-b
    trunks:
      - {{name: carrier-b-main, hosts: [{{address: {b}, port: {pb}}}], weight: 25,
         options_ping: {{interval_s: {i}, failure_threshold: {t}}}}}
sbc:
  domain: sbc.live.test
  nodes: [{{name: sbc-live, address: {s}, listen: [{{transport: udp, port: {ps}}}], metrics_port: {pm}}}]
  admission: {{max_concurrent_calls: 5, reject_code: 486}}
  failover_timeout_ms: 500
  ivr_fallback: {{uri: "sip:ivr@{v}:{pv}"}}
agents:
  instances: [{{name: caller, host: {c}, sip_port: {pc}, health_port: {ph}, max_calls: 10}}]
"""

TRUNK_A, TRUNK_B = "carrier-a-main", "carrier-b-main"


@pytest.mark.slow
def test_rendered_sbc_spreads_fails_over_admits_and_counts(tmp_path: Path) -> None:
    kamailio = need_tool("kamailio")
    sipp = need_tool("sipp")
    need_tool("kamcmd")  # the dispatcher's state, asked over the control socket
    ports = {
        "pa": free_port(CAR_A), "pb": free_port(CAR_B), "ps": free_port(SBC), "pc": free_port(CALLER),
        "ph": free_port(CALLER), "pm": free_port(SBC), "pv": free_port(IVR),
    }
    topo = load_topology_text(SPEC.format(a=CAR_A, b=CAR_B, s=SBC, c=CALLER, v=IVR, i=INTERVAL_S, t=THRESHOLD, **ports))
    render_all(plan(topo, str(tmp_path)), tmp_path)
    cfg = tmp_path / "sbc-live" / "etc" / "kamailio.cfg"
    target = f"{SBC}:{ports['ps']}"
    ctl = tmp_path / "sbc-live" / "run" / "kamailio_ctl"
    car_a, car_b = f"{CAR_A}:{ports['pa']}", f"{CAR_B}:{ports['pb']}"
    procs = []
    fake = None
    try:
        uas_a = start_uas(sipp, CAR_A, ports["pa"], tmp_path, "uas-a")
        uas_b = start_uas(sipp, CAR_B, ports["pb"], tmp_path, "uas-b")
        procs += [uas_a, uas_b]
        sbc = start_kamailio(kamailio, cfg, tmp_path / "sbc-live" / "run")
        procs.append(sbc)
        wait_udp_listening(SBC, ports["ps"])
        assert options_ping(SBC, ports["ps"]) == 200  # health reply to OPTIONS for the SBC itself
        # a known scanner gets no answer at all; a flood from one unknown address is cut off
        assert send_options(SBC, ports["ps"], user_agent="friendly-scanner", timeout=0.5).code is None
        replies = flood_options(SBC, ports["ps"], "127.0.5.251", count=200)
        assert 40 <= replies < 200, replies  # flood_limit_per_ip 30/s: pike cuts the burst off
        wait_dispatcher_active(ctl, car_a, car_b)  # first ping round: both carriers up

        # 1. Calls are spread by weight (75 / 25).
        rc, uac_log = run_uac(sipp, target, CALLER, ports["pc"], tmp_path, "uac-spread", calls=100, rate=50, limit=4)
        assert rc == 0, (tmp_path / "sbc-live" / "run" / "kamailio.log").read_text()[-3000:]
        got_a, got_b = count_invites(tmp_path / "uas-a.msg"), count_invites(tmp_path / "uas-b.msg")
        assert got_a + got_b == 100
        assert 60 <= got_a <= 90, (got_a, got_b)

        # 2. A stopped carrier is marked inactive by the OPTIONS pings within interval x threshold.
        uas_b.stop()
        stopped = time.monotonic()
        while time.monotonic() - stopped < INTERVAL_S * THRESHOLD + 3:
            states = [v for (n, ls), v in scrape(SBC, ports["pm"]).items()
                      if n == "voxops_sbc_trunk_up" and ("trunk", TRUNK_B) in ls]
            if states == [0.0]:
                break
            time.sleep(0.1)
        down_after = time.monotonic() - stopped
        # One interval of slack: the stop can fall anywhere inside a ping period.
        assert down_after <= INTERVAL_S * (THRESHOLD + 1) + 0.5, down_after

        # 3. Carrier B comes back answering pings but failing every INVITE with 503:
        # failure_route retries each such call through A, so no call is lost.
        fake = failing = FakeCarrier(CAR_B, ports["pb"])
        wait_dispatcher_active(ctl, car_b)  # pinged back up
        before_a = count_invites(tmp_path / "uas-a.msg")
        rc, _ = run_uac(sipp, target, CALLER, ports["pc"], tmp_path, "uac-failover", calls=40, rate=20, limit=4)
        assert rc == 0
        retried = failing.invites
        assert count_invites(tmp_path / "uas-a.msg") - before_a == 40
        assert retried >= 1  # B really took calls and failed them
        fake.stop()

        # 3b. Carrier B pinged up but silent on INVITEs: each branch times out after
        # failover_timeout_ms, the call goes on through A; still no call lost.
        fake = silent = FakeCarrier(CAR_B, ports["pb"], silent=True)
        wait_dispatcher_active(ctl, car_a, car_b)
        before_a = count_invites(tmp_path / "uas-a.msg")
        rc, _ = run_uac(sipp, target, CALLER, ports["pc"], tmp_path, "uac-timeout", calls=20, rate=10, limit=4)
        assert rc == 0
        assert count_invites(tmp_path / "uas-a.msg") - before_a == 20
        timed_out = silent.invites
        assert timed_out >= 1

        # 4. Over the admission limit (5 concurrent calls) the SBC answers 486.
        rc, busy_log = run_uac(sipp, target, CALLER, ports["pc"], tmp_path, "uac-busy", calls=8, rate=100,
                               limit=8, hold_ms=1500)
        assert count_responses(busy_log, 486) == 3
        assert count_responses(busy_log, 200) >= 5 + 5  # 5 INVITE answers + 5 BYE answers

        # 5. The SBC's own metrics count exactly what was sent.
        m = scrape(SBC, ports["pm"])
        timed_out = silent.invites  # the admission calls may have tried B first too
        answered_a = got_a + 40 + 20 + 5
        assert metric(m, "voxops_sbc_invite_attempts_total", trunk=TRUNK_A) == answered_a
        assert metric(m, "voxops_sbc_invite_answers_total", trunk=TRUNK_A) == answered_a
        assert metric(m, "voxops_sbc_invite_attempts_total", trunk=TRUNK_B) == got_b + retried + timed_out
        assert metric(m, "voxops_sbc_invite_responses_total", trunk=TRUNK_B, code="408") == timed_out
        assert metric(m, "voxops_sbc_invite_answers_total", trunk=TRUNK_B) == got_b
        assert metric(m, "voxops_sbc_invite_responses_total", trunk=TRUNK_B, code="503") == retried
        assert metric(m, "voxops_sbc_invite_responses_total", trunk=TRUNK_A, code="200") == answered_a
        assert metric(m, "voxops_sbc_admission_rejected_total", code="486") == 3
        assert metric(m, "voxops_sbc_pdd_milliseconds_count", trunk=TRUNK_A) == answered_a

        # 6. Calls from a carrier go to the agents; over the admission limit they overflow
        # to the IVR fallback instead of getting 486.
        procs.append(start_uas(sipp, CALLER, ports["pc"], tmp_path, "agent"))
        procs.append(start_uas(sipp, IVR, ports["pv"], tmp_path, "ivr"))
        wait_dispatcher_active(ctl, f"{CALLER}:{ports['pc']}", f"{IVR}:{ports['pv']}")  # agent and IVR pinged up
        rc, inbound_log = run_uac(sipp, target, CAR_A, free_port(CAR_A), tmp_path, "uac-inbound", calls=8,
                                  rate=100, limit=8, hold_ms=1500)
        assert rc == 0 and count_responses(inbound_log, 486) == 0
        assert count_invites(tmp_path / "agent.msg") == 5
        assert count_invites(tmp_path / "ivr.msg") == 3
        m2 = scrape(SBC, ports["pm"])
        assert metric(m2, "voxops_sbc_overflow_total", reason="capacity") == 3
        assert metric(m2, "voxops_sbc_invite_attempts_total") == metric(m, "voxops_sbc_invite_attempts_total")
    finally:
        if fake:
            fake.stop()
        for p in reversed(procs):
            p.stop()


CHANNELS_SPEC = """
version: 1
name: sbc-channels
carriers:
  - name: carrier-a
    trunks: [{{name: carrier-a-main, hosts: [{{address: {a}, port: {pa}}}], weight: 50, limits: {{channels: 2}}}}]
  - name: carrier-b
    trunks: [{{name: carrier-b-main, hosts: [{{address: {b}, port: {pb}}}], weight: 50, limits: {{channels: 1}}}}]
sbc:
  domain: sbc.live.test
  nodes: [{{name: sbc-ch, address: {s}, listen: [{{transport: udp, port: {ps}}}], metrics_port: {pm}}}]
  admission: {{max_concurrent_calls: 20}}
agents:
  instances: [{{name: caller, host: {c}, sip_port: {pc}, health_port: {ph}}}]
"""


@pytest.mark.slow
def test_trunk_channel_limits_send_calls_on_then_refuse(tmp_path: Path) -> None:
    kamailio = need_tool("kamailio")
    sipp = need_tool("sipp")
    ports = {
        "pa": free_port(CAR_A), "pb": free_port(CAR_B), "ps": free_port(SBC), "pc": free_port(CALLER),
        "ph": free_port(CALLER), "pm": free_port(SBC),
    }
    topo = load_topology_text(CHANNELS_SPEC.format(a=CAR_A, b=CAR_B, s=SBC, c=CALLER, **ports))
    render_all(plan(topo, str(tmp_path)), tmp_path)
    procs = []
    try:
        procs.append(start_uas(sipp, CAR_A, ports["pa"], tmp_path, "uas-a"))
        procs.append(start_uas(sipp, CAR_B, ports["pb"], tmp_path, "uas-b"))
        procs.append(start_kamailio(kamailio, tmp_path / "sbc-ch" / "etc" / "kamailio.cfg", tmp_path / "sbc-ch" / "run"))
        wait_udp_listening(SBC, ports["ps"])
        # five calls held at once: two fit on A, one on B, two find every trunk full
        rc, log = run_uac(sipp, f"{SBC}:{ports['ps']}", CALLER, ports["pc"], tmp_path, "uac", calls=5, rate=100,
                          limit=5, hold_ms=2000)
        assert count_invites(tmp_path / "uas-a.msg") == 2
        assert count_invites(tmp_path / "uas-b.msg") == 1
        assert count_responses(log, 503) == 2
        # channels come back when the calls end
        rc, log = run_uac(sipp, f"{SBC}:{ports['ps']}", CALLER, ports["pc"], tmp_path, "uac2", calls=3, rate=100,
                          limit=3, hold_ms=500)
        assert rc == 0 and count_responses(log, 503) == 0
    finally:
        for p in reversed(procs):
            p.stop()
