"""The Media Streams WebSocket protocol (Twilio's convention for telephony audio), pure.

Messages the agent sends: `connected`, `start` (with customParameters), `media` (20 ms of
8 kHz mu-law, base64), `dtmf`, `mark` (a bot's mark echoed once the audio queued before
it has been played) and `stop`. Messages it accepts from the bot: `media`, `mark` and
`clear`. Everything read from the bot is bounded and checked here: a message that is not
one of these, or whose fields are not what the protocol says, is a `BadMessage`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import secrets
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxops.audio.codecs import ULAW, encode_g711

RATE = 8000
FRAME_SAMPLES = 160  # 20 ms at 8 kHz
MAX_MARK_NAME = 256


class BadMessage(ValueError):
    """A message from the bot the protocol does not allow (the reason is one short line)."""


@dataclass(frozen=True)
class BotMedia:
    pcm: bytes  # 16-bit signed little-endian at 8 kHz


@dataclass(frozen=True)
class BotMark:
    name: str


@dataclass(frozen=True)
class BotClear:
    pass


BotMessage = BotMedia | BotMark | BotClear


def mulaw_to_pcm(payload: bytes) -> bytes:
    return ULAW[np.frombuffer(payload, np.uint8)].astype("<i2").tobytes()


@functools.cache
def _ulaw_encoder() -> np.ndarray:
    """int16 sample + 32768 -> mu-law code, built once (it takes a few milliseconds)."""
    return np.frombuffer(encode_g711(np.arange(-32768, 32768, dtype=np.int32), "PCMU"), np.uint8)


def pcm_to_mulaw(pcm: bytes) -> bytes:
    return _ulaw_encoder()[np.frombuffer(pcm, "<i2").astype(np.int32) + 32768].tobytes()


class StreamIds:
    """The identifiers of one stream and its message counter (sequenceNumber)."""

    def __init__(self, call_id: str) -> None:
        self.stream_sid = "MZ" + secrets.token_hex(16)
        self.call_sid = call_id
        self.account_sid = "voxops"
        self._seq = 0
        self.chunk = 0
        self.started_at_ms = 0

    def next_seq(self) -> str:
        self._seq += 1
        return str(self._seq)


def connected() -> str:
    return json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})


def start(ids: StreamIds, parameters: dict[str, str], remote_uri: str) -> str:
    return json.dumps({
        "event": "start",
        "sequenceNumber": ids.next_seq(),
        "streamSid": ids.stream_sid,
        "start": {
            "accountSid": ids.account_sid,
            "streamSid": ids.stream_sid,
            "callSid": ids.call_sid,
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": RATE, "channels": 1},
            "customParameters": {**parameters, "from": remote_uri},
        },
    })


def media(ids: StreamIds, pcm: bytes, timestamp_ms: int) -> str:
    ids.chunk += 1
    return json.dumps({
        "event": "media",
        "sequenceNumber": ids.next_seq(),
        "streamSid": ids.stream_sid,
        "media": {
            "track": "inbound",
            "chunk": str(ids.chunk),
            "timestamp": str(timestamp_ms),
            "payload": base64.b64encode(pcm_to_mulaw(pcm)).decode("ascii"),
        },
    })


def dtmf(ids: StreamIds, digit: str) -> str:
    return json.dumps({
        "event": "dtmf",
        "sequenceNumber": ids.next_seq(),
        "streamSid": ids.stream_sid,
        "dtmf": {"track": "inbound_track", "digit": digit},
    })


def mark(ids: StreamIds, name: str) -> str:
    return json.dumps({
        "event": "mark",
        "sequenceNumber": ids.next_seq(),
        "streamSid": ids.stream_sid,
        "mark": {"name": name},
    })


def stop(ids: StreamIds) -> str:
    return json.dumps({
        "event": "stop",
        "sequenceNumber": ids.next_seq(),
        "streamSid": ids.stream_sid,
        "stop": {"accountSid": ids.account_sid, "callSid": ids.call_sid},
    })


def _field(data: dict[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        raise BadMessage(f"{key} missing or not a {kind.__name__}")
    return value


def parse_bot_message(raw: str | bytes, max_audio_bytes: int) -> BotMessage:
    """One message from the bot; `max_audio_bytes` bounds a media payload once decoded."""
    if isinstance(raw, bytes):
        raise BadMessage("binary frame (the protocol is JSON text)")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadMessage("not JSON") from None
    if not isinstance(data, dict):
        raise BadMessage("not a JSON object")
    event = data.get("event")
    if event == "media":
        payload = _field(_field(data, "media", dict), "payload", str)
        if len(payload) > (max_audio_bytes * 4) // 3 + 4:
            raise BadMessage("media payload too long")
        try:
            audio = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise BadMessage("media payload is not base64") from None
        return BotMedia(mulaw_to_pcm(audio))
    if event == "mark":
        name = _field(_field(data, "mark", dict), "name", str)
        if not name or len(name) > MAX_MARK_NAME:
            raise BadMessage("mark name empty or too long")
        return BotMark(name)
    if event == "clear":
        return BotClear()
    shown = event if isinstance(event, str) and event.isprintable() and len(event) <= 32 else "?"
    raise BadMessage(f"unknown event {shown!r}")
