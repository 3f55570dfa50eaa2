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

    def __init__(self, path: str | Path | BinaryIO, linktype: int = LINK_ETHERNET, *, nano: bool = False,
                 snaplen: int = 262144) -> None:
        """`path`: a file name, or a binary file already open (left open by close())."""
        self.owned = isinstance(path, str | Path)
        self.fh: BinaryIO = open(path, "wb") if isinstance(path, str | Path) else path  # noqa: SIM115
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
        if self.owned:
            self.fh.close()
        else:
            self.fh.flush()

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


_A, _B, _C = ("10.1.0.1", 5060), ("10.1.0.2", 5060), ("10.1.0.3", 5060)


def _sdp(addr: str, port: int) -> str:
    return (f"v=0\r\no=- 1 1 IN IP4 {addr}\r\ns=-\r\nc=IN IP4 {addr}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\n")


def _message(first: str, cid: str, cseq: str, branch: str, to_tag: str, body: str = "", extra: str = "") -> bytes:
    ctype = "Content-Type: application/sdp\r\n" if body else ""
    return (f"{first}\r\nVia: SIP/2.0/UDP 10.1.0.1:5060;branch={branch}\r\n"
            f"From: <sip:+15550100@carrier>;tag=a1\r\nTo: <sip:agent@voice>{to_tag}\r\n"
            f"Call-ID: {cid}\r\nCSeq: {cseq}\r\nMax-Forwards: 70\r\n{extra}{ctype}"
            f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


def write_sip_calls(path: str | Path, calls: int, *, b2bua_every: int = 10) -> None:
    """A SIP-only capture of `calls` answered calls, one every 10 ms: INVITE (SDP), 200 (SDP),
    ACK, BYE, 200. Call N is `call-N@x`; every `b2bua_every`-th also has a second leg
    `leg-N@b2b` carrying `X-CID: call-N@x` (0: none)."""
    t0 = 1_700_000_000.0
    with PcapWriter(path) as w:
        for i in range(calls):
            ts = t0 + i / 100
            legs = [(f"call-{i}@x", _A, _B, "")]
            if b2bua_every and i % b2bua_every == 0:
                legs.append((f"leg-{i}@b2b", _B, _C, f"X-CID: call-{i}@x\r\n"))
            for n, (cid, src, dst, extra) in enumerate(legs):
                port = 20000 + 2 * (i % 5000)
                invite = _message("INVITE sip:agent@voice SIP/2.0", cid, "1 INVITE", "z9hG4bK1", "",
                                  _sdp(src[0], port), extra)
                ok = _message("SIP/2.0 200 OK", cid, "1 INVITE", "z9hG4bK1", ";tag=b1", _sdp(dst[0], port + 10000))
                ack = _message("ACK sip:agent@voice SIP/2.0", cid, "1 ACK", "z9hG4bK2", ";tag=b1")
                bye = _message("BYE sip:agent@voice SIP/2.0", cid, "2 BYE", "z9hG4bK3", ";tag=b1")
                bye_ok = _message("SIP/2.0 200 OK", cid, "2 BYE", "z9hG4bK3", ";tag=b1")
                for k, (s, d, data) in enumerate([(src, dst, invite), (dst, src, ok), (src, dst, ack),
                                                  (src, dst, bye), (dst, src, bye_ok)]):
                    w.write(ts + n * 0.0001 + k * 0.001, udp_frame(*s, *d, data))
