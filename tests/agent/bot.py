"""Media Streams bots for the websocket pipeline tests, in their own process.

    python -m tests.agent.bot ADDRESS PORT EVENTS_FILE

The path of the WebSocket URL picks the bot:
  /echo          Pipecat: FastAPI WebSocket transport + TwilioFrameSerializer, echoes the caller
  /speak/<ms>    Pipecat: answers each caller phrase <ms> after its last loud frame with an
                 espeak-ng phrase, then a mark; DTMF 5 interrupts it (Twilio `clear`)
  /silent        accepts the stream and never sends anything
  /garbage       sends messages that break the protocol, then idles
  /drop          closes the socket 1.5 s into the stream

Ground truth: every bot appends what it received and sent to EVENTS_FILE as JSON lines,
stamped with time.monotonic() (CLOCK_MONOTONIC, the same clock as the test process).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI, WebSocket
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    InputDTMFFrame,
    OutputAudioRawFrame,
    OutputTransportMessageFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.runner import PipelineRunner
from pipecat.pipeline.task import PipelineParams, PipelineTask
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams, FastAPIWebsocketTransport

RATE = 8000
LOUD_DBFS = -35.0
SPEECH_DBFS = -30.0
PHRASE = "Thank you for calling. This is the voxops test bot speaking."


class Events:
    def __init__(self, path: Path) -> None:
        self._fh = path.open("a", buffering=1)

    def add(self, kind: str, **fields: Any) -> None:
        self._fh.write(json.dumps({"t": time.monotonic(), "kind": kind, **fields}) + "\n")


def espeak_phrase(text: str) -> bytes:
    """espeak-ng's rendering of `text` at 8 kHz, leading and trailing silence trimmed."""
    with tempfile.TemporaryDirectory() as tmp:
        wav_path = Path(tmp) / "phrase.wav"
        subprocess.run(["espeak-ng", "-w", str(wav_path), text], check=True, timeout=30)
        with wave.open(str(wav_path), "rb") as w:
            rate = w.getframerate()
            samples = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64)
    pcm = np.interp(np.arange(0, len(samples), rate / RATE), np.arange(len(samples)), samples).astype("<i2").tobytes()
    # from the first to the last 20 ms that is plainly speech: the reply is heard from its first frame
    frames = [pcm[i : i + 320] for i in range(0, len(pcm), 320)]
    loud = [i for i, frame in enumerate(frames) if level_dbfs(frame) > SPEECH_DBFS]
    return b"".join(frames[loud[0] : loud[-1] + 1])


def level_dbfs(pcm: bytes) -> float:
    x = np.frombuffer(pcm, "<i2").astype(np.float64) / 32768
    power = float(np.mean(x * x)) if len(x) else 0.0
    return 10 * np.log10(power) if power > 0 else -200.0


class LoggingSerializer(TwilioFrameSerializer):
    """The Twilio serializer, recording every message the agent sent."""

    def __init__(self, stream_sid: str, events: Events) -> None:
        super().__init__(stream_sid, params=TwilioFrameSerializer.InputParams(auto_hang_up=False))
        self._events = events
        self._last_media_out = 0.0

    async def serialize(self, frame: Frame) -> str | bytes | None:
        data = await super().serialize(frame)
        if isinstance(data, str) and data.startswith('{"event": "media"'):
            now = time.monotonic()
            if now - self._last_media_out > 0.2:  # the first audio of an utterance, as it goes out
                self._events.add("speech_out")
            self._last_media_out = now
        elif isinstance(data, str) and '"event": "mark"' in data:
            self._events.add("mark_wire", name=json.loads(data)["mark"]["name"])
        return data

    async def deserialize(self, data: str | bytes) -> Frame | None:
        message = json.loads(data)
        event = message.get("event")
        if event == "media":
            self._events.add("media_in", chunk=message["media"]["chunk"])
        elif event == "mark":
            self._events.add("mark_in", name=message["mark"]["name"])
        elif event == "dtmf":
            self._events.add("dtmf_in", digit=message["dtmf"]["digit"])
        else:
            self._events.add(f"{event}_in")
        return await super().deserialize(data)


class Echo(FrameProcessor):
    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            await self.push_frame(OutputAudioRawFrame(frame.audio, frame.sample_rate, frame.num_channels))
        else:
            await self.push_frame(frame, direction)


