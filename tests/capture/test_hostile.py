"""Hostile captures: every one ends quickly, in bounded memory, with a one-line message.

Each capture is generated here; the CLI runs in a subprocess where the peak RSS matters
(the CLI process's own peak, from a small launcher).
"""

from __future__ import annotations

import gzip
import os
import socket
import struct
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.support.capture import request
from tests.support.cli import run_cli
from voxops.capture import files, scan
from voxops.capture.reassembly import MAX_HELD
from voxops.capture.writer import PcapWriter, tcp_frame
from voxops.errors import CaptureError

A, B = ("10.9.0.1", 40000), ("10.9.0.2", 5060)
T0 = 1_700_000_000


def pcap_header(snaplen: int = 262144) -> bytes:
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1)


def record(ts: float, data: bytes, caplen: int | None = None) -> bytes:
    sec = int(ts)
    head = struct.pack("<IIII", sec, int((ts - sec) * 1e6), caplen or len(data), caplen or len(data))
    return head + data


def write_gz(path: Path, chunks: Iterable[bytes], level: int = 6) -> Path:
    with gzip.open(path, "wb", compresslevel=level) as fh:
        for chunk in chunks:
            fh.write(chunk)
    return path


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def huge_record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 KB of gzip: snaplen 0xFFFFFFFF and one record whose caplen is 70 MiB."""
    path = tmp_path_factory.mktemp("hostile") / "huge-record.pcap.gz"
    zeros = bytes(1 << 20)
    write_gz(path, [pcap_header(0xFFFFFFFF), struct.pack("<IIII", T0, 0, 70 << 20, 70 << 20),
                    *([zeros] * 12)], level=9)
    assert path.stat().st_size < 16 * 1024
    return path


@pytest.mark.timeout(60)
@pytest.mark.parametrize("command", [
    ("calls", "{p}"), ("rtp", "{p}"), ("ladder", "{p}"), ("diagnose", "x@y", "--pcap", "{p}", "--no-index"),
    ("export", "{p}", "--call-id", "x", "-o", "{out}"), ("stats", "{p}"),
])
def test_a_record_longer_than_any_link_is_an_error_not_a_loop(huge_record, tmp_path, command):
    args = [a.format(p=huge_record, out=tmp_path / "out.pcap") for a in command]
    started = time.monotonic()
    code, out, err, rss = run_cli(*args, timeout=50)
    assert code == 2 and out == ""
    line = one_line(err)
    assert "record 1" in line and str(70 << 20) in line
    assert time.monotonic() - started < 20
    assert rss < 400


@pytest.mark.timeout(60)
def test_gzip_that_expands_like_a_bomb_is_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "MAX_GZIP_FREE", 4 << 20)
    frame = tcp_frame(*A, *B, 1, b"x")
    path = write_gz(tmp_path / "bomb.pcap.gz", [pcap_header(), record(T0, frame), bytes(64 << 20)])
    started = time.monotonic()
    with pytest.raises(CaptureError, match=f"gzip expands over {files.MAX_GZIP_RATIO}x"):
        scan(path, media=False)
    assert time.monotonic() - started < 10


@pytest.mark.timeout(60)
def test_gzip_bomb_is_one_line_and_exit_2(tmp_path):
    # a pcap header, then zeros: 300 MiB from 300 kB (each 16 zero bytes an empty record)
    path = write_gz(tmp_path / "bomb.pcap.gz", [pcap_header(), *([bytes(1 << 20)] * 300)], level=9)
    assert path.stat().st_size < 400 * 1024
    code, out, err, _ = run_cli("calls", path, timeout=50)
    assert code == 2 and out == ""
    assert "gzip expands over" in one_line(err)


def _special_paths(tmp_path: Path) -> dict[str, Path]:
    fifo = tmp_path / "fifo.pcap"
    os.mkfifo(fifo)
    directory = tmp_path / "dir.pcap"
    directory.mkdir()
    return {"a character device": Path("/dev/zero"), "a named pipe (FIFO)": fifo,
            "a directory": directory}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("command", [("calls",), ("rtp",), ("stats",), ("ladder",)])
def test_non_regular_paths_say_what_they_are(cli, tmp_path, command):
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock_path = tmp_path / "s.pcap"
    unix.bind(str(sock_path))
    try:
        paths = {**_special_paths(tmp_path), "a socket": sock_path}
        for what, path in paths.items():
            code, out, err = cli(*command, path)
            assert code == 2 and out == ""
            assert one_line(err).endswith(f"{path}: is {what}, not a capture file") or \
                f"{path}: is {what}, not a capture file" in one_line(err)
    finally:
        unix.close()


@pytest.mark.timeout(60)
def test_diagnose_and_export_refuse_a_fifo_without_blocking(cli, tmp_path):
    fifo = _special_paths(tmp_path)["a named pipe (FIFO)"]
    for args in (("diagnose", "x", "--pcap", fifo), ("export", fifo, "--call-id", "x", "-o", tmp_path / "o.pcap")):
        code, _, err = cli(*args)
        assert code == 2 and "is a named pipe (FIFO), not a capture file" in one_line(err)


def _ooo_flood(path: Path, streams: int, per_stream: int, size: int) -> int:
    """Each stream: a SYN, then segments that all lie beyond a hole that is never filled."""
    def chunks() -> Iterable[bytes]:
        yield pcap_header()
        n = 0
        for s in range(streams):
            src = (A[0], 20000 + s)
            yield record(T0 + n / 1000, tcp_frame(*src, *B, 999, b"", flags=0x02))
            for k in range(per_stream):
                n += 1
                payload = os.urandom(500) + bytes(size - 500)
                yield record(T0 + n / 1000, tcp_frame(*src, *B, 1000 + 100 + k * size, payload))
    write_gz(path, chunks(), level=1)
    return streams * per_stream * size


@pytest.mark.timeout(120)
def test_out_of_order_flood_stays_within_the_reassembly_limits(tmp_path):
    path = tmp_path / "ooo.pcap.gz"
    flooded = _ooo_flood(path, streams=75, per_stream=64, size=65000)
    assert flooded > 4 * MAX_HELD
    started = time.monotonic()
    code, out, err, rss = run_cli("calls", path, "--all", timeout=100)
    assert code == 0, err
    assert time.monotonic() - started < 60
    assert rss < 250, f"peak RSS {rss:.0f} MiB"
    assert "bytes of TCP data" in err and "were dropped" in err


@pytest.mark.timeout(60)
def test_reassembly_is_linear_in_the_bytes(tmp_path):
    """A SIP stream that then carries 1 MB of non-SIP bytes in 40-byte segments."""
    path = tmp_path / "drip.pcap"
    junk = (b"abcdefghij" * 4)
    with PcapWriter(path) as w:
        w.write(T0, tcp_frame(*A, *B, 999, b"", flags=0x02))
        first = request("OPTIONS", "drip@x")
        w.write(T0, tcp_frame(*A, *B, 1000, first))
        seq = 1000 + len(first)
        for i in range(25_000):
            w.write(T0 + i / 1e4, tcp_frame(*A, *B, seq, junk))
            seq += len(junk)
        last = request("OPTIONS", "drip2@x")
        w.write(T0 + 3, tcp_frame(*A, *B, seq, b"\r\n" + last))
    started = time.monotonic()
    result = scan(path, media=False)
    elapsed = time.monotonic() - started
    assert [p.msg.call_id for p in result.sip] == ["drip@x", "drip2@x"]
    assert elapsed < 15, f"{elapsed:.1f} s"  # quadratic rescanning took minutes


@pytest.mark.timeout(60)
def test_an_unending_head_in_small_segments_is_linear(tmp_path):
    """A start line, then header bytes that never reach a blank line, 60 bytes at a time."""
    path = tmp_path / "head.pcap"
    with PcapWriter(path) as w:
        w.write(T0, tcp_frame(*A, *B, 999, b"", flags=0x02))
        seq = 1000
        for i, chunk in enumerate([b"INVITE sip:a@b SIP/2.0\r\n"] + [b"X-A: " + b"b" * 53 + b"\r\n"] * 15_000):
            w.write(T0 + i / 1e4, tcp_frame(*A, *B, seq, chunk))
            seq += len(chunk)
    started = time.monotonic()
    scan(path, media=False)
    assert time.monotonic() - started < 15


@pytest.mark.timeout(60)
def test_overlapping_fragment_flood_is_bounded(tmp_path):
    """Fragments that overlap every 8 bytes and never complete: 100 datagrams x 4,000 x 1,400 B."""
    from voxops.capture.reassembly import MAX_PENDING_BYTES, Defragmenter

    defrag = Defragmenter()
    part = bytes(1400)
    most = 0
    for datagram in range(100):  # held whole, 560 MB
        for k in range(4000):
            defrag.add((4, "10.0.0.1", "10.0.0.2", 17, datagram), (k * 8) % 60000, True, part, k)
        most = max(most, sum(sum(map(len, e.parts.values())) for e in defrag.pending.values()))
    assert most <= MAX_PENDING_BYTES
    assert defrag.dropped >= 100
