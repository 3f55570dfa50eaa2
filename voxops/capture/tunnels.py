"""Tunnels a capture taken on a core link carries calls in: the IP packet inside.

- GRE (RFC 2784, keys and sequence numbers of RFC 2890) carrying IPv4, IPv6, Ethernet
  (transparent bridging) or PPP, and the enhanced GRE of PPTP (RFC 2637, version 1);
- IP-in-IP (protocol 4) and IPv6-in-IPv4 / 6in4 (protocol 41);
- GTP-U (3GPP TS 29.281) on UDP port 2152: G-PDUs, their optional fields and extension
  headers skipped.

`decapsulate` peels at most MAX_DEPTH layers, so a hostile packet nesting tunnels cannot
keep the reader busy; what is not a tunnel, or not one it understands, is returned as is.
"""

from __future__ import annotations

from voxops.capture.layers import (
    ETH_IPV4,
    ETH_IPV6,
    LINK_ETHERNET,
    PPP_IPV4,
    PPP_IPV6,
    PROTO_UDP,
    IpPacket,
    decode_ip,
    link_payload,
)

PROTO_IPIP = 4
PROTO_IPV6_IN_IP = 41
PROTO_GRE = 47
GTPU_PORT = 2152
GRE_TEB = 0x6558  # transparent Ethernet bridging
GRE_PPP = 0x880B
GTP_GPDU = 0xFF
MAX_DEPTH = 4
MAX_GTP_EXTENSIONS = 8


def _gre(data: bytes) -> tuple[int, int] | None:
    """(IP version, offset) of the packet a GRE header carries."""
    if len(data) < 4:
        return None
    flags, proto = int.from_bytes(data[0:2], "big"), int.from_bytes(data[2:4], "big")
    version = flags & 0x7
    off = 4
    if version == 0:
        off += 4 * sum(bool(flags & bit) for bit in (0x8000, 0x2000, 0x1000))  # checksum, key, sequence
    elif version == 1:  # PPTP: the key always, sequence and acknowledgment when flagged
        off += 4 + 4 * sum(bool(flags & bit) for bit in (0x1000, 0x0080))
    else:
        return None
    if proto == ETH_IPV4:
        return (4, off) if len(data) > off else None
    if proto == ETH_IPV6:
        return (6, off) if len(data) > off else None
    if proto == GRE_TEB:
        found = link_payload(LINK_ETHERNET, data[off:])
        return (found[0], off + found[1]) if found else None
    if proto == GRE_PPP:
        return _ppp(data, off)
    return None


def _ppp(data: bytes, off: int) -> tuple[int, int] | None:
    """PPP in HDLC-like framing (address and control optional, protocol field 1 or 2 bytes)."""
    if data[off: off + 2] == b"\xff\x03":
        off += 2
    if len(data) <= off:
        return None
    if data[off] & 1:  # protocol field compression: one byte
        proto, off = data[off], off + 1
    elif len(data) >= off + 2:
        proto, off = int.from_bytes(data[off: off + 2], "big"), off + 2
    else:
        return None
    if proto == PPP_IPV4:
        return 4, off
    if proto == PPP_IPV6:
        return 6, off
    return None


def _gtpu(data: bytes) -> tuple[int, int] | None:
    """(IP version, offset) of the user packet of a GTP-U G-PDU."""
    if len(data) < 8 or data[0] >> 5 != 1 or not data[0] & 0x10 or data[1] != GTP_GPDU:
        return None
    off = 8
    if data[0] & 0x07:  # sequence number, N-PDU number or extension header present
        if len(data) < 12:
            return None
        following, off = data[11], 12
        for _ in range(MAX_GTP_EXTENSIONS):
            if not following:
                break
            if len(data) <= off or data[off] == 0:
                return None
            end = off + 4 * data[off]
            if len(data) < end:
                return None
            following, off = data[end - 1], end
        else:
            return None
    if len(data) <= off:
        return None
    version = data[off] >> 4
    return (version, off) if version in (4, 6) else None


def inner_packet(pkt: IpPacket) -> IpPacket | None:
    """The packet `pkt` tunnels, or None when it is not a tunnel packet voxops reads."""
    if pkt.frag_id is not None:
        return None  # a fragment of a tunnel packet: its inner header may not be here
    data = pkt.payload
    found: tuple[int, int] | None = None
    if pkt.proto == PROTO_GRE:
        found = _gre(data)
    elif pkt.proto == PROTO_IPIP:
        found = (4, 0)
    elif pkt.proto == PROTO_IPV6_IN_IP:
        found = (6, 0)
    elif pkt.proto == PROTO_UDP and len(data) >= 8 and GTPU_PORT in (
            int.from_bytes(data[0:2], "big"), int.from_bytes(data[2:4], "big")):
        inner = _gtpu(data[8:])
        found = (inner[0], 8 + inner[1]) if inner else None
    if found is None:
        return None
    return decode_ip(data, found[1], found[0])


def decapsulate(pkt: IpPacket) -> IpPacket:
    """The innermost packet, at most MAX_DEPTH tunnels down."""
    for _ in range(MAX_DEPTH):
        inner = inner_packet(pkt)
        if inner is None:
            break
        pkt = inner
    return pkt


def decode_frame(linktype: int, data: bytes) -> IpPacket | None:
    """The frame's IP packet; inside a GRE, IP-in-IP or GTP-U tunnel, the tunnelled one."""
    found = link_payload(linktype, data)
    if found is None:
        return None
    pkt = decode_ip(data, found[1], found[0])
    return None if pkt is None else decapsulate(pkt)
