"""The watch's Prometheus metrics: counters and histograms, rendered as text exposition.

Per-trunk names and labels follow the SBC's own metrics that the rendered alert rules
read (`voxops_sbc_invite_responses_total{trunk,code}`, `voxops_sbc_pdd_milliseconds`
with the same buckets), under the `voxops_watch_` prefix so both can be scraped side by
side: a rule is pointed at the watch by changing the prefix.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable

from voxops.analysis import kpi
from voxops.watch.finish import Finished

PREFIX = "voxops_watch_"
PDD_BUCKETS = (100, 250, 500, 1000, 2000, 4000, 8000, 16000)  # as the SBC's pdd_milliseconds
MOS_BUCKETS = (1, 2, 2.5, 3, 3.5, 4, 4.5)  # as the SBC's relay_mos_*
LOSS_BUCKETS = (0.5, 1, 2, 5, 10, 25, 50)  # as the SBC's relay_loss_percent

HELP = {
    "calls_total": ("counter", "Call attempts per trunk (every carrier tried counts once), as `voxops stats` counts them."),
    "seizures_total": ("counter", "Attempts with a final answer other than a challenge or a redirect (ASR/NER denominator)."),
    "answered_total": ("counter", "Attempts answered with a 2xx (ASR numerator)."),
    "effective_total": ("counter", "Attempts answered or refused by the user: 2xx, 480, 486, 600, 603 (NER numerator)."),
    "invite_responses_total": ("counter", "Final responses to INVITE transactions on the trunk's hop, by code."),
    "responses_total": ("counter", "Final responses of every carrier-side transaction, by method and code."),
    "pdd_milliseconds": ("histogram", "Post-dial delay of calls that rang or were answered."),
    "mos": ("histogram", "The lowest MOS estimate of each call with media."),
    "loss_percent": ("histogram", "The worst RTP loss of each call with media."),
    "findings_total": ("counter", "Findings of finished calls, by code and severity."),
    "records_total": ("counter", "Finished calls recorded, by what finished them."),
    "calls_active": ("gauge", "Calls being followed now."),
    "packets_total": ("counter", "Packets the watch received, by kind."),
    "packets_dropped_total": ("counter", "Packets not held, by reason."),
    "hep_errors_total": ("counter", "HEP packets refused, by reason."),
    "store_errors_total": ("counter", "Call records the store could not write."),
}


class Histogram:
    __slots__ = ("buckets", "counts", "total", "count")

    def __init__(self, buckets: Iterable[float]) -> None:
        self.buckets = tuple(buckets)
        self.counts = [0] * len(self.buckets)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        for i, le in enumerate(self.buckets):
            if value <= le:
                self.counts[i] += 1
        self.total += value
        self.count += 1


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    if not pairs:
        return ""
    body = ",".join(f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"' for k, v in pairs)
    return "{" + body + "}"


class Metrics:
    """All the watch's series; `render()` may run in another thread than the updates."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counters: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
        self.histograms: dict[str, dict[tuple[tuple[str, str], ...], Histogram]] = defaultdict(dict)
        self.gauges: dict[str, float] = {}
        self.sources: list[tuple[str, str, dict[str, int]]] = []  # (metric, label, live counts)

    def inc(self, name: str, amount: float = 1, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self.lock:
            series = self.counters[name]
            series[key] = series.get(key, 0) + amount

    def observe(self, name: str, value: float, buckets: Iterable[float], **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self.lock:
            series = self.histograms[name]
            if key not in series:
                series[key] = Histogram(buckets)
            series[key].observe(value)

    def follow(self, metric: str, label: str, counts: dict[str, int]) -> None:
        """Export a live counter dict (packets by kind, drops by reason) as `metric{label}`."""
        self.sources.append((metric, label, counts))

    def call(self, done: Finished) -> None:
        """Count one finished call the way `voxops stats` counts it."""
        for a in done.attempts:
            trunk = a.trunk or "unknown"
            r = kpi.ratios([a])
            self.inc("calls_total", trunk=trunk)
            self.inc("seizures_total", r.seizures, trunk=trunk)
            self.inc("answered_total", r.answered, trunk=trunk)
            self.inc("effective_total", 1 if r.seizures and r.ner == 100.0 else 0, trunk=trunk)
        for line, attempt in zip(done.lines, done.attempts, strict=False):  # attempts begin with the lines
            ok_pdd, _ = kpi.setup_pdds([attempt])
            if ok_pdd:
                self.observe("pdd_milliseconds", ok_pdd[0], PDD_BUCKETS, trunk=line.trunk or "unknown")
            if line.mos is not None:
                self.observe("mos", line.mos, MOS_BUCKETS, trunk=line.trunk or "unknown")
        for rec in done.records:
            if rec.loss_max_pct is not None:
                self.observe("loss_percent", rec.loss_max_pct, LOSS_BUCKETS, trunk=rec.trunk or "unknown")
            for f in rec.findings:
                self.inc("findings_total", code=f.code, severity=f.severity.value)
            self.inc("records_total", finished_by=rec.finished_by or "")
        for t in done.transactions:
            if t.status is None:
                continue
            trunk = t.trunk or "unknown"
            self.inc("responses_total", trunk=trunk, method=t.method, code=str(t.status))
            if t.method == "INVITE" and t.status >= 200:
                self.inc("invite_responses_total", trunk=trunk, code=str(t.status))

    def render(self) -> str:
        lines: list[str] = []
        with self.lock:
            counters = {k: dict(v) for k, v in self.counters.items()}
            hists = {k: {lk: (h.buckets, list(h.counts), h.total, h.count) for lk, h in v.items()}
                     for k, v in self.histograms.items()}
            gauges = dict(self.gauges)
        for metric, label, live in self.sources:
            counters.setdefault(metric, {}).update({((label, k),): v for k, v in list(live.items())})
        for name, (kind, text) in HELP.items():
            full = PREFIX + name
            lines += [f"# HELP {full} {text}", f"# TYPE {full} {kind}"]
            if kind == "gauge":
                lines.append(f"{full} {gauges.get(name, 0):g}")
            for key, value in sorted(counters.get(name, {}).items()):
                lines.append(f"{full}{_labels(key)} {value:g}")
            for key, (buckets, counts, total, count) in sorted(hists.get(name, {}).items()):
                for le, n in zip(buckets, counts, strict=True):
                    lines.append(f"{full}_bucket{_labels((*key, ('le', f'{le:g}')))} {n}")
                lines.append(f"{full}_bucket{_labels((*key, ('le', '+Inf')))} {count}")
                lines.append(f"{full}_sum{_labels(key)} {total:g}")
                lines.append(f"{full}_count{_labels(key)} {count}")
        return "\n".join(lines) + "\n"
