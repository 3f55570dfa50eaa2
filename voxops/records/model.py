"""A call record: what is kept of one finished call (no audio, no message bodies).

Built from the call's diagnosis (`voxops diagnose` JSON), so a record written live by
`voxops watch` and one built from the offline diagnosis of the same call are equal.
JSON field names are a public interface (docs/watch.md).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from voxops.analysis.diagnosis import CallDiagnosis
from voxops.capture.sip import uri_user
from voxops.findings import Finding

_NOT_DIGIT = re.compile(r"\D")


class MediaSummary(BaseModel):
    """One RTP stream of the call: one direction of one hop."""

    model_config = ConfigDict(extra="forbid")
    src: str
    dst: str
    codec: str | None
    packets: int
    lost: int
    lost_pct: float
    max_jitter_ms: float
    mos: float | None


class CallRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    call_id: str
    legs: list[str]
    node: str | None = Field(default=None, description="the watch that recorded it")
    finished_by: str | None = Field(default=None, description="bye | failure | timeout | evicted | shutdown")
    trunk: str | None
    trunks_tried: list[str]
    direction: str | None = Field(description="inbound | outbound | null")
    from_uri: str | None
    to_uri: str | None
    from_number: str = Field(description="digits of the From user part")
    to_number: str = Field(description="digits of the To user part")
    start: float = Field(description="epoch seconds of the first message")
    end: float = Field(description="epoch seconds of the last message")
    answered_at: float | None
    ended_at: float | None
    final_status: int | None
    pdd_ms: float | None
    duration_s: float | None
    retransmissions: int
    auth_challenges: int
    path: list[str] = Field(description="the nodes the INVITE went through, in order")
    media: list[MediaSummary]
    mos_min: float | None
    loss_max_pct: float | None
    findings: list[Finding]
    verdict: str

    @property
    def finding_codes(self) -> list[str]:
        return sorted({f.code for f in self.findings})


def digits(text: str | None) -> str:
    return _NOT_DIGIT.sub("", text or "")


def record_from_diagnosis(diag: CallDiagnosis, *, node: str | None = None,
                          finished_by: str | None = None) -> CallRecord:
    media = [MediaSummary(src=s.src, dst=s.dst, codec=s.codec, packets=s.packets, lost=s.lost,
                          lost_pct=s.lost_pct, max_jitter_ms=s.max_jitter_ms, mos=s.mos)
             for s in diag.streams]
    path = diag.path
    nodes: list[str] = []
    if path is not None:
        for hop in path.hops:
            if hop.node not in nodes:
                nodes.append(hop.node)
            for attempt in hop.attempts:
                if attempt.to not in nodes:
                    nodes.append(attempt.to)
    mos = [m.mos for m in media if m.mos is not None]
    last_hop = diag.hops[-1].time if diag.hops else 0.0
    return CallRecord(
        call_id=diag.call_id, legs=diag.legs, node=node, finished_by=finished_by, trunk=diag.trunk,
        trunks_tried=path.trunks_tried if path else [], direction=path.direction if path else None,
        from_uri=diag.from_uri, to_uri=diag.to_uri,
        from_number=digits(uri_user(diag.from_uri or "")), to_number=digits(uri_user(diag.to_uri or "")),
        start=diag.start, end=round(diag.start + last_hop, 6), answered_at=diag.answered_at,
        ended_at=diag.ended_at, final_status=diag.final_status, pdd_ms=diag.pdd_ms,
        duration_s=diag.duration_s, retransmissions=diag.retransmissions,
        auth_challenges=diag.auth_challenges, path=nodes, media=media,
        mos_min=min(mos) if mos else None,
        loss_max_pct=max((m.lost_pct for m in media), default=None),
        findings=diag.findings, verdict=diag.verdict,
    )
