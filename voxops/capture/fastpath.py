"""The hot path: record walking and UDP classification compiled with numba.

Measured on the development machine (2 shared cores) on the 1M-packet capture of
benchmarks/capture.py, CPU time: a pure-Python loop with struct.unpack_from only
walking the record headers does 1.3 M records/s; `walk_pcap` below does 8 M records/s
while also recording offsets, lengths and timestamps. Every read is bounds-checked by
hand (numba does not), and the fuzzers drive these kernels with hostile bytes.

Classification of one frame (`classify`):
  KIND_DROP  not IPv4/IPv6 over a link layer we know, or neither UDP nor TCP,
             or a TCP segment with no payload and no SYN/FIN/RST;
  KIND_UDP   a plain IPv4 UDP datagram that is neither SIP-looking nor RTCP: the
             columns are filled here and Python never touches the frame;
  KIND_UDP6  the same over IPv6 without extension headers (addresses read by the
             caller from the IP header offset);
  KIND_SLOW  everything else (fragments, extension headers, TCP, PPPoE, possible
             SIP, RTCP, GRE, IP-in-IP and GTP-U tunnels): decoded by `layers.py` in Python.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from voxops.capture.kinds import (
    KIND_DROP,
    KIND_SLOW,
    KIND_UDP,
    KIND_UDP6,
    STATUS_BLOCK,
    STATUS_CORRUPT,
    STATUS_FULL,
    STATUS_MORE,
)

# Exported kernels and their signatures: compiled ahead of time (kernels.py) or by the JIT.
SIGNATURES = {
    "walk_pcap": "i8(u1[:], i8, i8, i8, i8, i8, i8[:], i8[:], f8[:], i8[:])",
    "walk_pcapng": "i8(u1[:], i8, i8, i8, i8[:], f8[:], f8[:], i8, i8, i8[:], i8[:], f8[:], i8[:], i8[:])",
    "classify": "i8(u1[:], i8[:], i8[:], i4[:], u1[:], u4[:], u4[:], i8[:], i8[:], i8[:], u1[:, :], i8[:])",
}


@njit(cache=True, nogil=True)
def _u32(buf, pos, big):
    if big:
        return (
            (np.uint32(buf[pos]) << 24)
            | (np.uint32(buf[pos + 1]) << 16)
            | (np.uint32(buf[pos + 2]) << 8)
            | np.uint32(buf[pos + 3])
        )
    return (
        (np.uint32(buf[pos + 3]) << 24)
        | (np.uint32(buf[pos + 2]) << 16)
        | (np.uint32(buf[pos + 1]) << 8)
        | np.uint32(buf[pos])
    )


@njit(cache=True, nogil=True)
def _u16be(buf, pos):
    return (np.int64(buf[pos]) << 8) | np.int64(buf[pos + 1])


def walk_pcap(buf, pos, end, big, nano, max_caplen, off, caplen, ts, state):
    """Walk classic pcap records in buf[pos:end]; returns the count, state = [new pos, status]."""
    n = 0
    cap = off.shape[0]
    frac_scale = 1e-9 if nano else 1e-6
    status = STATUS_MORE
    while True:
        if n >= cap:
            status = STATUS_FULL
            break
        if pos + 16 > end:
            break
        sec = _u32(buf, pos, big)
        frac = _u32(buf, pos + 4, big)
        incl = np.int64(_u32(buf, pos + 8, big))
        if incl > max_caplen:
            status = STATUS_CORRUPT
            break
        if pos + 16 + incl > end:
            break
        off[n] = pos + 16
        caplen[n] = incl
        ts[n] = np.float64(sec) + np.float64(frac) * frac_scale
        n += 1
        pos += 16 + incl
    state[0] = pos
    state[1] = status
    return n


def walk_pcapng(buf, pos, end, big, if_units, if_scale, if_offset, nif, max_block, off, caplen, ts, iface, state):
    """Walk pcapng blocks; packet blocks fill the outputs, SHB/IDB return STATUS_BLOCK.

    if_units[i] > 0: ticks per second (decimal resolution, exact integer split);
    else if_scale[i] is seconds per tick (binary resolution).
    """
    n = 0
    cap = off.shape[0]
    status = STATUS_MORE
    while True:
        if n >= cap:
            status = STATUS_FULL
            break
        if pos + 12 > end:
            break
        btype = _u32(buf, pos, big)
        if btype == 0x0A0D0D0A:
            status = STATUS_BLOCK
            break
        blen = np.int64(_u32(buf, pos + 4, big))
        if blen < 12 or blen % 4 != 0 or blen > max_block:
            status = STATUS_CORRUPT
            break
        if pos + blen > end:
            break
        if btype == 1:
            status = STATUS_BLOCK
            break
        if btype == 6 or btype == 2:  # enhanced / obsolete packet block
            if blen < 32:
                status = STATUS_CORRUPT
                break
            if btype == 6:
                ifid = np.int64(_u32(buf, pos + 8, big))
            elif big:
                ifid = _u16be(buf, pos + 8)
            else:
                ifid = (np.int64(buf[pos + 9]) << 8) | np.int64(buf[pos + 8])
            hi = np.int64(_u32(buf, pos + 12, big))
            lo = np.int64(_u32(buf, pos + 16, big))
            incl = np.int64(_u32(buf, pos + 20, big))
            if incl > blen - 32 or ifid >= nif:
                status = STATUS_CORRUPT
                break
            ticks = (hi << 32) | lo
            units = if_units[ifid]
            if units > 0:
                t = np.float64(ticks // units) + np.float64(ticks % units) / np.float64(units)
            else:
                t = np.float64(ticks) * if_scale[ifid]
            off[n] = pos + 28
            caplen[n] = incl
            ts[n] = t + if_offset[ifid]
            iface[n] = ifid
            n += 1
        elif btype == 3:  # simple packet block: interface 0, no timestamp
            if blen < 16 or nif < 1:
                status = STATUS_CORRUPT
                break
            orig = np.int64(_u32(buf, pos + 8, big))
            incl = min(orig, blen - 16)
            off[n] = pos + 12
            caplen[n] = incl
            ts[n] = 0.0
            iface[n] = 0
            n += 1
        pos += blen
    state[0] = pos
    state[1] = status
    return n


@njit(cache=True, nogil=True)
def _link_ip(buf, o, end, link):
    """Offset of an IPv4/IPv6 header for the link types handled here, or -1 (slow) / -2 (drop)."""
    if link == 1:  # Ethernet, 802.1Q / QinQ
        if o + 14 > end:
            return -2
        et = _u16be(buf, o + 12)
        p = o + 14
        for _ in range(4):
            if et == 0x8100 or et == 0x88A8 or et == 0x9100:
                if p + 4 > end:
                    return -2
                et = _u16be(buf, p + 2)
                p += 4
            else:
                break
        if et == 0x0800 or et == 0x86DD:
            return p
        if et == 0x8864:
            return -1
        return -2
    if link == 113:  # Linux cooked
        if o + 16 > end:
            return -2
        et = _u16be(buf, o + 14)
        if et == 0x0800 or et == 0x86DD:
            return o + 16
        return -2
    if link == 276:  # Linux cooked v2
        if o + 20 > end:
            return -2
        et = _u16be(buf, o)
        if et == 0x0800 or et == 0x86DD:
            return o + 20
        return -2
    if link == 101 or link == 228 or link == 229 or link == 12 or link == 14:
        return o
    if link == 0 or link == 108:
        if o + 4 > end:
            return -2
        return o + 4
    return -1


def classify(buf, off, caplen, link, kind, src, dst, sport, dport, plen, head, ipoff):
    """Classify frames (see module doc); KIND_UDP rows get addresses, ports, payload length
    and the first payload bytes (zero-padded), read while the frame is in cache."""
    width = head.shape[1]
    n = off.shape[0]
    for i in range(n):
        o = off[i]
        end = o + caplen[i]
        kind[i] = KIND_SLOW
        p = _link_ip(buf, o, end, link[i])
        if p == -2:
            kind[i] = KIND_DROP
            continue
        if p < 0 or p + 20 > end:
            continue
        ver = buf[p] >> 4
        if ver == 4:
            ihl = np.int64(buf[p] & 0x0F) * 4
            if ihl < 20 or p + ihl > end:
                continue
            total = _u16be(buf, p + 2)
            ip_end = p + total if total >= ihl else end
            if ip_end > end:
                ip_end = end
            frag = _u16be(buf, p + 6)
            if (frag & 0x3FFF) != 0:  # MF set or a non-zero offset
                continue
            proto = buf[p + 9]
            t = p + ihl
        elif ver == 6:
            if p + 40 > end:
                continue
            proto = buf[p + 6]
            if proto != 17:
                if proto == 58 or proto == 59:  # ICMPv6, no next header
                    kind[i] = KIND_DROP
                continue  # TCP and extension headers: the Python path
            payload = _u16be(buf, p + 4)
            ip_end = p + 40 + payload if payload else end  # 0 = jumbogram
            if ip_end > end:
                ip_end = end
            t = p + 40
        else:
            kind[i] = KIND_DROP
            continue
        if proto == 6:
            if t + 20 > ip_end:
                kind[i] = KIND_DROP
                continue
            hlen = np.int64(buf[t + 12] >> 4) * 4
            flags = buf[t + 13]
            if t + hlen >= ip_end and (flags & 0x07) == 0:
                kind[i] = KIND_DROP  # a bare ACK: nothing for the stream reassembly
            continue
        if proto != 17:
            if proto != 47 and proto != 4 and proto != 41:  # GRE, IP-in-IP, 6in4: tunnels.py
                kind[i] = KIND_DROP
            continue
        if t + 8 > ip_end:
            kind[i] = KIND_DROP
            continue
        if _u16be(buf, t) == 2152 or _u16be(buf, t + 2) == 2152:
            continue  # GTP-U: the user's packet inside (tunnels.py)
        ulen = _u16be(buf, t + 4)
        d = t + 8
        d_end = t + ulen if ulen >= 8 and t + ulen <= ip_end else ip_end
        b0 = buf[d] if d < d_end else 0
        if (65 <= b0 <= 90) or (97 <= b0 <= 122):
            continue  # might be SIP: the Python parser decides
        if d + 2 <= d_end and (b0 & 0xC0) == 0x80 and 200 <= buf[d + 1] <= 204:
            continue  # RTCP: kept whole
        ipoff[i] = p
        if ver == 6:
            kind[i] = KIND_UDP6  # addresses are gathered from ipoff by the caller
        else:
            kind[i] = KIND_UDP
            src[i] = _u32(buf, p + 12, True)
            dst[i] = _u32(buf, p + 16, True)
        sport[i] = _u16be(buf, t)
        dport[i] = _u16be(buf, t + 2)
        m = d_end - d
        plen[i] = m
        m = min(m, width)
        for k in range(m):
            head[i, k] = buf[d + k]
        for k in range(m, width):
            head[i, k] = 0
    return 0
