"""Telephony KPIs over many calls: ASR, NER, ISA, ACD, PDD percentiles, per-trunk codes.

Definitions (REFERENCE: ITU-T E.411/E.425, RFC 6076):
- seizure: an initial INVITE with a final response, leaving out calls that ended on a
  401/407 challenge or a 3xx redirect; ASR = answered (2xx) / seizures;
- NER (SEER) = finals in {2xx, 480, 486, 600, 603} (+487 when configured) / seizures;
- ISA = finals in {408, 500, 503, 504} / all initial INVITEs;
- ACD = talk time (200 OK -> BYE) / answered calls;
- PDD percentiles over calls that rang or were answered (failed setups reported apart);
- response codes counted per transaction (Call-ID + CSeq + branch), retransmissions apart.
Windows are aligned to multiples of the window length in epoch time.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from voxops.analysis.policy import Policy

if TYPE_CHECKING:
    import numpy as np

NER_CODES = {480, 486, 600, 603}
ISA_CODES = {408, 500, 503, 504}
CHALLENGES = {401, 407}


@dataclass(frozen=True, slots=True)
class CallRecord:
    call_id: str
    start: float  # epoch seconds of the initial INVITE
    trunk: str | None
    final_status: int | None
    pdd_ms: float | None  # None when no provisional/final arrived
    duration_s: float | None
    mos: float | None = None


@dataclass(frozen=True, slots=True)
class TransactionRecord:
    trunk: str | None
    method: str
    status: int | None
    ts: float
    retransmissions: int


class Percentiles(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int
    p50: float | None
    p95: float | None
    max: float | None


class Ratios(BaseModel):
    model_config = ConfigDict(extra="forbid")
    calls: int
    seizures: int
    answered: int
    asr: float | None = Field(description="percent")
    ner: float | None = Field(description="percent")
    isa: float | None = Field(description="percent")
    acd_s: float | None


class Breach(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trunk: str | None = Field(description="null: all trunks together")
    kpi: str = Field(description="asr | pdd_p95")
    value: float
    limit: float

    def __str__(self) -> str:
        who = f"{self.trunk} " if self.trunk else ""
        if self.kpi == "asr":
            return f"{who}ASR {self.value}% < {self.limit:g}%"
        return f"{who}PDD p95 {self.value:g} ms > {self.limit:g} ms"


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: float
    end: float
    ratios: Ratios
    pdd_ms: Percentiles
    trunks: dict[str, Ratios] = Field(default_factory=dict)
    breaches: list[Breach] = Field(default_factory=list)


class Spike(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trunk: str
    start: float
    end: float
    count_503: int
    finals: int
    percent: float


def percentiles(values: Sequence[float] | np.ndarray) -> Percentiles:
    if len(values) == 0:
        return Percentiles(count=0, p50=None, p95=None, max=None)
    import numpy as np

    arr = np.asarray(values, dtype=float)
    return Percentiles(
        count=len(values),
        p50=round(float(np.percentile(arr, 50)), 1),
        p95=round(float(np.percentile(arr, 95)), 1),
        max=round(float(arr.max()), 1),
    )


def _pct(num: int, den: int) -> float | None:
    return round(100.0 * num / den, 2) if den else None


def ratios(calls: list[CallRecord], *, count_487: bool = False) -> Ratios:
    ner_codes = NER_CODES | ({487} if count_487 else set())
    finals = [c for c in calls if c.final_status is not None]
    seizures = [
        c for c in finals
        if c.final_status not in CHALLENGES and not 300 <= (c.final_status or 0) < 400
    ]
    answered = [c for c in seizures if 200 <= (c.final_status or 0) < 300]
    effective = [c for c in seizures if 200 <= (c.final_status or 0) < 300 or c.final_status in ner_codes]
    isa = [c for c in finals if c.final_status in ISA_CODES]
    talk = [c.duration_s for c in answered if c.duration_s is not None]
    return Ratios(
        calls=len(calls),
        seizures=len(seizures),
        answered=len(answered),
        asr=_pct(len(answered), len(seizures)),
        ner=_pct(len(effective), len(seizures)),
        isa=_pct(len(isa), len(calls)),
        acd_s=round(sum(talk) / len(talk), 2) if talk else None,
    )


def setup_pdds(calls: list[CallRecord]) -> tuple[list[float], list[float]]:
    """PDDs of successful setups and of failed ones (RFC 6076 reports them apart)."""
    ok, failed = [], []
    for c in calls:
        if c.pdd_ms is None:
            continue
        status = c.final_status or 0
        if status >= 300 and status not in CHALLENGES:
            failed.append(c.pdd_ms)
        else:
            ok.append(c.pdd_ms)
    return ok, failed


def response_codes(transactions: list[TransactionRecord]) -> dict[str, dict[str, int]]:
    """{trunk: {"INVITE 503": n, ...}} counting each transaction once."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for t in transactions:
        if t.status is None:
            continue
        out[t.trunk or "unknown"][f"{t.method} {t.status}"] += 1
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def retransmissions(transactions: list[TransactionRecord]) -> dict[str, int]:
    out: Counter[str] = Counter()
    for t in transactions:
        if t.retransmissions:
            out[t.trunk or "unknown"] += t.retransmissions
    return dict(sorted(out.items()))


