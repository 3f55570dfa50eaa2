"""File formats, link layers, IP versions, fragments: synthetic captures checked against tshark."""

from __future__ import annotations

import gzip
import struct

import pytest

from tests.conftest import need_tool
from tests.support.capture import request, response, tshark_summary, voxops_summary, write_pcapng
from voxops.capture import scan
from voxops.capture.writer import (
    PcapWriter,
    ether,
    fragmented_udp_frames,
    ipv4_header,
    ipv6_header,
    udp_frame,
    udp_segment,
)
from voxops.errors import CaptureError

RTP = bytes([0x80, 0x00, 0x00, 0x07]) + b"\x00\x00\x03\x20" + b"\x12\x34\x56\x78" + b"\xd5" * 160


def ip4_udp(src: str, sport: int, dst: str, dport: int, payload: bytes) -> bytes:
    seg = udp_segment(sport, dport, payload)
    return ipv4_header(src, dst, 17, len(seg)) + seg


LINKS = {
    "ethernet": (1, lambda ip: ether(ip)),
    "vlan": (1, lambda ip: ether(ip, vlan=42)),
    "qinq": (1, lambda ip: b"\x02" * 12 + b"\x88\xa8\x00\x10\x81\x00\x00\x2a\x08\x00" + ip),
    "pppoe": (1, lambda ip: b"\x02" * 12 + b"\x88\x64\x11\x00\x00\x01"
              + struct.pack("!H", len(ip) + 2) + b"\x00\x21" + ip),
    "sll": (113, lambda ip: struct.pack("!HHH8sH", 0, 1, 6, b"\x02" * 8, 0x0800) + ip),
    "sll2": (276, lambda ip: struct.pack("!HHIHBB8s", 0x0800, 0, 1, 1, 0, 6, b"\x02" * 8) + ip),
    "raw": (101, lambda ip: ip),
    "null": (0, lambda ip: struct.pack("<I", 2) + ip),
    "loop": (108, lambda ip: struct.pack(">I", 2) + ip),
}


def two_calls() -> list[bytes]:
    """IP packets: an INVITE/486/ACK on odd ports, a 200-answered INVITE and an RTP packet."""
    return [
        ip4_udp("10.1.0.1", 5099, "10.1.0.2", 7000, request("INVITE", "a@x")),
        ip4_udp("10.1.0.2", 7000, "10.1.0.1", 5099, response(486, "Busy Here", "a@x")),
        ip4_udp("10.1.0.1", 5099, "10.1.0.2", 7000, request("ACK", "a@x", to_tag="b1")),
        ip4_udp("10.1.0.1", 5060, "10.1.0.2", 5060, request("INVITE", "b@x", branch="z9hG4bK2")),
        ip4_udp("10.1.0.2", 5060, "10.1.0.1", 5060, response(200, "OK", "b@x", branch="z9hG4bK2")),
        ip4_udp("10.1.0.1", 4000, "10.1.0.2", 4002, RTP),
    ]


@pytest.mark.parametrize("name", sorted(LINKS))
def test_link_layers(tmp_path, name):
    linktype, wrap = LINKS[name]
    path = tmp_path / f"{name}.pcap"
    with PcapWriter(path, linktype) as w:
        for i, ip in enumerate(two_calls()):
            w.write(1700000000 + i * 0.01, wrap(ip))
    result = scan(path)
    assert [p.frame for p in result.sip] == [1, 2, 3, 4, 5]
    assert result.sip[0].sport == 5099 and result.sip[0].src == "10.1.0.1"
    assert result.udp.frame.tolist() == [6]
    assert result.udp.head[0].tobytes() == RTP[:12]
    assert result.udp.addresses[result.udp.src[0]] == "10.1.0.1"
    assert (int(result.udp.sport[0]), int(result.udp.dport[0]), int(result.udp.length[0])) == (4000, 4002, len(RTP))
    need_tool("tshark")
    assert voxops_summary(path) == tshark_summary(path, ["-d", "udp.port==7000,sip"])