class Speaker(FrameProcessor):
    """Answers each phrase `delay_s` after the caller's last loud frame."""

    def __init__(self, events: Events, stream_sid: str, phrase: bytes, delay_s: float) -> None:
        super().__init__()
        self._events, self._sid, self._phrase, self._delay = events, stream_sid, phrase, delay_s
        self._reply: asyncio.Task[None] | None = None
        self._replies = 0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            if level_dbfs(frame.audio) > LOUD_DBFS:
                if self._reply is not None and not self._reply.done():
                    self._reply.cancel()
                self._reply = asyncio.create_task(self._answer(time.monotonic()))
        elif isinstance(frame, InputDTMFFrame) and str(frame.button.value) == "5":
            self._events.add("clear_out")
            await self.broadcast_interruption()
        else:
            await self.push_frame(frame, direction)

    async def _answer(self, last_loud: float) -> None:
        await asyncio.sleep(max(0.0, last_loud + self._delay - time.monotonic()))
        self._replies += 1
        self._events.add("reply_out", last_loud=last_loud, delay_s=self._delay,
                         audio_s=len(self._phrase) / 2 / RATE, n=self._replies)
        await self.push_frame(OutputAudioRawFrame(self._phrase, RATE, 1))  # the transport cuts it up
        mark = {"event": "mark", "streamSid": self._sid, "mark": {"name": f"reply-{self._replies}"}}
        await self.push_frame(OutputTransportMessageFrame(message=mark))
        self._events.add("mark_out", name=f"reply-{self._replies}")


async def read_start(websocket: WebSocket, events: Events) -> dict[str, Any]:
    for _ in range(2):
        message = json.loads(await websocket.receive_text())
        events.add(f"{message['event']}_in", message=message)
        if message["event"] == "start":
            return message  # type: ignore[no-any-return]
    raise RuntimeError("no start event")


async def run_pipecat(websocket: WebSocket, events: Events, sid: str, processor: FrameProcessor) -> None:
    transport = FastAPIWebsocketTransport(
        websocket,
        FastAPIWebsocketParams(
            audio_in_enabled=True, audio_out_enabled=True, add_wav_header=False,
            serializer=LoggingSerializer(sid, events),
        ),
    )
    task = PipelineTask(
        Pipeline([transport.input(), processor, transport.output()]),
        params=PipelineParams(audio_in_sample_rate=RATE, audio_out_sample_rate=RATE),
    )

    @transport.event_handler("on_client_disconnected")
    async def on_disconnected(_transport: Any, _ws: Any) -> None:
        events.add("disconnected")
        await task.cancel()

    await PipelineRunner(handle_sigint=False).run(task)


def make_app(events: Events) -> FastAPI:
    app = FastAPI()
    phrase = espeak_phrase(PHRASE)
    events.add("ready", phrase_s=len(phrase) / 2 / RATE)

    @app.websocket("/echo")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        start = await read_start(websocket, events)
        await run_pipecat(websocket, events, start["streamSid"], Echo())

    @app.websocket("/speak/{delay_ms}")
    async def speak(websocket: WebSocket, delay_ms: int) -> None:
        await websocket.accept()
        start = await read_start(websocket, events)
        sid = start["streamSid"]
        await run_pipecat(websocket, events, sid, Speaker(events, sid, phrase, delay_ms / 1000))

    @app.websocket("/silent")
    async def silent(websocket: WebSocket) -> None:
        await websocket.accept()
        await read_start(websocket, events)
        await drain(websocket, events)

    @app.websocket("/garbage")
    async def garbage(websocket: WebSocket) -> None:
        await websocket.accept()
        await read_start(websocket, events)
        bad = ["not json", "[1, 2]", json.dumps({"event": "bogus"}),
               json.dumps({"event": "media", "media": {"payload": "***"}}),
               json.dumps({"event": "mark", "mark": {"name": ""}})]
        for i in range(25):
            await websocket.send_text(bad[i % len(bad)])
            events.add("garbage_out", n=i + 1)
        await drain(websocket, events)

    @app.websocket("/drop")
    async def drop(websocket: WebSocket) -> None:
        await websocket.accept()
        await read_start(websocket, events)
        await asyncio.sleep(1.5)
        events.add("close_out")
        await websocket.close()

    return app


async def drain(websocket: WebSocket, events: Events) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            events.add("disconnected")
            return
        text = message.get("text") or ""
        if '"stop"' in text:
            events.add("stop_in")


def main() -> None:
    address, port, path = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    uvicorn.run(make_app(Events(path)), host=address, port=port, log_level="warning", ws="websockets-sansio")


if __name__ == "__main__":
    main()
