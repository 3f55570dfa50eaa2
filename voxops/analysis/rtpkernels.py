"""The compiled RTP kernels: selecting RTP datagrams and Wireshark's per-packet analysis.

Loaded through voxops.analysis.kernels (ahead-of-time build, JIT fallback); keep every
exported function's signature in SIGNATURES.

select_rtp: which UDP datagrams are RTP, of which SDP endpoint, in which stream.

An SDP endpoint (address:port) applies from the frame after its SDP on; when several
SDPs named the same endpoint, the latest one before the packet wins (Wireshark's
conversation rule). The source endpoint is looked up first, then the destination.
Streams and 5-tuples are numbered with open-addressing hash tables over numpy arrays
(numba's typed dicts are slower here and take long to compile); they start small and
double as they fill.
"""

from __future__ import annotations

import numpy as np
from numba import njit

SIGNATURES = {
    "select_rtp": "Tuple((i8[:], i8[:], i8[:], i8, i8[:], i8[:], i8[:]))"
                  "(i4[:], u2[:], i4[:], u2[:], i8[:], i4[:], u1[:, :], i8[:], i8[:], i8[:], b1)",
    "analyse_packets": "void(i8[:], i8[:], f8[:], f8, i8[:], u1[:, :], i8[:], f8, f8[:], i8[:, :], f8[:, :])",
}

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xC2B2AE3D27D4EB4F)
_M3 = np.uint64(0x165667B19E3779F9)


@njit(cache=True, nogil=True)
def _slot(table, items, a, b, c):
    """(slot, id) of key (a, b, c): id -1 and the free slot when the key is new."""
    mask = table.shape[0] - 1
    h = (np.uint64(a) * _M1) ^ (np.uint64(b) * _M2) ^ (np.uint64(c) * _M3)
    slot = np.int64((h ^ (h >> np.uint64(29))) & np.uint64(mask))
    while table[slot] != -1:
        k = table[slot]
        if items[k, 0] == a and items[k, 1] == b and items[k, 2] == c:
            return slot, k
        slot = (slot + 1) & mask
    return slot, np.int64(-1)


@njit(cache=True, nogil=True)
def _intern(table, items, count, a, b, c):
    """Id of key (a, b, c), numbering new keys 0, 1, ...; grows the tables as they fill."""
    slot, k = _slot(table, items, a, b, c)
    if k >= 0:
        return table, items, k
    if count >= items.shape[0]:
        bigger = np.empty((items.shape[0] * 2, 3), np.int64)
        bigger[:count] = items[:count]
        items = bigger
    items[count, 0], items[count, 1], items[count, 2] = a, b, c
    table[slot] = count
    if 2 * (count + 1) > table.shape[0]:
        table = np.full(table.shape[0] * 2, -1, np.int64)
        for j in range(count + 1):
            free, _ = _slot(table, items, items[j, 0], items[j, 1], items[j, 2])
            table[free] = j
    return table, items, np.int64(count)


