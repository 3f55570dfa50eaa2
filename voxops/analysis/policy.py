"""Thresholds and names the diagnosis applies: from the topology spec, or the seed defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voxops.spec.models import Topology


@dataclass(frozen=True)
class Policy:
    names: dict[str, str] = field(default_factory=dict)  # address -> trunk / node name
    trunk_addresses: dict[str, str] = field(default_factory=dict)  # address -> carrier/trunk
    agent_addresses: frozenset[str] = frozenset()
    sbc_addresses: frozenset[str] = frozenset()  # their admission control answers for the agents
    deny_codecs: frozenset[str] = frozenset()  # only a spec denies codecs
    pdd_max_ms: float = 2000.0
    loss_max_percent: float = 1.0
    jitter_max_ms: float = 30.0
    mos_min: float = 3.5
    asr_alert_percent: float = 90.0
    window_s: int = 300
    spike_window_s: int = 60
    spike_min_count: int = 5
    spike_min_percent: float = 5.0
    ner_counts_487: bool = False  # RFC 6076 leaves 487 to the operator
    late_media_s: float = 2.0  # first RTP this long after the 200 OK is "late"
    media_gap_s: float = 5.0  # RTP ending this long before the BYE "stopped"
    response_latency_ms: float = 1500.0  # caller's end of speech -> agent's first audio
    dead_air_s: float = 5.0
    silent_media_s: float = 5.0
    greeting_max_s: float = 3.0
    talk_over_ms: float = 800.0

    @classmethod
    def from_topology(cls, topo: Topology, **overrides: object) -> Policy:
        trunks = {h.address: f"{c.name}/{t.name}" for c, t in topo.trunks() for h in t.hosts}
        slo = topo.slo
        values: dict[str, object] = dict(
            names=topo.addresses(),
            trunk_addresses=trunks,
            agent_addresses=frozenset(a.host for a in topo.agents.instances),
            sbc_addresses=frozenset(n.address for n in topo.sbc.nodes),
            deny_codecs=frozenset(c.upper() for c in topo.sbc.codec_policy.deny),
            pdd_max_ms=float(slo.pdd_max_ms),
            loss_max_percent=slo.loss_max_percent,
            jitter_max_ms=slo.jitter_max_ms,
            mos_min=slo.mos_min,
            asr_alert_percent=slo.asr.alert_below_percent,
            window_s=slo.asr.window_s,
            spike_window_s=slo.spike_503.window_s,
            spike_min_count=slo.spike_503.min_count,
            spike_min_percent=slo.spike_503.min_percent,
            response_latency_ms=float(slo.response_latency_ms),
            dead_air_s=slo.dead_air_s,
            silent_media_s=slo.silent_media_s,
            greeting_max_s=slo.greeting_max_s,
            talk_over_ms=float(slo.talk_over_ms),
        )
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def name_of(self, address: str) -> str:
        return self.names.get(address, address)

    def trunk_of(self, *addresses: str) -> str | None:
        for a in addresses:
            if a in self.trunk_addresses:
                return self.trunk_addresses[a]
        return None
