"""RTP streams of a capture: found from the SDP of its dialogs, or by a heuristic.

SDP association follows Wireshark: each m= line's connection address and port becomes
an RTP endpoint from the frame of the SDP on; a datagram from or to such an endpoint
(source checked first) is RTP of that SDP's call. The heuristic (`heuristic=True`)
takes what is left: RTP version 2, a payload type that is static audio/video (0-34) or
dynamic (96-127), not RTCP, grouped by 5-tuple and SSRC, kept when a group has at least
`MIN_HEURISTIC_PACKETS` packets and neither port is a well-known port of another protocol. A stream is (source, destination, SSRC), as in
`tshark -z rtp,streams`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from voxops.analysis import emodel
from voxops.analysis.dialogs import sdp_media
from voxops.analysis.media_attribution import attribute
from voxops.analysis.rtcp import FarEndView, collect_reports, far_end_views

if TYPE_CHECKING:
    from voxops.analysis.dialogs import Dialog
    from voxops.capture.records import CaptureScan

MIN_HEURISTIC_PACKETS = 3
# UDP ports of other protocols whose datagrams can look like RTP version 2: the heuristic
# never takes them (DNS, DHCP, TFTP, NTP, NetBIOS, SNMP, IKE, syslog, RIP, RADIUS, SSDP,
# IPsec NAT-T, SIP, mDNS, LLMNR).
WELL_KNOWN_PORTS = np.array([53, 67, 68, 69, 123, 137, 138, 139, 161, 162, 500, 514, 520, 1812, 1813, 1900,
                             4500, 5060, 5061, 5353, 5355], np.int64)
TELEPHONE_EVENT = -1  # the clock rate the RTP kernel reads as "not voice: no delta, no jitter"
JITTER_BUFFER_MS = 60.0  # a packet this late against its nominal time counts as discarded


class RtcpSummary(BaseModel):
    """What the far end's RTCP receiver reports say about this stream."""

    model_config = ConfigDict(extra="forbid")
    reports: int
    fraction_lost_max: float
    cumulative_lost: int
    jitter_max_ms: float | None
    rtt_ms: float | None


class RtpStream(BaseModel):
    """One RTP stream; JSON field names are a public interface (docs/diagnosis.md)."""

    model_config = ConfigDict(extra="forbid")

    src: str = Field(description="ip:port")
    dst: str = Field(description="ip:port")
    ssrc: int
    payload_type: int = Field(description="the most frequent payload type")
    payload_types: list[int]
    codec: str | None
    clock_rate: int
    packets: int
    expected: int
    lost: int
    lost_pct: float
    seq_errors: int
    duplicates: int
    markers: int
    ssrc_changes: int
    min_delta_ms: float
    mean_delta_ms: float
    max_delta_ms: float
    min_jitter_ms: float
    mean_jitter_ms: float
    max_jitter_ms: float
    jitter_buffer_discards: int
    telephone_events: int = Field(default=0, description=(
        "RFC 4733 packets: counted for sequence and loss, left out of delta, jitter and MOS"))
    start: float = Field(description="epoch seconds of the first packet")
    end: float
    start_rel: float = Field(description="seconds since the first frame of the capture")
    end_rel: float
    first_frame: int
    last_frame: int
    call_id: str | None
    found_by: str = Field(description="sdp | heuristic")
    claimed_by: list[str] = Field(default_factory=list, description=(
        "other calls whose SDP claims this stream at its start: ambiguous, counted for each"))
    mos: float | None
    r_factor: float | None
    mos_method: str | None
    rtcp: RtcpSummary | None = None


@dataclass
class _Endpoint:
    frame: int
    call_id: str
    rtpmap: dict[int, tuple[str, int, int]]


def _u32(h: np.ndarray, at: int) -> np.ndarray:
    return (
        (h[:, at].astype(np.int64) << 24) | (h[:, at + 1].astype(np.int64) << 16)
        | (h[:, at + 2].astype(np.int64) << 8) | h[:, at + 3].astype(np.int64)
    )


def sdp_endpoints(dialogs: list[Dialog]) -> dict[tuple[str, int], list[_Endpoint]]:
    out: dict[tuple[str, int], list[_Endpoint]] = {}
    for d, pkt, m in sdp_media(dialogs):
        if m.port and m.connection:
            out.setdefault((m.connection, m.port), []).append(_Endpoint(pkt.frame, d.call_id, dict(m.rtpmap)))
    for v in out.values():
        v.sort(key=lambda e: e.frame)
    return out


