"""The conversation figures `voxops stats --audio` adds to its report (field names: docs/audio.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AudioKpi(BaseModel):
    """The conversation figures of a group of calls (JSON: `voxops stats --audio`, docs/audio.md)."""

    model_config = ConfigDict(extra="forbid")
    calls: int = Field(description="answered calls whose audio was decoded")
    turns: int = Field(description="caller turns the agent answered")
    response_latency_p50_ms: float | None
    response_latency_p95_ms: float | None
    up_s: float = Field(description="time the calls were up (answer to BYE, holds left out)")
    dead_air_s: float = Field(description="time both sides were silent longer than the dead-air SLO")
    dead_air_share: float | None = Field(description="dead_air_s / up_s, 0-1")


class AudioStats(BaseModel):
    model_config = ConfigDict(extra="forbid")
    all: AudioKpi
    trunks: dict[str, AudioKpi] = Field(description="per carrier trunk (the call's carrier-facing hop)")
    agents: dict[str, AudioKpi] = Field(description="per agent (spec name; without a spec the callee's address)")
    undecoded: list[str] = Field(description="answered calls whose audio could not be decoded (Call-IDs)")
