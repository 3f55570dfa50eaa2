"""RTP streams of a capture: found from the SDP of its dialogs, or by a heuristic.

SDP association follows Wireshark: each m= line's connection address and port becomes
an RTP endpoint from the frame of the SDP on; a datagram from or to such an endpoint
(source checked first) is RTP of that SDP's call. The heuristic (`heuristic=True`)
takes what is left: RTP version 2, a payload type that is static audio/video (0-34) or
dynamic (96-127), not RTCP, grouped by 5-tuple and SSRC, kept when a group has at least
`MIN_HEURISTIC_PACKETS` packets. A stream is (source, destination, SSRC), as in
`tshark -z rtp,streams`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from voxops.analysis import emodel
from voxops.analysis.rtcp import FarEndView, collect_reports, far_end_views
from voxops.analysis.rtpstats import analyse, clock_rate

if TYPE_CHECKING:
    from voxops.analysis.dialogs import Dialog
    from voxops.capture.records import CaptureScan, UdpTable

MIN_HEURISTIC_PACKETS = 3
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
    start: float = Field(description="epoch seconds of the first packet")
    end: float
    start_rel: float = Field(description="seconds since the first frame of the capture")
    end_rel: float
    first_frame: int
    last_frame: int
    call_id: str | None
    found_by: str = Field(description="sdp | heuristic")
    mos: float | None
    r_factor: float | None
    mos_method: str | None
    rtcp: RtcpSummary | None = None


@dataclass
class _Endpoint:
    frame: int
    call_id: str
    rtpmap: dict[int, tuple[str, int, int]]


def decode_heads(udp: UdpTable) -> dict[str, np.ndarray]:
    h = udp.head.astype(np.uint32)
    return {
        "version": (h[:, 0] >> 6).astype(np.uint8),
        "marker": (h[:, 1] >> 7).astype(bool),
        "pt": (h[:, 1] & 0x7F).astype(np.int64),
        "seq": ((h[:, 2] << 8) | h[:, 3]).astype(np.int64),
        "ts": ((h[:, 4] << 24) | (h[:, 5] << 16) | (h[:, 6] << 8) | h[:, 7]).astype(np.int64),
        "ssrc": ((h[:, 8] << 24) | (h[:, 9] << 16) | (h[:, 10] << 8) | h[:, 11]).astype(np.int64),
    }


def sdp_endpoints(dialogs: list[Dialog]) -> dict[tuple[str, int], list[_Endpoint]]:
    out: dict[tuple[str, int], list[_Endpoint]] = {}
    for d in dialogs:
        for pkt in d.messages:
            sdp = pkt.msg.sdp
            if sdp is None:
                continue
            for m in sdp.media:
                if m.port == 0 or not m.connection:
                    continue
                out.setdefault((m.connection, m.port), []).append(_Endpoint(pkt.frame, d.call_id, dict(m.rtpmap)))
    for v in out.values():
        v.sort(key=lambda e: e.frame)
    return out


def _match(udp: UdpTable, ep_index: np.ndarray, ep_frame: np.ndarray, which: str) -> np.ndarray:
    """Index into the sorted endpoint table of the latest SDP endpoint before each packet, or -1."""
    key = getattr(udp, which).astype(np.int64) * 65536 + getattr(udp, "sport" if which == "src" else "dport")
    comp = (key << 32) | udp.frame.astype(np.int64)
    ep_comp = (ep_index << 32) | ep_frame
    pos = np.searchsorted(ep_comp, comp, side="left") - 1
    ok = pos >= 0
    pos_c = np.maximum(pos, 0)
    ok &= (ep_comp[pos_c] >> 32) == key if len(ep_comp) else np.zeros(len(key), bool)
    return np.where(ok, pos_c, -1)


def find_streams(
    scan: CaptureScan,
    dialogs: list[Dialog],
    *,
    heuristic: bool = False,
    keep_jitter: bool = False,
) -> tuple[list[RtpStream], dict[int, np.ndarray]]:
    """Every RTP stream, with Wireshark-exact statistics, its call and a MOS estimate.

    Returns the streams and, when `keep_jitter`, per-stream (time, jitter) arrays.
    """
    udp = scan.udp
    if len(udp) == 0:
        return [], {}
    f = decode_heads(udp)
    is_rtp = (f["version"] == 2) & (udp.length >= 12) & ~((f["pt"] >= 72) & (f["pt"] <= 76))

    # SDP endpoints as one sorted table: (address index, port) x setup frame
    addr_idx = {a: i for i, a in enumerate(udp.addresses)}
    eps = sdp_endpoints(dialogs)
    rows: list[tuple[int, int, _Endpoint]] = []
    for (addr, port), lst in eps.items():
        if addr in addr_idx:
            rows += [(addr_idx[addr] * 65536 + port, e.frame, e) for e in lst]
    rows.sort(key=lambda r: (r[0], r[1]))
    ep_key = np.array([r[0] for r in rows], np.int64)
    ep_frame = np.array([r[1] for r in rows], np.int64)
    ep_obj = [r[2] for r in rows]

    by_src = _match(udp, ep_key, ep_frame, "src")
    by_dst = _match(udp, ep_key, ep_frame, "dst")
    ep_of = np.where(by_src >= 0, by_src, by_dst)
    sdp_rtp = is_rtp & (ep_of >= 0)
    selected = sdp_rtp.copy()
    if heuristic:
        pt = f["pt"]
        plausible = is_rtp & ~sdp_rtp & ((pt <= 34) | (pt >= 96))
        selected |= plausible
    idx = np.flatnonzero(selected)
    if len(idx) == 0:
        return [], {}

    # stream = (src, sport, dst, dport, ssrc)
    src_ep = udp.src[idx].astype(np.int64) * 65536 + udp.sport[idx]
    dst_ep = udp.dst[idx].astype(np.int64) * 65536 + udp.dport[idx]
    _, flow = np.unique(np.stack([src_ep, dst_ep], axis=1), axis=0, return_inverse=True)
    flow = flow.reshape(-1).astype(np.int64)
    ssrc = f["ssrc"][idx]
    _, stream = np.unique((flow << 32) | ssrc, return_inverse=True)
    stream = stream.reshape(-1)
    n_streams = int(stream.max()) + 1
    counts = np.bincount(stream, minlength=n_streams)
    from_sdp = np.zeros(n_streams, bool)
    from_sdp[stream[sdp_rtp[idx]]] = True
    keep_stream = from_sdp | (counts >= MIN_HEURISTIC_PACKETS)
    if not keep_stream.all():
        keep = keep_stream[stream]
        idx, stream, flow, ssrc = idx[keep], stream[keep], flow[keep], ssrc[keep]
        _, stream = np.unique(stream, return_inverse=True)
        stream = stream.reshape(-1)
        n_streams = int(stream.max()) + 1 if len(stream) else 0
    if n_streams == 0:
        return [], {}

    pts = f["pt"][idx]
    ep_sel = ep_of[idx]
    # the SDP of a stream: the one its first packet matched
    order = np.argsort(stream, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(stream[order])) + 1]
    first_of = order[starts]
    stream_ep = ep_sel[first_of]

    # per-packet clock rate: static table, or the stream's SDP rtpmap for dynamic types
    clock = np.zeros(len(idx), np.int64)
    static = pts < 96
    lut = np.zeros(128, np.int64)
    for k in range(96):
        lut[k] = clock_rate(k)
    clock[static] = lut[pts[static]]
    dyn = np.flatnonzero(~static)
    if len(dyn):
        ep_pkt = stream_ep[stream[dyn]]
        for e in np.unique(ep_pkt[ep_pkt >= 0]).tolist():
            rtpmap = ep_obj[e].rtpmap
            for p in np.unique(pts[dyn][ep_pkt == e]).tolist():
                enc = rtpmap.get(p)
                rate = clock_rate(p, enc[0], enc[1]) if enc else 0
                sel = dyn[(ep_pkt == e) & (pts[dyn] == p)]
                clock[sel] = rate

    t0 = _capture_start(scan)
    ts_abs = udp.ts[idx]
    stats = analyse(
        stream, (ts_abs - t0) * 1000.0, f["seq"][idx], f["ts"][idx], pts, f["marker"][idx],
        clock, udp.frame[idx], keep_jitter=keep_jitter, jitter_buffer_ms=JITTER_BUFFER_MS,
    )
    views = far_end_views(collect_reports(scan.rtcp)) if scan.rtcp else {}
    ssrc_changes = _ssrc_changes(flow, ssrc, stream, n_streams)

    out: list[RtpStream] = []
    jitter: dict[int, np.ndarray] = {}
    for k in range(n_streams):
        rows_k = order[starts[k]: starts[k + 1] if k + 1 < n_streams else len(order)]
        i0 = int(idx[rows_k[0]])
        pt_counts = Counter(pts[rows_k].tolist())
        main_pt = pt_counts.most_common(1)[0][0]
        e = int(stream_ep[k])
        endpoint = ep_obj[e] if e >= 0 else None
        codec = _codec_name(main_pt, endpoint.rtpmap if endpoint else {})
        st = stats[k]
        ssrc_k = int(ssrc[rows_k[0]])
        rtcp = _rtcp_summary(views.get(ssrc_k), st.clock_rate)
        mos = _mos(codec, main_pt, st.lost + st.jitter_buffer_discards, st.expected, st.seq_errors, rtcp)
        out.append(
            RtpStream(
                src=f"{udp.addresses[int(udp.src[i0])]}:{int(udp.sport[i0])}",
                dst=f"{udp.addresses[int(udp.dst[i0])]}:{int(udp.dport[i0])}",
                ssrc=ssrc_k,
                payload_type=int(main_pt),
                payload_types=sorted(pt_counts),
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
                start=float(udp.ts[i0]),
                end=float(udp.ts[int(idx[rows_k[-1]])]),
                start_rel=round(float(udp.ts[i0] - t0), 6),
                end_rel=round(float(udp.ts[int(idx[rows_k[-1]])] - t0), 6),
                first_frame=int(udp.frame[i0]),
                last_frame=int(udp.frame[int(idx[rows_k[-1]])]),
                call_id=endpoint.call_id if endpoint else None,
                found_by="sdp" if e >= 0 else "heuristic",
                mos=mos.mos if mos else None,
                r_factor=mos.r_factor if mos else None,
                mos_method=mos.method if mos else None,
                rtcp=rtcp,
            )
        )
        if keep_jitter:
            jitter[k] = np.stack([udp.ts[idx[rows_k]], st.jitter_ms])
    return out, jitter


def _capture_start(scan: CaptureScan) -> float:
    candidates = [float(scan.udp.ts.min())] if len(scan.udp) else []
    if scan.sip:
        candidates.append(min(p.ts for p in scan.sip[:50]))
    return min(candidates) if candidates else 0.0


def _ssrc_changes(flow: np.ndarray, ssrc: np.ndarray, stream: np.ndarray, n: int) -> np.ndarray:
    """Per stream: how often the SSRC changed on its 5-tuple (in packet order)."""
    order = np.argsort(flow, kind="stable")
    fl, ss = flow[order], ssrc[order]
    change = np.r_[False, (fl[1:] == fl[:-1]) & (ss[1:] != ss[:-1])]
    per_flow = np.bincount(fl[change], minlength=int(flow.max()) + 1)
    out = np.zeros(n, np.int64)
    out[stream] = per_flow[flow]
    return out


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
         rtcp: RtcpSummary | None) -> emodel.Mos | None:
    if expected <= 0:
        return None
    loss_pct = 100.0 * max(lost, 0) / expected
    p = loss_pct / 100.0
    burst = max(1.0, (max(lost, 0) / gaps) * (1 - p)) if gaps and lost > 0 else 1.0
    delay = rtcp.rtt_ms / 2 if rtcp and rtcp.rtt_ms else 0.0
    return emodel.estimate_mos(emodel.codec_impairment(codec, pt), loss_pct, delay_ms=delay, burst=burst)