def find_streams(
    scan: CaptureScan,
    dialogs: list[Dialog],
    *,
    heuristic: bool = False,
    keep_jitter: bool = False,
    capture_start: float | None = None,
) -> tuple[list[RtpStream], dict[int, np.ndarray]]:
    """Every RTP stream, with Wireshark-exact statistics, its call and a MOS estimate.

    Returns the streams and, when `keep_jitter`, per-stream [2, N] arrays (epoch s, jitter ms).
    `capture_start` dates `start_rel`/`end_rel` when `scan` holds part of a capture only
    (one call of a live feed); by default the scan's own first packet.
    """
    from voxops.analysis.kernels import load
    from voxops.analysis.rtpstats import analyse, clock_rate

    udp = scan.udp
    if len(udp) == 0:
        return [], {}
    # SDP endpoints as one table sorted by (address:port, setup frame)
    addr_idx = {a: i for i, a in enumerate(udp.addresses)}
    rows: list[tuple[int, int, _Endpoint]] = []
    for (addr, port), lst in sdp_endpoints(dialogs).items():
        if addr in addr_idx:
            rows += [(addr_idx[addr] * 65536 + port, e.frame, e) for e in lst]
    rows.sort(key=lambda r: (r[0], r[1]))
    ep_key_rows = np.array([r[0] for r in rows], np.int64)
    ep_keys, ep_first = np.unique(ep_key_rows, return_index=True)
    ep_first = np.r_[ep_first, len(rows)].astype(np.int64)
    ep_frame = np.array([r[1] for r in rows], np.int64)
    ep_obj = [r[2] for r in rows]

    c = np.ascontiguousarray
    idx, ep_sel, stream, n_streams, ssrc_changes, first_of, last_of = load().select_rtp(
        c(udp.src, np.int32), c(udp.sport, np.uint16), c(udp.dst, np.int32), c(udp.dport, np.uint16),
        c(udp.frame, np.int64), c(udp.length, np.int32), c(udp.head, np.uint8),
        c(ep_keys, np.int64), c(ep_first, np.int64), c(ep_frame, np.int64), bool(heuristic),
    )
    n_streams = int(n_streams)
    if len(idx) == 0:
        return [], {}
    counts = np.bincount(stream, minlength=n_streams)
    from_sdp = np.zeros(n_streams, bool)
    from_sdp[stream[ep_sel >= 0]] = True
    first_rows = idx[first_of]
    other_protocol = np.isin(udp.sport[first_rows], WELL_KNOWN_PORTS) | np.isin(udp.dport[first_rows], WELL_KNOWN_PORTS)
    keep_stream = from_sdp | ((counts >= MIN_HEURISTIC_PACKETS) & ~other_protocol)
    if not keep_stream.all():
        renumber = np.cumsum(keep_stream) - 1
        keep = keep_stream[stream]
        idx, ep_sel = idx[keep], ep_sel[keep]
        stream = renumber[stream[keep]]
        ssrc_changes, from_sdp = ssrc_changes[keep_stream], from_sdp[keep_stream]
        position = np.cumsum(keep) - 1  # where each kept packet lands
        first_of, last_of = position[first_of[keep_stream]], position[last_of[keep_stream]]
        n_streams = int(keep_stream.sum())
    if n_streams == 0:
        return [], {}

    pts = (udp.head[idx, 1] & 0x7F).astype(np.int64)
    stream_ep = ep_sel[first_of]  # the SDP of a stream: the one its first packet matched
    stream_ssrc = _u32(udp.head[idx[first_of]], 8)

    # per-packet clock rate: static table, or the stream's SDP rtpmap for dynamic types
    lut = np.array([clock_rate(k) for k in range(128)], np.int64)
    clock = lut[pts]
    dyn = np.flatnonzero(pts >= 96)
    if len(dyn):
        ep_pkt = stream_ep[stream[dyn]]
        for e, p in {(int(a), int(b)) for a, b in zip(ep_pkt.tolist(), pts[dyn].tolist(), strict=True) if a >= 0}:
            enc = ep_obj[e].rtpmap.get(p)
            rate = clock_rate(p, enc[0], enc[1]) if enc else 0
            if enc and enc[0].lower() == "telephone-event":
                rate = TELEPHONE_EVENT
            clock[dyn[(ep_pkt == e) & (pts[dyn] == p)]] = rate
    events = np.bincount(stream[clock == TELEPHONE_EVENT], minlength=n_streams)

    t0 = _capture_start(scan) if capture_start is None else capture_start
    stats = analyse(stream, idx, udp.ts, udp.frame, udp.head, clock, n_streams, t0=t0,
                    keep_jitter=keep_jitter, jitter_buffer_ms=JITTER_BUFFER_MS)
    views = far_end_views(collect_reports(scan.rtcp)) if scan.rtcp else {}
    pt_hist = np.bincount(stream * 128 + pts, minlength=n_streams * 128).reshape(n_streams, 128)
    main_pts = pt_hist.argmax(axis=1)
    if keep_jitter:
        order = np.argsort(stream, kind="stable")
        bounds = np.searchsorted(stream[order], np.arange(n_streams + 1))

    out: list[RtpStream] = []
    jitter: dict[int, np.ndarray] = {}
    addrs = udp.addresses
    for k in range(n_streams):
        i0, i1 = int(idx[first_of[k]]), int(idx[last_of[k]])
        main_pt = int(main_pts[k])
        e = int(stream_ep[k])
        endpoint = ep_obj[e] if e >= 0 else None
        codec = _codec_name(main_pt, endpoint.rtpmap if endpoint else {})
        st = stats[k]
        ssrc_k = int(stream_ssrc[k])
        rtcp = _rtcp_summary(views.get(ssrc_k), st.clock_rate)
        estimate = _mos(codec, main_pt, st.lost + st.jitter_buffer_discards, st.expected, st.seq_errors, rtcp)
        mos = estimate if isinstance(estimate, emodel.Mos) else None
        out.append(
            RtpStream(
                src=f"{addrs[int(udp.src[i0])]}:{int(udp.sport[i0])}",
                dst=f"{addrs[int(udp.dst[i0])]}:{int(udp.dport[i0])}",
                ssrc=ssrc_k,
                payload_type=main_pt,
                payload_types=np.flatnonzero(pt_hist[k]).tolist(),
                codec=codec,
                clock_rate=st.clock_rate,
                packets=st.packets,
                expected=st.expected,
                lost=st.lost,
                lost_pct=round(st.lost_pct, 3),
                seq_errors=st.seq_errors,
                duplicates=st.duplicates,
                markers=st.markers,
                ssrc_changes=int(ssrc_changes[k]),
                min_delta_ms=round(st.min_delta_ms, 6),
                mean_delta_ms=round(st.mean_delta_ms, 6),
                max_delta_ms=round(st.max_delta_ms, 6),
                min_jitter_ms=round(st.min_jitter_ms, 6),
                mean_jitter_ms=round(st.mean_jitter_ms, 6),
                max_jitter_ms=round(st.max_jitter_ms, 6),
                jitter_buffer_discards=st.jitter_buffer_discards,
                telephone_events=int(events[k]),
                start=float(udp.ts[i0]),
                end=float(udp.ts[i1]),
                start_rel=round(float(udp.ts[i0] - t0), 6),
                end_rel=round(float(udp.ts[i1] - t0), 6),
                first_frame=int(udp.frame[i0]),
                last_frame=int(udp.frame[i1]),
                call_id=endpoint.call_id if endpoint else None,
                found_by="sdp" if e >= 0 else "heuristic",
                mos=mos.mos if mos else None,
                r_factor=mos.r_factor if mos else None,
                mos_method=mos.method if mos else estimate if isinstance(estimate, str) else None,
                rtcp=rtcp,
            )
        )
        if keep_jitter:
            jitter[k] = np.stack([udp.ts[idx[order[bounds[k]:bounds[k + 1]]]], st.jitter_ms])
    return attribute(out, dialogs), jitter


