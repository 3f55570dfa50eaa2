"""Loading a capture for analysis: one scan, dialogs and RTP streams, or the capture index."""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import ValidationError

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

if TYPE_CHECKING:
    from voxops.analysis.call_store import CallStore
    from voxops.capture.engines import Engine
    from voxops.capture.index import CaptureIndex

Warn = Callable[[str], None]


@dataclass
class Analysis:
    scan: CaptureScan
    dialogs: list[Dialog]
    streams: list[RtpStream]
    jitter: dict[int, np.ndarray] = field(default_factory=dict)
    calls: CallStore | None = None  # `stored` analyses: the dialogs, on disk (`dialogs` is then empty)


def _check(path: Path) -> Path:
    from voxops.capture.files import check_capture_path

    return check_capture_path(path)


def analyse_capture(path: Path, *, heuristic: bool = False, keep_jitter: bool = False,
                    warn: Warn | None = None, compact: bool = False, tls_keylog: Path | None = None,
                    stored: bool = False) -> Analysis:
    """Scan, dialogs and RTP streams. `compact`: dialogs are folded while reading and hold
    only what summaries, KPIs and streams read (`scan.sip` holds the first messages only): memory then
    grows by a few hundred bytes per message, not by the whole message. `stored` (implies
    `compact`): ended dialogs go on to `Analysis.calls`, on disk, and `dialogs` stays empty:
    memory then holds the calls in progress and a few bytes a call, not the capture's."""
    from voxops.analysis.call_store import CallStore
    from voxops.analysis.dialog_summaries import DialogSummaries
    from voxops.capture import scan
    from voxops.capture.foreign import native_or_tshark

    store = CallStore(DEFAULT_CORRELATION) if stored else None
    summaries = DialogSummaries(store=store) if compact or stored else None
    try:
        if tls_keylog is not None or native_or_tshark(_check(path), warn):  # TLS: Wireshark decrypts it
            from voxops.capture.engines import Engine, load_capture

            result = load_capture(_check(path), engine=Engine.tshark, tls_keylog=tls_keylog, warn=warn,
                                  sip_filter=summaries)
        else:
            result = scan(_check(path), warn=warn, sip_filter=summaries)
        if store is not None and summaries is not None:
            summaries.finish()
            streams, jitter = find_streams(result, store.media_dialogs(result.udp.addresses),
                                           heuristic=heuristic, keep_jitter=keep_jitter)
            return Analysis(result, [], streams, jitter, store)
    except BaseException:
        if store is not None:
            store.close()
        raise
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
    if not sip:  # none of them: one message of another call, to say "matches no call"
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


def build_index(path: Path, analysis: Analysis, key: str | None = None) -> Path:
    """Write the index of `path` from a finished analysis (`key`: its fingerprint beforehand)."""
    from voxops.capture.index import write_index

    by_call: dict[str, list[RtpStream]] = {}
    for s in analysis.streams:
        for cid in ([s.call_id] if s.call_id is not None else []) + s.claimed_by:
            by_call.setdefault(cid, []).append(s)
    calls = []
    for d in analysis.dialogs:
        group = min([d.call_id, *d.legs])
        media = json.dumps([s.model_dump(mode="json") for s in by_call.get(d.call_id, [])])
        calls.append((d.call_id, d.start, group, media))
    return write_index(path, analysis.scan.sip, calls, key)


def _streams_from(blobs: list[str], group: list[str]) -> list[RtpStream]:
    """Media summaries as the index stored them, checked like any outside input."""
    from voxops.capture.index import IndexDoubt

    streams = []
    for blob in blobs:
        items = json.loads(blob)
        if not isinstance(items, list):
            raise IndexDoubt("media summary is not a list")
        streams += [RtpStream.model_validate(item) for item in items]
    for s in streams:
        numbers = [v for v in s.model_dump().values() if isinstance(v, int | float) and not isinstance(v, bool)]
        counts = (s.packets, s.expected, s.seq_errors, s.duplicates, s.markers, s.first_frame, s.last_frame)
        if ((s.call_id not in group and not set(s.claimed_by) & set(group)) or not all(math.isfinite(v) for v in numbers)
                or min(counts) < 0 or not 0 <= s.payload_type <= 127 or s.ssrc >> 32):
            raise IndexDoubt(f"media summary of stream {s.ssrc} out of range")
    return streams


