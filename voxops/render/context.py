"""Topology -> the plain data the templates see (dicts, lists, str, int, float, bool).

Templates only ever see this: values that come from the spec are already constrained by
its types (voxops.spec.types), and voxops.render.guard checks the result again before
anything is rendered. The same dict is handed to Ansible's template module, which is why
it must stay JSON-plain.
"""

from __future__ import annotations

import math
from pathlib import PurePosixPath
from typing import Any

from voxops.errors import SpecError
from voxops.spec.capacity import all_workers
from voxops.spec.models import Carrier, SbcNode, Topology, Trunk
from voxops.spec.types import Transport

# Dispatcher set ids: one set of every carrier trunk (failover walks across carriers),
# the agents, and the IVR fallback.
SET_CARRIERS = 1
SET_AGENTS = 2
SET_IVR = 3

# ds_probing_mode values (dispatcher README 3.25): 1 pings every destination; 3 keeps
# pinging only the destinations flagged 8 (probing) whatever their state.
_PROBING_MODE = {"all": 1, "marked": 3}
_PROBING_FLAG = 8

def node_paths(prefix: str, host: str) -> dict[str, str]:
    """Where one host's files live under the deploy prefix (absolute: kamailio chdirs to /)."""
    base = PurePosixPath(prefix) / host
    return {"base": str(base), "etc": str(base / "etc"), "run": str(base / "run"), "log": str(base / "log")}


