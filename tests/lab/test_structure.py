"""The lab's pieces that need no running lab: its own deploy inventory, what it expects the
deploy to start, who answered a call read from a capture, and no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from tests.support.capture import request, response
from voxops.capture.writer import PcapWriter, udp_frame
from voxops.lab.answers import answered_uris
from voxops.lab.deployed import deployed_processes, lab_inventory
from voxops.lab.state import RunDir
from voxops.spec.loader import load_topology

LAB_SPEC = Path(__file__).parent / "spec"
LAB_PACKAGE = Path(__file__).resolve().parents[2] / "voxops" / "lab"


def test_the_lab_deploys_under_its_run_directory_and_keeps_the_agents(tmp_path) -> None:
    run = RunDir(tmp_path)
    inventory = yaml.safe_load(lab_inventory(run).read_text())
    assert inventory["all"]["vars"]["voxops_prefix"] == str(tmp_path.resolve() / "deploy")
    assert inventory["all"]["vars"]["voxops_run_agents"] is False  # the lab supervises them itself
    assert sorted(inventory["all"]["children"]["sbc"]["hosts"]) == ["sbc-1", "sbc-2"]


def test_each_node_brings_its_relay_and_each_agent_its_rendered_config(tmp_path) -> None:
    topology, _ = load_topology(LAB_SPEC)
    infos = {i.name: i for i in deployed_processes(RunDir(tmp_path), topology)}
    relay = infos["sbc-2-relay"]
    assert (relay.role, relay.address, relay.port) == ("relay", "127.0.9.2", 2223)
    assert relay.pidfile and relay.pidfile.endswith("deploy/sbc-2/run/rtpengine.pid") and relay.argv == []
    assert infos["sbc-1"].pidfile and infos["sbc-1"].argv == []  # started by the deploy, again by deploying
    assert infos["agent-1"].argv[-1].endswith("deploy/agent-1/etc/agent.yaml")


def test_the_answering_branch_is_read_from_the_capture(tmp_path) -> None:
    pcap = tmp_path / "calls.pcap"
    sbc, agent, ivr = "127.0.9.1", "127.0.9.21", "127.0.9.22"
    invite = request("INVITE", "c1", uri="sip:agent@127.0.9.21:5070")
    to_ivr = request("INVITE", "c1", uri="sip:ivr@127.0.9.22:5070", branch="z9hG4bK2")
    with PcapWriter(pcap) as out:
        out.write(1.0, udp_frame(sbc, 5060, agent, 5070, invite))
        out.write(1.1, udp_frame(agent, 5070, sbc, 5060, response(486, "Busy Here", "c1")))
        out.write(1.2, udp_frame(sbc, 5060, ivr, 5070, to_ivr))
        out.write(1.3, udp_frame(ivr, 5070, sbc, 5060, response(200, "OK", "c1", branch="z9hG4bK2")))
        # a 200 from an address the proxy never sent this call to is no answer to it
        out.write(1.4, udp_frame("127.0.9.99", 5070, sbc, 5060, response(200, "OK", "c2")))
    assert answered_uris(pcap, {sbc}) == {"c1": "sip:ivr@127.0.9.22:5070"}


def _imports(module: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("voxops.lab"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("voxops.lab"))
    return found


def test_the_lab_has_no_import_cycle() -> None:
    modules = {f"voxops.lab.{p.stem}": p for p in LAB_PACKAGE.glob("*.py") if p.stem != "__init__"}
    graph = {m: {d for d in _imports(p) if d in modules and d != m} for m, p in modules.items()}
    seen: dict[str, int] = {}  # 1 on the current path, 2 done

    def cycle_from(node: str, path: list[str]) -> list[str] | None:
        seen[node] = 1
        for dep in sorted(graph[node]):
            if seen.get(dep) == 1:
                return [*path[path.index(dep):], dep] if dep in path else [node, dep]
            if dep not in seen and (found := cycle_from(dep, [*path, dep])):
                return found
        seen[node] = 2
        return None

    for module in sorted(graph):
        if module not in seen:
            assert cycle_from(module, [module]) is None
