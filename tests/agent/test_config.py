"""The agent config: rendered from the topology spec, read back from YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxops.agent.config import (
    AgentConfig,
    agent_config_for,
    dump_agent_config,
    load_agent_config,
)
from voxops.errors import InvalidInput
from voxops.spec.loader import load_topology

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def topology():
    return load_topology(REPO / "voxops" / "data" / "inventories" / "local" / "topology.yaml")[0]


def test_config_for_instance_follows_spec(topology) -> None:
    instance = topology.agents.instances[0]
    cfg = agent_config_for(topology, instance.name)
    assert cfg.name == instance.name
    assert (cfg.sip.address, cfg.sip.port) == (instance.host, instance.sip_port)
    assert [t.value for t in cfg.sip.transports] == ["udp", "tcp"]
    assert (cfg.health.address, cfg.health.port) == (instance.host, instance.health_port)
    assert cfg.max_calls == instance.max_calls
    assert cfg.health.max_cpu_percent == topology.agents.health.max_cpu_percent
    assert cfg.codecs.allow == list(topology.sbc.codec_policy.allow)
    assert not set(cfg.codecs.allow) & set(topology.sbc.codec_policy.deny)
    assert cfg.pipeline == topology.agents.pipeline
    assert [d.name for d in cfg.dependencies] == [d.name for d in topology.agents.dependencies]
    assert cfg.drain_timeout_s == topology.agents.drain_timeout_s


def test_unknown_instance_is_invalid_input(topology) -> None:
    with pytest.raises(InvalidInput, match="no agent instance"):
        agent_config_for(topology, "nope")


def test_yaml_round_trip(tmp_path: Path, topology) -> None:
    cfg = agent_config_for(topology, topology.agents.instances[0].name)
    path = tmp_path / "agent.yaml"
    path.write_text(dump_agent_config(cfg))
    assert load_agent_config(path) == cfg


def test_offer_order_puts_preferred_first() -> None:
    cfg = AgentConfig.model_validate({"codecs": {"allow": ["PCMA", "G722", "PCMU"], "prefer": ["PCMU"]}})
    assert cfg.codecs.offer_order() == ["PCMU", "PCMA", "G722"]


@pytest.mark.parametrize(
    "text, where",
    [
        ("max_calls: 0\n", "max_calls"),
        ("colour: red\n", "colour"),
        ("codecs: {allow: [PCMA], prefer: [PCMU]}\n", "codecs"),
        ("pipeline: 'rm -rf'\n", "pipeline"),
        ("sip: {transports: [udp, tls]}\n", "sip"),
    ],
)
def test_bad_config_names_the_field(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=where):
        load_agent_config(path)


def test_agent_config_command_prints_loadable_yaml(cli, tmp_path: Path) -> None:
    code, out, _ = cli("agent", "config", str(REPO / "voxops" / "data" / "inventories" / "local"), "--instance", "agent-2")
    assert code == 0
    path = tmp_path / "agent-2.yaml"
    path.write_text(out)
    cfg = load_agent_config(path)
    assert cfg.name == "agent-2" and cfg.health.port == 8082


def test_agent_config_command_unknown_instance_exits_2(cli) -> None:
    code, _, err = cli("agent", "config", str(REPO / "voxops" / "data" / "inventories" / "local"), "--instance", "agent-9")
    assert code == 2 and "no agent instance 'agent-9'" in err


@pytest.mark.parametrize(
    "args, message",
    [(["--dependency", "no-equals-sign"], "expected NAME=URL"), (["--pipeline", "x y"], "pipeline")],
)
def test_quick_start_flags_are_validated(cli, args: list[str], message: str) -> None:
    code, _, err = cli("agent", "run", *args)
    assert code == 2 and message in err


def test_quick_start_flags_override_the_file(tmp_path: Path) -> None:
    from voxops.agent.runner import build_config

    path = tmp_path / "a.yaml"
    path.write_text("name: a1\nmax_calls: 2\nsip: {address: 127.0.6.1, port: 5070}\n")
    cfg = build_config(path, sip_port=5080, dependencies=["asr=http://127.0.6.2:9/health"])
    assert (cfg.name, cfg.max_calls, cfg.sip.address, cfg.sip.port) == ("a1", 2, "127.0.6.1", 5080)
    assert [(d.name, d.url) for d in cfg.dependencies] == [("asr", "http://127.0.6.2:9/health")]


def test_rendered_agent_configs_load(cli, tmp_path: Path, topology) -> None:
    """What `voxops render` writes for each agent is a valid AgentConfig for that instance."""
    code, _, err = cli("render", str(REPO / "voxops" / "data" / "inventories" / "local"), "--output", str(tmp_path / "out"))
    assert code == 0, err
    rendered = sorted((tmp_path / "out").glob("*/etc/agent.yaml"))
    assert len(rendered) == len(topology.agents.instances)
    for path in rendered:
        cfg = load_agent_config(path)
        expected = agent_config_for(topology, cfg.name)
        assert (cfg.sip.address, cfg.sip.port) == (expected.sip.address, expected.sip.port)
        assert (cfg.health.address, cfg.health.port) == (expected.health.address, expected.health.port)
        assert cfg.max_calls == expected.max_calls
        assert cfg.codecs == expected.codecs
        assert cfg.pipeline == expected.pipeline
        assert cfg.dependencies == expected.dependencies
