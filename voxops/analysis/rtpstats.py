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

One pass over every packet of every stream, compiled with numba: per-stream state
arrays hold what Wireshark keeps in its tap_rtp_stat_t.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

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


@njit(cache=True, nogil=True)
def _kernel(stream, rows, arrival_s, t0, frames, head, clock, jb_ms, jit_out, ri, rf):  # noqa: C901
    # ri columns: 0 packets, 1 start_seq, 2 stop_seq, 3 seq_num, 4 first_ts, 5 cycles, 6 under,
    # 7 errors, 8 markers, 9 discards, 10 max_frame, 11 last_pt, 12 last_clock
    # rf columns: 0 time, 1 last_nominal, 2 delta, 3 jitter, 4 max_delta, 5 min_delta,
    # 6 mean_delta, 7 max_jitter, 8 min_jitter, 9 mean_jitter
    for i in range(stream.shape[0]):
        k = stream[i]
        row = rows[i]
        cur = (arrival_s[row] - t0) * 1000.0
        s = (np.int64(head[row, 2]) << 8) | np.int64(head[row, 3])
        tsv = (np.int64(head[row, 4]) << 24) | (np.int64(head[row, 5]) << 16) | (np.int64(head[row, 6]) << 8) \
            | np.int64(head[row, 7])
        p = np.int64(head[row, 1] & 0x7F)
        mark = head[row, 1] >= 128
        nr = ri[k, 0]
        if nr == 0:
            ri[k, 1] = s
            ri[k, 2] = s
            ri[k, 3] = s
            ri[k, 4] = tsv
            ri[k, 11] = p
            ri[k, 12] = clock[i]
            rf[k, 0] = cur
            rf[k, 5] = -1.0
            rf[k, 8] = -1.0
            ri[k, 0] = 1
            if mark:
                ri[k, 8] += 1
            jit_out[i] = 0.0
            continue
        first_ts = ri[k, 4]
        if first_ts <= tsv:
            in_time = tsv - first_ts < 0x80000000
        else:  # the timestamp wrapped past 2^32
            in_time = (0xFFFFFFFF - first_ts) + tsv < 0x80000000
        start_seq = ri[k, 1]
        wrapped = s < start_seq or (s == 0 and ri[k, 2] == 65535)
        if wrapped and in_time and ri[k, 6] == 0:
            ri[k, 5] += 1
            ri[k, 6] = 1
        elif s > start_seq and in_time and ri[k, 6] == 1:
            ri[k, 6] = 0
        seq_num = ri[k, 3]
        if in_time and (seq_num + 1 == s or (seq_num == 65535 and s == 0)):
            ri[k, 3] = s
        elif in_time and (seq_num + 1 < s or seq_num - s > 0xFF00):
            ri[k, 3] = s
            ri[k, 7] += 1
        elif seq_num + 1 > s:
            ri[k, 7] += 1
        is_cn = p == 13 or p == 19
        follow_cn = ri[k, 11] == 13 or ri[k, 11] == 19
        ri[k, 11] = p
        ck = clock[i]
        diff = 0.0
        if in_time:
            if ck != 0:
                ri[k, 12] = ck
                nominal = ((tsv - first_ts) & 0xFFFFFFFF) / (ck // 1000)
                diff = abs(cur - (rf[k, 0] + nominal - rf[k, 1]))
                if diff > jb_ms:
                    ri[k, 9] += 1
                rf[k, 3] = (15.0 * rf[k, 3] + diff) / 16.0
                rf[k, 2] = cur - rf[k, 0]
                rf[k, 1] = nominal
            else:
                rf[k, 2] = cur - rf[k, 0]
        if mark:
            ri[k, 8] += 1
        if not mark and not is_cn and in_time and not follow_cn:
            delta = rf[k, 2]
            if delta > rf[k, 4]:
                rf[k, 4] = delta
                ri[k, 10] = frames[row]
            if rf[k, 5] == -1.0 or delta < rf[k, 5]:
                rf[k, 5] = delta
            rf[k, 6] = (rf[k, 6] * (nr - 1) + delta) / nr
            if ck != 0:
                j = rf[k, 3]
                if j > rf[k, 7]:
                    rf[k, 7] = j
                rf[k, 9] = (rf[k, 9] * (nr - 1) + j) / nr
                if rf[k, 8] == -1.0 or j < rf[k, 8]:
                    rf[k, 8] = j
        if in_time:
            rf[k, 0] = cur
        ri[k, 2] = s
        ri[k, 0] = nr + 1
        jit_out[i] = rf[k, 3]


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
    _kernel(stream, rows, arrival_s, float(t0), frames, head, clock, float(jitter_buffer_ms), jit, ri, rf)
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
