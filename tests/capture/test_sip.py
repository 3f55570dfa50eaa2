"""SIP and SDP parsing: forms seen in the field, and limits against hostile input."""

from __future__ import annotations

import time

from tests.support.capture import request, response, sdp
from voxops.capture.sip import MAX_MESSAGE, frame_length, parse_sip, split_list


def test_request_line_headers_and_sdp():
    msg = parse_sip(request("INVITE", "abc@host", body=sdp("192.0.2.7", 4002),
                            extra="User-Agent: agent/1.0\r\n"))
    assert msg is not None and msg.is_request
    assert (msg.method, msg.request_uri, msg.status) == ("INVITE", "sip:bob@example.com", None)
    assert msg.call_id == "abc@host"
    assert msg.cseq == (1, "INVITE")
    assert msg.branch == "z9hG4bK1"
    assert (msg.from_uri, msg.from_tag, msg.to_uri, msg.to_tag) == (
        "sip:alice@example.com", "a1", "sip:bob@example.com", None)
    assert msg.user_agent == "agent/1.0"
    assert msg.content_type == "application/sdp"
    media = msg.sdp.media[0]
    assert (media.kind, media.port, media.proto) == ("audio", 4002, "RTP/AVP")
    assert media.payload_types == [0, 101]
    assert media.rtpmap == {0: ("PCMU", 8000, 1), 101: ("telephone-event", 8000, 1)}
    assert media.fmtp == {101: "0-15"}
    assert (media.ptime, media.direction, media.connection) == (20.0, "sendrecv", "192.0.2.7")


def test_response_with_reason_phrase():
    msg = parse_sip(response(183, "Session Progress", "x"))
    assert not msg.is_request and msg.status == 183 and msg.reason == "Session Progress"
    assert msg.summary == "183 Session Progress"
    assert msg.to_tag == "b1"


def test_compact_forms_folding_and_multi_value_headers():
    raw = (
        b"OPTIONS sip:x@y SIP/2.0\r\n"
        b"v: SIP/2.0/UDP a:5060;branch=z9hG4bKtop, SIP/2.0/UDP b:5060;branch=z9hG4bKlow\r\n"
        b"Via: SIP/2.0/TCP c:5060;branch=z9hG4bKthird\r\n"
        b"f: \"A, B\" <sip:a@x;tag=uriparam>;tag=ft\r\n"
        b"t: <sip:b@x>\r\n"
        b"i: folded-id\r\n"
        b"Subject: first part\r\n"
        b"  second part\r\n"
        b"m: <sip:a@1.2.3.4>, <sip:a@5.6.7.8>\r\n"
        b"k: timer, 100rel\r\n"
        b"CSeq: 7 OPTIONS\r\n"
        b"l: 0\r\n\r\n"
    )
    msg = parse_sip(raw)
    assert msg.call_id == "folded-id"
    assert msg.header("Subject") == "first part second part"
    assert msg.header("s") == msg.header("subject")
    assert len(msg.headers_all("Via")) == 3
    assert msg.branch == "z9hG4bKtop"
    assert msg.from_tag == "ft"  # not the ;tag inside <...>
    assert msg.headers_all("Contact") == ["<sip:a@1.2.3.4>", "<sip:a@5.6.7.8>"]
    assert msg.headers_all("Supported") == ["timer", "100rel"]
    assert [n for n, _ in msg.headers][:3] == ["Via", "Via", "From"]


def test_content_length_cuts_body_and_flags_truncation():
    raw = request("MESSAGE", "c1", body="hello")
    assert parse_sip(raw + b"trailing junk").body == b"hello"
    short = parse_sip(raw[:-2])
    assert short.body == b"hel" and short.truncated


def test_not_sip_returns_none():
    for junk in (b"", b"\x80\x00\x01", b"GET / HTTP/1.1\r\n\r\n", b"SIP/2.0 abc Bad\r\n\r\n",
                 b"INVITE sip:x SIP/3.0\r\n\r\n", b"\r\n\r\n", b"HELLO WORLD\r\n"):
        assert parse_sip(junk) is None


def test_split_list_respects_quotes_and_brackets():
    assert split_list('"Doe, J" <sip:a@b>, <sip:c@d;x=1,2>') == ['"Doe, J" <sip:a@b>', "<sip:c@d;x=1,2>"]


def test_hostile_messages_stay_cheap():
    many_headers = b"INVITE sip:a@b SIP/2.0\r\n" + b"X-A: 1\r\n" * 20000 + b"\r\n"
    long_line = b"INVITE sip:a@b SIP/2.0\r\nVia: " + b"," * 200000 + b"\r\n\r\n"
    started = time.perf_counter()
    msg = parse_sip(many_headers)
    assert msg is not None and len(msg.headers) <= 512
    assert parse_sip(b"X" * (MAX_MESSAGE + 1)) is None
    parse_sip(long_line)
    assert time.perf_counter() - started < 1.0


def test_sdp_media_level_overrides_and_crypto():
    body = sdp("10.0.0.1", 5000, "m=video 0 RTP/SAVP 96\r\nc=IN IP4 10.9.9.9\r\n"
                                 "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:xyz\r\na=inactive\r\n")
    parsed = parse_sip(request("INVITE", "v", body=body)).sdp
    audio, video = parsed.media
    assert audio.connection == "10.0.0.1" and not audio.crypto
    assert (video.connection, video.crypto, video.direction, video.port) == ("10.9.9.9", True, "inactive", 0)
    assert "audio 10.0.0.1:5000 PCMU/8000,telephone-event/8000 sendrecv" in parsed.summary()


def test_stream_framing_by_content_length():
    one = request("INVITE", "s", body="abc")
    assert frame_length(one + b"INVITE") == len(one)
    assert frame_length(one[:-1]) is None
    assert frame_length(b"INVITE sip:a SIP/2.0\r\nVia: x") is None