def windows(calls: list[CallRecord], policy: Policy) -> list[Window]:
    size = policy.window_s
    buckets: dict[int, list[CallRecord]] = defaultdict(list)
    for c in calls:
        buckets[int(c.start // size)].append(c)
    out = []
    for key in sorted(buckets):
        group = buckets[key]
        r = ratios(group, count_487=policy.ner_counts_487)
        ok, _ = setup_pdds(group)
        pdd = percentiles(ok)
        by_trunk: dict[str, list[CallRecord]] = defaultdict(list)
        for c in group:
            if c.trunk is not None:  # a call that reached no carrier is in the total only
                by_trunk[c.trunk].append(c)
        trunks = {t: ratios(cs, count_487=policy.ner_counts_487) for t, cs in sorted(by_trunk.items())}
        out.append(window(key, r, pdd, trunks, policy))
    return out


def window(key: int, r: Ratios, pdd: Percentiles, trunks: dict[str, Ratios], policy: Policy) -> Window:
    """Window number `key` (of policy.window_s) with its SLO breaches."""
    size = policy.window_s
    breaches = []
    # the whole window, then each trunk: one bad trunk can hide in a healthy total
    for trunk, tr in [(None, r), *trunks.items()]:
        if tr.asr is not None and tr.asr < policy.asr_alert_percent:
            breaches.append(Breach(trunk=trunk, kpi="asr", value=tr.asr, limit=policy.asr_alert_percent))
    if pdd.p95 is not None and pdd.p95 > policy.pdd_max_ms:
        breaches.append(Breach(trunk=None, kpi="pdd_p95", value=pdd.p95, limit=policy.pdd_max_ms))
    return Window(start=key * size, end=(key + 1) * size, ratios=r, pdd_ms=pdd, trunks=trunks, breaches=breaches)


def spikes_503(transactions: list[TransactionRecord], policy: Policy) -> list[Spike]:
    """Windows where one trunk's INVITE finals hold at least min_count and min_percent 503s."""
    size = policy.spike_window_s
    finals: dict[tuple[str, int], list[int]] = defaultdict(list)
    for t in transactions:
        if t.method == "INVITE" and t.status is not None and t.status >= 200:
            finals[(t.trunk or "unknown", int(t.ts // size))].append(t.status)
    out = []
    for (trunk, key), codes in sorted(finals.items()):
        n503 = codes.count(503)
        pct = 100.0 * n503 / len(codes)
        if n503 >= policy.spike_min_count and pct >= policy.spike_min_percent:
            out.append(Spike(trunk=trunk, start=key * size, end=(key + 1) * size, count_503=n503,
                             finals=len(codes), percent=round(pct, 1)))
    return out
