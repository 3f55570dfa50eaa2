"""The health of every trunk over a capture: the report behind `voxops stats`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from voxops.analysis import faults as F
from voxops.analysis import kpi
from voxops.analysis.policy import Policy
from voxops.audio.stats_model import AudioStats
from voxops.findings import Finding

if TYPE_CHECKING:
    from voxops.analysis.dialogs import Dialog
    from voxops.analysis.streams import RtpStream

MOS_BUCKETS = [(1.0, 3.0), (3.0, 3.5), (3.5, 4.0), (4.0, 4.3), (4.3, 4.51)]


class CallLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    call_id: str
    start: float
    trunk: str | None
    final_status: int | None
    pdd_ms: float | None
    duration_s: float | None
    mos: float | None


class MosSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: str
    threshold: float
    calls_with_media: int
    histogram: dict[str, int]
    below_threshold: list[CallLine]


class StatsReport(BaseModel):
    """JSON of `voxops stats`; field names are a public interface (docs/diagnosis.md)."""

    model_config = ConfigDict(extra="forbid")
    capture: str
    window_s: int
    calls: int
    seizures: int
    answered: int
    asr: float | None = Field(description="percent")
    ner: float | None = Field(description="percent (SEER)")
    isa: float | None = Field(description="percent")
    acd_s: float | None
    ner_counts_487: bool
    pdd_ms: kpi.Percentiles
    pdd_failed_ms: kpi.Percentiles
    trunks: dict[str, kpi.Ratios] = Field(description="the same ratios per trunk")
    response_codes: dict[str, dict[str, int]]
    retransmissions: dict[str, int]
    mos: MosSummary
    spikes_503: list[kpi.Spike]
    windows: list[kpi.Window]
    slo_breaches: list[kpi.Window]
    call_list: list[CallLine]
    findings: list[Finding]
    audio: AudioStats | None = Field(
        default=None, description="with --audio: response latency and dead-air share per trunk and per agent")


def _clock(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def call_records(dialogs: list[Dialog], streams: list[RtpStream], policy: Policy
                 ) -> tuple[list[CallLine], list[kpi.TransactionRecord], list[kpi.CallRecord]]:
    """One line per call (a dialog and its legs) with the trunk of its carrier-facing hop,
    its carrier-side transactions, and a record per carrier attempt that failed over (`trunk_kpi`)."""
    from voxops.analysis.trunk_kpi import call_groups, trunk_records

    mos: dict[str, float] = {}
    for s in streams:
        if s.call_id is not None and s.mos is not None:
            mos[s.call_id] = min(mos.get(s.call_id, 5.0), s.mos)
    calls, txs, earlier = [], [], []
    for group in call_groups(dialogs):
        d = group[0]
        call_mos = min((mos[g.call_id] for g in group if g.call_id in mos), default=None)
        trunk, failed_over, carrier_txs = trunk_records(group, policy)
        calls.append(CallLine(call_id=d.call_id, start=d.start, trunk=trunk, final_status=d.final_status,
                              pdd_ms=d.pdd_ms, duration_s=d.duration_s, mos=call_mos))
        earlier += failed_over
        txs += carrier_txs
    return calls, txs, earlier


def _trunk_ratios(attempts: list[kpi.CallRecord], policy: Policy) -> dict[str, kpi.Ratios]:
    """Ratios per carrier trunk over every attempt on it; calls that reached no carrier
    (refused by the SBC's admission, say) are in no trunk."""
    by_trunk: dict[str, list[kpi.CallRecord]] = {}
    for c in attempts:
        if c.trunk is not None:
            by_trunk.setdefault(c.trunk, []).append(c)
    return {t: kpi.ratios(cs, count_487=policy.ner_counts_487) for t, cs in sorted(by_trunk.items())}


def stats_report(capture: str, dialogs: list[Dialog], streams: list[RtpStream], policy: Policy) -> StatsReport:
    from voxops.analysis.emodel import METHOD

    lines, txs, failed_over = call_records(dialogs, streams, policy)
    records = [kpi.CallRecord(c.call_id, c.start, c.trunk, c.final_status, c.pdd_ms, c.duration_s, c.mos)
               for c in lines]
    ratios = kpi.ratios(records, count_487=policy.ner_counts_487)
    ok_pdd, failed_pdd = kpi.setup_pdds(records)
    pdd = kpi.percentiles(ok_pdd)
    windows = kpi.windows(records, policy)
    spikes = kpi.spikes_503(txs, policy)
    with_mos = [c for c in lines if c.mos is not None]
    hist = {f"{lo:.1f}-{min(hi, 4.5):.1f}": sum(1 for c in with_mos if lo <= (c.mos or 0) < hi)
            for lo, hi in MOS_BUCKETS}
    below = [c for c in with_mos if (c.mos or 0) < policy.mos_min]
    findings: list[Finding] = []
    for w in windows:
        for b in w.breaches:
            if b.kpi == "asr":
                findings.append(F.ASR_BELOW_SLO(
                    f"{b} in the window starting {_clock(w.start)} UTC", where=f"window {w.start:.0f}-{w.end:.0f}",
                    trunk=b.trunk, asr=b.value, seizures=(w.trunks[b.trunk] if b.trunk else w.ratios).seizures))
    if pdd.p95 is not None and pdd.p95 > policy.pdd_max_ms:
        findings.append(F.PDD_ABOVE_SLO(f"PDD p95 {pdd.p95} ms above {policy.pdd_max_ms:g} ms", p95=pdd.p95))
    for s in spikes:
        findings.append(F.TRUNK_503_SPIKE(
            f"{s.trunk}: {s.count_503} x 503 of {s.finals} INVITE finals ({s.percent}%)",
            where=f"window {s.start:.0f}-{s.end:.0f}", trunk=s.trunk, count_503=s.count_503))
    if below:
        findings.append(F.MOS_BELOW_SLO(f"{len(below)} call(s) with MOS below {policy.mos_min}",
                                        calls=[c.call_id for c in below[:50]]))
    return StatsReport(
        capture=capture,
        window_s=policy.window_s,
        calls=ratios.calls,
        seizures=ratios.seizures,
        answered=ratios.answered,
        asr=ratios.asr,
        ner=ratios.ner,
        isa=ratios.isa,
        acd_s=ratios.acd_s,
        ner_counts_487=policy.ner_counts_487,
        pdd_ms=pdd,
        pdd_failed_ms=kpi.percentiles(failed_pdd),
        trunks=_trunk_ratios(records + failed_over, policy),
        response_codes=kpi.response_codes(txs),
        retransmissions=kpi.retransmissions(txs),
        mos=MosSummary(method=METHOD, threshold=policy.mos_min, calls_with_media=len(with_mos), histogram=hist,
                       below_threshold=below),
        spikes_503=spikes,
        windows=windows,
        slo_breaches=[w for w in windows if w.breaches],
        call_list=lines,
        findings=findings,
    )
