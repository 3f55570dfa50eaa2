"""RTP stream statistics computed exactly as Wireshark 4.0 does (ui/tap-rtp-analysis.c).

Users compare voxops with `tshark -q -z rtp,streams` number for number, so the rules
below are Wireshark's, including its quirks:

- Arrival time is milliseconds since the first frame of the capture.
- "In time sequence" (tshark <= 4.0): a packet's RTP timestamp is less than 2^31
  ahead of the stream's *first* RTP timestamp, modulo 2^32 (newer Wireshark compares
  with the last in-sequence packet instead, so reordered streams differ). Packets that
  fail keep the previous delta and jitter and are left out of every aggregate.
- Nominal time = ((ts - first ts) mod 2^32) / (clock_rate // 1000): the divisor is an
  integer division (11025 Hz counts as 11 samples per ms).
- diff = |arrival - (last in-sequence arrival + nominal - last nominal)|,
  J += (diff - J) / 16 (RFC 3550 A.8), only for packets with a known clock rate.
- Aggregates use "regular" packets: not the first, no marker bit, not comfort noise
  (PT 13/19) nor the packet after one, not out of time sequence. Mean delta and mean
  jitter are Wireshark's running means that divide by the number of packets seen so
  far; mean jitter averages the per-packet diff.
- Lost = (last seq + 65536 * cycles) - first seq + 1 - packets (negative with duplicates).
- Sequence errors: +1 for each jump or late/duplicate packet.

One pass over every packet of every stream (rtpkernels.analyse_packets, compiled):
per-stream state arrays hold what Wireshark keeps in its tap_rtp_stat_t.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# ui/tap-rtp-analysis.c clock_map: static payload types with a defined sampling clock.
STATIC_CLOCK = {
    0: 8000, 1: 8000, 2: 8000, 3: 8000, 4: 8000, 5: 8000, 6: 16000, 7: 8000, 8: 8000,
    9: 8000, 10: 44100, 11: 44100, 12: 8000, 13: 8000, 14: 90000, 15: 8000, 16: 11025,
    17: 22050, 18: 8000, 19: 8000, 25: 90000, 26: 90000, 28: 90000, 31: 90000, 32: 90000,
    33: 90000, 34: 90000,
}
# Clock rates Wireshark assumes for dynamic types named by rtpmap without a rate.
DYNAMIC_CLOCK = {
    "AMR": 8000, "AMR-WB": 16000, "EVS": 16000, "G7221": 16000, "OPUS": 48000,
    "H264": 90000, "RED": 1000, "T140": 1000, "TELEPHONE-EVENT": 8000,
}
CN_TYPES = (13, 19)


def clock_rate(pt: int, encoding: str | None = None, rate: int | None = None) -> int:
    """The clock rate Wireshark's analysis uses for one packet; 0 means "no jitter"."""
    if pt < 96:
        return STATIC_CLOCK.get(pt, 0)
    if encoding is None:
        return 0
    name = encoding.upper()
    if name.startswith("TELEPHONE-EVENT"):
        return 0
    if rate:
        return int(rate)
    for key in sorted(DYNAMIC_CLOCK, reverse=True):
        if name.startswith(key):
            return DYNAMIC_CLOCK[key]
    return 0


@dataclass
class StreamStats:
    """Per-stream figures, Wireshark's definitions."""

    packets: int
    first_seq: int
    last_seq: int
    cycles: int
    lost: int
    expected: int
    seq_errors: int
    duplicates: int
    markers: int
    min_delta_ms: float
    mean_delta_ms: float
    max_delta_ms: float
    min_jitter_ms: float
    mean_jitter_ms: float
    max_jitter_ms: float
    max_delta_frame: int
    clock_rate: int
    jitter_buffer_discards: int = 0
    jitter_ms: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    @property
    def lost_pct(self) -> float:
        return 100.0 * self.lost / self.expected if self.expected > 0 else 0.0


def analyse(
    stream: np.ndarray,
    rows: np.ndarray,
    arrival_s: np.ndarray,
    frames: np.ndarray,
    head: np.ndarray,
    clock: np.ndarray,
    n_streams: int,
    *,
    t0: float = 0.0,
    keep_jitter: bool = False,
    jitter_buffer_ms: float = 60.0,
) -> list[StreamStats]:
    """Statistics of every stream over RTP packets given in capture order.

    Packet i is row `rows[i]` of the capture's UDP columns (`arrival_s` epoch seconds,
    `frames`, `head` = the first 12 payload bytes) and belongs to stream `stream[i]`;
    `clock[i]` is its clock rate (`clock_rate()`), 0 where jitter is undefined. Arrival
    times are taken relative to `t0` (the capture's first frame, as Wireshark does). A
    packet whose diff exceeds `jitter_buffer_ms` counts as a jitter-buffer discard.
    """
    n = n_streams
    ri = np.zeros((n, 13), np.int64)
    rf = np.zeros((n, 10), np.float64)
    jit = np.zeros(len(stream), np.float64)
    from voxops.analysis.kernels import load

    load().analyse_packets(
        np.ascontiguousarray(stream, np.int64), np.ascontiguousarray(rows, np.int64),
        np.ascontiguousarray(arrival_s, np.float64), float(t0), np.ascontiguousarray(frames, np.int64),
        np.ascontiguousarray(head, np.uint8), np.ascontiguousarray(clock, np.int64), float(jitter_buffer_ms),
        jit, ri, rf,
    )
    dups = np.zeros(n, np.int64)
    suspects = np.flatnonzero(ri[:, 7] > 0)  # a duplicate always counts as a sequence error
    if len(suspects):
        sel = np.isin(stream, suspects)
        h = head[rows[sel]].astype(np.int64)
        seq_ts = (h[:, 2] << 40) | (h[:, 3] << 32) | (h[:, 4] << 24) | (h[:, 5] << 16) | (h[:, 6] << 8) | h[:, 7]
        key = (stream[sel].astype(np.int64) << 48) | seq_ts
        uniq, counts = np.unique(key, return_counts=True)
        np.add.at(dups, (uniq >> 48)[counts > 1], counts[counts > 1] - 1)
    per_stream_jitter: list[np.ndarray] = []
    if keep_jitter:
        order = np.argsort(stream, kind="stable")
        bounds = np.searchsorted(stream[order], np.arange(n + 1))
        per_stream_jitter = [jit[order[bounds[k]:bounds[k + 1]]] for k in range(n)]
    out = []
    for k in range(n):
        packets, start_seq, stop_seq = int(ri[k, 0]), int(ri[k, 1]), int(ri[k, 2])
        expected = stop_seq + 65536 * int(ri[k, 5]) - start_seq + 1
        out.append(
            StreamStats(
                packets=packets,
                first_seq=start_seq,
                last_seq=stop_seq,
                cycles=int(ri[k, 5]),
                lost=expected - packets,
                expected=expected,
                seq_errors=int(ri[k, 7]),
                duplicates=int(dups[k]),
                markers=int(ri[k, 8]),
                min_delta_ms=float(rf[k, 5]),
                mean_delta_ms=float(rf[k, 6]),
                max_delta_ms=float(rf[k, 4]),
                min_jitter_ms=float(rf[k, 8]),
                mean_jitter_ms=float(rf[k, 9]),
                max_jitter_ms=float(rf[k, 7]),
                max_delta_frame=int(ri[k, 10]),
                clock_rate=int(ri[k, 12]),
                jitter_ms=per_stream_jitter[k] if keep_jitter else np.zeros(0),
                jitter_buffer_discards=int(ri[k, 9]),
            )
        )
    return out
