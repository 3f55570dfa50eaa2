"""`voxops deploy` against a local inventory on loopback: idempotent, dry run, rollback."""

from __future__ import annotations

import os
import shutil
import socket
import stat
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port, need_tool
from tests.support.rollout import alive, pid_of, run_deploy, stop_deployed, write_inventory
from tests.support.specs import spec
from voxops.ops.gate import sip_options
from voxops.render.engine import plan, render_all, resolve_secrets
from voxops.spec.loader import load_topology

NODES = ("127.0.5.1", "127.0.5.2")


@pytest.fixture
def lab(tmp_path: Path, monkeypatch):
    need_tool("kamailio")
    need_tool("promtool")
    prefix = tmp_path / "prefix"
    ports = [free_port(a) for a in NODES]
    data = spec()
    data["agents"]["instances"] = data["agents"]["instances"][:1]
    agent = data["agents"]["instances"][0]
    agent["sip_port"], agent["health_port"] = free_port(agent["host"]), free_port(agent["host"])
    agent["max_calls"] = 2
    data["agents"]["drain_timeout_s"] = 2
    data["carriers"][1]["trunks"][0]["credentials"] = {"username": "acme", "password": {"env": "VOXOPS_TEST_PW"}}
    monkeypatch.setenv("VOXOPS_TEST_PW", "first-s3cret")
    # readiness also looks at host CPU: on a loaded test machine that alone would fail the gate
    data["agents"]["health"] = {"max_cpu_percent": 100, "max_memory_percent": 100}
    for node, port in zip(data["sbc"]["nodes"], ports, strict=True):
        node["listen"][0]["port"] = port
        node["metrics_port"] = free_port(node["address"])
    yield data, ports, prefix, write_inventory(tmp_path / "inventory", prefix, run_agents=True)
    stop_deployed(prefix, (("sbc-1", "kamailio"), ("sbc-2", "kamailio"), ("agent-1", "agent")))


@pytest.mark.slow
@pytest.mark.timeout(900)  # several Ansible runs: about 250 s on a lightly loaded 2-core machine
def test_deploy_is_idempotent_dry_runs_and_rolls_back(lab, tmp_path: Path) -> None:
    data, ports, prefix, inv = lab

    # First run: everything changes, both nodes answer OPTIONS, files are tight.
    report, log = run_deploy(data, tmp_path, inv)
    assert report.rc == 0, log
    assert report.total_changed > 0
    assert "sbc-1: gate on SIP OPTIONS 200: ok" in log and "sbc-2: gate on SIP OPTIONS 200: ok" in log
    assert log.index("sbc-1: gate") < log.index("sbc-2: configs")  # one node at a time
    assert "agent-1: gate on /readyz 200: ok" in log
    agent_pid = int((prefix / "agent-1" / "run" / "agent.pid").read_text())
    assert alive(agent_pid)
    pids = {n: pid_of(prefix, n) for n in ("sbc-1", "sbc-2")}
    for addr, port in zip(NODES, ports, strict=True):
        assert sip_options(addr, port) == 200
    cfg = prefix / "sbc-1" / "etc" / "kamailio.cfg"
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o640
    creds = prefix / "sbc-1" / "etc" / "credentials.cfg"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600 and "first-s3cret" in creds.read_text()
    assert "first-s3cret" not in log

    # What Ansible's template module wrote is byte-identical to `voxops render`.
    topo, _ = load_topology(tmp_path / "topology.yaml")
    jobs = plan(topo, str(prefix), resolve_secrets(topo, tmp_path))
    render_all(jobs, tmp_path / "rendered")
    for job in jobs:
        assert (prefix / job.dest).read_bytes() == (tmp_path / "rendered" / job.dest).read_bytes(), job.dest

    # Second run: nothing changes, nothing restarts.
    report, log = run_deploy(data, tmp_path, inv)
    assert report.rc == 0 and report.total_changed == 0, log
    assert {n: pid_of(prefix, n) for n in pids} == pids
    assert alive(agent_pid) and int((prefix / "agent-1" / "run" / "agent.pid").read_text()) == agent_pid

    # --check --diff: shows the change, changes nothing.
    before = cfg.read_bytes(), (prefix / "sbc-1" / "etc" / "dispatcher.list").read_bytes()
    data["carriers"][0]["trunks"][0]["weight"] = 70
    os.environ["VOXOPS_TEST_PW"] = "second-s3cret"  # the secret changes too: its diff stays hidden
    report, log = run_deploy(data, tmp_path, inv, check=True, diff=True)
    os.environ["VOXOPS_TEST_PW"] = "first-s3cret"
    assert report.rc == 0, log
    assert "s3cret" not in log + "".join(report.diffs)
    assert report.total_changed > 0
    assert any("-1 sip:127.0.5.11:5060 0 0 rweight=60" in d and "+1 sip:127.0.5.11:5060 0 0 rweight=70" in d
               for d in report.diffs)
    assert (cfg.read_bytes(), (prefix / "sbc-1" / "etc" / "dispatcher.list").read_bytes()) == before
    assert {n: pid_of(prefix, n) for n in pids} == pids

    # Applied for real (plus an agent change): both nodes restart one after the other,
    # the agent is drained, restarted and gated on /readyz.
    data["agents"]["drain_timeout_s"] = 3
    report, log = run_deploy(data, tmp_path, inv)
    assert report.rc == 0, log
    assert "agent-1: drain (readiness 503, active calls finish), then stop: changed" in log
    assert "agent-1: gate on /readyz 200: ok" in log
    assert log.index("sbc-1: gate") < log.index("sbc-2: configs")
    new_pids = {n: pid_of(prefix, n) for n in pids}
    assert all(new_pids[n] != pids[n] and alive(new_pids[n]) for n in pids)
    assert not alive(agent_pid)
    assert alive(int((prefix / "agent-1" / "run" / "agent.pid").read_text()))
    pids = new_pids
    before = cfg.read_bytes(), b""

    # A config that fails `kamailio -c`: never started, previous config restored and still running.
    broken = tmp_path / "templates"
    shutil.copytree(REPO / "voxops" / "data" / "templates", broken)
    tpl = broken / "kamailio" / "kamailio.cfg.j2"
    tpl.write_text(tpl.read_text().replace("dlg_manage();", "dlg_manage_typo();"))
    report, _ = run_deploy(data, tmp_path, inv, templates=broken)
    assert report.rc != 0 and report.failed == ["sbc-1"]
    assert cfg.read_bytes() == before[0]
    assert alive(pids["sbc-1"]) and sip_options(NODES[0], ports[0]) == 200
    assert pid_of(prefix, "sbc-2") == pids["sbc-2"]  # the rollout stopped at the first node

    # A spec change the node cannot run (its new port is taken): the gate fails, the
    # previous config comes back and answers again; the second node is never touched.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind((NODES[0], 0))
        data["sbc"]["nodes"][0]["listen"][0]["port"] = squatter.getsockname()[1]
        report, log = run_deploy(data, tmp_path, inv)
    assert report.rc != 0 and report.failed == ["sbc-1"], log
    assert "previous config restored" in log
    assert cfg.read_bytes() == before[0]
    assert sip_options(NODES[0], ports[0]) == 200
    assert pid_of(prefix, "sbc-2") == pids["sbc-2"]
