"""`voxops probe` against SIPp UAS peers on 127.0.7.x: up/down by the threshold rule."""

from __future__ import annotations

import json
import subprocess
import time

from tests.conftest import need_tool
from tests.probes.specs import write_probe_spec
from tests.support.probe_peers import addr, port_on, sipp_uas, stop
from voxops.probes.monitor import Monitor, State, Target, TargetStatus, apply
from voxops.probes.sip_options import OptionsResult


def _target(host: str, port: int, threshold: int) -> Target:
    return Target(name="carrier-a/main", kind="trunk", host=host, port=port, transport="udp",
                  interval_s=1, failure_threshold=threshold, success_threshold=1, reply_codes=[200])


def test_down_after_exactly_the_threshold_and_up_again(tmp_path):
    """At the spec's interval (1 s): up, SIPp stopped -> down at the third miss, restarted -> up."""
    host = addr(20)
    port = port_on(host)
    monitor = Monitor([_target(host, port, threshold=3)], timeout=0.5)
    with sipp_uas(host, port, tmp_path) as uas:
        monitor.tick()
        assert monitor.statuses[0].state is State.up and monitor.statuses[0].last_code == 200
        stop(uas)
    seen = []
    started = time.monotonic()
    for _ in range(3):
        monitor.tick()
        seen.append((monitor.statuses[0].state, monitor.statuses[0].consecutive_failures))
    elapsed = time.monotonic() - started
    assert seen == [(State.up, 1), (State.up, 2), (State.down, 3)]
    assert 2.0 < elapsed < 3.5  # three probes one interval apart
    with sipp_uas(host, port, tmp_path):
        changes = monitor.tick()
    assert changes == [(0, State.down)]
    assert monitor.statuses[0].state is State.up and monitor.statuses[0].consecutive_failures == 0


def test_once_reports_each_target_and_a_dead_trunk(tmp_path, cli):
    host = addr(21)
    live, dead = port_on(host), port_on(host)
    spec = write_probe_spec(
        tmp_path,
        trunk_hosts=[{"address": host, "port": dead}],
        options_ping={"interval_s": 1, "failure_threshold": 2},
        nodes=[{"name": "sbc-1", "address": host, "listen": [{"transport": "udp", "port": live}]}],
    )
    prom = tmp_path / "voxops_probe.prom"
    with sipp_uas(host, live, tmp_path):
        code, out, _ = cli("probe", spec, "--once", "--format", "json", "--prometheus", prom)
        ncode, nout, _ = cli("probe", spec, "--nagios")
        only_code, only_out, _ = cli("probe", spec, "--once", "--target", "sbc-1", "--format", "json")
    assert code == 1
    report = json.loads(out)
    states = {t["target"]["name"]: t for t in report["targets"]}
    assert states["sbc-1"]["state"] == "up" and states["sbc-1"]["last_code"] == 200
    trunk = states["carrier-a/carrier-a-main"]
    assert trunk["state"] == "down" and trunk["consecutive_failures"] == 2  # the trunk's own threshold
    assert [f["code"] for f in report["findings"]] == ["trunk-down"]
    assert report["findings"][0]["runbook"] == "trunk-down"

    assert ncode == 2
    assert nout.startswith("SIP_OPTIONS CRITICAL - carrier-a/carrier-a-main")
    assert "'targets_down'=1;;;0;2" in nout and f"'sbc-1_udp_{host}_{live}_rtt'=" in nout

    assert only_code == 0
    assert [t["target"]["name"] for t in json.loads(only_out)["targets"]] == ["sbc-1"]

    text = prom.read_text()
    assert f'voxops_sip_options_up{{target="sbc-1",kind="sbc",address="{host}",port="{live}",transport="udp"}} 1' in text
    assert f'voxops_sip_options_up{{target="carrier-a/carrier-a-main",kind="trunk",address="{host}",port="{dead}",transport="udp"}} 0' in text
    promtool = need_tool("promtool")
    check = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=20)
    assert check.returncode == 0, check.stderr.decode() + check.stdout.decode()
    assert not list(tmp_path.glob(".voxops_probe.prom.*"))  # no temp file left behind


