"""`voxops deploy` refuses an inventory that does not match the spec before Ansible runs."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import REPO
from voxops.deploy.runner import read_inventory
from voxops.ops.deploy import host_plans
from voxops.render.engine import plan
from voxops.spec.loader import load_topology


def _inv(path: Path, groups: dict, prefix: str | None = "/srv/voxops") -> Path:
    vars_ = {"voxops_prefix": prefix} if prefix else {}
    path.write_text(yaml.safe_dump({"all": {"vars": vars_, "children": {
        g: {"hosts": {h: {} for h in hosts}} for g, hosts in groups.items()}}}))
    return path


def test_shipped_inventories_name_every_host_of_their_spec() -> None:
    for name in ("local", "production"):
        topo, _ = load_topology(REPO / "voxops" / "data" / "inventories" / name)
        inv = read_inventory(REPO / "voxops" / "data" / "inventories" / name)
        assert sorted(inv.groups["sbc"]) == sorted(n.name for n in topo.sbc.nodes)
        assert sorted(inv.groups["agents"]) == sorted(a.name for a in topo.agents.instances)
        assert inv.groups["monitoring"] and inv.prefix and inv.prefix.startswith("/")


def test_missing_host_and_relative_prefix_are_refused(cli, tmp_path: Path) -> None:
    spec = REPO / "voxops" / "data" / "inventories" / "local"
    bad = _inv(tmp_path / "a.yml", {"sbc": ["sbc-1"], "agents": ["agent-1", "agent-2"], "monitoring": ["m"]})
    code, _, err = cli("deploy", spec, "-i", bad)
    assert code == 2 and "sbc-2" in err
    rel = _inv(tmp_path / "b.yml", {"sbc": ["sbc-1", "sbc-2"], "agents": ["agent-1", "agent-2"],
                                    "monitoring": ["m"]}, prefix="relative/dir")
    code, _, err = cli("deploy", spec, "-i", rel)
    assert code == 2 and "voxops_prefix" in err


def test_host_plans_carry_each_hosts_gate() -> None:
    topo, _ = load_topology(REPO / "voxops" / "data" / "inventories" / "local")
    plans = host_plans(topo, plan(topo, "/srv/voxops"))
    assert plans["sbc-2"]["gate"] == {"address": "127.0.9.2", "port": 5060}
    assert plans["agent-1"]["gate"] == {"url": "http://127.0.9.21:8081/readyz"}
    assert [j["dest"] for j in plans["sbc-1"]["jobs"]] == ["sbc-1/etc/kamailio.cfg", "sbc-1/etc/dispatcher.list",
                                                          "sbc-1/etc/rtpengine.conf"]
    assert {j["host"] for j in plans["monitoring"]["jobs"]} == {"monitoring"}


def test_inventory_host_not_in_spec_is_refused_before_ansible(cli, tmp_path: Path) -> None:
    spec = REPO / "voxops" / "data" / "inventories" / "local"
    extra = _inv(tmp_path / "c.yml", {"sbc": ["sbc-1", "sbc-2", "sbc-3"], "agents": ["agent-1", "agent-2"],
                                      "monitoring": ["m"]})
    code, _, err = cli("deploy", spec, "-i", extra, "--check")
    assert code == 2
    assert "sbc-3, not in the spec" in err
    assert "Traceback" not in err and "Task failed" not in err