@njit(cache=True, nogil=True)
def _rank(ep_keys, key):
    """Index of key in the sorted ep_keys, or -1."""
    lo, hi = 0, ep_keys.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if ep_keys[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < ep_keys.shape[0] and ep_keys[lo] == key else -1


@njit(cache=True, nogil=True)
def _latest(rank, frame, ep_first, ep_frames, cursor):
    """Row of the latest setup of endpoint `rank` before `frame` (packets come in frame order)."""
    lo = ep_first[rank]
    hi = ep_first[rank + 1]
    c = cursor[rank]
    while c < hi and ep_frames[c] < frame:
        c += 1
    cursor[rank] = c
    return c - 1 if c > lo else -1


@njit(cache=True, nogil=True)
def select_rtp(src, sport, dst, dport, frame, length, head, ep_keys, ep_first, ep_frames, heuristic):  # noqa: C901
    """Returns (rows, ep_row, stream, n_streams, ssrc_changes, first, last) for the RTP datagrams.

    rows: indexes of the selected datagrams; ep_row: the SDP setup row each matched (-1:
    heuristic); stream: (source, destination, SSRC) id in first-seen order; ssrc_changes:
    per stream, how often the SSRC changed on its 5-tuple; first / last: per stream, the
    position (in rows) of its first and last packet.
    """
    n = src.shape[0]
    s_table = np.full(1024, -1, np.int64)
    s_items = np.empty((512, 3), np.int64)
    f_table = np.full(1024, -1, np.int64)
    f_items = np.empty((512, 3), np.int64)
    cursor_src = ep_first[:-1].copy()
    cursor_dst = ep_first[:-1].copy()
    rows = np.empty(n, np.int64)
    ep_row = np.empty(n, np.int64)
    stream = np.empty(n, np.int64)
    flow_of = np.empty(n, np.int64)
    first = np.empty(n, np.int64)
    last = np.empty(n, np.int64)
    # per 5-tuple: its SDP endpoint ranks, and the SSRC / stream of its last RTP packet
    src_rank = np.empty(n, np.int64)
    dst_rank = np.empty(n, np.int64)
    last_ssrc = np.empty(n, np.int64)
    last_stream = np.empty(n, np.int64)
    changes = np.zeros(n, np.int64)
    m = 0
    n_streams = 0
    n_flows = 0
    for i in range(n):
        if length[i] < 12 or (head[i, 0] >> 6) != 2:
            continue
        pt = head[i, 1] & 0x7F
        if 72 <= pt <= 76:  # RTCP sharing the port
            continue
        sk = np.int64(src[i]) * 65536 + np.int64(sport[i])
        dk = np.int64(dst[i]) * 65536 + np.int64(dport[i])
        f_table, f_items, f = _intern(f_table, f_items, n_flows, sk, dk, 0)
        if f == n_flows:
            src_rank[f] = _rank(ep_keys, sk)
            dst_rank[f] = _rank(ep_keys, dk)
            last_ssrc[f] = -1
            n_flows += 1
        row = -1
        if src_rank[f] >= 0:
            row = _latest(src_rank[f], frame[i], ep_first, ep_frames, cursor_src)
        if row < 0 and dst_rank[f] >= 0:
            row = _latest(dst_rank[f], frame[i], ep_first, ep_frames, cursor_dst)
        if row < 0 and not (heuristic and (pt <= 34 or pt >= 96)):
            continue
        ssrc = (np.int64(head[i, 8]) << 24) | (np.int64(head[i, 9]) << 16) | (np.int64(head[i, 10]) << 8) \
            | np.int64(head[i, 11])
        if ssrc == last_ssrc[f]:
            k = last_stream[f]
        else:
            if last_ssrc[f] != -1:
                changes[f] += 1
            s_table, s_items, k = _intern(s_table, s_items, n_streams, sk, dk, ssrc)
            if k == n_streams:
                flow_of[k] = f
                first[k] = m
                n_streams += 1
            last_ssrc[f] = ssrc
            last_stream[f] = k
        rows[m] = i
        ep_row[m] = row
        stream[m] = k
        last[k] = m
        m += 1
    ssrc_changes = np.zeros(n_streams, np.int64)
    for k in range(n_streams):
        ssrc_changes[k] = changes[flow_of[k]]
    return rows[:m], ep_row[:m], stream[:m], n_streams, ssrc_changes, first[:n_streams], last[:n_streams]


@njit(cache=True, nogil=True)
def analyse_packets(stream, rows, arrival_s, t0, frames, head, clock, jb_ms, jit_out, ri, rf):  # noqa: C901
    """Wireshark 4.0's rtppacket_analyse() for every packet, stream state in ri / rf."""
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
            ri[k, 12] = max(clock[i], 0)
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
        if clock[i] < 0:  # RFC 4733 telephone-event: in sequence and loss, out of delta and jitter
            if mark:
                ri[k, 8] += 1
            ri[k, 11] = -1  # the next voice packet starts timing afresh
            ri[k, 2] = s
            ri[k, 0] = nr + 1
            jit_out[i] = rf[k, 3]
            continue
        is_cn = p == 13 or p == 19
        follow_cn = ri[k, 11] == 13 or ri[k, 11] == 19
        after_event = ri[k, 11] == -1
        ri[k, 11] = p
        ck = clock[i]
        diff = 0.0
        if in_time:
            if ck != 0 and after_event:
                ri[k, 12] = ck
                rf[k, 2] = cur - rf[k, 0]
                rf[k, 1] = ((tsv - first_ts) & 0xFFFFFFFF) / (ck // 1000)
            elif ck != 0:
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
        if not mark and not is_cn and in_time and not follow_cn and not after_event:
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
