"""HEP (Homer encapsulation protocol) v2 and v3: strictly bounded decoding, and encoding.

A HEP packet carries one captured message (SIP, RTP, RTCP) with the addresses, ports and
time it was seen at. Decoding never trusts a length: every field is checked against the
bytes actually there, and a packet that is short, too long, malformed or unauthenticated
raises `HepError` whose `reason` names the counter it goes to.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

HEP3_MAGIC = b"HEP3"
HEP3_HEADER = 6  # magic + total length
CHUNK_HEADER = 6  # vendor, type, length
MAX_HEP = 65535
GENERIC_VENDOR = 0

# chunk types of the generic vendor (HEP3 specification)
IP_FAMILY, IP_PROTO, SRC_IP4, DST_IP4, SRC_IP6, DST_IP6 = 1, 2, 3, 4, 5, 6
SRC_PORT, DST_PORT, TS_SEC, TS_USEC, PROTO_TYPE, AGENT_ID = 7, 8, 9, 10, 11, 12
KEEPALIVE, AUTH_KEY, PAYLOAD, COMPRESSED, CORRELATION = 13, 14, 15, 16, 17
_SIZES = {IP_FAMILY: 1, IP_PROTO: 1, SRC_IP4: 4, DST_IP4: 4, SRC_IP6: 16, DST_IP6: 16,
          SRC_PORT: 2, DST_PORT: 2, TS_SEC: 4, TS_USEC: 4, PROTO_TYPE: 1, AGENT_ID: 4}

PROTO_SIP = 1
PROTO_RTCP_JSON = 5
AF_INET_HEP, AF_INET6_HEP = 2, 10
IPPROTO_TCP, IPPROTO_UDP = 6, 17

# Reasons a packet is dropped; each is a label of voxops_watch_hep_errors_total
REASONS = ("truncated", "bad_length", "bad_chunk", "bad_version", "missing_field", "no_payload",
           "auth", "unsupported", "not_allowed", "framing")


class HepError(ValueError):
    def __init__(self, reason: str, detail: str = "") -> None:
        assert reason in REASONS
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(slots=True, frozen=True)
class HepPacket:
    version: int
    src: str
    sport: int
    dst: str
    dport: int
    transport: str  # udp | tcp
    ts: float
    proto_type: int
    payload: bytes
    agent_id: int | None = None
    correlation: str | None = None


def decode(data: bytes, secret: bytes | None = None) -> HepPacket:
    """One HEP v2 or v3 packet (the whole datagram or TCP frame), or HepError."""
    if len(data) < 4:
        raise HepError("truncated", f"{len(data)} bytes")
    if data[:4] == HEP3_MAGIC:
        return _decode_v3(data, secret)
    if data[0] in (1, 2):
        if secret is not None:
            raise HepError("auth", "HEP v2 carries no key and a shared secret is set")
        return _decode_v2(data)
    raise HepError("bad_version", f"first byte {data[0]}")


def _decode_v2(data: bytes) -> HepPacket:
    version, header_len, family, proto = data[0], data[1], data[2], data[3]
    if family not in (AF_INET_HEP, AF_INET6_HEP):
        raise HepError("bad_chunk", f"address family {family}")
    addr = 4 if family == AF_INET_HEP else 16
    want = 4 + 4 + 2 * addr + (12 if version == 2 else 0)
    if header_len != want:
        raise HepError("bad_length", f"header length {header_len}, expected {want}")
    if len(data) < want:
        raise HepError("truncated", f"{len(data)} bytes, header needs {want}")
    if len(data) == want:
        raise HepError("no_payload")
    sport, dport = struct.unpack_from("!HH", data, 4)
    af = socket.AF_INET if addr == 4 else socket.AF_INET6
    src = socket.inet_ntop(af, data[8 : 8 + addr])
    dst = socket.inet_ntop(af, data[8 + addr : 8 + 2 * addr])
    ts, agent = 0.0, None
    if version == 2:  # seconds, microseconds, capture id: little-endian as Kamailio writes them
        sec, usec, agent = struct.unpack_from("<IIH", data, 8 + 2 * addr)
        if usec >= 1_000_000:
            raise HepError("bad_chunk", f"microseconds {usec}")
        ts = sec + usec / 1e6
    return HepPacket(version, src, sport, dst, dport, _transport(proto), ts, PROTO_SIP, bytes(data[want:]),
                     agent)


def _transport(proto: int) -> str:
    if proto == IPPROTO_UDP:
        return "udp"
    if proto == IPPROTO_TCP:
        return "tcp"
    raise HepError("unsupported", f"IP protocol {proto}")


def frame_length(head: bytes) -> int:
    """The total length a HEP3 frame announces in its first 6 bytes (TCP framing)."""
    if head[:4] != HEP3_MAGIC:
        raise HepError("framing", "stream does not start with HEP3")
    total = int.from_bytes(head[4:6], "big")
    if total < HEP3_HEADER + CHUNK_HEADER:
        raise HepError("bad_length", f"total length {total}")
    return total


_CHUNK = struct.Struct("!HHH")
_NAMES: dict[bytes, str] = {}  # address bytes -> text: the same few senders, converted once


def _address(raw: bytes, family: int) -> str:
    text = _NAMES.get(raw)
    if text is None:
        if len(_NAMES) > 4096:  # many distinct addresses must not grow it
            _NAMES.clear()
        text = _NAMES[raw] = socket.inet_ntop(family, raw)
    return text


def _chunks(data: bytes) -> dict[int, tuple[int, int]]:
    """Where each generic chunk's body lies in `data` (start, end), every length checked."""
    total = frame_length(data[:HEP3_HEADER]) if len(data) >= HEP3_HEADER else 0
    if len(data) < HEP3_HEADER or total > len(data):
        raise HepError("truncated", f"{len(data)} bytes, header says {total}")
    if total != len(data):
        raise HepError("bad_length", f"{len(data)} bytes, header says {total}")
    out: dict[int, tuple[int, int]] = {}
    unpack, sizes = _CHUNK.unpack_from, _SIZES
    at = HEP3_HEADER
    while at < total:
        if total - at < CHUNK_HEADER:
            raise HepError("truncated", f"chunk header at {at}")
        vendor, kind, length = unpack(data, at)
        end = at + length
        if length < CHUNK_HEADER or end > total:
            raise HepError("bad_chunk", f"chunk {kind} length {length} at {at}")
        if vendor == GENERIC_VENDOR:  # vendor chunks are allowed and ignored
            size = sizes.get(kind)
            if size is not None and length - CHUNK_HEADER != size:
                raise HepError("bad_chunk", f"chunk {kind} of {length - CHUNK_HEADER} bytes, expected {size}")
            if kind in out:
                raise HepError("bad_chunk", f"chunk {kind} twice")
            out[kind] = (at + CHUNK_HEADER, end)
        at = end
    return out


