"""What the agent does with a new INVITE: pure, so the policy is testable without SIP."""

from __future__ import annotations

from dataclasses import dataclass

from voxops.agent.config import AgentConfig


@dataclass(frozen=True)
class Admission:
    mode: str  # "pipeline" | "ivr" | "reject"
    code: int = 200
    reason: str = ""


def decide(config: AgentConfig, *, active: int, draining: bool, degraded: list[str]) -> Admission:
    """What to do with a new INVITE. Pure, so the policy is testable without SIP."""
    if draining:
        return Admission("reject", 503, "Draining")
    if active >= config.max_calls:
        return Admission("reject", 486, "Busy Here")
    if degraded:
        if config.ivr.enabled:
            return Admission("ivr", reason="; ".join(degraded))
        return Admission("reject", 503, "Service Unavailable")
    return Admission("pipeline")
