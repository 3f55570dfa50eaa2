"""Pipelines loaded by the agent under test through `module:Class`."""

from __future__ import annotations

import time

from voxops.agent.config import AgentConfig
from voxops.agent.pipeline import CallContext, EchoSession, Session


class FailsFirstOpen:
    """Raises when the first call is opened (a broken model load), then echoes."""

    def __init__(self, config: AgentConfig) -> None:
        self.opened = 0

    def open(self, call: CallContext) -> Session:
        self.opened += 1
        if self.opened == 1:
            raise RuntimeError("model not loaded yet")
        return EchoSession(call, delay_ms=0)

    def overloaded(self) -> bool:
        return False

    def close(self) -> None:
        pass


class SlowOpen:
    """Takes 40 ms to open a session (a model warming up): while it does, the next SIP
    messages queue up and pjsua handles several in one poll."""

    def __init__(self, config: AgentConfig) -> None:
        pass

    def open(self, call: CallContext) -> Session:
        time.sleep(0.04)
        return EchoSession(call, delay_ms=0)

    def overloaded(self) -> bool:
        return False

    def close(self) -> None:
        pass
