"""Cross-field rules: unique names, references that resolve, ports that do not clash, files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from voxops.spec.models import Topology, Transport
from voxops.spec.yamlpos import Loc, dotted

Problem = tuple[Loc, str]


def _unique(items: list[tuple[Loc, str]], what: str) -> Iterator[Problem]:
    seen: dict[str, Loc] = {}
    for loc, key in items:
        if key in seen:
            yield loc, f"duplicate {what} '{key}' (first at {dotted(seen[key])})"
        else:
            seen[key] = loc


def resolve_path(path: str, base_dir: Path | None) -> Path:
    p = Path(path)
    return p if p.is_absolute() or base_dir is None else base_dir / p


def spec_files(t: Topology) -> list[tuple[Loc, str]]:
    """Every file the spec references, with its location."""
    files: list[tuple[Loc, str]] = []
    if t.sbc.tls:
        for key in ("certificate", "key", "ca"):
            value = getattr(t.sbc.tls, key)
            if value:
                files.append((("sbc", "tls", key), value))
    for i, ep in enumerate(t.tls_endpoints):
        for key in ("ca", "client_certificate", "client_key"):
            value = getattr(ep, key)
            if value:
                files.append((("tls_endpoints", i, key), value))
    for ci, carrier in enumerate(t.carriers):
        for ti, trunk in enumerate(carrier.trunks):
            if trunk.credentials and trunk.credentials.password.file:
                loc: Loc = ("carriers", ci, "trunks", ti, "credentials", "password", "file")
                files.append((loc, trunk.credentials.password.file))
    return files


def _media_sockets(t: Topology) -> list[tuple[Loc, str]]:
    media = t.sbc.media
    if media is None:
        return []
    out: list[tuple[Loc, str]] = []
    for node in t.sbc.nodes:
        ng = media.control_address(node.address)
        # on a node's own loopback address the socket can clash with its SIP listeners;
        # 127.0.0.1 is each host's own
        key = f"{ng}:{media.ng_port}/udp" + ("" if ng == node.address else f" on {node.name}")
        out.append((("sbc", "media", "ng_port"), key))
        if media.metrics_port:
            out.append((("sbc", "media", "metrics_port"), f"{node.address}:{media.metrics_port}/tcp"))
    return out


def _media_references(t: Topology) -> list[Problem]:
    media = t.sbc.media
    if media is None:
        return []
    problems: list[Problem] = list(
        _unique([(("sbc", "media", "nodes", i, "node"), n.node) for i, n in enumerate(media.nodes)], "media node")
    )
    names = {n.name for n in t.sbc.nodes}
    for i, entry in enumerate(media.nodes):
        if entry.node not in names:
            problems.append((("sbc", "media", "nodes", i, "node"), f"no SBC node named '{entry.node}'"))
    for node in t.sbc.nodes:
        media_addrs = set(media.addresses(node.name, node.address))
        used = [(f"SIP {tr.value}", a, p) for tr, a, p in node.sockets()]
        used += [("metrics", node.address, node.metrics_port)] if node.metrics_port else []
        used += [("relay metrics", node.address, media.metrics_port)] if media.metrics_port else []
        for what, addr, port in used:
            if addr in media_addrs and media.port_min <= port <= media.port_max:
                problems.append((("sbc", "media", "port_min"), f"node {node.name}: {what} port {port} on {addr} "
                                 f"is inside the relay's RTP range {media.port_min}-{media.port_max}"))
    return problems


def check_references(
    t: Topology, *, base_dir: Path | None = None, check_files: bool = False
) -> list[Problem]:
    problems: list[Problem] = []
    add = problems.extend

    add(_unique([(("carriers", i, "name"), c.name) for i, c in enumerate(t.carriers)], "carrier name"))
    add(_unique(
        [(("carriers", ci, "trunks", ti, "name"), tr.name)
         for ci, c in enumerate(t.carriers) for ti, tr in enumerate(c.trunks)],
        "trunk name",
    ))
    add(_unique(
        [(("carriers", ci, "trunks", ti, "hosts", hi), f"{h.address}:{h.port}/{h.transport.value}")
         for ci, c in enumerate(t.carriers) for ti, tr in enumerate(c.trunks)
         for hi, h in enumerate(tr.hosts)],
        "trunk host",
    ))
    add(_unique([(("sbc", "nodes", i, "name"), n.name) for i, n in enumerate(t.sbc.nodes)], "SBC node name"))
    add(_unique([(("sbc", "nodes", i, "address"), n.address) for i, n in enumerate(t.sbc.nodes)], "SBC node address"))
    add(_unique([(("agents", "instances", i, "name"), a.name) for i, a in enumerate(t.agents.instances)], "agent name"))
    add(_unique([(("agents", "dependencies", i, "name"), d.name) for i, d in enumerate(t.agents.dependencies)], "dependency name"))
    add(_unique([(("dns", "vantages", i, "name"), v.name) for i, v in enumerate(t.dns.vantages)], "vantage name"))
    add(_unique([(("tls_endpoints", i, "name"), e.name) for i, e in enumerate(t.tls_endpoints)], "TLS endpoint name"))

    # Ports: one socket per (address, port, protocol) on a host.
    sockets: list[tuple[Loc, str]] = []
    for ni, node in enumerate(t.sbc.nodes):
        for si, (transport, addr, port) in enumerate(node.sockets()):
            proto = "udp" if transport is Transport.udp else "tcp"
            sockets.append((("sbc", "nodes", ni, "listen", si, "port"), f"{addr}:{port}/{proto}"))
        if node.metrics_port:
            sockets.append((("sbc", "nodes", ni, "metrics_port"), f"{node.address}:{node.metrics_port}/tcp"))
    for ai, agent in enumerate(t.agents.instances):
        loc: Loc = ("agents", "instances", ai)
        for k in range(agent.workers):  # worker k listens on both ports + k
            sockets.append(((*loc, "sip_port"), f"{agent.host}:{agent.sip_port + k}/udp"))
            sockets.append(((*loc, "health_port"), f"{agent.host}:{agent.health_port + k}/tcp"))
    sockets += _media_sockets(t)
    add(_unique(sockets, "listening socket"))
    problems.extend(_media_references(t))

    if any(s.transport is Transport.tls for n in t.sbc.nodes for s in n.listen) and t.sbc.tls is None:
        problems.append((("sbc", "tls"), "a node listens on tls but sbc.tls (certificate, key) is not set"))

    agent_names = {a.name for a in t.agents.instances}
    node_names = {n.name for n in t.sbc.nodes}
    ivr = t.sbc.ivr_fallback
    if ivr and ivr.agent and ivr.agent not in agent_names:
        problems.append((("sbc", "ivr_fallback", "agent"), f"no agent instance named '{ivr.agent}'"))
    for i, ep in enumerate(t.tls_endpoints):
        if ep.node and ep.node not in node_names:
            problems.append((("tls_endpoints", i, "node"), f"no SBC node named '{ep.node}'"))

    if check_files:
        for loc, value in spec_files(t):
            if not resolve_path(value, base_dir).is_file():
                problems.append((loc, f"file not found: {value}"))
    return problems
