"""OPTIONS health of every trunk host and SBC socket, with the dispatcher's up/down rule.

A target goes down after exactly `failure_threshold` misses in a row and comes back up
after `success_threshold` answers in a row (the Kamailio dispatcher's
`ds_probing_threshold` / `ds_inactive_threshold`). A miss is no answer, or an answer
whose code is not in the spec's `reply_codes`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from voxops.errors import InvalidInput
from voxops.findings import Finding, FindingCode, Severity
from voxops.probes.sip_options import OptionsResult, send_options
from voxops.spec.models import OptionsPing, Topology

TRUNK_DOWN = FindingCode(
    "trunk-down", Severity.critical, "trunk-down", "a trunk host stopped answering SIP OPTIONS"
)
SBC_NODE_DOWN = FindingCode(
    "sbc-node-down", Severity.critical, "sbc-failover", "an SBC node socket stopped answering SIP OPTIONS"
)
MEDIA_RELAY_DOWN = FindingCode(
    "media-relay-down", Severity.critical, "one-way-audio",
    "an SBC node's media relay stopped answering ng ping: the node refuses calls with 503",
)


class State(StrEnum):
    unknown = "unknown"
    up = "up"
    down = "down"


class Target(BaseModel):
    """One address the prober pings; `name` is the trunk (carrier/trunk) or the node."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: str  # "trunk", "sbc" or "relay" (the node's rtpengine, pinged over ng)
    host: str
    port: int
    transport: str
    interval_s: float
    failure_threshold: int
    success_threshold: int
    reply_codes: list[int]

    @property
    def label(self) -> str:
        return f"{self.name} {self.transport}:{self.host}:{self.port}"


class TargetStatus(BaseModel):
    """The live state of one target. JSON field names are a public interface."""

    target: Target
    state: State = State.unknown
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    last_code: int | None = None
    last_rtt_ms: float | None = None
    last_error: str | None = None
    probes: int = 0
    failures: int = 0
    last_probe_at: float | None = None
    changed_at: float | None = None


def targets_of(topology: Topology, only: str | None = None) -> list[Target]:
    """Every trunk host and SBC node socket, filtered by trunk, carrier or node name."""
    found: list[Target] = []
    for carrier, trunk in topology.trunks():
        if not trunk.options_ping.enabled:
            continue
        names = {carrier.name, trunk.name, f"{carrier.name}/{trunk.name}"}
        if only is not None and only not in names:
            continue
        for host in trunk.hosts:
            found.append(_target(f"{carrier.name}/{trunk.name}", "trunk", host.address, host.port,
                                 host.transport.value, trunk.options_ping))
    policy = topology.sbc.options_ping
    for node in topology.sbc.nodes:
        if only is not None and only != node.name:
            continue
        for transport, address, port in node.sockets():
            found.append(_target(node.name, "sbc", address, port, transport.value, policy))
        media = topology.sbc.media
        if media is not None:  # its control socket is on loopback: probe from the node itself
            found.append(_target(node.name, "relay", media.control_address(node.address), media.ng_port,
                                 "ng", policy.model_copy(update={"reply_codes": [200]})))
    if only is not None and not found:
        raise InvalidInput(
            f"no trunk, carrier or SBC node named {only!r} in the spec",
            hint="names: " + ", ".join(sorted(_names(topology))),
        )
    return found


def _names(topology: Topology) -> set[str]:
    names = {n.name for n in topology.sbc.nodes}
    for carrier, trunk in topology.trunks():
        names |= {carrier.name, trunk.name}
    return names


def _target(name: str, kind: str, host: str, port: int, transport: str, p: OptionsPing) -> Target:
    return Target(
        name=name, kind=kind, host=host, port=port, transport=transport,
        interval_s=p.interval_s, failure_threshold=p.failure_threshold,
        success_threshold=p.success_threshold, reply_codes=list(p.reply_codes),
    )


Prober = Callable[[Target, float], OptionsResult]


def probe_target(target: Target, timeout: float) -> OptionsResult:
    if target.transport == "ng":
        return ping_relay(target.host, target.port, timeout)
    return send_options(target.host, target.port, target.transport, timeout=timeout)


