"""The health of every trunk over a capture: the report behind `voxops stats`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from voxops.analysis import faults as F
from voxops.analysis import kpi
from voxops.analysis.audio_kpi import AudioStats
from voxops.analysis.policy import Policy
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


def call_lines(groups: Iterable[list[Dialog]], streams: list[RtpStream], policy: Policy
               ) -> Iterator[tuple[CallLine, list[kpi.CallRecord], list[kpi.TransactionRecord]]]:
    """One line per call (a dialog and its legs) with the trunk of its carrier-facing hop,
    a record per carrier attempt that failed over (`trunk_kpi`), and its carrier-side
    transactions; one call at a time."""
    from voxops.analysis.trunk_kpi import trunk_records

    mos: dict[str, float] = {}
    for s in streams:
        if s.call_id is not None and s.mos is not None:
            mos[s.call_id] = min(mos.get(s.call_id, 5.0), s.mos)
    for group in groups:
        d = group[0]
        call_mos = min((mos[g.call_id] for g in group if g.call_id in mos), default=None)
        trunk, failed_over, carrier_txs = trunk_records(group, policy)
        yield (CallLine(call_id=d.call_id, start=d.start, trunk=trunk, final_status=d.final_status,
                        pdd_ms=d.pdd_ms, duration_s=d.duration_s, mos=call_mos), failed_over, carrier_txs)


def stats_report(capture: str, dialogs: list[Dialog], streams: list[RtpStream], policy: Policy) -> StatsReport:
    """The report of dialogs held in memory (call list included)."""
    from voxops.analysis.trunk_kpi import call_groups

    return stats_of_calls(capture, call_groups(dialogs), streams, policy)


def stats_of_calls(capture: str, groups: Iterable[list[Dialog]], streams: list[RtpStream], policy: Policy,
                   *, keep_call_list: bool = True) -> StatsReport:
    """The report of the calls (`trunk_kpi.call_groups`, in start order) in one pass, in
    memory of a few dozen bytes a call. Without `keep_call_list` its call list is left
    empty (`call_lines` gives it again, one line at a time)."""
    from voxops.analysis.emodel import METHOD
    from voxops.analysis.kpi_columns import KpiColumns, ratios, setup_pdds

    calls, attempts = KpiColumns(policy), KpiColumns(policy)  # attempts: the calls and their failovers
    lines, with_mos = [], []
    for line, failed_over, carrier_txs in call_lines(groups, streams, policy):
        record = kpi.CallRecord(line.call_id, line.start, line.trunk, line.final_status, line.pdd_ms,
                                line.duration_s, line.mos)
        calls.add(record)
        for attempt in (record, *failed_over):
            attempts.add(attempt)
        for t in carrier_txs:
            calls.add_transaction(t)
        if keep_call_list:
            lines.append(line)
        if line.mos is not None:
            with_mos.append(line)
    _, _, status, pdd_ms, duration = calls.columns()
    total = ratios(status, duration, policy.ner_counts_487)
    ok_pdd, failed_pdd = setup_pdds(status, pdd_ms)
    pdd = kpi.percentiles(ok_pdd)
    windows = calls.windows()
    spikes = calls.spikes_503()
    hist = {f"{lo:.1f}-{min(hi, 4.5):.1f}": sum(1 for c in with_mos if lo <= (c.mos or 0) < hi)
            for lo, hi in MOS_BUCKETS}
    below = [c for c in with_mos if (c.mos or 0) < policy.mos_min]
    _, attempt_trunk, attempt_status, _, attempt_duration = attempts.columns()
    return StatsReport(
        capture=capture,
        window_s=policy.window_s,
        calls=total.calls,
        seizures=total.seizures,
        answered=total.answered,
        asr=total.asr,
        ner=total.ner,
        isa=total.isa,
        acd_s=total.acd_s,
        ner_counts_487=policy.ner_counts_487,
        pdd_ms=pdd,
        pdd_failed_ms=kpi.percentiles(failed_pdd),
        trunks=attempts.by_trunk(attempt_trunk, attempt_status, attempt_duration),
        response_codes=calls.response_codes(),
        retransmissions=dict(sorted(calls.retransmissions.items())),
        mos=MosSummary(method=METHOD, threshold=policy.mos_min, calls_with_media=len(with_mos), histogram=hist,
                       below_threshold=below),
        spikes_503=spikes,
        windows=windows,
        slo_breaches=[w for w in windows if w.breaches],
        call_list=lines,
        findings=_findings(windows, pdd, spikes, below, policy),
    )


def _findings(windows: list[kpi.Window], pdd: kpi.Percentiles, spikes: list[kpi.Spike], below: list[CallLine],
              policy: Policy) -> list[Finding]:
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
    return findings