def _pcap_bytes(big: bool, nano: bool, frames: list[tuple[int, int, bytes]]) -> bytes:
    e = ">" if big else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, 65535, 1)]
    for sec, frac, data in frames:
        out.append(struct.pack(e + "IIII", sec, frac, len(data), len(data)) + data)
    return b"".join(out)


@pytest.mark.parametrize(("big", "nano"), [(False, False), (True, False), (False, True), (True, True)])
def test_pcap_byte_orders_and_resolutions(tmp_path, big, nano):
    frame = ether(ip4_udp("10.0.0.1", 5060, "10.0.0.2", 5060, request("OPTIONS", "o@x")))
    frac = 123456789 if nano else 123456
    path = tmp_path / "t.pcap"
    path.write_bytes(_pcap_bytes(big, nano, [(1700000000, frac, frame)] * 2))
    result = scan(path)
    assert result.packets == 2 and len(result.sip) == 2
    assert result.sip[0].ts == pytest.approx(1700000000.123456789 if nano else 1700000000.123456, abs=1e-6)


def test_gzip_and_pcapng_with_two_interfaces(tmp_path):
    ips = two_calls()
    packets = [(i % 2, 1700000000.5 + i, ether(ip) if i % 2 == 0 else ip) for i, ip in enumerate(ips)]
    plain = tmp_path / "two.pcapng"
    write_pcapng(plain, packets, [1, 101], tsresol=9)
    gz = tmp_path / "two.pcapng.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    for path in (plain, gz):
        result = scan(path)
        assert [p.frame for p in result.sip] == [1, 2, 3, 4, 5]
        assert result.sip[1].ts == pytest.approx(1700000001.5)
        assert result.link_types == [1, 101]
    big = tmp_path / "big.pcapng"
    write_pcapng(big, packets, [1, 101], big=True)
    assert len(scan(big).sip) == 5
    need_tool("tshark")
    assert voxops_summary(plain) == tshark_summary(plain, ["-d", "udp.port==7000,sip"])


def test_ipv6_extension_headers_and_fragments(tmp_path):
    msg = request("INVITE", "v6@x", body="v=0\r\n" + "a=x-pad:" + "y" * 3000 + "\r\n")
    seg = udp_segment(5060, 5060, msg)
    hop = bytes([60, 0]) + b"\x01\x04\x00\x00\x00\x00"  # hop-by-hop -> destination options
    dest = bytes([44, 0]) + b"\x01\x04\x00\x00\x00\x00"  # destination options -> fragment
    cut = 1448
    frames = []
    for off, more in ((0, True), (cut, False)):
        part = seg[off : off + cut] if more else seg[off:]
        frag = struct.pack("!BBHI", 17, 0, off | int(more), 0xBEEF)
        payload = hop + dest + frag + part
        frames.append(ether(ipv6_header("2001:db8::1", "2001:db8::2", 0, len(payload)) + payload, 6))
    path = tmp_path / "v6.pcap"
    with PcapWriter(path) as w:
        w.write(1700000000.0, frames[1])  # out of order on purpose
        w.write(1700000000.1, frames[0])
        w.write(1700000000.2, udp_frame("2001:db8::2", 5060, "2001:db8::1", 5060, response(200, "OK", "v6@x")))
    result = scan(path)
    assert [(p.frame, p.src, p.frames) for p in result.sip] == [(2, "2001:db8::1", (1, 2)), (3, "2001:db8::2", ())]
    assert result.sip[0].msg.body.endswith(b"y\r\n")
    need_tool("tshark")
    assert voxops_summary(path) == tshark_summary(path)


