"""Property: any valid topology survives model -> YAML -> model unchanged."""

from __future__ import annotations

import ipaddress

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voxops.spec.loader import load_topology_text
from voxops.spec.models import (
    AgentInstance,
    AgentPool,
    Carrier,
    OptionsPing,
    Sbc,
    SbcNode,
    Topology,
    Trunk,
    TrunkHost,
)
from voxops.spec.types import Transport

names = st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)
ipv4 = st.ip_addresses(v=4).map(str)
ip_any = st.one_of(ipv4, st.ip_addresses(v=6).map(lambda a: str(ipaddress.ip_address(a))))
ports = st.integers(1, 65535)


@st.composite
def topologies(draw) -> Topology:
    carrier_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    trunk_names = draw(st.lists(names, min_size=len(carrier_names), max_size=len(carrier_names), unique=True))
    hosts = draw(st.lists(ipv4, min_size=len(carrier_names), max_size=len(carrier_names), unique=True))
    carriers = [
        Carrier(
            name=c,
            trunks=[
                Trunk(
                    name=t,
                    hosts=[TrunkHost(address=h, port=draw(ports), transport=draw(st.sampled_from([Transport.udp, Transport.tcp])))],
                    weight=draw(st.integers(1, 100)),
                    priority=draw(st.integers(0, 255)),
                    codecs=draw(st.lists(st.sampled_from(["PCMU", "PCMA", "G722", "OPUS"]), max_size=3, unique=True)),
                    options_ping=OptionsPing(
                        enabled=draw(st.booleans()),
                        interval_s=draw(st.integers(1, 3600)),
                        failure_threshold=draw(st.integers(1, 100)),
                    ),
                )
            ],
        )
        for c, t, h in zip(carrier_names, trunk_names, hosts, strict=True)
    ]
    node_addrs = draw(st.lists(ip_any, min_size=1, max_size=3, unique=True))
    nodes = [SbcNode(name=f"sbc-{i}", address=a) for i, a in enumerate(node_addrs)]
    agent_hosts = draw(st.lists(ipv4, min_size=1, max_size=4, unique=True))
    agents = [
        AgentInstance(name=f"agent-{i}", host=h, sip_port=5070, health_port=8080, max_calls=draw(st.integers(1, 1000)))
        for i, h in enumerate(agent_hosts)
    ]
    return Topology(
        name=draw(names),
        carriers=carriers,
        sbc=Sbc(domain="sbc.example.test", srv_name="_sip._udp.sbc.example.test", nodes=nodes),
        agents=AgentPool(instances=agents),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topologies())
def test_model_yaml_model_roundtrip(topology):
    text = yaml.safe_dump(topology.model_dump(mode="json"), sort_keys=False)
    assert load_topology_text(text) == topology
