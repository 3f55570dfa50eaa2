"""Calls with scripted audio for the conversation findings' pages (silent media, dead air,
a slow agent, no greeting, talk-over): carrier-a -> sbc-1 -> agent-1 in PCMU, each side's
RTP carrying line noise, voice-like bursts where the script says someone speaks, or
digital silence. The docs draw them with `voxops ladder --audio`, so the energy lanes on
those pages are what a user gets.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

RATE = 8000
Spans = list[tuple[float, float]]


def _timeline(seconds: float, talk: Spans, seed: int, silent: bool = False) -> np.ndarray:
    """Line noise (or digital silence) with a voice-like burst over each (start, end)."""
    t = np.arange(int(seconds * RATE)) / RATE
    pcm = np.zeros(len(t)) if silent else np.random.default_rng(seed).normal(0, 40, len(t))
    voice = 6000 * np.sin(2 * np.pi * (200 + 700 * (t % 1)) * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    for start, end in talk:
        span = (t >= start) & (t < end)
        pcm[span] += voice[span]
    return np.clip(pcm, -32768, 32767).astype(np.int16)


def _send(sc: ModuleType, call: Any, at: float, src: Any, dst: Any, pcm: np.ndarray, ssrc: int) -> None:
    from voxops.audio.codecs import encode_g711

    payload = encode_g711(pcm)
    for n in range(len(pcm) // 160):
        header = struct.pack("!BBHII", 0x80, 0, n & 0xFFFF, n * 160, ssrc)
        call.packets.append(sc.Datagram(at + 0.02 * n, src, dst, header + payload[160 * n: 160 * (n + 1)]))


def _conversation(sc: ModuleType, call: Any, seconds: float, caller: Spans, agent: Spans, *,
                  agent_silent: bool = False) -> None:
    """The call answered, both sides' audio for `seconds` (times from the ACK), hung up."""
    ack = sc._answered_inbound(call, 0.0, sc.sdp(sc.AGENT_MEDIA, [0]))
    _send(sc, call, ack, sc.CARRIER_MEDIA, sc.AGENT_MEDIA, _timeline(seconds, caller, 1), 0x1111)
    _send(sc, call, ack, sc.AGENT_MEDIA, sc.CARRIER_MEDIA, _timeline(seconds, agent, 2, agent_silent), 0x2222)
    sc._hangup(call, ack + seconds + 0.1)
    call.packets.sort(key=lambda p: p.time)


def scenarios(sc: ModuleType) -> dict[str, tuple[Callable[[Any], None], str]]:
    """Runbook id -> (how the capture is made, what the picture shows)."""
    def silent_media(call: Any) -> None:
        _conversation(sc, call, 9.0, [(0.8, 2.3), (5.0, 6.2)], [], agent_silent=True)

    def dead_air(call: Any) -> None:
        _conversation(sc, call, 12.0, [(1.6, 3.0), (10.2, 11.3)], [(0.2, 1.2), (3.6, 4.8)])

    def slow_agent(call: Any) -> None:
        _conversation(sc, call, 10.0, [(1.6, 2.8), (6.6, 7.6)], [(0.2, 1.2), (5.3, 6.2), (9.4, 9.9)])

    def no_greeting(call: Any) -> None:
        _conversation(sc, call, 7.0, [(4.2, 4.9)], [])

    def talk_over(call: Any) -> None:
        _conversation(sc, call, 8.0, [(1.4, 2.4), (4.2, 5.6)], [(0.2, 1.1), (2.9, 6.4)])

    return {
        "silent-media": (silent_media, "the agent's RTP flows but carries digital silence; the caller speaks into it"),
        "dead-air": (dead_air, "after the agent's answer both sides stay silent for 5.4 s"),
        "slow-agent-response": (slow_agent, "the agent answers the caller 2.5 s after the caller stops"),
        "no-greeting": (no_greeting, "the call is answered; the agent never speaks"),
        "talk-over": (talk_over, "the caller speaks for 1.4 s while the agent is still talking"),
    }
