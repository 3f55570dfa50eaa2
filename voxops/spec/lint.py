"""Lint rules over a valid topology: single points of failure and risky settings."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator

from voxops.findings import Finding, FindingCode, Severity
from voxops.spec.capacity import capacity
from voxops.spec.media import PORTS_PER_CALL
from voxops.spec.models import Slo, Topology, Transport
from voxops.spec.yamlpos import Loc

S = Severity
SINGLE_CARRIER = FindingCode("single-carrier", S.warning, "single-point-of-failure", "only one carrier: no failover when it fails")
SINGLE_TRUNK = FindingCode("single-trunk", S.warning, "single-point-of-failure", "only one trunk in the whole topology")
SINGLE_SBC_NODE = FindingCode("single-sbc-node", S.warning, "single-point-of-failure", "one SBC node: no active-active pair")
SINGLE_AGENT = FindingCode("single-agent", S.warning, "single-point-of-failure", "one agent instance serves every call")
OPTIONS_PING_DISABLED = FindingCode("options-ping-disabled", S.warning, "trunk-down", "a dead trunk is only noticed by failed calls")
TLS_PLAIN_FALLBACK = FindingCode("tls-plain-fallback", S.error, "cert-expiry", "TLS is required but a plain listener on the same address lets calls silently fall back")
MTLS_WITHOUT_CA = FindingCode("mtls-without-ca", S.error, "cert-expiry", "mutual TLS without a CA cannot verify client certificates")
NO_ADMISSION_CONTROL = FindingCode("no-admission-control", S.warning, "agent-pool-saturated", "over capacity, calls are accepted that cannot be served")
SLO_LOOSER_THAN_SEED = FindingCode("slo-looser-than-seed", S.warning, "spec-errors", "an SLO threshold is looser than the reference targets")
SRV_MISSING = FindingCode("srv-missing", S.warning, "sbc-failover", "several SBC nodes but no DNS SRV name to spread and fail over")
DENIED_CODEC_ON_TRUNK = FindingCode("denied-codec-on-trunk", S.warning, "silent-transcoding", "a trunk offers a codec the SBC policy denies")
TLS_NOT_WATCHED = FindingCode("tls-not-watched", S.info, "cert-expiry", "a TLS listener has no certificate-expiry watch in tls_endpoints")
NO_MEDIA_RELAY = FindingCode("no-media-relay", S.error, "one-way-audio", "agents on private addresses, carriers outside, and no media relay: the carriers cannot reach the agents' RTP")
RELAY_PORTS_SHORT = FindingCode("relay-ports-short", S.error, "agent-pool-saturated", "the relay's RTP port range holds fewer calls than admission lets in")
CAPACITY_MISMATCH = FindingCode("capacity-mismatch", S.warning, "agent-pool-saturated", "SBC admission limit exceeds what the agent pool can serve")

Lint = tuple[Loc, Finding]
Rule = Callable[[Topology], Iterator[Lint]]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


@rule
def _single_points(t: Topology) -> Iterator[Lint]:
    if len(t.carriers) == 1:
        yield ("carriers",), SINGLE_CARRIER(f"only one carrier ({t.carriers[0].name}): add a second for failover")
    trunks = t.trunks()
    if len(trunks) == 1:
        yield ("carriers", 0, "trunks"), SINGLE_TRUNK(f"only one trunk ({trunks[0][1].name}) carries every call")
    if len(t.sbc.nodes) == 1:
        yield ("sbc", "nodes"), SINGLE_SBC_NODE(f"one SBC node ({t.sbc.nodes[0].name}): run an active-active pair")
    if len(t.agents.instances) == 1:
        yield ("agents", "instances"), SINGLE_AGENT(f"one agent instance ({t.agents.instances[0].name})")


@rule
def _options_ping(t: Topology) -> Iterator[Lint]:
    for ci, c in enumerate(t.carriers):
        for ti, tr in enumerate(c.trunks):
            if not tr.options_ping.enabled:
                loc: Loc = ("carriers", ci, "trunks", ti, "options_ping", "enabled")
                yield loc, OPTIONS_PING_DISABLED(f"trunk {tr.name}: OPTIONS ping disabled")


@rule
def _tls(t: Topology) -> Iterator[Lint]:
    tls_required = (t.sbc.tls is not None and t.sbc.tls.mutual) or any(tr.require_tls for _, tr in t.trunks())
    for ni, node in enumerate(t.sbc.nodes):
        socks = node.sockets()
        tls_addrs = {addr for tr, addr, _ in socks if tr is Transport.tls}
        if not tls_required or not tls_addrs:
            continue
        for si, (tr, addr, port) in enumerate(socks):
            if tr is not Transport.tls and addr in tls_addrs:
                yield ("sbc", "nodes", ni, "listen", si), TLS_PLAIN_FALLBACK(
                    f"node {node.name}: TLS is required but {tr.value} {addr}:{port} is also open "
                    "on the same address: a failed TLS handshake silently falls back to it"
                )
    if t.sbc.tls and t.sbc.tls.mutual and not t.sbc.tls.ca:
        yield ("sbc", "tls", "mutual"), MTLS_WITHOUT_CA("mutual TLS is on but sbc.tls.ca is not set")
    watched = {(e.host, e.port) for e in t.tls_endpoints} | {(e.node, e.port) for e in t.tls_endpoints if e.node}
    for ni, node in enumerate(t.sbc.nodes):
        for si, (tr, addr, port) in enumerate(node.sockets()):
            if tr is Transport.tls and not ({(addr, port), (node.name, port)} & watched):
                yield ("sbc", "nodes", ni, "listen", si), TLS_NOT_WATCHED(
                    f"node {node.name}: TLS {addr}:{port} has no entry in tls_endpoints"
                )


@rule
def _admission(t: Topology) -> Iterator[Lint]:
    adm = t.sbc.admission
    if adm is None or not adm.enabled:
        yield ("sbc", "admission"), NO_ADMISSION_CONTROL("no admission control: over capacity the SBC still sends calls to full agents")
        return
    pool = capacity(t).total_calls
    if adm.max_concurrent_calls > pool and t.sbc.ivr_fallback is None:
        yield ("sbc", "admission", "max_concurrent_calls"), CAPACITY_MISMATCH(
            f"admission allows {adm.max_concurrent_calls} calls but the agents serve {pool} and there is no IVR fallback"
        )


@rule
def _slo(t: Topology) -> Iterator[Lint]:
    seed, slo = Slo(), t.slo
    looser = [
        (("slo", "asr", "healthy_percent"), slo.asr.healthy_percent < seed.asr.healthy_percent, f"ASR healthy {slo.asr.healthy_percent}% < {seed.asr.healthy_percent}%"),
        (("slo", "asr", "alert_below_percent"), slo.asr.alert_below_percent < seed.asr.alert_below_percent, f"ASR alert {slo.asr.alert_below_percent}% < {seed.asr.alert_below_percent}%"),
        (("slo", "asr", "window_s"), slo.asr.window_s > seed.asr.window_s, f"ASR window {slo.asr.window_s}s > {seed.asr.window_s}s"),
        (("slo", "pdd_max_ms"), slo.pdd_max_ms > seed.pdd_max_ms, f"PDD {slo.pdd_max_ms} ms > {seed.pdd_max_ms} ms"),
        (("slo", "loss_max_percent"), slo.loss_max_percent > seed.loss_max_percent, f"loss {slo.loss_max_percent}% > {seed.loss_max_percent}%"),
        (("slo", "mos_min"), slo.mos_min < seed.mos_min, f"MOS {slo.mos_min} < {seed.mos_min}"),
    ]
    for loc, is_looser, text in looser:
        if is_looser:
            yield loc, SLO_LOOSER_THAN_SEED(f"SLO looser than the reference targets: {text}")


@rule
def _srv(t: Topology) -> Iterator[Lint]:
    if len(t.sbc.nodes) >= 2 and not t.sbc.srv_name:
        yield ("sbc",), SRV_MISSING(f"{len(t.sbc.nodes)} SBC nodes but no sbc.srv_name")


@rule
def _codecs(t: Topology) -> Iterator[Lint]:
    denied = set(t.sbc.codec_policy.deny)
    for ci, c in enumerate(t.carriers):
        for ti, tr in enumerate(c.trunks):
            bad = [codec for codec in tr.codecs if codec in denied]
            if bad:
                yield ("carriers", ci, "trunks", ti, "codecs"), DENIED_CODEC_ON_TRUNK(
                    f"trunk {tr.name} offers {', '.join(bad)}, denied by sbc.codec_policy"
                )


# Addresses no carrier routes to (RFC 1918, RFC 6598 CGNAT, RFC 4193 ULA). Not
# `ip.is_private`: that also holds the documentation ranges examples use as public ones.
_PRIVATE_NETS = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                   "100.64.0.0/10", "fc00::/7")]


def _reach(address: str) -> str:
    """'private' (RFC 1918, ULA, CGNAT), 'local' (loopback, link-local: a lab) or 'public'.
    A host name counts as public."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "public"
    if ip.is_loopback or ip.is_link_local:
        return "local"
    return "private" if any(ip in net for net in _PRIVATE_NETS) else "public"


@rule
def _media(t: Topology) -> Iterator[Lint]:
    media = t.sbc.media
    if media is None:
        private = [a.name for a in t.agents.instances if _reach(a.host) == "private"]
        outside = [h.address for _, tr in t.trunks() for h in tr.hosts if _reach(h.address) == "public"]
        if private and outside:
            yield ("sbc",), NO_MEDIA_RELAY(
                f"agents {', '.join(private)} are on private addresses and carriers ({outside[0]}) are not, "
                "but sbc.media is not set: their RTP cannot reach each other"
            )
        return
    adm = t.sbc.admission
    if adm is not None and adm.enabled and media.calls_capacity() < adm.max_concurrent_calls:
        yield ("sbc", "media", "port_max"), RELAY_PORTS_SHORT(
            f"RTP ports {media.port_min}-{media.port_max} hold {media.calls_capacity()} calls at "
            f"{PORTS_PER_CALL} ports a call (RTP + RTCP on each leg) but admission allows "
            f"{adm.max_concurrent_calls}: widen the range to at least {adm.max_concurrent_calls * PORTS_PER_CALL} ports"
        )


def lint(t: Topology) -> list[Lint]:
    return [item for r in RULES for item in r(t)]