def test_loop_logs_state_changes_at_the_spec_interval(tmp_path, cli):
    host = addr(22)
    dead = port_on(host)
    spec = write_probe_spec(
        tmp_path,
        trunk_hosts=[{"address": host, "port": dead}],
        options_ping={"interval_s": 1, "failure_threshold": 3},
        nodes=[{"name": "sbc-1", "address": host, "listen": [{"transport": "udp", "port": dead}]}],
        sbc_ping={"interval_s": 1, "failure_threshold": 3},
    )
    started = time.monotonic()
    code, out, _ = cli("probe", spec, "--rounds", "3")
    elapsed = time.monotonic() - started
    assert code == 1
    lines = out.strip().splitlines()
    assert len(lines) == 2 and all("unknown -> down (connection refused)" in line for line in lines)
    assert 1.8 < elapsed < 4.0  # three probes one interval apart, not three timeouts


def test_unknown_target_is_invalid_input(tmp_path, cli):
    spec = write_probe_spec(tmp_path)
    code, _, err = cli("probe", spec, "--once", "--target", "nope")
    assert code == 2 and "no trunk, carrier or SBC node named 'nope'" in err
    code, out, _ = cli("probe", spec, "--nagios", "--target", "nope")
    assert code == 3 and out.startswith("SIP_OPTIONS UNKNOWN - no trunk")


def test_watch_shows_the_live_table(tmp_path, cli):
    host = addr(23)
    port = port_on(host)
    spec = write_probe_spec(tmp_path, trunk_hosts=[{"address": host, "port": port}],
                      options_ping={"interval_s": 1}, nodes=[{"name": "sbc-1", "address": host,
                                                              "listen": [{"transport": "udp", "port": port}]}],
                      sbc_ping={"interval_s": 1})
    with sipp_uas(host, port, tmp_path):
        code, out, _ = cli("probe", spec, "--watch", "--rounds", "2")
    assert code == 0
    rows = [line for line in out.splitlines() if f"udp:{host}:{port}" in line]
    assert rows and all(" up " in row and " 200 " in row for row in rows[-2:])
    assert "carrier-a/carrier-a-main" in out and "sbc-1" in out


def test_a_reply_outside_reply_codes_is_a_miss():
    target = _target("127.0.7.24", 5060, threshold=2).model_copy(update={"reply_codes": [200, 404]})
    status = TargetStatus(target=target)
    status = apply(status, OptionsResult(code=404, rtt_ms=1.0), now=1.0)
    assert status.state is State.up  # 404 is accepted by this trunk's reply_codes
    status = apply(status, OptionsResult(code=503, rtt_ms=1.0), now=2.0)
    assert status.state is State.up and status.consecutive_failures == 1
    assert status.last_error == "reply 503 is not an accepted code (200, 404)"
    status = apply(status, OptionsResult(code=503, rtt_ms=1.0), now=3.0)
    assert status.state is State.down and status.changed_at == 3.0 and status.failures == 2


def test_loop_json_is_one_change_per_line(tmp_path, cli):
    host = addr(25)
    spec = write_probe_spec(tmp_path, trunk_hosts=[{"address": host, "port": port_on(host)}],
                      options_ping={"interval_s": 1, "failure_threshold": 1},
                      nodes=[{"name": "sbc-1", "address": host, "listen": [{"transport": "udp", "port": port_on(host)}]}],
                      sbc_ping={"interval_s": 1, "failure_threshold": 1})
    code, out, _ = cli("probe", spec, "--rounds", "1", "--format", "json")
    changes = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert sorted(c["target"]["name"] for c in changes) == ["carrier-a/carrier-a-main", "sbc-1"]
    assert all(c["from"] == "unknown" and c["to"] == "down" for c in changes)
