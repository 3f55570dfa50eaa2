"""Damaged pcapng interface options and timestamps: one line and exit 2, or a warning
after the packets that came before; never exit 4."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import pytest

from tests.support.capture import request

LINKTYPE_RAW = 101
GOOD_TICKS = 1_700_000_000_000_000  # microseconds: November 2023


def block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def sip_frame(call_id: str) -> bytes:
    payload = request("INVITE", call_id)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + len(payload), 0, 0, 64, 17, 0,
                     socket.inet_aton("10.0.0.1"), socket.inet_aton("10.0.0.2"))
    return ip + struct.pack("!HHHH", 5060, 5060, 8 + len(payload), 0) + payload


def packet(call_id: str, ticks: int = GOOD_TICKS) -> bytes:
    data = sip_frame(call_id)
    return block(6, struct.pack("<IIIII", 0, (ticks >> 32) & 0xFFFFFFFF, ticks & 0xFFFFFFFF,
                                len(data), len(data)) + data)


def capture(path: Path, options: bytes, *packets: bytes) -> Path:
    """A section header, one raw-IP interface with `options`, then the packets."""
    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    path.write_bytes(shb + block(1, struct.pack("<HHI", LINKTYPE_RAW, 0, 262144) + options) + b"".join(packets))
    return path


END = struct.pack("<HH", 0, 0)
TSOFFSET = 14
HOSTILE = {
    # if_tsoffset announces 8 bytes where the block ends
    "option-cut-short": (struct.pack("<HH", TSOFFSET, 8), [packet("c1@x")]),
    "offset-past-2106": (struct.pack("<HHq", TSOFFSET, 8, 1 << 62) + END, [packet("c1@x")]),
    "offset-before-1970": (struct.pack("<HHq", TSOFFSET, 8, -(1 << 62)) + END, [packet("c1@x")]),
    "ticks-past-2106": (b"", [packet("c1@x", ticks=(1 << 63) - 1)]),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("command", [["calls"], ["ladder", "--call-id", "c1@x"], ["diagnose", "c1@x", "--pcap"]])
def test_damage_before_any_packet_is_one_line_exit_2(cli, tmp_path, kind, command):
    options, packets = HOSTILE[kind]
    pcap = capture(tmp_path / f"{kind}.pcapng", options, *packets)
    code, _, err = cli(*command, pcap)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert str(pcap) in err and ("timestamp" in err or "option" in err)


def test_bad_timestamp_after_good_packets_keeps_them(cli, tmp_path):
    pcap = capture(tmp_path / "late.pcapng", b"", packet("c1@x"), packet("c2@x", ticks=(1 << 63) - 1))
    code, out, err = cli("calls", pcap, "--format", "json")
    assert code == 0, err
    assert "c1@x" in out and "c2@x" not in out
    assert "record 2: timestamp" in err and "out of range" in err
