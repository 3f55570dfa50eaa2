"""Writing captures: classic pcap files and the Ethernet/IP/UDP/TCP frames inside them.

Used by `voxops export` (copying records verbatim) and by the benchmark and tests,
which build their own captures frame by frame.
"""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from voxops.capture.layers import LINK_ETHERNET

_MAC_A = b"\x02\x00\x00\x00\x00\x01"
_MAC_B = b"\x02\x00\x00\x00\x00\x02"


class PcapWriter:
    """A little-endian classic pcap file (microsecond or nanosecond timestamps)."""

    def __init__(self, path: str | Path, linktype: int = LINK_ETHERNET, *, nano: bool = False,
                 snaplen: int = 262144) -> None:
        self.fh: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed in close()
        self.nano = nano
        magic = 0xA1B23C4D if nano else 0xA1B2C3D4
        self.fh.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        self.count = 0

    def write(self, ts: float, data: bytes, orig_len: int | None = None) -> None:
        sec = int(ts)
        scale = 1_000_000_000 if self.nano else 1_000_000
        frac = int(round((ts - sec) * scale))
        if frac >= scale:
            sec, frac = sec + 1, frac - scale
        self.fh.write(struct.pack("<IIII", sec, frac, len(data), orig_len or len(data)))
        self.fh.write(data)
        self.count += 1

    def write_raw(self, sec: int, frac: int, data: bytes, orig_len: int) -> None:
        self.fh.write(struct.pack("<IIII", sec, frac, len(data), orig_len))
        self.fh.write(data)
        self.count += 1

    def close(self) -> None:
        self.fh.close()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_header(src: str, dst: str, proto: int, payload_len: int, ident: int = 0,
                frag_offset: int = 0, more: bool = False) -> bytes:
    flags = (0x2000 if more else 0) | (frag_offset // 8)
    hdr = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, ident & 0xFFFF, flags, 64, proto, 0,
        ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed,
    )
    return hdr[:10] + struct.pack("!H", _checksum(hdr)) + hdr[12:]


def ipv6_header(src: str, dst: str, next_header: int, payload_len: int) -> bytes:
    return struct.pack(
        "!IHBB16s16s", 6 << 28, payload_len, next_header, 64,
        ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed,
    )


def udp_segment(sport: int, dport: int, payload: bytes) -> bytes:
    # checksum 0 = not computed (allowed for IPv4; dissectors accept it)
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp_segment(sport: int, dport: int, seq: int, payload: bytes, *, flags: int = 0x18,
                ack: int = 0) -> bytes:
    return struct.pack("!HHIIHHHH", sport, dport, seq & 0xFFFFFFFF, ack, (5 << 12) | flags,
                       65535, 0, 0) + payload


def ether(ip_packet: bytes, version: int = 4, vlan: int | None = None) -> bytes:
    etype = b"\x08\x00" if version == 4 else b"\x86\xdd"
    tag = b"\x81\x00" + struct.pack("!H", vlan) if vlan is not None else b""
    return _MAC_B + _MAC_A + tag + etype + ip_packet


def udp_frame(src: str, sport: int, dst: str, dport: int, payload: bytes, *, ident: int = 0,
              vlan: int | None = None) -> bytes:
    """One Ethernet frame carrying a UDP datagram over IPv4 or IPv6 (by address)."""
    seg = udp_segment(sport, dport, payload)
    if ":" in src:
        return ether(ipv6_header(src, dst, 17, len(seg)) + seg, 6, vlan)
    return ether(ipv4_header(src, dst, 17, len(seg), ident) + seg, 4, vlan)


def tcp_frame(src: str, sport: int, dst: str, dport: int, seq: int, payload: bytes, *,
              flags: int = 0x18) -> bytes:
    seg = tcp_segment(sport, dport, seq, payload, flags=flags)
    if ":" in src:
        return ether(ipv6_header(src, dst, 6, len(seg)) + seg, 6)
    return ether(ipv4_header(src, dst, 6, len(seg)) + seg, 4)


def fragmented_udp_frames(src: str, sport: int, dst: str, dport: int, payload: bytes, *,
                          ident: int, mtu: int = 1500) -> list[bytes]:
    """IPv4 fragments of one UDP datagram (what a large SIP INVITE becomes on the wire)."""
    seg = udp_segment(sport, dport, payload)
    step = ((mtu - 20) // 8) * 8
    frames = []
    for off in range(0, len(seg), step):
        part = seg[off : off + step]
        more = off + step < len(seg)
        frames.append(ether(ipv4_header(src, dst, 17, len(part), ident, off, more) + part))
    return frames