def _index_candidates(idx: CaptureIndex, call_id: str) -> dict[str, tuple[list[Dialog], list[RtpStream]]]:
    """Dialogs and streams of each call (by group) whose Call-ID is or starts with `call_id`."""
    from voxops.analysis.call_ids import MAX_CANDIDATES

    by_group: dict[str, tuple[list[Dialog], list[RtpStream]]] = {}
    for cid in idx.matching(call_id, 4 * MAX_CANDIDATES):
        if any(cid in {d.call_id for d in ds} for ds, _ in by_group.values()):
            continue
        hit = idx.call(cid)
        if hit is not None:
            by_group[min(hit.group)] = (build_dialogs(hit.sip), _streams_from(hit.media, hit.group))
    return by_group


def call_from_index(path: Path, call_id: str,
                    warn: Warn | None = None) -> tuple[list[Dialog], list[RtpStream]] | None:
    """The call's dialogs and streams from a sound index; None when there is none to trust."""
    hit = chosen_from_index(path, call_id, warn)
    return None if hit is None else (hit[0], hit[1])


def chosen_from_index(path: Path, call_id: str,
                      warn: Warn | None = None) -> tuple[list[Dialog], list[RtpStream], str] | None:
    """`call_from_index`, and the full Call-ID `call_id` named.

    `call_id` may be a unique prefix. An index that fails any check (`warn` hears why)
    counts as no index: the capture is read again, never the index believed.
    """
    from voxops.analysis.call_ids import choose, refs
    from voxops.capture.index import IndexDoubt, open_index

    idx = open_index(_check(path), warn)
    if idx is None:
        return None
    try:
        by_group = _index_candidates(idx, call_id)
        chosen = choose(call_id, refs(d for ds, _ in by_group.values() for d in ds), capture=path,
                        flag="CALL_ID")
        dialogs, streams = next((ds, ss) for ds, ss in by_group.values()
                                if chosen[0] in {d.call_id for d in ds})
    except (IndexDoubt, sqlite3.Error, ValidationError, ValueError, RecursionError) as exc:
        if warn is not None:
            reason = f"{type(exc).__name__}" if isinstance(exc, ValidationError) else str(exc)
            warn(f"capture index {idx.path} not used ({reason or type(exc).__name__}); rebuilding it")
        return None
    finally:
        idx.close()
    return dialogs_for(dialogs, chosen), streams, chosen[0]


def resolve_call_id(dialogs: Sequence[Dialog], call_id: str, path: Path) -> str:
    """The Call-ID a (unique prefix of a) Call-ID names among `dialogs`: its earliest match."""
    from voxops.analysis.call_ids import choose, refs

    return choose(call_id, refs(dialogs), capture=path, flag="CALL_ID")[0]


def load_call(path: Path, call_id: str, *, use_index: bool = True, warn: Warn | None = None,
              tls_keylog: Path | None = None) -> tuple[list[Dialog], list[RtpStream]]:
    """Dialogs (call + legs) and RTP streams of one call (`call_id` or a unique prefix of
    one), through the index when possible."""
    dialogs, streams, _ = load_chosen_call(path, call_id, use_index=use_index, warn=warn,
                                           tls_keylog=tls_keylog)
    return dialogs, streams


def load_chosen_call(path: Path, call_id: str, *, use_index: bool = True, warn: Warn | None = None,
                     tls_keylog: Path | None = None) -> tuple[list[Dialog], list[RtpStream], str]:
    """`load_call`, and the full Call-ID `call_id` named (never through the index with a
    TLS key log: the index holds what the native reader saw)."""
    use_index = use_index and tls_keylog is None
    if use_index:
        hit = chosen_from_index(path, call_id, warn)
        if hit is not None:
            return hit
    key = None
    if use_index:
        from voxops.capture.index import fingerprint

        with contextlib.suppress(OSError):
            key = fingerprint(_check(path))
    analysis = analyse_capture(path, warn=warn, tls_keylog=tls_keylog)
    if use_index and key is not None:
        try:
            build_index(path, analysis, key)
        except (OSError, sqlite3.Error) as exc:
            if warn:
                warn(f"could not write the capture index: {exc}")
    chosen = resolve_call_id(analysis.dialogs, call_id, path)
    return dialogs_for(analysis.dialogs, [chosen]), analysis.streams, chosen
