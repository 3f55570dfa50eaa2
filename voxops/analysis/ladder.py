"""The ladder model: hosts as columns, one arrow per SIP message, RTP streams as spans.

Pure data built from dialogs and the capture's UDP table; every view (text, SVG, PNG,
HTML, Mermaid) renders this same model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from voxops.analysis.dialogs import Dialog, sdp_media
from voxops.analysis.media_attribution import call_media_windows
from voxops.analysis.span_quality import span_quality
from voxops.capture.records import UdpTable
from voxops.capture.sdp import STATIC_PAYLOADS

CUT_MARGIN_S = 0.1  # a stream whose last packet is this close to its call's media end was cut there


@dataclass(slots=True)
class Arrow:
    index: int
    frame: int
    ts: float
    delta_ms: float  # since the previous arrow (0 for the first)
    src: int  # column index
    dst: int
    label: str  # "INVITE", "180 Ringing"
    call_id: str
    leg: int  # index of the dialog in Ladder.call_ids
    retransmission: bool
    sdp: str | None  # "audio 10.0.0.1:4000 PCMU/8000 sendrecv"
    transport: str
    src_addr: str  # ip:port
    dst_addr: str
    text: str  # the whole message, for the HTML view

    @property
    def kind(self) -> str:
        """request | provisional | success | redirect | failure (for colours)."""
        first = self.label.split(" ", 1)[0]
        if not (first.isascii() and first.isdigit()):
            return "request"
        code = int(first)
        return {1: "provisional", 2: "success", 3: "redirect"}.get(code // 100, "failure")


@dataclass(slots=True)
class Span:
    """One RTP stream (a direction and an SSRC) drawn between two host columns."""

    src: int
    dst: int
    start: float
    end: float
    packets: int
    payload_type: int
    codec: str
    ssrc: int
    src_addr: str
    dst_addr: str
    lost: int | None = None  # estimates for the picture (span_quality), None when not measured
    jitter_ms: float | None = None
    mos: float | None = None
    cut_at: float | None = None  # still flowing when the call's media window closed: drawn up to here

    @property
    def label(self) -> str:
        cut = " (cut at the call's end)" if self.cut_at is not None else ""
        return f"RTP {self.codec} ssrc {self.ssrc:#010x} {self.packets} pkts {self.end - self.start:.1f}s{cut}"


@dataclass(slots=True)
class Ladder:
    columns: list[str]  # display names
    addresses: list[str]  # the IP behind each column
    arrows: list[Arrow] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    call_ids: list[str] = field(default_factory=list)

    @property
    def start(self) -> float:
        times = [a.ts for a in self.arrows] + [s.start for s in self.spans]
        return min(times) if times else 0.0

    def events(self) -> list[tuple[float, str, Arrow | Span]]:
        """Arrows and span start/end markers in time order: ('msg'|'rtp-start'|'rtp-end', item)."""
        out: list[tuple[float, str, Arrow | Span]] = [(a.ts, "msg", a) for a in self.arrows]
        for s in self.spans:
            out.append((s.start, "rtp-start", s))
            out.append((s.end, "rtp-end", s))
        order = {"msg": 1, "rtp-start": 0, "rtp-end": 2}
        out.sort(key=lambda e: (e[0], order[e[1]]))
        return out


def media_endpoints(dialogs: Sequence[Dialog]) -> set[tuple[str, int]]:
    """(address, port) of every media line offered or answered in the dialogs' SDP."""
    return {(m.connection, m.port) for _, _, m in sdp_media(dialogs) if m.connection and m.port}


def _codec_names(dialogs: Sequence[Dialog]) -> dict[int, str]:
    names = {pt: enc[0] for pt, enc in STATIC_PAYLOADS.items()}
    for _, _, m in sdp_media(dialogs):
        names.update((pt, enc[0]) for pt, enc in m.rtpmap.items())
    return names