def _hostport(address: str, port: int) -> str:
    """host:port of a SIP URI or a Kamailio socket: an IPv6 address goes in brackets."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _trunk_hosts(trunk: Trunk) -> list[dict[str, Any]]:
    # rweight is per destination: split the trunk's weight over its hosts so the trunk
    # as a whole gets its share (dispatcher rweight must be 1..100).
    share = max(1, round(trunk.weight / len(trunk.hosts)))
    hosts = []
    for h in trunk.hosts:
        uri = f"sip:{_hostport(h.address, h.port)}"
        if h.transport is not Transport.udp:
            uri += f";transport={h.transport.value}"
        hosts.append(
            {"address": h.address, "port": h.port, "transport": h.transport.value, "uri": uri, "rweight": share}
        )
    return hosts


def _trunk(carrier: Carrier, trunk: Trunk, mode: str) -> dict[str, Any]:
    ping = trunk.options_ping
    flags = _PROBING_FLAG if (mode == "marked" and ping.enabled) else 0
    creds = trunk.credentials
    return {
        "name": trunk.name,
        "carrier": carrier.name,
        "weight": trunk.weight,
        "priority": trunk.priority,
        "codecs": list(trunk.codecs),
        "hosts": _trunk_hosts(trunk),
        "flags": flags,
        "channels": trunk.limits.channels,
        "cps": trunk.limits.cps,
        "require_tls": trunk.require_tls,
        "ping": {
            "enabled": ping.enabled,
            "interval_s": ping.interval_s,
            "failure_threshold": ping.failure_threshold,
            "reply_codes": list(ping.reply_codes),
        },
        "credentials": (
            {
                "username": creds.username,
                "realm": creds.realm or trunk.hosts[0].address,
                "secret": creds.password.env or creds.password.file,
                "secret_kind": "env" if creds.password.env else "file",
            }
            if creds
            else None
        ),
    }


def _ping(topo: Topology) -> dict[str, Any]:
    """Kamailio has one ping interval / threshold for all destinations: the strictest wins."""
    pings = [t.options_ping for _, t in topo.trunks() if t.options_ping.enabled]
    if not pings:
        return {"interval_s": 0, "threshold": 1, "inactive_threshold": 1, "reply_codes": "code=200", "mode": 0}
    codes = sorted({c for p in pings for c in p.reply_codes})
    return {
        "interval_s": min(p.interval_s for p in pings),
        "threshold": min(p.failure_threshold for p in pings),
        "inactive_threshold": min(p.success_threshold for p in pings),
        "reply_codes": ";".join(f"code={c}" for c in codes),
        "mode": _PROBING_MODE[topo.sbc.probing_mode],
    }


def _ivr(topo: Topology) -> dict[str, Any] | None:
    ivr = topo.sbc.ivr_fallback
    if ivr is None:
        return None
    if ivr.uri:
        return {"uri": ivr.uri, "agent": None}
    agent = next(a for a in topo.agents.instances if a.name == ivr.agent)
    return {"uri": f"sip:ivr@{_hostport(agent.host, agent.sip_port)}", "agent": agent.name}


def topology_context(topo: Topology) -> dict[str, Any]:
    """Everything that is the same on every host."""
    sbc = topo.sbc
    adm = sbc.admission
    slo = topo.slo
    return {
        "name": topo.name,
        "domain": sbc.domain,
        "srv_name": sbc.srv_name,
        "sets": {"carriers": SET_CARRIERS, "agents": SET_AGENTS, "ivr": SET_IVR},
        "trunks": [_trunk(c, t, sbc.probing_mode) for c, t in topo.trunks()],
        "ping": _ping(topo),
        "failover_timeout_ms": sbc.failover_timeout_ms,
        "admission": (
            {
                "max_calls": adm.max_concurrent_calls,
                "max_cps": math.ceil(adm.max_cps) if adm.max_cps else None,
                "reject_code": adm.reject_code,
                "reject_reason": "Busy Here" if adm.reject_code == 486 else "Service Unavailable",
            }
            if adm and adm.enabled
            else None
        ),
        "codecs": {"allow": list(sbc.codec_policy.allow), "deny": list(sbc.codec_policy.deny),
                   "prefer": list(sbc.codec_policy.prefer)},
        "ivr": _ivr(topo),
        "flood_limit_per_ip": sbc.flood_limit_per_ip,
        "drop_scanners": sbc.drop_scanner_user_agents,
        "tls": sbc.tls.model_dump(mode="json") if sbc.tls else None,
        "agents": [
            {
                "name": a.name,
                "instance": a.instance,
                "suffix": a.suffix,
                "host": a.host,
                "sip_port": a.sip_port,
                "health_port": a.health_port,
                "max_calls": a.max_calls,
                "uri": f"sip:{_hostport(a.host, a.sip_port)}",
                "rweight": min(100, a.max_calls),
            }
            for a in all_workers(topo)
        ],
        "agent_pool": {
            "pipeline": topo.agents.pipeline,
            "drain_timeout_s": topo.agents.drain_timeout_s,
            "max_cpu_percent": topo.agents.health.max_cpu_percent,
            "max_memory_percent": topo.agents.health.max_memory_percent,
            "dependencies": [d.model_dump(mode="json") for d in topo.agents.dependencies],
            "websocket": topo.agents.websocket.model_dump(mode="json") if topo.agents.websocket else None,
        },
        "slo": {
            "asr_alert_ratio": slo.asr.alert_below_percent / 100,
            "asr_window": f"{slo.asr.window_s}s",
            "pdd_max_ms": slo.pdd_max_ms,
            "loss_max_ratio": slo.loss_max_percent / 100,
            "mos_min": slo.mos_min,
            "spike_window": f"{slo.spike_503.window_s}s",
            "spike_min_count": slo.spike_503.min_count,
            "spike_min_ratio": slo.spike_503.min_percent / 100,
            "response_latency_ms": slo.response_latency_ms,
            "response_latency_s": slo.response_latency_ms / 1000,
            "dead_air_s": slo.dead_air_s,
        },
        "nodes": [n.name for n in sbc.nodes],
        "media": _media(topo),
    }


def _media(topo: Topology) -> dict[str, Any] | None:
    """What every node's relay shares: the ng flags Kamailio sends with each offer/answer."""
    media = topo.sbc.media
    if media is None:
        return None
    # rewrite o= and c= to the relay's address on each leg; ICE candidates would leak the peers'
    sdp = "replace-origin replace-session-connection ICE=remove"
    offer = " ".join([sdp, *(f"codec-transcode-{c}" for c in media.transcode),
                      *(["record-call=on"] if media.recording.enabled else [])])
    return {
        "relay": media.relay,
        "offer_flags": offer,
        "answer_flags": sdp,
        "transcode": list(media.transcode),
        "recording_dir": media.recording.dir if media.recording.enabled else None,
    }


