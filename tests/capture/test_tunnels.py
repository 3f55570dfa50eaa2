"""SIP and RTP inside GRE (and PPP over GRE), IP-in-IP, 6in4 and GTP-U, read by the native
engine as if they were on the wire: the inner addresses, the call, its media and its audio."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.audio.support import MEDIA_START, RATE, correlation, g711_packets, noise, place
from voxops.capture.files import read_batches
from voxops.capture.tunnels import MAX_DEPTH, decapsulate, decode_frame
from voxops.capture.writer import (
    PcapWriter,
    ether,
    ipv4_header,
    ipv6_header,
    udp_segment,
    write_rtp_call,
)

CALL = "tunnelled@test"
OUTER_A, OUTER_B = "192.0.2.1", "192.0.2.2"  # the tunnel's ends, never the call's


def _gre(inner: bytes, proto: int = 0x0800, key: int | None = 77, seq: int | None = 5) -> bytes:
    flags = (0x2000 if key is not None else 0) | (0x1000 if seq is not None else 0)
    head = struct.pack("!HH", flags, proto) + (struct.pack("!I", key) if key is not None else b"")
    return head + (struct.pack("!I", seq) if seq is not None else b"")


def gre(ip: bytes, version: int) -> bytes:
    body = _gre(ip, 0x0800 if version == 4 else 0x86DD) + ip
    return ether(ipv4_header(OUTER_A, OUTER_B, 47, len(body)) + body)


def gre_ppp(ip: bytes, version: int) -> bytes:
    """PPTP's enhanced GRE (version 1, key = payload length and call ID) carrying PPP."""
    ppp = b"\xff\x03" + struct.pack("!H", 0x0021 if version == 4 else 0x0057) + ip
    head = struct.pack("!HHHHI", 0x3001, 0x880B, len(ppp), 9, 1)
    body = head + ppp
    return ether(ipv4_header(OUTER_A, OUTER_B, 47, len(body)) + body)


def ip_in_ip(ip: bytes, version: int) -> bytes:
    return ether(ipv4_header(OUTER_A, OUTER_B, 4 if version == 4 else 41, len(ip)) + ip)


def gtpu(ip: bytes, version: int) -> bytes:
    """A G-PDU with a sequence number and one extension header (PDU session container)."""
    ext = bytes([1, 0x10, 0x05, 0])  # length 1 (4 bytes), content, next type 0
    optional = struct.pack("!HBB", 9, 0, 0x85)  # sequence, N-PDU, next extension type
    body = optional + ext + ip
    gtp = struct.pack("!BBHI", 0x36, 0xFF, len(body), 0x1234) + body
    seg = udp_segment(2152, 2152, gtp)
    return ether(ipv4_header(OUTER_A, OUTER_B, 17, len(seg)) + seg)


def ipv6_outer_gre(ip: bytes, version: int) -> bytes:
    body = _gre(ip, 0x0800 if version == 4 else 0x86DD, key=None, seq=None) + ip
    return ether(ipv6_header("2001:db8::1", "2001:db8::2", 47, len(body)) + body, 6)


WRAPS: dict[str, Callable[[bytes, int], bytes]] = {
    "gre": gre, "gre-ppp": gre_ppp, "ip-in-ip": ip_in_ip, "gtp-u": gtpu, "gre-over-ipv6": ipv6_outer_gre,
}


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> tuple[Path, np.ndarray]:
    caller = noise(4.0)
    place(caller, 0.5, (6000 * np.sin(np.arange(int(2.0 * RATE)) * 0.2)).astype(np.int16))
    path = tmp_path_factory.mktemp("tunnels") / "plain.pcap"
    write_rtp_call(path, g711_packets(caller, ssrc=1), g711_packets(noise(4.0, seed=3), ssrc=2), call_id=CALL)
    return path, caller


def tunnelled(plain: Path, out: Path, wrap: Callable[[bytes, int], bytes]) -> Path:
    """Every frame of `plain` with its IP packet carried in the tunnel `wrap` builds."""
    with PcapWriter(out) as w:
        for batch in read_batches(plain, lambda _m: None):
            for i in range(len(batch)):
                frame = batch.data(i)
                version = 4 if frame[12:14] == b"\x08\x00" else 6
                w.write(float(batch.ts[i]), wrap(frame[14:], version))
    return out


@pytest.mark.parametrize("kind", sorted(WRAPS))
def test_a_tunnelled_call_reads_as_the_same_call(cli, plain, tmp_path: Path, kind: str) -> None:
    pcap = tunnelled(plain[0], tmp_path / f"{kind}.pcap", WRAPS[kind])
    code, out, err = cli("calls", pcap, "--format", "json")
    assert code == 0, err
    calls = json.loads(out)
    (call,) = calls["calls"] if isinstance(calls, dict) else calls
    assert call["call_id"] == CALL and call["final_status"] == 200
    code, out, err = cli("rtp", pcap, "--format", "json")
    assert code in (0, 1), err
    listed = json.loads(out)
    streams = {(s["src"], s["dst"]) for s in (listed["streams"] if isinstance(listed, dict) else listed)}
    assert streams == {("10.2.0.1:40000", "10.2.0.2:50000"), ("10.2.0.2:50000", "10.2.0.1:40000")}
    code, _, err = cli("audio", pcap, "--call-id", CALL, "-o", tmp_path / "audio")
    assert code == 0, err
    from tests.audio.support import read_wav

    wav, _ = read_wav(next((tmp_path / "audio").glob("*-caller.wav")))
    start = int(MEDIA_START * RATE)
    assert correlation(wav[start: start + len(plain[1])], plain[1]) > 0.95


def test_nested_tunnels_stop_at_the_depth_limit() -> None:
    inner = ipv4_header("10.2.0.1", "10.2.0.2", 17, 8) + udp_segment(5060, 5060, b"")
    packet = inner
    for _ in range(MAX_DEPTH + 3):
        packet = ipv4_header(OUTER_A, OUTER_B, 4, len(packet)) + packet
    found = decode_frame(1, ether(packet))
    # MAX_DEPTH layers peeled, then the reader stops: what is left is still a tunnel packet
    assert found is not None and found.proto == 4 and found.src == OUTER_A
    assert len(found.payload) == len(packet) - 20 * (MAX_DEPTH + 1)
    assert decapsulate(found).proto == 17  # a second call peels the rest


@pytest.mark.parametrize("body", [b"", b"\x30", b"\x30\xff\x00\x04\x00\x00\x00\x01", b"\x36\xff\x00\x08" + bytes(8),
                                  b"\x36\xff\x00\x0c" + bytes(4) + b"\x00\x00\x00\x85\x00",
                                  b"\x36\xff\x00\x0c" + bytes(4) + b"\x00\x00\x00\x85\xff\x00\x00\x85"])
def test_hostile_gtp_headers_give_the_outer_datagram(body: bytes) -> None:
    seg = udp_segment(2152, 2152, body)
    found = decode_frame(1, ether(ipv4_header(OUTER_A, OUTER_B, 17, len(seg)) + seg))
    assert found is not None and found.src == OUTER_A and found.proto == 17


@pytest.mark.parametrize("body", [b"", b"\x00", b"\x80\x00\x08\x00", b"\x00\x07\x08\x00" + bytes(8),
                                  b"\x30\x01\x88\x0b" + bytes(8), b"\x00\x00\x88\x0b\xff\x03"])
def test_hostile_gre_headers_give_the_outer_packet(body: bytes) -> None:
    found = decode_frame(1, ether(ipv4_header(OUTER_A, OUTER_B, 47, len(body)) + body))
    assert found is None or found.src == OUTER_A