def _decode_v3(data: bytes, secret: bytes | None) -> HepPacket:
    c = _chunks(data)

    def body(kind: int) -> bytes:
        a, b = c[kind]
        return data[a:b]

    def number(kind: int) -> int:
        a, b = c[kind]
        return int.from_bytes(data[a:b], "big")

    if secret is not None and (AUTH_KEY not in c or body(AUTH_KEY).rstrip(b"\0") != secret):
        raise HepError("auth", "missing or wrong key")
    if PAYLOAD not in c or c[PAYLOAD][0] == c[PAYLOAD][1]:
        raise HepError("unsupported" if COMPRESSED in c else "no_payload", "compressed payload" if COMPRESSED in c else "")
    missing = [k for k in (IP_FAMILY, IP_PROTO, SRC_PORT, DST_PORT, TS_SEC) if k not in c]
    if missing:
        raise HepError("missing_field", f"chunk(s) {missing}")
    family = data[c[IP_FAMILY][0]]
    if family == AF_INET_HEP and SRC_IP4 in c and DST_IP4 in c:
        src, dst = _address(body(SRC_IP4), socket.AF_INET), _address(body(DST_IP4), socket.AF_INET)
    elif family == AF_INET6_HEP and SRC_IP6 in c and DST_IP6 in c:
        src, dst = _address(body(SRC_IP6), socket.AF_INET6), _address(body(DST_IP6), socket.AF_INET6)
    else:
        raise HepError("missing_field", f"addresses of family {family}")
    usec = number(TS_USEC) if TS_USEC in c else 0
    if usec >= 1_000_000:
        raise HepError("bad_chunk", f"microseconds {usec}")
    agent = number(AGENT_ID) if AGENT_ID in c else None
    corr = body(CORRELATION).decode("utf-8", "replace") if CORRELATION in c else None
    proto_type = data[c[PROTO_TYPE][0]] if PROTO_TYPE in c else PROTO_SIP
    return HepPacket(3, src, number(SRC_PORT), dst, number(DST_PORT), _transport(data[c[IP_PROTO][0]]),
                     number(TS_SEC) + usec / 1e6, proto_type, body(PAYLOAD), agent, corr)


def _chunk(kind: int, body: bytes) -> bytes:
    return struct.pack("!HHH", GENERIC_VENDOR, kind, CHUNK_HEADER + len(body)) + body


def encode_v3(src: str, sport: int, dst: str, dport: int, ts: float, payload: bytes, *,
              transport: str = "udp", proto_type: int = PROTO_SIP, agent_id: int = 0,
              secret: bytes | None = None) -> bytes:
    """A HEP3 packet, as Kamailio's siptrace or heplify send it."""
    v6 = ":" in src
    af = socket.AF_INET6 if v6 else socket.AF_INET
    sec = int(ts)
    usec = min(int(round((ts - sec) * 1e6)), 999_999)
    parts = [
        _chunk(IP_FAMILY, bytes([AF_INET6_HEP if v6 else AF_INET_HEP])),
        _chunk(IP_PROTO, bytes([IPPROTO_TCP if transport == "tcp" else IPPROTO_UDP])),
        _chunk(SRC_IP6 if v6 else SRC_IP4, socket.inet_pton(af, src)),
        _chunk(DST_IP6 if v6 else DST_IP4, socket.inet_pton(af, dst)),
        _chunk(SRC_PORT, sport.to_bytes(2, "big")),
        _chunk(DST_PORT, dport.to_bytes(2, "big")),
        _chunk(TS_SEC, sec.to_bytes(4, "big")),
        _chunk(TS_USEC, usec.to_bytes(4, "big")),
        _chunk(PROTO_TYPE, bytes([proto_type])),
        _chunk(AGENT_ID, agent_id.to_bytes(4, "big")),
    ]
    if secret is not None:
        parts.append(_chunk(AUTH_KEY, secret))
    parts.append(_chunk(PAYLOAD, payload))
    body = b"".join(parts)
    return HEP3_MAGIC + (HEP3_HEADER + len(body)).to_bytes(2, "big") + body


def encode_v2(src: str, sport: int, dst: str, dport: int, ts: float, payload: bytes) -> bytes:
    """A HEP2 packet (IPv4, UDP), as older capture agents send it."""
    sec = int(ts)
    usec = min(int(round((ts - sec) * 1e6)), 999_999)
    head = bytes([2, 28, AF_INET_HEP, IPPROTO_UDP]) + struct.pack("!HH", sport, dport)
    head += socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("<IIHH", sec, usec, 0, 0)
    return head + payload