def media_rows(dialogs: Sequence[Dialog], udp: UdpTable, *, rtcp: bool = True) -> np.ndarray:
    """Indexes of UDP table rows that are the dialogs' RTP (and RTCP on port+1): to or from
    an address:port of their SDP while the call holds it (`media_attribution`)."""
    if not len(udp) or not dialogs:
        return np.zeros(0, np.int64)
    windows = call_media_windows(dialogs)
    if rtcp:
        windows += [(a, p + 1, since, until) for a, p, since, until in windows]
    index = {a: i for i, a in enumerate(udp.addresses)}
    dkey = udp.dst.astype(np.int64) * 65536 + udp.dport.astype(np.int64)
    skey = udp.src.astype(np.int64) * 65536 + udp.sport.astype(np.int64)
    to_call = np.zeros(len(udp), bool)
    from_call = np.zeros(len(udp), bool)
    for addr, port, since, until in windows:
        if addr not in index:
            continue
        key = index[addr] * 65536 + port
        in_time = (udp.ts >= since) & (udp.ts <= until)
        to_call |= (dkey == key) & in_time
        from_call |= (skey == key) & in_time
    both = to_call & from_call
    if both.any():  # offer and answer both seen: exact, even when a port is shared by calls
        return np.flatnonzero(both)
    return np.flatnonzero(to_call | from_call)  # NAT or one side's SDP missing


def _window_end(dialogs: Sequence[Dialog]) -> float:
    return max((until for *_, until in call_media_windows(dialogs)), default=0.0)


