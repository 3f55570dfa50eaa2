"""The audio of a test call: PCMU every 20 ms from the call's own RTP socket, a tone burst
at the start of every second and silence between, and what comes back measured: packets,
loss (by sequence numbers), interarrival jitter (RFC 3550), and the round-trip audio delay
of an echoing far end (the time from sending a burst to hearing it back).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import statistics
import struct
import time
from dataclasses import dataclass, field

PTIME_S = 0.020
SAMPLES = 160
BURST_FRAMES = 5  # 100 ms of tone ...
PERIOD_FRAMES = 50  # ... at the start of every second
SILENCE = b"\xff" * SAMPLES  # mu-law zero
# Mean absolute linear level above which a received frame counts as tone, not silence
# or comfort noise (the burst is sent at about -12 dBFS, i.e. a mean of ~5000).
TONE_LEVEL = 1500


def burst_frame() -> bytes:
    """20 ms of a 1 kHz tone, PCMU."""
    import numpy as np

    from voxops.audio.codecs import encode_g711

    n = np.arange(SAMPLES)
    return encode_g711((8000 * np.sin(2 * np.pi * 1000 * n / 8000)).astype(np.int16), "PCMU")


def frame_level(payload: bytes) -> float:
    """Mean absolute linear level of a PCMU payload."""
    import numpy as np

    from voxops.audio.codecs import ULAW

    if not payload:
        return 0.0
    return float(np.abs(ULAW[np.frombuffer(payload, dtype=np.uint8)].astype(np.int32)).mean())


@dataclass
class Received:
    """RTP that came back, packet by packet."""

    count: int = 0
    first_seq: int | None = None
    highest: int | None = None  # extended sequence number
    jitter: float = 0.0  # RFC 3550, in timestamp units
    _transit: float | None = None
    onsets: list[float] = field(default_factory=list)
    _in_tone: bool = False
    payload_types: set[int] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)

    def add(self, data: bytes, source: str, at: float, started: float) -> None:
        if len(data) < 12 or data[0] >> 6 != 2:
            return
        pt = data[1] & 0x7F
        if pt in (72, 73, 200, 201):  # RTCP on the RTP port
            return
        seq, ts = struct.unpack("!HI", data[2:8])
        self.count += 1
        self.payload_types.add(pt)
        self.sources.add(source)
        if self.first_seq is None or self.highest is None:
            self.first_seq = self.highest = seq
        else:
            last = self.highest & 0xFFFF
            delta = (seq - last) & 0xFFFF
            if delta < 0x8000:
                self.highest += delta
        transit = (at - started) * 8000 - ts
        if self._transit is not None:
            self.jitter += (abs(transit - self._transit) - self.jitter) / 16
        self._transit = transit
        if pt == 0:
            tone = frame_level(data[12:]) >= TONE_LEVEL
            if tone and not self._in_tone:
                self.onsets.append(at)
            self._in_tone = tone

    @property
    def expected(self) -> int:
        if self.highest is None or self.first_seq is None:
            return 0
        return self.highest - self.first_seq + 1


@dataclass
class AudioResult:
    sent: int
    received: Received
    burst_times: list[float]

    def loss_percent(self) -> float | None:
        """Lost over expected on the way back (None when nothing came back)."""
        expected = self.received.expected
        if expected == 0:
            return None
        return round(max(0, expected - self.received.count) * 100 / expected, 2)

    def round_trip_ms(self) -> float | None:
        """Median of burst-sent to burst-heard, each heard onset matched to the latest
        burst sent before it (within one period)."""
        delays = []
        for heard in self.received.onsets:
            before = [t for t in self.burst_times if t <= heard]
            if before and heard - before[-1] < PERIOD_FRAMES * PTIME_S:
                delays.append((heard - before[-1]) * 1000)
        return round(statistics.median(delays), 1) if delays else None


def exchange_audio(sock: socket.socket, remote: tuple[str, int], payload_type: int, seconds: float) -> AudioResult:
    """Send `seconds` of audio to `remote` every 20 ms and collect what arrives on `sock`
    meanwhile (and for 0.5 s after, for the last echo)."""
    burst = burst_frame()
    received = Received()
    bursts: list[float] = []
    ssrc = int.from_bytes(sock.getsockname()[1].to_bytes(2, "big") * 2, "big")
    frames = max(1, int(seconds / PTIME_S))
    started = time.monotonic()
    sock.setblocking(False)
    with selectors.DefaultSelector() as sel:
        sel.register(sock, selectors.EVENT_READ)
        for n in range(frames):
            in_burst = n % PERIOD_FRAMES < BURST_FRAMES
            if n % PERIOD_FRAMES == 0:
                bursts.append(time.monotonic())
            header = struct.pack("!BBHII", 0x80, payload_type | (0x80 if n == 0 else 0), n & 0xFFFF,
                                 (n * SAMPLES) & 0xFFFFFFFF, ssrc)
            with contextlib.suppress(OSError):  # ICMP unreachable from a dead relay port: keep the cadence
                sock.sendto(header + (burst if in_burst else SILENCE), remote)
            _collect(sel, received, started, started + (n + 1) * PTIME_S)
        _collect(sel, received, started, time.monotonic() + 0.5)
    return AudioResult(sent=frames, received=received, burst_times=bursts)


def _collect(sel: selectors.BaseSelector, received: Received, started: float, until: float) -> None:
    while (left := until - time.monotonic()) > 0:
        for key, _ in sel.select(left):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            for _ in range(64):  # bounded per wake-up
                try:
                    data, source = sock.recvfrom(2048)
                except (BlockingIOError, ConnectionRefusedError):
                    break
                received.add(data, f"{source[0]}:{source[1]}", time.monotonic(), started)
