"""Payload decoders: one RTP payload in, 16-bit PCM out.

G.711 and L16 are numpy table look-ups; G.722, Opus and G.729 call Debian's libraries
through ctypes (`voxops.audio.native`). A codec voxops cannot decode is named, never
guessed: `decoder_for` raises `Undecodable` with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

MAX_PACKET_MS = 200  # a payload longer than this is malformed, not decoded (bounds every buffer)


class Undecodable(Exception):
    """A stream's codec cannot be decoded here; `missing` names the library when that is why."""

    def __init__(self, message: str, *, missing: str | None = None) -> None:
        super().__init__(message)
        self.missing = missing


def _ulaw_table() -> np.ndarray:
    # ITU-T G.711 mu-law expansion (the Sun g711.c reference): bias 0x84, bits inverted
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (u >> 4) & 0x07
    sample = (((u & 0x0F) << 3) + 0x84) << exponent
    sample -= 0x84
    return np.where(u & 0x80, -sample, sample).astype(np.int16)


def _alaw_table() -> np.ndarray:
    # ITU-T G.711 A-law expansion: even bits inverted (XOR 0x55), segment shift
    a = np.arange(256, dtype=np.int32) ^ 0x55
    segment = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(segment == 0, t + 8, t + 0x108)
    t = np.where(segment > 1, t << np.maximum(segment - 1, 0), t)
    return np.where(a & 0x80, t, -t).astype(np.int16)


ULAW = _ulaw_table()
ALAW = _alaw_table()


@dataclass(frozen=True)
class Codec:
    """How one payload type decodes: `rate` samples per second out, RTP `clock` in."""

    name: str
    rate: int
    clock: int
    decode: Callable[[bytes], np.ndarray]  # payload -> int16 samples (raises ValueError when malformed)
    table: np.ndarray | None = None  # byte -> sample: stateless codecs decode a whole stream at once

    def samples_per_tick(self) -> float:
        return self.rate / self.clock

    def max_samples(self) -> int:
        return self.rate * MAX_PACKET_MS // 1000


def _table(table: np.ndarray, rate: int) -> Callable[[bytes], np.ndarray]:
    limit = rate * MAX_PACKET_MS // 1000

    def decode(payload: bytes) -> np.ndarray:
        if len(payload) > limit:
            raise ValueError(f"{len(payload)} bytes is longer than {MAX_PACKET_MS} ms")
        return table[np.frombuffer(payload, np.uint8)]

    return decode


def _l16(rate: int, channels: int) -> Callable[[bytes], np.ndarray]:
    limit = rate * channels * 2 * MAX_PACKET_MS // 1000

    def decode(payload: bytes) -> np.ndarray:
        if len(payload) > limit:
            raise ValueError(f"{len(payload)} bytes is longer than {MAX_PACKET_MS} ms")
        usable = len(payload) - len(payload) % (2 * channels)
        pcm = np.frombuffer(payload[:usable], ">i2").astype(np.int32)
        if channels > 1:  # mixed down: the analysis hears one voice per direction
            pcm = pcm.reshape(-1, channels).mean(axis=1).astype(np.int32)
        return pcm.astype(np.int16)

    return decode


def decoder_for(name: str, clock: int, channels: int = 1) -> Codec:
    """The decoder of an rtpmap encoding (`name/clock/channels`), or Undecodable saying why."""
    upper = name.upper()
    if upper == "PCMU" and clock == 8000:
        return Codec("PCMU", 8000, 8000, _table(ULAW, 8000), ULAW)
    if upper == "PCMA" and clock == 8000:
        return Codec("PCMA", 8000, 8000, _table(ALAW, 8000), ALAW)
    if upper == "L16" and 8000 <= clock <= 48000 and 1 <= channels <= 2:
        return Codec("L16", clock, clock, _l16(clock, channels))
    from voxops.audio import native

    if upper == "G722" and clock == 8000:
        # RFC 3551 4.5.2: G.722 is sampled at 16 kHz but its RTP clock runs at 8000
        return Codec("G722", 16000, 8000, native.g722_decoder())
    if upper == "OPUS" and clock == 48000:
        # RFC 7587: the RTP clock is always 48 kHz; decoded at 16 kHz (wideband voice)
        return Codec("opus", native.OPUS_RATE, 48000, native.opus_decoder())
    if upper == "G729" and clock == 8000:
        return Codec("G729", 8000, 8000, native.g729_decoder())
    raise Undecodable(f"codec {name}/{clock} is not one voxops decodes (PCMU, PCMA, L16, G722, opus, G729)")


def _encoder(table: np.ndarray) -> np.ndarray:
    """A 65536-entry int16 -> code table: the code whose decoded value is nearest."""
    order = np.argsort(table, kind="stable")
    values = table[order].astype(np.int32)
    x = np.arange(-32768, 32768, dtype=np.int32)
    hi = np.clip(np.searchsorted(values, x), 1, len(values) - 1)
    nearer_lo = (x - values[hi - 1]) <= (values[hi] - x)
    return order[np.where(nearer_lo, hi - 1, hi)].astype(np.uint8)


def encode_g711(pcm: np.ndarray, law: str = "PCMU") -> bytes:
    """G.711 encoding of int16 samples (for generated test calls and lab senders)."""
    table = _encoder(ULAW if law.upper() == "PCMU" else ALAW)
    return table[pcm.astype(np.int32) + 32768].tobytes()