def ping_relay(host: str, port: int, timeout: float) -> OptionsResult:
    """An ng ping as a probe result: 200 for pong, the error otherwise."""
    from voxops.probes import rtpengine_ng

    start = time.monotonic()
    try:
        rtpengine_ng.ping(host, port, timeout=timeout)
    except rtpengine_ng.NgError as exc:
        return OptionsResult(error=str(exc))
    return OptionsResult(code=200, rtt_ms=(time.monotonic() - start) * 1000, reason="pong")


def apply(status: TargetStatus, result: OptionsResult, now: float) -> TargetStatus:
    """The next state of a target after one probe result."""
    t = status.target
    ok = result.code is not None and result.code in t.reply_codes
    successes = status.consecutive_successes + 1 if ok else 0
    failures = 0 if ok else status.consecutive_failures + 1
    state = status.state
    if ok and successes >= t.success_threshold:
        state = State.up
    elif not ok and failures >= t.failure_threshold:
        state = State.down
    error = result.error
    if result.code is not None and not ok:
        error = f"reply {result.code} is not an accepted code ({', '.join(map(str, t.reply_codes))})"
    return status.model_copy(update={
        "state": state,
        "consecutive_failures": failures,
        "consecutive_successes": successes,
        "last_code": result.code,
        "last_rtt_ms": result.rtt_ms,
        "last_error": error,
        "probes": status.probes + 1,
        "failures": status.failures + (0 if ok else 1),
        "last_probe_at": now,
        "changed_at": now if state is not status.state else status.changed_at,
    })


class Monitor:
    """Probes targets concurrently, each at its own interval, and keeps their state."""

    def __init__(self, targets: list[Target], *, timeout: float = 2.0, prober: Prober = probe_target) -> None:
        self.statuses = [TargetStatus(target=t) for t in targets]
        self.timeout = timeout
        self._prober = prober
        self._due = [0.0] * len(targets)

    def _probe(self, indexes: list[int]) -> list[tuple[int, State]]:
        """Probe the given targets at once; return (index, previous state) of each change."""
        if not indexes:
            return []
        with ThreadPoolExecutor(max_workers=min(32, len(indexes))) as pool:
            results = list(pool.map(
                lambda i: self._prober(self.statuses[i].target, min(self.timeout, self.statuses[i].target.interval_s)),
                indexes,
            ))
        now = time.time()
        changes = []
        for i, result in zip(indexes, results, strict=True):
            before = self.statuses[i].state
            self.statuses[i] = apply(self.statuses[i], result, now)
            if self.statuses[i].state is not before:
                changes.append((i, before))
        return changes

    def probe_all(self) -> list[tuple[int, State]]:
        """One probe of every target, now, regardless of its interval."""
        return self._probe(list(range(len(self.statuses))))

    def settle(self) -> list[TargetStatus]:
        """Probe until every target has a verdict (for cron: up or down, no waiting on intervals)."""
        while True:
            pending = [i for i, s in enumerate(self.statuses) if s.state is State.unknown]
            if not pending:
                return self.statuses
            self._probe(pending)

    def tick(self, sleep: Callable[[float], None] = time.sleep) -> list[tuple[int, State]]:
        """Wait for the next target(s) due, probe them, and schedule their next probe."""
        now = time.monotonic()
        wake = min(self._due, default=now)
        if wake > now:
            sleep(wake - now)
            now = time.monotonic()
        due = [i for i, d in enumerate(self._due) if d <= now]
        for i in due:
            self._due[i] = now + self.statuses[i].target.interval_s
        return self._probe(due)


def findings_of(statuses: list[TargetStatus]) -> list[Finding]:
    found = []
    for s in statuses:
        if s.state is not State.down:
            continue
        t = s.target
        code = {"trunk": TRUNK_DOWN, "relay": MEDIA_RELAY_DOWN}.get(t.kind, SBC_NODE_DOWN)
        what = (f"the media relay of {t.name} (ng {t.host}:{t.port})" if t.kind == "relay"
                else f"{t.name} ({t.transport} {t.host}:{t.port})")
        missed = "ng pings" if t.kind == "relay" else "OPTIONS"
        found.append(code(
            f"{what} is down: {s.consecutive_failures} missed {missed} in a row ({s.last_error or 'no answer'})",
            where=f"{t.host}:{t.port}",
            target=t.name, transport=t.transport, consecutive_failures=s.consecutive_failures,
            last_code=s.last_code, last_error=s.last_error,
        ))
    return found
