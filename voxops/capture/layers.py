"""Link, network and transport headers, decoded one frame at a time.

This is the complete (and slower) path: every link type, IPv6 extension headers,
fragments, TCP. The vectorised fast path (`fastpath.py`) hands it whatever it does not
handle itself, so both must agree on what a frame contains.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

# Link types (https://www.tcpdump.org/linktypes.html)
LINK_NULL = 0
LINK_ETHERNET = 1
LINK_PPP = 9
LINK_RAW_OLD = 12  # DLT_RAW on some BSDs
LINK_RAW_OLD2 = 14  # DLT_RAW on OpenBSD
LINK_PPP_ETHER = 51  # PPPoE without the Ethernet header
LINK_RAW = 101
LINK_LOOP = 108
LINK_SLL = 113
LINK_IPV4 = 228
LINK_IPV6 = 229
LINK_SLL2 = 276
SUPPORTED_LINKS = {
    LINK_NULL, LINK_ETHERNET, LINK_PPP, LINK_RAW_OLD, LINK_RAW_OLD2, LINK_PPP_ETHER,
    LINK_RAW, LINK_LOOP, LINK_SLL, LINK_IPV4, LINK_IPV6, LINK_SLL2,
}

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_VLAN = (0x8100, 0x88A8, 0x9100)
ETH_PPPOE_SESSION = 0x8864
PPP_IPV4 = 0x0021
PPP_IPV6 = 0x0057
PROTO_TCP = 6
PROTO_UDP = 17
_V6_EXT = {0, 43, 60, 135, 139, 140}  # hop-by-hop, routing, dest opts, mobility, HIP, shim6
_V6_FRAGMENT = 44
_V6_AH = 51


@dataclass(slots=True)
class IpPacket:
    version: int
    src: str
    dst: str
    proto: int
    payload: bytes
    frag_id: int | None = None  # set when this is a fragment
    frag_offset: int = 0  # bytes
    more_fragments: bool = False


def link_payload(linktype: int, data: bytes) -> tuple[int, int] | None:
    """(IP version 4|6, offset of the IP header) or None when the frame carries no IP."""
    if linktype == LINK_ETHERNET:
        if len(data) < 14:
            return None
        etype = int.from_bytes(data[12:14], "big")
        off = 14
        return _ethertype(data, etype, off)
    if linktype == LINK_SLL:
        if len(data) < 16:
            return None
        return _ethertype(data, int.from_bytes(data[14:16], "big"), 16)
    if linktype == LINK_SLL2:
        if len(data) < 20:
            return None
        return _ethertype(data, int.from_bytes(data[0:2], "big"), 20)
    if linktype in (LINK_RAW, LINK_RAW_OLD, LINK_RAW_OLD2, LINK_IPV4, LINK_IPV6):
        return _raw_ip(data, 0)
    if linktype in (LINK_NULL, LINK_LOOP):
        if len(data) < 4:
            return None
        family = struct.unpack("<I" if linktype == LINK_NULL else ">I", data[:4])[0]
        if linktype == LINK_NULL and family > 0xFFFF:  # written on a big-endian host
            family = struct.unpack(">I", data[:4])[0]
        if family == 2:
            return 4, 4
        if family in (10, 24, 28, 30):
            return 6, 4
        return None
    if linktype == LINK_PPP_ETHER:
        return _pppoe(data, 0)
    if linktype == LINK_PPP:
        if len(data) >= 4 and data[0] == 0xFF and data[1] == 0x03:
            return _ppp(data, int.from_bytes(data[2:4], "big"), 4)
        if len(data) >= 2:
            return _ppp(data, int.from_bytes(data[0:2], "big"), 2)
    return None


def _raw_ip(data: bytes, off: int) -> tuple[int, int] | None:
    if len(data) <= off:
        return None
    version = data[off] >> 4
    return (version, off) if version in (4, 6) else None


def _ethertype(data: bytes, etype: int, off: int) -> tuple[int, int] | None:
    for _ in range(4):  # 802.1Q, QinQ (802.1ad) and the odd triple tag
        if etype not in ETH_VLAN:
            break
        if len(data) < off + 4:
            return None
        etype = int.from_bytes(data[off + 2 : off + 4], "big")
        off += 4
    if etype == ETH_IPV4:
        return 4, off
    if etype == ETH_IPV6:
        return 6, off
    if etype == ETH_PPPOE_SESSION:
        return _pppoe(data, off)
    return None


def _pppoe(data: bytes, off: int) -> tuple[int, int] | None:
    # 6-byte PPPoE session header, then the 2-byte PPP protocol (RFC 2516)
    if len(data) < off + 8:
        return None
    return _ppp(data, int.from_bytes(data[off + 6 : off + 8], "big"), off + 8)


def _ppp(data: bytes, proto: int, off: int) -> tuple[int, int] | None:
    if proto == PPP_IPV4:
        return 4, off
    if proto == PPP_IPV6:
        return 6, off
    return None


def decode_ip(data: bytes, off: int, version: int) -> IpPacket | None:
    """IPv4 or IPv6 header at `off` (extension headers walked), payload trimmed to length."""
    if version == 4:
        if len(data) < off + 20:
            return None
        ihl = (data[off] & 0x0F) * 4
        if ihl < 20:
            return None
        total = int.from_bytes(data[off + 2 : off + 4], "big")
        end = off + total if total >= ihl else len(data)  # TSO captures write 0
        flags_frag = int.from_bytes(data[off + 6 : off + 8], "big")
        pkt = IpPacket(
            4,
            socket.inet_ntop(socket.AF_INET, data[off + 12 : off + 16]),
            socket.inet_ntop(socket.AF_INET, data[off + 16 : off + 20]),
            data[off + 9],
            data[off + ihl : min(end, len(data))],
        )
        frag_offset = (flags_frag & 0x1FFF) * 8
        more = bool(flags_frag & 0x2000)
        if more or frag_offset:
            pkt.frag_id = int.from_bytes(data[off + 4 : off + 6], "big")
            pkt.frag_offset = frag_offset
            pkt.more_fragments = more
        return pkt
    if len(data) < off + 40:
        return None
    plen = int.from_bytes(data[off + 4 : off + 6], "big")
    nxt = data[off + 6]
    src = socket.inet_ntop(socket.AF_INET6, data[off + 8 : off + 24])
    dst = socket.inet_ntop(socket.AF_INET6, data[off + 24 : off + 40])
    end = min(off + 40 + plen, len(data)) if plen else len(data)  # 0 = jumbogram
    pos = off + 40
    frag: tuple[int, int, bool] | None = None
    for _ in range(16):  # a bounded chain: hostile packets cannot loop us
        if nxt in _V6_EXT:
            if pos + 8 > end:
                return None
            nxt, hlen = data[pos], (data[pos + 1] + 1) * 8
            pos += hlen
        elif nxt == _V6_FRAGMENT:
            if pos + 8 > end:
                return None
            word = int.from_bytes(data[pos + 2 : pos + 4], "big")
            ident = int.from_bytes(data[pos + 4 : pos + 8], "big")
            frag = (ident, word & 0xFFF8, bool(word & 1))
            nxt = data[pos]
            pos += 8
        elif nxt == _V6_AH:
            if pos + 8 > end:
                return None
            nxt, hlen = data[pos], (data[pos + 1] + 2) * 4
            pos += hlen
        else:
            break
    if pos > end:
        return None
    pkt = IpPacket(6, src, dst, nxt, data[pos:end])
    if frag is not None and (frag[1] or frag[2]):
        pkt.frag_id, pkt.frag_offset, pkt.more_fragments = frag
    return pkt


def udp_header(payload: bytes) -> tuple[int, int, bytes] | None:
    """(sport, dport, data) of a UDP datagram, data trimmed to the UDP length."""
    if len(payload) < 8:
        return None
    sport, dport, length = struct.unpack_from(">HHH", payload, 0)
    end = length if 8 <= length <= len(payload) else len(payload)
    return sport, dport, payload[8:end]


@dataclass(slots=True)
class TcpSegment:
    sport: int
    dport: int
    seq: int
    flags: int
    data: bytes

    @property
    def syn(self) -> bool:
        return bool(self.flags & 0x02)

    @property
    def fin(self) -> bool:
        return bool(self.flags & 0x01)

    @property
    def rst(self) -> bool:
        return bool(self.flags & 0x04)


def tcp_header(payload: bytes) -> TcpSegment | None:
    if len(payload) < 20:
        return None
    sport, dport, seq, _ack, off_flags = struct.unpack_from(">HHIIH", payload, 0)
    hlen = (off_flags >> 12) * 4
    if hlen < 20 or hlen > len(payload):
        return None
    return TcpSegment(sport, dport, seq, off_flags & 0x3F, payload[hlen:])
