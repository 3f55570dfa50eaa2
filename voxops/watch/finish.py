"""A finished call analysed by the offline code: its diagnosis, record and KPI inputs."""

from __future__ import annotations

from dataclasses import dataclass, field

from voxops.analysis import kpi
from voxops.analysis.diagnosis import CallDiagnosis, diagnose_call
from voxops.analysis.dialogs import build_dialogs, dialogs_for
from voxops.analysis.policy import Policy
from voxops.analysis.streams import find_streams
from voxops.analysis.trunk_kpi import call_groups
from voxops.analysis.trunkstats import CallLine, call_lines
from voxops.records.model import CallRecord, record_from_diagnosis
from voxops.watch.engine import Done


@dataclass(slots=True)
class Finished:
    """What `voxops diagnose` and `voxops stats` would say of one call."""

    diagnoses: list[CallDiagnosis] = field(default_factory=list)
    records: list[CallRecord] = field(default_factory=list)
    lines: list[CallLine] = field(default_factory=list)  # stats: one per call
    attempts: list[kpi.CallRecord] = field(default_factory=list)  # stats: every carrier attempt
    transactions: list[kpi.TransactionRecord] = field(default_factory=list)
    dropped_messages: int = 0
    dropped_datagrams: int = 0


def analyse(done: Done, policy: Policy, capture_start: float | None, node: str | None) -> Finished:
    call = done.state
    scan = call.scan()
    dialogs = build_dialogs(scan.sip)
    streams, _ = find_streams(scan, dialogs, capture_start=capture_start)
    out = Finished(dropped_messages=call.dropped_messages, dropped_datagrams=call.dropped_datagrams)
    own = [d for d in dialogs if d.call_id in call.dialogs]  # the others only share its media
    for group in call_groups(own):
        main = group[0].call_id
        diag = diagnose_call(dialogs_for(dialogs, [main]), streams, main, policy)
        out.diagnoses.append(diag)
        out.records.append(record_from_diagnosis(diag, node=node, finished_by=done.reason))
    failed_over: list[kpi.CallRecord] = []
    for line, earlier, txs in call_lines(call_groups(own), streams, policy):
        out.lines.append(line)
        failed_over += earlier
        out.transactions += txs
    out.attempts = [kpi.CallRecord(c.call_id, c.start, c.trunk, c.final_status, c.pdd_ms, c.duration_s, c.mos)
                    for c in out.lines] + failed_over
    return out
