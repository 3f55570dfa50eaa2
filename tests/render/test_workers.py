"""Agent workers: N processes per agent host, each in the SBC's dispatcher set, each with
its own config, ports and readiness gate; capacity reported by `voxops validate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.support.specs import spec, write_spec
from voxops.agent.config import agent_config_for, load_agent_config
from voxops.ops.deploy import host_plans
from voxops.ops.render import render_spec
from voxops.render.engine import plan
from voxops.spec.loader import load_topology


def _spec(tmp_path: Path, workers: int = 3, **pool: object) -> Path:
    data = spec()
    data["agents"]["instances"][0]["workers"] = workers
    data["agents"].update(pool)
    return write_spec(data, tmp_path / "topology.yaml")


def test_every_worker_is_a_dispatcher_destination_with_its_own_config(tmp_path: Path) -> None:
    path = _spec(tmp_path)
    render_spec(path, tmp_path / "out")
    disp = (tmp_path / "out" / "sbc-1" / "etc" / "dispatcher.list").read_text()
    for port, name in ((5070, "agent-1"), (5071, "agent-1-w1"), (5072, "agent-1-w2"), (5070, "agent-2")):
        assert f"sip:127.0.5.{21 if name.startswith('agent-1') else 22}:{port} 0 0 rweight=4;trunk={name};" in disp
    etc = tmp_path / "out" / "agent-1" / "etc"
    configs = [load_agent_config(etc / f) for f in ("agent.yaml", "agent-w1.yaml", "agent-w2.yaml")]
    assert [(c.sip.port, c.health.port) for c in configs] == [(5070, 8081), (5071, 8082), (5072, 8083)]
    assert len({c.ivr.db for c in configs}) == 3  # no two workers share a database
    assert "agent-w2.yaml" in (etc / "voxops-agent-agent-1-w2.service").read_text()
    assert not (tmp_path / "out" / "agent-2" / "etc" / "agent-w1.yaml").exists()


def test_deploy_plan_starts_drains_and_gates_every_worker(tmp_path: Path) -> None:
    topo, _ = load_topology(_spec(tmp_path, workers=2))
    plans = host_plans(topo, plan(topo, "/opt/voxops"))
    assert plans["agent-1"]["workers"] == [
        {"config": "etc/agent.yaml", "pid": "run/agent.pid", "log": "log/agent.log",
         "gate": "http://127.0.5.21:8081/readyz"},
        {"config": "etc/agent-w1.yaml", "pid": "run/agent-w1.pid", "log": "log/agent-w1.log",
         "gate": "http://127.0.5.21:8082/readyz"},
    ]
    assert len(plans["agent-2"]["workers"]) == 1


def test_worker_ports_colliding_with_another_listener_are_refused(tmp_path: Path, cli: Any) -> None:
    data = spec()
    data["agents"]["instances"][0]["workers"] = 2
    data["agents"]["instances"][1].update(host="127.0.5.21", sip_port=5071, health_port=9000)
    code, _, err = cli("validate", write_spec(data, tmp_path / "t.yaml"))
    assert code == 2
    assert "duplicate listening socket '127.0.5.21:5071/udp'" in err


def test_validate_reports_host_capacity_against_admission(tmp_path: Path, cli: Any) -> None:
    code, out, _ = cli("validate", _spec(tmp_path), "--format", "json")
    report = json.loads(out)
    assert report["capacity"] == {
        "hosts": [{"name": "agent-1", "workers": 3, "calls_per_worker": 4, "calls": 12},
                  {"name": "agent-2", "workers": 1, "calls_per_worker": 4, "calls": 4}],
        "total_calls": 16,
        "admission_limit": 100,
    }
    _, _, err = cli("validate", _spec(tmp_path))
    assert "capacity: 16 concurrent calls: agent-1 12 (4 x 3 worker(s))" in err


def test_websocket_pool_reaches_every_worker_config(tmp_path: Path) -> None:
    bot = {"url": "wss://bot.example.com:8443/media", "parameters": {"tenant": "acme, inc: east"},
           "auth": {"value": {"env": "BOT_TOKEN"}}, "on_close": "ivr"}
    path = _spec(tmp_path, workers=2, pipeline="websocket", websocket=bot)
    render_spec(path, tmp_path / "out")
    rendered = load_agent_config(tmp_path / "out" / "agent-1" / "etc" / "agent-w1.yaml")
    topo, _ = load_topology(path)
    assert rendered.websocket == agent_config_for(topo, "agent-1-w1").websocket
    assert rendered.websocket is not None and rendered.websocket.parameters == {"tenant": "acme, inc: east"}
    assert yaml.safe_load((tmp_path / "out" / "agent-1" / "etc" / "agent-w1.yaml").read_text())["pipeline"] == "websocket"


def test_websocket_pipeline_without_a_bot_is_invalid(tmp_path: Path, cli: Any) -> None:
    code, _, err = cli("validate", _spec(tmp_path, pipeline="websocket"))
    assert code == 2
    assert "pipeline websocket needs a websocket section" in err
