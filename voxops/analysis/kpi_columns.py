"""The KPIs of `voxops stats` over columns: 36 bytes a call, whatever the capture holds.

`kpi` computes over lists of records; a million records are hundreds of megabytes.
`KpiColumns` takes the calls one at a time, in start order, and keeps per call only
its start, trunk, final status, PDD and talk time in packed arrays; the transaction
counts (response codes, retransmissions, 503 finals per spike window) are counters by
trunk and window. The figures are the ones `kpi` gives for the same calls, exactly:
percentiles are computed over every value (no sketch), talk times are summed in call
order as `kpi.ratios` sums them.
"""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict

import numpy as np

from voxops.analysis import kpi
from voxops.analysis.policy import Policy

NO_STATUS = -1
NO_TRUNK = -1
_CHALLENGES = np.array(sorted(kpi.CHALLENGES))
_ISA = np.array(sorted(kpi.ISA_CODES))
_SUM_CHUNK = 1 << 16


def _ordered_sum(values: np.ndarray) -> float:
    """The sum Python's sum() gives over the values in order (numpy sums pairwise)."""
    total = 0.0
    for at in range(0, len(values), _SUM_CHUNK):
        for v in values[at:at + _SUM_CHUNK].tolist():
            total += v
    return total


def ratios(status: np.ndarray, duration: np.ndarray, count_487: bool) -> kpi.Ratios:
    """kpi.ratios over columns (status NO_STATUS: no final response; duration NaN: none)."""
    ner = np.array(sorted(kpi.NER_CODES | ({487} if count_487 else set())))
    finals = status != NO_STATUS
    ok = (status >= 200) & (status < 300)
    seizures = finals & ~np.isin(status, _CHALLENGES) & ~((status >= 300) & (status < 400))
    answered = seizures & ok
    effective = seizures & (ok | np.isin(status, ner))
    isa = finals & np.isin(status, _ISA)
    talk = duration[answered & ~np.isnan(duration)]
    n_seizures, n_answered = int(seizures.sum()), int(answered.sum())
    return kpi.Ratios(
        calls=len(status),
        seizures=n_seizures,
        answered=n_answered,
        asr=kpi._pct(n_answered, n_seizures),
        ner=kpi._pct(int(effective.sum()), n_seizures),
        isa=kpi._pct(int(isa.sum()), len(status)),
        acd_s=round(_ordered_sum(talk) / len(talk), 2) if len(talk) else None,
    )


def setup_pdds(status: np.ndarray, pdd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """kpi.setup_pdds over columns: PDDs of successful setups, and of failed ones."""
    has = ~np.isnan(pdd)
    failed = (status >= 300) & ~np.isin(status, _CHALLENGES)
    return pdd[has & ~failed], pdd[has & failed]


class KpiColumns:
    """Calls added one at a time (in start order); the KPIs of `stats` at the end."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.trunks: dict[str, int] = {}  # name -> number in `trunk` (NO_TRUNK: reached no carrier)
        self.start, self.pdd, self.duration = array("d"), array("d"), array("d")
        self.trunk, self.status = array("i"), array("i")
        self.codes: dict[str, Counter[str]] = defaultdict(Counter)
        self.retransmissions: Counter[str] = Counter()
        self.invite_finals: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])  # 503s, finals

    def add(self, call: kpi.CallRecord) -> None:
        nan = float("nan")
        self.start.append(call.start)
        self.trunk.append(NO_TRUNK if call.trunk is None else self.trunks.setdefault(call.trunk, len(self.trunks)))
        self.status.append(NO_STATUS if call.final_status is None else call.final_status)
        self.pdd.append(nan if call.pdd_ms is None else call.pdd_ms)
        self.duration.append(nan if call.duration_s is None else call.duration_s)

    def add_transaction(self, t: kpi.TransactionRecord) -> None:
        """A transaction for the response codes, retransmissions and 503 spikes (as `kpi`)."""
        name = t.trunk or "unknown"
        if t.status is not None:
            self.codes[name][f"{t.method} {t.status}"] += 1
            if t.method == "INVITE" and t.status >= 200:
                counts = self.invite_finals[(name, int(t.ts // self.policy.spike_window_s))]
                counts[0] += t.status == 503
                counts[1] += 1
        if t.retransmissions:
            self.retransmissions[name] += t.retransmissions

    def columns(self) -> tuple[np.ndarray, ...]:
        return tuple(np.frombuffer(a, dtype) for a, dtype in (
            (self.start, np.float64), (self.trunk, np.int32), (self.status, np.int32),
            (self.pdd, np.float64), (self.duration, np.float64)))

    def by_trunk(self, trunk: np.ndarray, status: np.ndarray, duration: np.ndarray) -> dict[str, kpi.Ratios]:
        """Ratios per trunk (calls that reached no carrier in none), by name."""
        order = np.argsort(trunk, kind="stable")  # call order within each trunk
        numbers = trunk[order]
        bounds = np.flatnonzero(np.r_[True, numbers[1:] != numbers[:-1], True]) if len(order) else np.zeros(1, int)
        names = {number: name for name, number in self.trunks.items()}
        out = {}
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            if int(numbers[lo]) != NO_TRUNK:
                rows = order[lo:hi]
                out[names[int(numbers[lo])]] = ratios(status[rows], duration[rows], self.policy.ner_counts_487)
        return dict(sorted(out.items()))

    def windows(self) -> list[kpi.Window]:
        """kpi.windows over columns."""
        start, trunk, status, pdd, duration = self.columns()
        if len(start) == 0:
            return []
        keys = np.floor_divide(start, self.policy.window_s).astype(np.int64)
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        bounds = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1], True])
        out = []
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            rows = order[lo:hi]
            s, d = status[rows], duration[rows]
            r = ratios(s, d, self.policy.ner_counts_487)
            ok, _ = setup_pdds(s, pdd[rows])
            out.append(kpi.window(int(keys[lo]), r, kpi.percentiles(ok), self.by_trunk(trunk[rows], s, d),
                                  self.policy))
        return out

    def response_codes(self) -> dict[str, dict[str, int]]:
        return {k: dict(sorted(v.items())) for k, v in sorted(self.codes.items())}

    def spikes_503(self) -> list[kpi.Spike]:
        """kpi.spikes_503 over the counters."""
        size, policy = self.policy.spike_window_s, self.policy
        out = []
        for (trunk, key), (n503, finals) in sorted(self.invite_finals.items()):
            pct = 100.0 * n503 / finals
            if n503 >= policy.spike_min_count and pct >= policy.spike_min_percent:
                out.append(kpi.Spike(trunk=trunk, start=key * size, end=(key + 1) * size, count_503=n503,
                                     finals=finals, percent=round(pct, 1)))
        return out
