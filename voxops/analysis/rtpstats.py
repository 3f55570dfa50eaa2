"""RTP stream statistics computed exactly as Wireshark 4.0 does (ui/tap-rtp-analysis.c).

Users compare voxops with `tshark -q -z rtp,streams` number for number, so the rules
below are Wireshark's, including its quirks:

- Arrival time is milliseconds since the first frame of the capture.
- "In time sequence" (tshark <= 4.0): a packet's RTP timestamp is >= the stream's
  *first* RTP timestamp and less than 2^31 ahead of it. Packets that fail this keep
  the previous delta and jitter and are left out of every aggregate; a timestamp
  wrap therefore puts the rest of the stream out of sequence, as in tshark 4.0.
- Nominal time = (ts - first ts) / (clock_rate // 1000): the divisor is an integer
  division (11025 Hz counts as 11 samples per ms).
- diff = |arrival - (last in-sequence arrival + nominal - last nominal)|,
  J += (diff - J) / 16 (RFC 3550 A.8), only for packets with a known clock rate.
- Aggregates use "regular" packets: not the first, no marker bit, not comfort noise
  (PT 13/19) nor the packet after one, not out of time sequence. Mean delta and mean
  jitter are Wireshark's running means that divide by the number of packets seen so
  far; mean jitter averages the per-packet diff.
- Lost = (last seq + 65536 * cycles) - first seq + 1 - packets (negative with duplicates).
- Sequence errors: +1 for each jump or late/duplicate packet.

The fast path is vectorised over all streams at once; streams with late or duplicated
packets take the packet-by-packet path, which is the executable form of the rules.
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


def _scan_linear(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x[k] = a[k] * x[k-1] + b[k] with x[-1] = 0, as a log-depth parallel scan."""
    a = a.astype(np.float64, copy=True)
    x = b.astype(np.float64, copy=True)
    n = len(x)
    step = 1
    while step < n:
        # combine element k with element k-step: (a, x) <- (a*a', a*x' + x)
        x[step:] = a[step:] * x[:-step] + x[step:]
        a[step:] = a[step:] * a[:-step]
        step *= 2
    return x


def _ffill_index(valid: np.ndarray) -> np.ndarray:
    """For each position, the index of the last position <= it where valid is True (-1 if none)."""
    idx = np.where(valid, np.arange(len(valid)), -1)
    return np.maximum.accumulate(idx) if len(idx) else idx


