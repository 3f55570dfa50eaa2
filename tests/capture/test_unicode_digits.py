"""Digits other than ASCII 0-9 ("²34" is isdigit() but not int()) are not numbers on the
wire: a Content-Length, CSeq, status code or SDP port of them is refused, never a crash.
(Found by benchmarks/fuzz_fast.py capture in a TCP stream's Content-Length.)"""

from __future__ import annotations

from tests.capture.support import request
from voxops.capture import scan, sip
from voxops.capture.sdp import parse_sdp
from voxops.capture.writer import PcapWriter, tcp_frame

SUPERSCRIPT = "\u00b234"  # latin-1 0xB2: what a raw byte decodes to


def test_content_length_of_superscript_digits_is_not_a_length():
    head = b"INVITE sip:a@b SIP/2.0\r\nContent-Length: \xb234\r\n"
    assert sip.head_content_length(head, len(head)) == 0  # not a count
    msg = sip.parse_sip(head + b"Call-ID: x\r\nCSeq: \xb2 INVITE\r\n\r\n")
    assert msg is None or msg.cseq is None


def test_sdp_numbers_of_superscript_digits_are_ignored():
    sdp = parse_sdp(f"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio {SUPERSCRIPT} RTP/AVP {SUPERSCRIPT} 0\r\n"
                    f"a=rtpmap:{SUPERSCRIPT} PCMU/{SUPERSCRIPT}\r\n".encode("latin-1"))
    assert all(m.port != 234 for m in sdp.media)


def test_a_tcp_stream_with_such_a_content_length_scans(tmp_path):
    path = tmp_path / "tcp.pcap"
    data = request("INVITE", "u@x").replace(b"Content-Length: 0", b"Content-Length: \xb234")
    with PcapWriter(path) as w:
        w.write(1.0, tcp_frame("10.0.0.1", 5060, "10.0.0.2", 5060, 1000, data))
    scan(path)
