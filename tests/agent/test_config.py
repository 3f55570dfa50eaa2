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
    return load_topology(REPO / "inventories" / "local" / "topology.yaml")[0]


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
