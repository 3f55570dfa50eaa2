"""What `voxops probe --call` reports: per SBC node, one test call's figures (JSON field
names are a public interface)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from voxops.findings import Finding
from voxops.probes.verdict import PerfDatum


class RelayView(BaseModel):
    """The node's relay's own figures for the test call (rtpengine ng `query`)."""

    relay: str = Field(description="ng control address of the relay, host:port")
    from_caller: int | None = Field(default=None, description="RTP packets the relay received from the probe")
    from_callee: int | None = Field(default=None, description="RTP packets the relay received from the far end")
    error: str | None = None


class CallResult(BaseModel):
    """One test call through one SBC node. JSON field names are a public interface."""

    node: str
    target: str = Field(description="the SBC node socket called, host:port")
    call_id: str
    source: str = Field(description="the probe's SIP address, host:port")
    rtp_local: str = Field(description="the probe's RTP address of this call, host:port")
    status: int | None = Field(description="final SIP status of the INVITE (null: none came)")
    reason: str | None = None
    pdd_ms: float | None = Field(default=None, description="INVITE to the first 180/183 (or the 200)")
    rtp_remote: str | None = Field(default=None, description="where the answer asked for RTP (the relay)")
    payload_type: int | None = None
    rtp_sent: int = 0
    rtp_received: int = 0
    loss_percent: float | None = None
    jitter_ms: float | None = None
    round_trip_ms: float | None = Field(default=None, description="tone burst sent to heard back (echoing far end)")
    mos: float | None = None
    relay: RelayView | None = None
    bye_status: int | None = None


class CallReport(BaseModel):
    """`voxops probe --call --format json`."""

    spec: str
    calls: list[CallResult]
    findings: list[Finding]

    def perfdata(self) -> list[PerfDatum]:
        perf: list[PerfDatum] = []
        for c in self.calls:
            if c.pdd_ms is not None:
                perf.append(PerfDatum(label=f"{c.node}_pdd", value=round(c.pdd_ms, 1), uom="ms", min=0))
            perf.append(PerfDatum(label=f"{c.node}_rtp_received", value=c.rtp_received, min=0))
            if c.loss_percent is not None:
                perf.append(PerfDatum(label=f"{c.node}_loss", value=c.loss_percent, uom="%", min=0, max=100))
            if c.round_trip_ms is not None:
                perf.append(PerfDatum(label=f"{c.node}_audio_rtt", value=c.round_trip_ms, uom="ms", min=0))
            if c.mos is not None:
                perf.append(PerfDatum(label=f"{c.node}_mos", value=c.mos, min=1, max=4.5))
        return perf

    def summary(self) -> str:
        good = sum(1 for c in self.calls if c.status == 200 and c.rtp_received > 0)
        return f"{good}/{len(self.calls)} test calls answered with audio both ways"
