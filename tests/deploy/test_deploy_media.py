"""`voxops deploy` of SBC nodes with a media relay, on loopback: rtpengine runs beside each
Kamailio under a pid file, the node is gated on the relay's ng ping, a second run changes
nothing, and a relay config that is broken (or cannot run) is rolled back."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port, need_tool
from tests.support.rollout import alive, pid_of, run_deploy, stop_deployed, write_inventory
from voxops.ops.gate import sip_options
from voxops.probes import rtpengine_ng

NODES = ("127.0.23.5", "127.0.23.6")
PRIVATE = ("127.0.24.5", "127.0.24.6")


def _spec(ports: dict[str, int]) -> dict:
    return {
        "version": 1, "name": "deploy-media",
        "carriers": [{"name": "carrier-a", "trunks": [{"name": "carrier-a-main", "hosts": [{"address": "127.0.23.15"}],
                                                       "options_ping": {"enabled": False}}]}],
        "sbc": {
            "domain": "sbc.deploy-media.test", "probing_mode": "marked",
            "nodes": [{"name": f"sbc-{i + 1}", "address": addr, "metrics_port": None,
                       "listen": [{"transport": "udp", "port": ports[f"sip{i}"]}]} for i, addr in enumerate(NODES)],
            "admission": {"max_concurrent_calls": 4},
            "media": {"nodes": [{"node": f"sbc-{i + 1}", "private": p} for i, p in enumerate(PRIVATE)],
                      "port_min": 21100, "port_max": 21199, "ng_port": ports["ng"], "metrics_port": None},
        },
        "agents": {"instances": [{"name": "agent-1", "host": "127.0.24.25", "max_calls": 4}]},
    }


def _pids(prefix: Path) -> dict[tuple[str, str], int]:
    return {(n, p): pid_of(prefix, n, p) for n in ("sbc-1", "sbc-2") for p in ("kamailio", "rtpengine")}


def _pong(address: str, port: int) -> bool:
    try:
        rtpengine_ng.ping(address, port, timeout=1.0)
    except rtpengine_ng.NgError:
        return False
    return True


@pytest.fixture
def site(tmp_path: Path):
    need_tool("kamailio")
    need_tool("rtpengine")
    need_tool("promtool")
    prefix = tmp_path / "prefix"
    ports = {"sip0": free_port(NODES[0]), "sip1": free_port(NODES[1]), "ng": free_port(NODES[0])}
    yield _spec(ports), ports, prefix, write_inventory(tmp_path / "inventory", prefix, run_agents=False)
    stop_deployed(prefix, ((node, name) for node in ("sbc-1", "sbc-2") for name in ("kamailio", "rtpengine")))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_deploy_runs_gates_and_rolls_back_the_media_relay(site, tmp_path: Path) -> None:
    data, ports, prefix, inv = site

    # First run: both relays start before their Kamailio; each node is gated on both.
    report, log = run_deploy(data, tmp_path, inv)
    assert report.rc == 0, log
    assert report.total_changed > 0
    for node in ("sbc-1", "sbc-2"):
        assert f"{node}: restart the media relay: changed" in log
        assert f"{node}: gate on the media relay answering ng ping: ok" in log, log
        assert f"{node}: gate on a test call through the media relay: ok" in log, log
    assert log.index("sbc-1: gate on the media relay") < log.index("sbc-2: configs")
    pids = _pids(prefix)
    assert all(alive(p) for p in pids.values())
    for addr in NODES:
        assert _pong(addr, ports["ng"])
    assert (prefix / "sbc-1" / "last-good" / "rtpengine.conf").read_bytes() == \
        (prefix / "sbc-1" / "etc" / "rtpengine.conf").read_bytes()

    # Second run: nothing changes, nothing restarts.
    report, log = run_deploy(data, tmp_path, inv)
    assert report.rc == 0 and report.total_changed == 0, log
    assert _pids(prefix) == pids

    # A relay config rtpengine would misread: never started, the last good one is back,
    # the running relay is untouched and the rollout stops at the first node.
    conf = prefix / "sbc-1" / "etc" / "rtpengine.conf"
    good = conf.read_bytes()
    broken = tmp_path / "templates"
    shutil.copytree(REPO / "voxops" / "data" / "templates", broken)
    tpl = broken / "rtpengine" / "rtpengine.conf.j2"
    tpl.write_text(tpl.read_text().replace("tos = 184\n", "tos = 184\ntimeout = 5\n"))
    report, log = run_deploy(data, tmp_path, inv, templates=broken)
    assert report.rc != 0 and report.failed == ["sbc-1"], log
    assert "relay config as rtpengine reads it: FAILED" in log, log
    assert "restart the last good media relay: ok" in log, log
    assert conf.read_bytes() == good
    assert _pids(prefix) == pids and _pong(NODES[0], ports["ng"])

    # A relay config that checks out but cannot run (its new ng port is taken): the gate
    # fails, the node goes back to its last good configs, relay and Kamailio both answer.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind((NODES[0], 0))
        data["sbc"]["media"]["ng_port"] = squatter.getsockname()[1]
        report, log = run_deploy(data, tmp_path, inv)
    assert report.rc != 0 and report.failed == ["sbc-1"], log
    assert "gate on the media relay answering ng ping: FAILED" in log, log
    assert conf.read_bytes() == good
    assert _pong(NODES[0], ports["ng"]) and sip_options(NODES[0], ports["sip0"]) == 200
    after = _pids(prefix)
    assert after[("sbc-2", "rtpengine")] == pids[("sbc-2", "rtpengine")]
    assert after[("sbc-2", "kamailio")] == pids[("sbc-2", "kamailio")]
    assert all(alive(p) for p in after.values())
    # Kamailio went back to the last good config too: it points at the old ng port
    assert f'"udp:{NODES[0]}:{ports["ng"]}"' in (prefix / "sbc-1" / "etc" / "kamailio.cfg").read_text()
