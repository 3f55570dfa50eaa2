"""Which UDP datagrams are RTP, of which SDP endpoint, in which stream: one compiled pass.

An SDP endpoint (address:port) applies from the frame after its SDP on; when several
SDPs named the same endpoint, the latest one before the packet wins (Wireshark's
conversation rule). The source endpoint is looked up first, then the destination.
Streams and 5-tuples are numbered with open-addressing hash tables over numpy arrays
(numba's typed dicts are slower here and take long to compile).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xC2B2AE3D27D4EB4F)
_M3 = np.uint64(0x165667B19E3779F9)


@njit(cache=True, nogil=True)
def _find(keys, used, a, b, c, mask):
    """Slot of key (a, b, c): its slot when present, else the empty slot to put it in."""
    h = (np.uint64(a) * _M1) ^ (np.uint64(b) * _M2) ^ (np.uint64(c) * _M3)
    slot = np.int64((h ^ (h >> np.uint64(29))) & np.uint64(mask))
    while used[slot] and not (keys[slot, 0] == a and keys[slot, 1] == b and keys[slot, 2] == c):
        slot = (slot + 1) & mask
    return slot


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
    """Returns (rows, ep_row, stream, n_streams, ssrc_changes) for the RTP datagrams.

    rows: indexes of the selected datagrams; ep_row: the SDP setup row each matched (-1:
    heuristic); stream: (source, destination, SSRC) id in first-seen order; ssrc_changes:
    per stream, how often the SSRC changed on its 5-tuple.
    """
    n = src.shape[0]
    cap = 16
    while cap < 2 * n:
        cap *= 2
    mask = cap - 1
    s_keys = np.empty((cap, 3), np.int64)
    s_used = np.zeros(cap, np.bool_)
    s_val = np.empty(cap, np.int64)
    f_keys = np.empty((cap, 3), np.int64)
    f_used = np.zeros(cap, np.bool_)
    f_val = np.empty(cap, np.int64)
    cursor_src = ep_first[:-1].copy()
    cursor_dst = ep_first[:-1].copy()
    rows = np.empty(n, np.int64)
    ep_row = np.empty(n, np.int64)
    stream = np.empty(n, np.int64)
    flow_of = np.empty(n, np.int64)
    last_ssrc = np.full(n, -1, np.int64)
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
        row = -1
        r = _rank(ep_keys, sk)
        if r >= 0:
            row = _latest(r, frame[i], ep_first, ep_frames, cursor_src)
        if row < 0:
            r = _rank(ep_keys, dk)
            if r >= 0:
                row = _latest(r, frame[i], ep_first, ep_frames, cursor_dst)
        if row < 0 and not (heuristic and (pt <= 34 or pt >= 96)):
            continue
        ssrc = (np.int64(head[i, 8]) << 24) | (np.int64(head[i, 9]) << 16) | (np.int64(head[i, 10]) << 8) \
            | np.int64(head[i, 11])
        fs = _find(f_keys, f_used, sk, dk, 0, mask)
        if not f_used[fs]:
            f_used[fs] = True
            f_keys[fs, 0], f_keys[fs, 1], f_keys[fs, 2] = sk, dk, 0
            f_val[fs] = n_flows
            n_flows += 1
        f = f_val[fs]
        if last_ssrc[f] != -1 and last_ssrc[f] != ssrc:
            changes[f] += 1
        last_ssrc[f] = ssrc
        ss = _find(s_keys, s_used, sk, dk, ssrc, mask)
        if not s_used[ss]:
            s_used[ss] = True
            s_keys[ss, 0], s_keys[ss, 1], s_keys[ss, 2] = sk, dk, ssrc
            s_val[ss] = n_streams
            flow_of[n_streams] = f
            n_streams += 1
        rows[m] = i
        ep_row[m] = row
        stream[m] = s_val[ss]
        m += 1
    ssrc_changes = np.zeros(n_streams, np.int64)
    for k in range(n_streams):
        ssrc_changes[k] = changes[flow_of[k]]
    return rows[:m], ep_row[:m], stream[:m], n_streams, ssrc_changes