def _node_media(topo: Topology, node: SbcNode) -> dict[str, Any] | None:
    media = topo.sbc.media
    if media is None:
        return None
    public, private = media.addresses(node.name, node.address)
    control = media.control_address(node.address)
    return {
        "public": public,
        "private": private,
        "ng": _hostport(control, media.ng_port),
        "ng_address": control,
        "ng_port": media.ng_port,
        "metrics": _hostport(node.address, media.metrics_port) if media.metrics_port else None,
        "port_min": media.port_min,
        "port_max": media.port_max,
        "timeout_s": media.timeout_s,
    }


def _socket(proto: str, address: str, port: int) -> str:
    return f"{proto}:{_hostport(address, port)}"


def node_context(topo: Topology, node: SbcNode, prefix: str) -> dict[str, Any]:
    """One SBC node: its sockets, the socket each trunk is reached through, its paths."""
    sockets: list[dict[str, Any]] = [
        {"proto": s.transport.value, "address": s.address or node.address, "port": s.port,
         "socket": _socket(s.transport.value, s.address or node.address, s.port), "advertise": s.advertise}
        for s in node.listen
    ]
    by_proto: dict[str, str] = {}
    for s in node.listen:  # the first listener of a transport is the one toward trunks of it
        by_proto.setdefault(s.transport.value, _socket(s.transport.value, s.address or node.address, s.port))
    for carrier, trunk in topo.trunks():
        for h in trunk.hosts:
            if h.transport.value not in by_proto:
                raise SpecError(
                    [f"sbc.nodes[{node.name}]: trunk {carrier.name}/{trunk.name} is reached over "
                     f"{h.transport.value} but the node has no {h.transport.value} listener"]
                )
    if any(t.require_tls for _, t in topo.trunks()) and "tls" in by_proto:
        tls_addr = next(s["address"] for s in sockets if s["proto"] == "tls")
        plain = [f"{s['proto']} {s['port']}" for s in sockets if s["proto"] != "tls" and s["address"] == tls_addr]
        if plain:
            raise SpecError([f"sbc.nodes[{node.name}]: a trunk requires TLS, but the address of the TLS "
                             f"listener also listens in the clear ({', '.join(plain)})"])
    if topo.sbc.tls is None and "tls" in by_proto:
        raise SpecError([f"sbc.nodes[{node.name}]: a tls listener needs sbc.tls (certificate and key)"])
    if node.metrics_port is not None and any(
        s["port"] == node.metrics_port and s["proto"] in ("tcp", "tls") for s in sockets
    ):
        raise SpecError([f"sbc.nodes[{node.name}]: metrics_port {node.metrics_port} is also a SIP listener"])
    return {
        "name": node.name,
        "address": node.address,
        "sockets": sockets,
        "socket_for": by_proto,
        "metrics_port": node.metrics_port,
        "metrics_socket": _socket("tcp", node.address, node.metrics_port) if node.metrics_port else None,
        "paths": node_paths(prefix, node.name),
        "media": _node_media(topo, node),
        "hep": _node_hep(topo, node),
    }


def _node_hep(topo: Topology, node: SbcNode) -> dict[str, Any] | None:
    """Where the node mirrors its SIP (siptrace's duplicate URI) and the capture id it uses."""
    hep = topo.sbc.hep
    if hep is None:
        return None
    address = hep.address or node.address
    host = f"[{address}]" if ":" in address else address
    return {"uri": f"sip:{host}:{hep.port};transport={hep.transport}",
            "capture_id": 1 + [n.name for n in topo.sbc.nodes].index(node.name)}