def test_ipv4_fragments_reassembled_in_any_order(tmp_path):
    msg = request("INVITE", "frag@x", body="v=0\r\n" + "a=x:" + "z" * 4000 + "\r\n")
    frames = fragmented_udp_frames("10.0.0.1", 5060, "10.0.0.2", 5060, msg, ident=7)
    assert len(frames) == 3
    path = tmp_path / "frag.pcap"
    with PcapWriter(path) as w:
        for i, f in enumerate([frames[2], frames[0], frames[1]]):
            w.write(1700000000 + i / 10, f)
    result = scan(path)
    assert len(result.sip) == 1 and result.sip[0].frame == 3
    assert result.sip[0].raw == msg
    assert len(result.udp) == 0


def test_truncated_and_corrupt_records_warn_and_keep_what_was_read(tmp_path):
    frame = ether(ip4_udp("10.0.0.1", 5060, "10.0.0.2", 5060, request("OPTIONS", "t@x")))
    whole = _pcap_bytes(False, False, [(1700000000, 0, frame)] * 3)
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(whole[:-10])
    seen: list[str] = []
    result = scan(cut, warn=seen.append)
    assert len(result.sip) == 2 and result.packets == 2
    assert seen == result.warnings and "record 3" in seen[0] and "truncated" in seen[0]
    corrupt = bytearray(whole)
    corrupt[24 + 16 + len(frame) + 8 : 24 + 16 + len(frame) + 12] = struct.pack("<I", 0x7FFFFFFF)
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(bytes(corrupt))
    result = scan(bad)
    assert len(result.sip) == 1 and "record 2" in result.warnings[0]
    gz = tmp_path / "cut.pcap.gz"
    many = _pcap_bytes(False, False, [
        (1700000000, i, ether(ip4_udp("10.0.0.1", 5060, "10.0.0.2", 5060, request("OPTIONS", f"{i}@x"))))
        for i in range(40)
    ])
    gz.write_bytes(gzip.compress(many)[:-30])
    result = scan(gz)
    assert 30 < len(result.sip) < 40 and any("ends early" in w for w in result.warnings)


@pytest.mark.parametrize("content", [b"", b"hello world, not a capture", b"\xd4\xc3\xb2\xa1\x02"])
def test_not_a_capture_is_a_capture_error(tmp_path, content):
    path = tmp_path / "x.pcap"
    path.write_bytes(content)
    with pytest.raises(CaptureError):
        scan(path)


def test_chunk_boundaries_do_not_lose_records(tmp_path, monkeypatch):
    from voxops.capture import files

    monkeypatch.setattr(files, "CHUNK", 1000)  # records straddle every buffer refill
    monkeypatch.setattr(files, "MAX_BATCH", 3)
    path = tmp_path / "many.pcap"
    with PcapWriter(path) as w:
        for i in range(50):
            ip = two_calls()[i % 6]
            w.write(1700000000 + i, ether(ip))
    result = scan(path)
    assert result.packets == 50
    assert len(result.sip) + len(result.udp) == 50
    assert result.udp.frame.tolist() == list(range(6, 51, 6))


def test_ipv6_rtp_rows_come_from_the_fast_path_with_addresses(tmp_path):
    path = tmp_path / "v6rtp.pcap"
    with PcapWriter(path) as w:
        for i in range(5):
            w.write(1700000000 + i / 50, udp_frame("2001:db8::10", 4000, "2001:db8::20", 4002, RTP))
            w.write(1700000000 + i / 50, udp_frame("10.0.0.1", 4000, "10.0.0.2", 4002, RTP))
        w.write(1700000001, udp_frame("2001:db8::20", 4002, "2001:db8::10", 4000, RTP[:5]))
    udp = scan(path).udp
    pairs = [(udp.addresses[s], udp.addresses[d]) for s, d in zip(udp.src, udp.dst, strict=True)]
    assert pairs == [("2001:db8::10", "2001:db8::20"), ("10.0.0.1", "10.0.0.2")] * 5 + [("2001:db8::20", "2001:db8::10")]
    assert udp.frame.tolist() == list(range(1, 12))
    assert udp.length.tolist() == [len(RTP)] * 10 + [5]
    assert udp.head[-1].tobytes() == RTP[:5] + bytes(7)
