"""RTCP sender and receiver reports (RFC 3550 §6.4): what the far end says it received.

Round-trip time follows Wireshark's approach: an RR whose LSR names an SR seen in the
capture gives RTT = (RR arrival - SR arrival) - DLSR, so the endpoints' clocks never matter.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SR, RR = 200, 201


@dataclass(frozen=True)
class ReportBlock:
    ssrc: int  # the source this block reports on
    fraction_lost: float  # 0..1, over the last interval
    cumulative_lost: int
    highest_seq: int
    jitter: int  # timestamp units
    lsr: int
    dlsr: int  # 1/65536 s


@dataclass
class RtcpReport:
    frame: int
    ts: float
    src: str
    dst: str
    kind: int  # SR or RR
    sender_ssrc: int
    ntp_mid: int | None = None  # middle 32 bits of the SR's NTP timestamp
    blocks: list[ReportBlock] = field(default_factory=list)


def parse_rtcp(payload: bytes) -> list[tuple[int, int, int | None, list[ReportBlock]]]:
    """(kind, sender ssrc, ntp middle bits, blocks) for each SR/RR of a compound packet."""
    out: list[tuple[int, int, int | None, list[ReportBlock]]] = []
    off = 0
    while off + 8 <= len(payload):
        first, kind, length = payload[off], payload[off + 1], struct.unpack_from("!H", payload, off + 2)[0]
        end = off + 4 * (length + 1)
        if first >> 6 != 2 or end > len(payload):
            break
        count = first & 0x1F
        if kind in (SR, RR):
            sender = struct.unpack_from("!I", payload, off + 4)[0]
            body = off + 8
            ntp_mid = None
            if kind == SR:
                if body + 20 > end:
                    break
                msw, lsw = struct.unpack_from("!II", payload, body)
                ntp_mid = ((msw & 0xFFFF) << 16) | (lsw >> 16)
                body += 20
            blocks = []
            for i in range(count):
                b = body + 24 * i
                if b + 24 > end:
                    break
                ssrc, lost_word, hseq, jit, lsr, dlsr = struct.unpack_from("!IIIIII", payload, b)
                cum = lost_word & 0xFFFFFF
                if cum & 0x800000:
                    cum -= 0x1000000
                blocks.append(ReportBlock(ssrc, (lost_word >> 24) / 256.0, cum, hseq, jit, lsr, dlsr))
            out.append((kind, sender, ntp_mid, blocks))
        off = end
    return out


def collect_reports(packets: list) -> list[RtcpReport]:
    """RtcpReports from the capture's RTCP datagrams (objects with frame, ts, src, sport, dst, dport, payload)."""
    reports = []
    for p in packets:
        for kind, sender, ntp_mid, blocks in parse_rtcp(p.payload):
            reports.append(
                RtcpReport(p.frame, p.ts, f"{p.src}:{p.sport}", f"{p.dst}:{p.dport}", kind, sender, ntp_mid, blocks)
            )
    return reports


@dataclass
class FarEndView:
    """What RTCP receiver reports say about one RTP source (by SSRC)."""

    reports: int = 0
    fraction_lost_max: float = 0.0
    cumulative_lost: int = 0
    jitter_max: int = 0  # timestamp units
    rtt_ms: list[float] = field(default_factory=list)

    def jitter_max_ms(self, clock_rate: int) -> float | None:
        return 1000.0 * self.jitter_max / clock_rate if clock_rate else None


def far_end_views(reports: list[RtcpReport]) -> dict[int, FarEndView]:
    """Per reported-on SSRC: loss, jitter and RTT as the receiver saw them."""
    sr_seen: dict[int, float] = {}
    views: dict[int, FarEndView] = {}
    for r in sorted(reports, key=lambda x: x.frame):
        if r.kind == SR and r.ntp_mid is not None:
            sr_seen[r.ntp_mid] = r.ts
        for b in r.blocks:
            v = views.setdefault(b.ssrc, FarEndView())
            v.reports += 1
            v.fraction_lost_max = max(v.fraction_lost_max, b.fraction_lost)
            v.cumulative_lost = b.cumulative_lost
            v.jitter_max = max(v.jitter_max, b.jitter)
            if b.lsr and b.lsr in sr_seen:
                rtt = (r.ts - sr_seen[b.lsr]) * 1000.0 - b.dlsr * 1000.0 / 65536.0
                if rtt >= 0:
                    v.rtt_ms.append(rtt)
    return views
