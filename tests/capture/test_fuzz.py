"""Bounded fuzzing (hypothesis): hostile bytes give a result, None or CaptureError, never a crash.

benchmarks/fuzz_capture.py runs the same targets for a million inputs with atheris.
"""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.capture import DATA, request, sdp
from voxops.capture import layers, scan
from voxops.capture.scanner import _Scanner
from voxops.capture.sdp import parse_sdp
from voxops.capture.sip import parse_sip
from voxops.errors import CaptureError

FAST = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
SEED_SIP = request("INVITE", "f@x", body=sdp())
SEED_FILES = [p.read_bytes() for p in sorted(DATA.glob("*.pcap*"))]


def mutate(seed: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """Overwrite, insert or delete bytes at positions chosen by hypothesis."""
    out = bytearray(seed)
    for pos, value, op in edits:
        if not out:
            break
        i = pos % len(out)
        if op == 0:
            out[i] = value
        elif op == 1:
            out.insert(i, value)
        else:
            del out[i : i + value % 64]
    return bytes(out)


EDITS = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255), st.integers(0, 2)), max_size=20)


def exercise(data: bytes) -> None:
    msg = parse_sip(data)
    if msg is not None:
        assert msg.is_request == (msg.status is None)
        (msg.call_id, msg.cseq, msg.branch, msg.from_tag, msg.to_tag, msg.summary, msg.headers_all("Via"))
        if msg.sdp is not None:
            msg.sdp.summary()


@FAST
@given(st.binary(max_size=2048))
def test_sip_parser_on_random_bytes(data):
    exercise(data)
    exercise(b"INVITE sip:a@b SIP/2.0\r\n" + data)
    parse_sdp(data).summary()


@FAST
@given(EDITS)
def test_sip_parser_on_mutated_messages(edits):
    exercise(mutate(SEED_SIP, edits))


@FAST
@given(st.sampled_from(sorted(layers.SUPPORTED_LINKS)), st.binary(max_size=600))
def test_frame_decoder_on_random_frames(link, data):
    scanner = _Scanner(media=True)
    scanner.frame(1, 0.0, link, data)
    scanner.frame(2, 0.0, link, bytes(14) + b"\x45" + data)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(0, len(SEED_FILES) - 1), EDITS, st.binary(max_size=64))
def test_scan_on_mutated_captures(tmp_path_factory, which, edits, tail):
    path = tmp_path_factory.mktemp("fuzz") / "f.pcap"
    path.write_bytes(mutate(SEED_FILES[which], edits) + tail)
    try:
        result = scan(path)
    except CaptureError:
        return
    assert result.packets >= len(result.udp)
    for pkt in result.sip:
        assert pkt.msg.call_id is None or isinstance(pkt.msg.call_id, str)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=3000))
def test_scan_on_random_records_after_a_valid_header(tmp_path_factory, body):
    path = tmp_path_factory.mktemp("fuzz") / "r.pcap"
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1) + body)
    ng = tmp_path_factory.mktemp("fuzz") / "r.pcapng"
    shb = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)
    idb = struct.pack("<IIHHI", 1, 20, 1, 0, 65535) + struct.pack("<I", 20)
    ng.write_bytes(shb + idb + body)
    for capture in (path, ng):
        try:  # damage before the first packet leaves nothing to read: CaptureError
            result = scan(capture)
        except CaptureError as exc:
            assert "no packet could be read" in str(exc)
        else:
            assert result.packets or not result.warnings
