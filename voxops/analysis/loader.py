"""Loading a capture for analysis: one scan, dialogs and RTP streams, or the sidecar index."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from voxops.analysis.dialogs import (
    DEFAULT_CORRELATION,
    CallSelector,
    Dialog,
    build_dialogs,
    dialogs_for,
)
from voxops.analysis.policy import Policy
from voxops.analysis.streams import RtpStream, find_streams
from voxops.capture.records import CaptureScan, SipPacket
from voxops.errors import InvalidInput

if TYPE_CHECKING:
    from voxops.capture.engines import Engine

Warn = Callable[[str], None]


@dataclass
class Analysis:
    scan: CaptureScan
    dialogs: list[Dialog]
    streams: list[RtpStream]
    jitter: dict[int, np.ndarray] = field(default_factory=dict)


def _check(path: Path) -> Path:
    from voxops.capture.files import check_capture_path

    return check_capture_path(path)


def analyse_capture(path: Path, *, heuristic: bool = False, keep_jitter: bool = False,
                    warn: Warn | None = None, compact: bool = False) -> Analysis:
    """Scan, dialogs and RTP streams. `compact`: dialogs are folded while reading and hold
    only what summaries, KPIs and streams read (`scan.sip` holds the first messages only): memory then
    grows by a few hundred bytes per message, not by the whole message."""
    from voxops.analysis.dialog_summaries import DialogSummaries
    from voxops.capture import scan

    summaries = DialogSummaries() if compact else None
    result = scan(_check(path), warn=warn, sip_filter=summaries)
    dialogs = summaries.dialogs() if summaries is not None else build_dialogs(result.sip)
    streams, jitter = find_streams(result, dialogs, heuristic=heuristic, keep_jitter=keep_jitter)
    return Analysis(result, dialogs, streams, jitter)


MAX_SELECT_PASSES = 4  # each pass can only add legs linked to the call: chains are short


def select_call_sip(path: Path, call_ids: Sequence[str], *,
                    correlate: Sequence[str] = DEFAULT_CORRELATION, engine: Engine | None = None,
                    tls_keylog: Path | None = None, warn: Warn | None = None) -> list[SipPacket]:
    """The SIP messages of the calls named (Call-ID or prefix) and of their correlated legs.

    Only those are held during the scan; the scan is repeated when it learnt of a leg
    whose earlier messages it had dropped, at most MAX_SELECT_PASSES times.
    """
    from voxops.capture.engines import Engine, load_capture

    selector = CallSelector(call_ids, correlate)
    sip: list[SipPacket] = []
    for done in range(MAX_SELECT_PASSES):
        selector.grew = False
        sip = load_capture(path, engine=engine or Engine.native, tls_keylog=tls_keylog, media=False,
                           warn=warn if done == 0 else None, sip_filter=selector).sip
        if not selector.grew:
            break
    if not sip:  # none of them: one message of another call, to say "matches no dialog"
        sip = load_capture(path, engine=engine or Engine.native, tls_keylog=tls_keylog, media=False,
                           sip_filter=_FirstDialog()).sip
    return sip


class _FirstDialog:
    """A scan filter keeping the first message that has a Call-ID, and nothing else."""

    found = False

    def wants_raw(self, raw: bytes) -> bool:
        return not self.found

    def wants(self, pkt: SipPacket) -> bool:
        if self.found or pkt.msg.call_id is None:
            return False
        self.found = True
        return True


def policy_for(spec: Path | None, **overrides: object) -> Policy:
    if spec is None:
        return Policy(**overrides)  # type: ignore[arg-type]
    from voxops.spec.loader import load_topology

    topo, _ = load_topology(spec)
    return Policy.from_topology(topo, **overrides)


def build_index(path: Path, analysis: Analysis) -> Path:
    """Write the sidecar index for `path` from a finished analysis."""
    from voxops.capture.index import write_index

    by_call: dict[str, list[RtpStream]] = {}
    for s in analysis.streams:
        if s.call_id is not None:
            by_call.setdefault(s.call_id, []).append(s)
    calls = []
    for d in analysis.dialogs:
        group = min([d.call_id, *d.legs])
        media = json.dumps([s.model_dump(mode="json") for s in by_call.get(d.call_id, [])])
        calls.append((d.call_id, d.start, group, media))
    return write_index(path, analysis.scan.sip, calls)


def call_from_index(path: Path, call_id: str) -> tuple[list[Dialog], list[RtpStream]] | None:
    """The call's dialogs and streams from a valid index; None when there is no valid index."""
    from voxops.capture.index import open_index

    idx = open_index(_check(path))
    if idx is None:
        return None
    try:
        group = idx.group_of(call_id)
        if not group:
            raise InvalidInput(f"{path}: no call with Call-ID {call_id!r}",
                               hint="`voxops stats --format json` lists the calls of a capture")
        dialogs = build_dialogs(idx.sip(group))
        streams = [RtpStream.model_validate(s) for blob in idx.media(group) for s in json.loads(blob)]
    finally:
        idx.close()
    return dialogs_for(dialogs, [call_id]), streams


def load_call(path: Path, call_id: str, *, use_index: bool = True,
              warn: Warn | None = None) -> tuple[list[Dialog], list[RtpStream]]:
    """Dialogs (call + legs) and RTP streams of one call, through the index when possible."""
    if use_index:
        hit = call_from_index(path, call_id)
        if hit is not None:
            return hit
    analysis = analyse_capture(path, warn=warn)
    if use_index:
        try:
            build_index(path, analysis)
        except OSError as exc:
            if warn:
                warn(f"could not write the capture index: {exc}")
    known = {d.call_id for d in analysis.dialogs}
    if call_id not in known:
        raise InvalidInput(f"{path}: no call with Call-ID {call_id!r}",
                           hint="`voxops stats --format json` lists the calls of a capture")
    return dialogs_for(analysis.dialogs, [call_id]), analysis.streams