def analyse(
    stream: np.ndarray,
    arrival_ms: np.ndarray,
    seq: np.ndarray,
    rtp_ts: np.ndarray,
    pt: np.ndarray,
    marker: np.ndarray,
    clock: np.ndarray,
    frame: np.ndarray,
    *,
    keep_jitter: bool = False,
    jitter_buffer_ms: float = 60.0,
) -> list[StreamStats]:
    """Statistics of every stream; packets given in capture order, `stream` its stream index.

    `clock` is the per-packet clock rate (`clock_rate()`), 0 where jitter is undefined.
    A packet whose diff exceeds `jitter_buffer_ms` counts as a jitter-buffer discard.
    Returns one StreamStats per stream index 0..max(stream).
    """
    n_streams = int(stream.max()) + 1 if len(stream) else 0
    order = np.argsort(stream, kind="stable")
    s = stream[order]
    t = arrival_ms[order].astype(np.float64)
    sq = seq[order].astype(np.int64)
    ts = rtp_ts[order].astype(np.int64)
    p = pt[order].astype(np.int64)
    mk = marker[order].astype(bool)
    ck = clock[order].astype(np.int64)
    fr = frame[order].astype(np.int64)
    n = len(s)
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]]) if n else np.zeros(0, np.int64)
    bounds = np.r_[starts, n]
    first = np.zeros(n, bool)
    first[starts] = True
    seg_start = np.repeat(starts, np.diff(bounds))
    pos = np.arange(n) - seg_start  # total_nr before this packet

    first_ts = ts[seg_start]
    in_time = (ts >= first_ts) & (ts - first_ts < 0x80000000)
    in_time[first] = True

    # --- sequence numbers: fast path when no in-time packet is late or duplicated ---
    acc_idx = _ffill_index(in_time)  # in the fast path every in-time packet is accepted
    prev_acc = np.where(first, -1, np.r_[-1, acc_idx[:-1]])
    prev_acc_seq = np.where(prev_acc >= 0, sq[np.maximum(prev_acc, 0)], -1)
    late = (~first) & in_time & (sq <= prev_acc_seq) & (prev_acc_seq - sq <= 0xFF00)
    slow = np.zeros(n_streams, bool)
    slow[s[late]] = True
    ok_next = (sq == prev_acc_seq + 1) | ((prev_acc_seq == 65535) & (sq == 0))
    err_in = (~first) & in_time & ~ok_next
    err_out = (~first) & ~in_time & (prev_acc_seq + 1 > sq)
    seq_err = err_in | err_out

    # cycles: an in-time packet below the first seq starts a new cycle once per round
    start_seq = sq[seg_start]
    prev_seq_any = np.r_[-1, sq[:-1]]
    low = in_time & ~first & ((sq < start_seq) | ((sq == 0) & (prev_seq_any == 65535)))
    high = in_time & ~first & (sq > start_seq) & ~low
    ev = np.flatnonzero(low | high)
    ev_low = low[ev]
    ev_prev_low = np.r_[False, ev_low[:-1]]
    ev_new_seg = np.r_[True, s[ev][1:] != s[ev][:-1]] if len(ev) else np.zeros(0, bool)
    ev_prev_low[ev_new_seg] = False
    new_cycle = ev_low & ~ev_prev_low
    cycles = np.bincount(s[ev][new_cycle], minlength=n_streams)

    # --- timing: delta and jitter ---
    prev_t = np.r_[0.0, t[:-1]]
    last_time_idx = _ffill_index(in_time)
    prev_time = np.where(first, t, t[np.maximum(np.r_[-1, last_time_idx[:-1]], 0)])
    divisor = np.where(ck > 0, ck // 1000, 1)
    nominal = (ts - first_ts).astype(np.float64) / divisor
    has_nom = (in_time & (ck > 0)) | first
    nom_for_last = np.where(first, 0.0, nominal)
    last_nom_idx = _ffill_index(has_nom)
    prev_nom = nom_for_last[np.maximum(np.r_[-1, last_nom_idx[:-1]], 0)]
    upd = in_time & ~first & (ck > 0)
    diff = np.where(upd, np.abs(t - (prev_time + nominal - prev_nom)), 0.0)
    # J_k = 15/16 J_{k-1} + diff/16 where updated; held otherwise; 0 at a stream start
    a = np.where(first, 0.0, np.where(upd, 15.0 / 16.0, 1.0))
    jit = _scan_linear(a, np.where(upd, diff / 16.0, 0.0))
    discards = np.bincount(s[diff > jitter_buffer_ms], minlength=n_streams)
    delta_valid = in_time & ~first
    delta_src = _ffill_index(delta_valid | first)
    delta_all = np.where(delta_valid, t - prev_time, 0.0)
    delta = delta_all[np.maximum(delta_src, 0)]
    del prev_t

    cn = np.isin(p, CN_TYPES)
    prev_pt = np.r_[-1, p[:-1]]
    follow_cn = np.isin(prev_pt, CN_TYPES) & ~first
    regular = ~first & ~mk & ~cn & in_time & ~follow_cn
    reg_j = regular & (ck > 0)

    nr = np.maximum(pos, 1).astype(np.float64)
    mean_delta = _scan_linear(
        np.where(first, 0.0, np.where(regular, (nr - 1) / nr, 1.0)),
        np.where(regular, delta / nr, 0.0),
    )
    mean_jit = _scan_linear(
        np.where(first, 0.0, np.where(reg_j, (nr - 1) / nr, 1.0)),
        np.where(reg_j, jit / nr, 0.0),
    )

    out: list[StreamStats] = []
    for k in range(n_streams):
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        if slow[k]:
            out.append(
                analyse_sequential(
                    t[lo:hi], sq[lo:hi], ts[lo:hi], p[lo:hi], mk[lo:hi], ck[lo:hi], fr[lo:hi],
                    keep_jitter=keep_jitter, jitter_buffer_ms=jitter_buffer_ms,
                )
            )
            continue
        r = slice(lo, hi)
        rg = regular[r]
        rj = reg_j[r]
        d = delta[r]
        j = jit[r]
        count = hi - lo
        expected = int(sq[hi - 1] + 65536 * cycles[k] - sq[lo] + 1)
        if rg.any():
            dr = d[rg]
            imax = int(np.argmax(dr))
            max_delta, min_delta = float(dr[imax]), float(dr.min())
            max_frame = int(fr[r][rg][imax])
        else:
            max_delta, min_delta, max_frame = 0.0, -1.0, 0
        if rj.any():
            max_j, min_j = float(max(0.0, j[rj].max())), float(j[rj].min())
        else:
            max_j, min_j = 0.0, -1.0
        last_md = _last(mean_delta[r], rg)
        last_mj = _last(mean_jit[r], rj)
        out.append(
            StreamStats(
                packets=count,
                first_seq=int(sq[lo]),
                last_seq=int(sq[hi - 1]),
                cycles=int(cycles[k]),
                lost=expected - count,
                expected=expected,
                seq_errors=int(seq_err[r].sum()),
                duplicates=_duplicates(sq[r], ts[r]),
                markers=int(mk[r].sum()),
                min_delta_ms=min_delta,
                mean_delta_ms=last_md,
                max_delta_ms=max_delta,
                min_jitter_ms=min_j,
                mean_jitter_ms=last_mj,
                max_jitter_ms=max_j,
                max_delta_frame=max_frame,
                clock_rate=int(ck[r][ck[r] > 0][-1]) if (ck[r] > 0).any() else 0,
                jitter_ms=j.copy() if keep_jitter else np.zeros(0),
                jitter_buffer_discards=int(discards[k]),
            )
        )
    return out


def _last(values: np.ndarray, mask: np.ndarray) -> float:
    idx = np.flatnonzero(mask)
    return float(values[idx[-1]]) if len(idx) else 0.0


def _duplicates(seq: np.ndarray, ts: np.ndarray) -> int:
    key = (seq.astype(np.int64) << 32) | (ts.astype(np.int64) & 0xFFFFFFFF)
    return int(len(key) - len(np.unique(key)))


def analyse_sequential(
    t: np.ndarray,
    sq: np.ndarray,
    ts: np.ndarray,
    p: np.ndarray,
    mk: np.ndarray,
    ck: np.ndarray,
    fr: np.ndarray,
    *,
    keep_jitter: bool = False,
    jitter_buffer_ms: float = 60.0,
) -> StreamStats:
    """One stream, packet by packet, following rtppacket_analyse() of Wireshark 4.0."""
    n = len(t)
    start_seq = seq_num = stop_seq = int(sq[0])
    first_ts = int(ts[0])
    time = float(t[0])
    last_nominal = 0.0
    last_pt = int(p[0])
    delta = jitter = 0.0
    max_delta = 0.0
    min_delta = -1.0
    mean_delta = 0.0
    max_jitter = 0.0
    min_jitter = -1.0
    mean_jitter = 0.0
    max_frame = 0
    cycles = 0
    under = False
    errors = 0
    last_clock = int(ck[0]) if ck[0] > 0 else 0
    jit = np.zeros(n) if keep_jitter else np.zeros(0)
    discards = 0
    for i in range(1, n):
        cur = float(t[i])
        s = int(sq[i])
        tsv = int(ts[i])
        in_time = first_ts <= tsv and tsv - first_ts < 0x80000000
        wrapped = s < start_seq or (s == 0 and stop_seq == 65535)
        if wrapped and in_time and not under:
            cycles += 1
            under = True
        elif s > start_seq and in_time and under:
            under = False
        if in_time and seq_num + 1 == s or in_time and seq_num == 65535 and s == 0:
            seq_num = s
        elif in_time and (seq_num + 1 < s or seq_num - s > 0xFF00):
            seq_num = s
            errors += 1
        elif seq_num + 1 > s:
            errors += 1
        pt = int(p[i])
        is_cn = pt in CN_TYPES
        follow_cn = last_pt in CN_TYPES
        last_pt = pt
        clock = int(ck[i])
        diff = 0.0
        if in_time:
            if clock:
                last_clock = clock
                nominal = (tsv - first_ts) / (clock // 1000)
                diff = abs(cur - (time + nominal - last_nominal))
                discards += diff > jitter_buffer_ms
                jitter = (15 * jitter + diff) / 16
                delta = cur - time
                last_nominal = nominal
            else:
                delta = cur - time
        if not mk[i] and not is_cn and in_time and not follow_cn:
            if delta > max_delta:
                max_delta = delta
                max_frame = int(fr[i])
            if min_delta == -1 or delta < min_delta:
                min_delta = delta
            mean_delta = (mean_delta * (i - 1) + delta) / i
            if clock:
                max_jitter = max(max_jitter, jitter)
                mean_jitter = (mean_jitter * (i - 1) + jitter) / i
                if min_jitter == -1 or jitter < min_jitter:
                    min_jitter = jitter
        if in_time:
            time = cur
        stop_seq = s
        if keep_jitter:
            jit[i] = jitter
    expected = stop_seq + 65536 * cycles - start_seq + 1
    return StreamStats(
        packets=n,
        first_seq=start_seq,
        last_seq=stop_seq,
        cycles=cycles,
        lost=expected - n,
        expected=expected,
        seq_errors=errors,
        duplicates=_duplicates(sq, ts),
        markers=int(np.asarray(mk).sum()),
        min_delta_ms=min_delta,
        mean_delta_ms=mean_delta,
        max_delta_ms=max_delta,
        min_jitter_ms=min_jitter,
        mean_jitter_ms=mean_jitter,
        max_jitter_ms=max_jitter,
        max_delta_frame=max_frame,
        clock_rate=last_clock,
        jitter_ms=jit,
        jitter_buffer_discards=int(discards),
    )
