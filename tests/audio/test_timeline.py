"""A direction assembled as a jitter buffer plays it: order, loss, duplicates, SSRC changes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from voxops.audio.codecs import encode_g711
from voxops.audio.timeline import assemble as assemble_columns
from voxops.capture.payloads import RtpPackets, parse_rtp
from voxops.capture.writer import rtp_bytes

T0 = 1_700_000_000.0


@dataclass
class RtpPacket:
    arrival: float
    ssrc: int
    seq: int
    ts: int
    pt: int
    marker: bool
    payload: bytes


def columns(packets: list[RtpPacket]) -> RtpPackets:
    """The packets as the capture reader returns them: columns over one payload buffer."""
    lengths = np.array([len(p.payload) for p in packets], np.int64)
    end = np.cumsum(lengths)
    return RtpPackets(frame=np.arange(1, len(packets) + 1), arrival=np.array([p.arrival for p in packets]),
                      ssrc=np.array([p.ssrc for p in packets], np.int64), seq=np.array([p.seq for p in packets], np.int64),
                      ts=np.array([p.ts for p in packets], np.int64), pt=np.array([p.pt for p in packets], np.int64),
                      marker=np.array([p.marker for p in packets], bool), start=end - lengths, end=end,
                      data=np.frombuffer(b"".join(p.payload for p in packets), np.uint8))


def assemble(packets: list[RtpPacket], rtpmap: dict, t0: float, end: float):  # noqa: ANN201
    return assemble_columns(columns(packets), rtpmap, t0, end)
PCMU = {0: ("PCMU", 8000, 1), 101: ("telephone-event", 8000, 1)}


def _signal(seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * 8000)) / 8000
    return (6000 * np.sin(2 * np.pi * 300 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.int16)


def _packets(pcm: np.ndarray, *, start: float = 0.5, ssrc: int = 7, seq0: int = 65530,
             ts0: int = 2**32 - 800) -> list[RtpPacket]:
    """20 ms PCMU packets; sequence numbers and timestamps wrap inside the stream."""
    payload = encode_g711(pcm)
    return [RtpPacket(T0 + start + 0.02 * i, ssrc, (seq0 + i) & 0xFFFF, (ts0 + 160 * i) & 0xFFFFFFFF, 0, False,
                      payload[160 * i: 160 * (i + 1)]) for i in range(len(pcm) // 160)]


def _corr(sent: np.ndarray, out: np.ndarray, at: float, slack: int = 0) -> float:
    """Correlation with the audio placed at `at` s, within `slack` samples (a packet's delay)."""
    start = int(at * 8000)
    return max(float(np.corrcoef(sent.astype(float), out[start + lag: start + lag + len(sent)].astype(float))[0, 1])
               for lag in range(-slack, slack + 1))


def test_in_order_stream_lands_at_its_arrival_time() -> None:
    sent = _signal()
    out = assemble(_packets(sent), PCMU, T0, T0 + 3)
    assert _corr(sent, out.pcm, 0.5) > 0.99
    assert np.all(out.pcm[: int(0.49 * 8000)] == 0)
    assert [(s.lost, s.duplicates, s.reordered) for s in out.segments] == [(0, 0, 0)]


def test_reordered_and_duplicated_packets_play_in_sequence() -> None:
    sent = _signal()
    packets = _packets(sent)
    rng = np.random.default_rng(3)
    jittered = []
    for p in packets:  # up to 60 ms of jitter reorders neighbours; every tenth arrives twice
        jittered.append(RtpPacket(p.arrival + rng.uniform(0, 0.06), p.ssrc, p.seq, p.ts, p.pt, p.marker, p.payload))
    jittered += [jittered[i] for i in range(0, len(jittered), 10)]
    jittered.sort(key=lambda p: p.arrival)
    out = assemble(jittered, PCMU, T0, T0 + 3)
    seg = out.segments[0]
    assert seg.duplicates == len(packets) // 10 and seg.reordered > 0 and seg.lost == 0
    assert _corr(sent, out.pcm, 0.5, slack=8) > 0.99  # anchored by the least-delayed packet


def test_lost_packets_become_counted_silence() -> None:
    sent = _signal()
    packets = _packets(sent)
    rng = np.random.default_rng(5)
    lost = set(rng.choice(np.arange(1, len(packets) - 1), size=len(packets) // 5, replace=False).tolist())
    out = assemble([p for i, p in enumerate(packets) if i not in lost], PCMU, T0, T0 + 3)
    assert out.segments[0].lost == len(lost) and out.segments[0].lost_ms == 20.0 * len(lost)
    for i in list(lost)[:10]:
        start = int((0.5 + 0.02 * i) * 8000)
        assert np.all(out.pcm[start: start + 160] == 0)
    kept = [i for i in range(len(packets)) if i not in lost]
    i = kept[len(kept) // 2]
    start = int((0.5 + 0.02 * i) * 8000)
    assert np.corrcoef(sent[160 * i: 160 * i + 160].astype(float), out.pcm[start: start + 160].astype(float))[0, 1] > 0.99


def test_ssrc_change_mid_turn_keeps_the_audio_in_place() -> None:
    """A relay switching streams mid-sentence: new SSRC, new sequence and timestamp bases."""
    sent = _signal()
    first, second = _packets(sent[:8000]), _packets(sent[8000:], start=1.5, ssrc=99, seq0=12, ts0=777)
    out = assemble(first + second, PCMU, T0, T0 + 3)
    assert [s.ssrc for s in out.segments] == [7, 99]
    assert all(s.lost == 0 for s in out.segments)
    assert _corr(sent, out.pcm, 0.5) > 0.99


def test_timestamp_jump_without_ssrc_change_starts_a_segment() -> None:
    sent = _signal()
    packets = _packets(sent)
    half = len(packets) // 2
    for p in packets[half:]:  # a sender that reset its timestamp clock
        p.ts = (p.ts + 8000 * 3600) & 0xFFFFFFFF
    out = assemble(packets, PCMU, T0, T0 + 3)
    assert len(out.segments) == 2
    assert _corr(sent, out.pcm, 0.5) > 0.99
    assert len(out.pcm) == 3 * 8000


def test_telephone_events_are_kept_apart() -> None:
    sent = _signal(1.0)
    packets = _packets(sent)
    for k in range(5):  # digit 5 held 50 ms, 100 ms, ... with the end bit on the last
        packets.append(RtpPacket(T0 + 0.8 + 0.01 * k, 7, 500 + k, 123456, 101, k == 0,
                                 bytes([5, 0x80 if k == 4 else 0]) + (400 * (k + 1)).to_bytes(2, "big")))
    packets.sort(key=lambda p: p.arrival)
    out = assemble(packets, PCMU, T0, T0 + 2)
    assert [(e.digit, e.duration_ms) for e in out.dtmf] == [("5", 250.0)]
    assert _corr(sent, out.pcm, 0.5) > 0.99


def test_unknown_payload_type_is_named_not_guessed() -> None:
    packets = _packets(_signal(0.5))
    for p in packets:
        p.pt = 96
    out = assemble(packets, PCMU, T0, T0 + 1)
    assert "PT 96" in out.undecodable
    assert not np.any(out.pcm) and not any(s.codecs for s in out.segments)


def test_one_bogus_timestamp_is_placed_by_its_arrival() -> None:
    sent = _signal(0.4)
    packets = _packets(sent)
    packets[3].ts = (packets[3].ts + 2**31 - 1) & 0xFFFFFFFF
    out = assemble(packets, PCMU, T0, T0 + 1)
    assert len(out.pcm) == 8000 and len(out.segments) == 3
    assert _corr(sent, out.pcm, 0.5) > 0.99


def _parse(*datagrams: bytes) -> RtpPackets:
    lengths = np.array([len(d) for d in datagrams], np.int64)
    end = np.cumsum(lengths)
    return parse_rtp(np.arange(len(datagrams)), np.zeros(len(datagrams)),
                     np.frombuffer(b"".join(datagrams), np.uint8), end - lengths, end)


def test_rtp_header_parts_are_stripped() -> None:
    payload = b"\x01\x02\x03"
    base = rtp_bytes(1, 2, 3, 0, payload)
    with_csrc_ext_pad = bytes([0x80 | 0x20 | 0x10 | 2]) + base[1:12] + b"\0" * 8 \
        + b"\xbe\xde\x00\x01" + b"\0" * 4 + payload + b"\0\0\x03"
    parsed = _parse(b"\x80\x00", with_csrc_ext_pad, base[:12] + b"\0" * 5 + b"\xff")
    assert len(parsed) == 2 and parsed.payload(0) == payload and int(parsed.ssrc[0]) == 3


def test_hostile_rtp_headers_are_left_out_not_read_past() -> None:
    """CSRC counts, extension lengths and padding that point beyond the datagram."""
    base = rtp_bytes(1, 2, 3, 0, b"")
    hostile = [
        bytes([0x80 | 0x10]) + base[1:12] + b"\xbe\xde\xff\xff",  # extension of 256 KiB
        bytes([0x80 | 0x10]) + base[1:12] + b"\xbe",  # extension header cut
        bytes([0x8F]) + base[1:12] + b"\0" * 8,  # 15 CSRCs announced, 2 present
        bytes([0x80 | 0x20]) + base[1:12] + b"\x01\xff",  # padding longer than the packet
        b"\x80\x00\x00",
    ]
    good = rtp_bytes(9, 9, 9, 0, b"ok")
    parsed = _parse(*hostile, good)
    assert [parsed.payload(i) for i in range(len(parsed))] == [b"ok"]


def test_g711_batch_decode_places_every_packet_as_one_at_a_time_would() -> None:
    """Mixed payload lengths, gaps, overlaps, steps back and packets across both ends of
    the call: the vectorised G.711 path writes what placing each packet in order writes."""
    from voxops.audio.codecs import decoder_for
    from voxops.audio.timeline import _table_decode

    rng = np.random.default_rng(5)
    count = 400
    lengths = rng.choice([80, 160, 160, 160, 240, 0, 5000], size=count)
    at = np.cumsum(np.where(rng.random(count) < 0.8, 160, rng.integers(-400, 900, count))) - 600
    payloads = [rng.integers(0, 256, int(n), dtype=np.uint8).tobytes() for n in lengths]
    packets = columns([RtpPacket(T0, 1, i, 0, 0, False, p) for i, p in enumerate(payloads)])
    codec = decoder_for("PCMU", 8000, 1)
    size = int(at.max()) - 300
    batch, reference = np.zeros(size, np.int16), np.zeros(size, np.int16)
    refused = _table_decode(packets, np.arange(count), at, codec, batch)
    for k, payload in enumerate(payloads):
        if len(payload) > codec.max_samples():
            continue
        samples = codec.decode(payload)
        lo, hi = max(int(at[k]), 0), min(int(at[k]) + len(samples), size)
        if hi > lo:
            reference[lo:hi] = samples[lo - int(at[k]): hi - int(at[k])]
    assert refused == int(sum(len(p) > codec.max_samples() for p in payloads)) > 0
    assert np.array_equal(batch, reference)


def test_clipping_counts_full_scale_samples_of_voiced_frames_both_ways() -> None:
    """A voiced stretch with a tenth of its samples at +32767 or -32768 (the int16 minimum
    has no positive twin), and a loud click in silence that is not speech."""
    from voxops.audio.voice import detect_voice

    t = np.arange(8000 * 3) / 8000
    pcm = np.zeros(len(t), np.int16)
    talk = (t >= 1.0) & (t < 2.0)
    pcm[talk] = (8000 * np.sin(2 * np.pi * 300 * t[talk])).astype(np.int16)
    idx = np.flatnonzero(talk)[::10]
    pcm[idx[::2]], pcm[idx[1::2]] = 32767, -32768
    voice = detect_voice(pcm, 8000)
    assert [(s.start, s.end) for s in voice.spurts] == [(1.0, 2.0)]
    assert voice.clipped_percent == pytest.approx(10.0, abs=0.2)