def _spans(dialogs: Sequence[Dialog], udp: UdpTable, add_column: Callable[..., int]) -> list[Span]:
    rows = media_rows(dialogs, udp, rtcp=False)
    if not rows.size:
        return []
    t = udp.select(rows)
    head = t.head
    is_rtp = ((head[:, 0] >> 6) == 2) & (t.length >= 12) & ~(
        ((head[:, 1] & 0x7F) >= 72) & ((head[:, 1] & 0x7F) <= 76)
    )
    t = t.select(np.flatnonzero(is_rtp))
    if not len(t):
        return []
    ssrc = (t.head[:, 8:12].astype(np.uint32) << np.array([24, 16, 8, 0], np.uint32)).sum(axis=1)
    key = np.stack([t.src, t.sport, t.dst, t.dport, ssrc.astype(np.int64)], axis=1).astype(np.int64)
    uniq, inverse = np.unique(key, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    names = _codec_names(dialogs)
    window_end = _window_end(dialogs)
    spans = []
    for g, k in enumerate(uniq):
        sel = inverse == g
        ts = t.ts[sel]
        pts = t.head[sel, 1] & 0x7F
        pt = int(np.bincount(pts).argmax())
        src_ip, dst_ip = udp.addresses[int(k[0])], udp.addresses[int(k[2])]
        codec = names.get(pt, f"PT{pt}")
        head_k = t.head[sel]
        quality = span_quality(ts, (head_k[:, 2].astype(np.int64) << 8) | head_k[:, 3],
                               (head_k[:, 4:8].astype(np.int64) << np.array([24, 16, 8, 0])).sum(axis=1),
                               pt, codec)
        spans.append(Span(
            src=add_column(src_ip, int(k[1]), media=True), dst=add_column(dst_ip, int(k[3]), media=True),
            start=float(ts.min()),
            end=float(ts.max()), packets=int(sel.sum()), payload_type=pt,
            codec=codec, ssrc=int(k[4]),
            src_addr=f"{src_ip}:{int(k[1])}", dst_addr=f"{dst_ip}:{int(k[3])}",
            lost=quality.lost, jitter_ms=quality.jitter_ms, mos=quality.mos,
            cut_at=window_end if window_end - float(ts.max()) < CUT_MARGIN_S else None,
        ))
    spans.sort(key=lambda s: s.start)
    return spans


def shared_hosts(dialogs: Sequence[Dialog]) -> set[str]:
    """IPs that send SIP to themselves on another port: two hops (an SBC and an agent on one
    host, every peer on 127.0.0.1) that only their ports tell apart."""
    return {pkt.src for d in dialogs for pkt in d.messages if pkt.src == pkt.dst and pkt.sport != pkt.dport}


def _media_owners(dialogs: Sequence[Dialog], shared: set[str]) -> dict[tuple[str, int], int]:
    """(IP, media port) of a shared host -> the SIP port of the hop whose SDP announced it."""
    owners: dict[tuple[str, int], int] = {}
    for d in dialogs:
        for pkt in d.messages:
            sdp = pkt.msg.sdp
            if sdp is None or pkt.src not in shared:
                continue
            for m in sdp.media:
                if m.port and (m.connection or pkt.src) == pkt.src:
                    owners.setdefault((pkt.src, m.port), pkt.sport)
    return owners


def build_ladder(
    dialogs: Sequence[Dialog],
    *,
    udp: UdpTable | None = None,
    names: Mapping[str, str] | None = None,
) -> Ladder:
    """One ladder for the given dialogs (e.g. both legs of a B2BUA call). A column per host
    IP; a host that sends SIP to itself gets a column per SIP port (`shared_hosts`)."""
    names = names or {}
    ladder = Ladder(columns=[], addresses=[], call_ids=[d.call_id for d in dialogs])
    column: dict[tuple[str, int | None], int] = {}
    shared = shared_hosts(dialogs)
    owners = _media_owners(dialogs, shared)

    def add_column(addr: str, port: int | None = None, *, media: bool = False) -> int:
        """The column of a SIP (or, `media`, an RTP) endpoint; created on first sight."""
        name = names.get(addr, addr)
        if addr in shared and port is not None and media:
            port = owners.get((addr, port))
            if port is None:  # media of a shared host that no SDP names: the host's first column
                port = next((p for a, p in column if a == addr and p is not None), None)
        key = (addr, port if addr in shared else None)
        if key not in column:
            column[key] = len(ladder.addresses)
            shown = key[1] is not None
            ladder.addresses.append(_hostport(addr, port) if shown and port is not None else addr)
            ladder.columns.append(f"{name}:{port}" if shown else name)
        return column[key]

    items = []
    for leg, d in enumerate(dialogs):
        for pkt, rtx in zip(d.messages, d.retransmitted, strict=True):
            items.append((pkt.ts, pkt.frame, leg, pkt, rtx))
    items.sort(key=lambda x: (x[0], x[1]))
    prev = None
    for i, (ts, frame, leg, pkt, rtx) in enumerate(items):
        sdp = pkt.msg.sdp
        ladder.arrows.append(Arrow(
            index=i, frame=frame, ts=ts, delta_ms=0.0 if prev is None else (ts - prev) * 1000.0,
            src=add_column(pkt.src, pkt.sport), dst=add_column(pkt.dst, pkt.dport), label=pkt.msg.summary,
            call_id=dialogs[leg].call_id, leg=leg, retransmission=rtx,
            sdp=sdp.summary() if sdp is not None else None, transport=pkt.transport,
            src_addr=_hostport(pkt.src, pkt.sport), dst_addr=_hostport(pkt.dst, pkt.dport),
            text=pkt.raw.decode("utf-8", errors="replace"),
        ))
        prev = ts
    if udp is not None:
        ladder.spans = _spans(dialogs, udp, add_column)
    return ladder


def _hostport(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def call_frames(dialogs: Sequence[Dialog], udp: UdpTable) -> set[int]:
    """Frame numbers of the dialogs' SIP (every fragment and segment) and RTP/RTCP."""
    frames: set[int] = set()
    for d in dialogs:
        for pkt in d.messages:
            frames.add(pkt.frame)
            frames.update(pkt.frames)
    frames.update(udp.frame[media_rows(dialogs, udp)].tolist())
    return frames
