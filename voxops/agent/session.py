"""What a pipeline session is given (`CallContext`) and the interfaces it implements.

See `voxops.agent.pipeline` for the threading contract; these names are re-exported there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass
class CallContext:
    """What a pipeline session knows about its call, and what it may ask of the agent."""

    call_id: str
    remote_uri: str
    clock_rate: int
    samples_per_frame: int
    hangup: Callable[..., None] = field(repr=False)  # hangup(reason: str = "")
    report_latency: Callable[[float], None] = field(repr=False)
    to_ivr: Callable[[str], None] | None = field(default=None, repr=False)  # hand over, with why

    @property
    def frame_bytes(self) -> int:
        return self.samples_per_frame * 2


@runtime_checkable
class Session(Protocol):
    def on_audio(self, pcm: bytes) -> None:
        """One frame of caller audio."""

    def next_audio(self) -> bytes | None:
        """One frame to play to the caller (exactly `frame_bytes`), or None for silence."""

    def on_dtmf(self, digit: str) -> None:
        """A DTMF digit ("0"-"9", "*", "#", "A"-"D") by RFC 2833 or SIP INFO."""

    def close(self) -> None:
        """The call ended: release what the session holds."""


@runtime_checkable
class Pipeline(Protocol):
    def open(self, call: CallContext) -> Session:
        """A new session for an answered call."""

    def overloaded(self) -> bool:
        """True while new calls should go to the IVR instead."""

    def close(self) -> None:
        """The agent is shutting down."""