def _capture_start(scan: CaptureScan) -> float:
    candidates = [float(scan.udp.ts.min())] if len(scan.udp) else []
    if scan.sip:
        candidates.append(min(p.ts for p in scan.sip[:50]))
    return min(candidates) if candidates else 0.0


def _codec_name(pt: int, rtpmap: dict[int, tuple[str, int, int]]) -> str | None:
    from voxops.capture.sdp import STATIC_PAYLOADS

    enc = rtpmap.get(pt) or STATIC_PAYLOADS.get(pt)
    return enc[0] if enc else None


def _rtcp_summary(view: FarEndView | None, rate: int) -> RtcpSummary | None:
    if view is None:
        return None
    return RtcpSummary(
        reports=view.reports,
        fraction_lost_max=round(view.fraction_lost_max, 4),
        cumulative_lost=view.cumulative_lost,
        jitter_max_ms=round(j, 3) if (j := view.jitter_max_ms(rate)) is not None else None,
        rtt_ms=round(float(np.median(view.rtt_ms)), 3) if view.rtt_ms else None,
    )


def _mos(codec: str | None, pt: int, lost: int, expected: int, gaps: int,
         rtcp: RtcpSummary | None) -> emodel.Mos | str | None:
    """The estimate, or why there is none for a known stream (an unknown codec)."""
    if expected <= 0:
        return None
    impairment = emodel.codec_impairment(codec, pt)
    if impairment is None:
        return f"no MOS: unknown codec {codec or f'PT {pt}'} (no G.113 Ie/Bpl)"
    loss_pct = 100.0 * max(lost, 0) / expected
    p = loss_pct / 100.0
    burst = max(1.0, (max(lost, 0) / gaps) * (1 - p)) if gaps and lost > 0 else 1.0
    delay = rtcp.rtt_ms / 2 if rtcp and rtcp.rtt_ms else 0.0
    return emodel.estimate_mos(impairment, loss_pct, delay_ms=delay, burst=burst)
