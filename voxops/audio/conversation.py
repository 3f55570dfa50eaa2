"""The conversation in a call's decoded audio: turns, response gaps, talk-over, dead air,
silent media and the agent's greeting. Pure: takes each side's `Voice`, returns intervals
and findings with codes and runbooks.

The caller is the side that sent the INVITE, the agent the side that answered it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from voxops.audio.timeline import FRAME_S
from voxops.audio.voice import Spurt, Voice, runs
from voxops.findings import Finding, FindingCode, Severity

S = Severity
SILENT_MEDIA = FindingCode("silent-media", S.error, "silent-media",
                           "RTP flows but its audio is silence for longer than the SLO allows")
DEAD_AIR = FindingCode("dead-air", S.warning, "dead-air", "Both sides silent for longer than the SLO allows while the call is up")
SLOW_AGENT_RESPONSE = FindingCode("slow-agent-response", S.warning, "slow-agent-response",
                                  "The agent answered the caller later than the response-latency SLO")
NO_GREETING = FindingCode("no-greeting", S.error, "no-greeting", "The agent said nothing after answering the call")
TALK_OVER = FindingCode("talk-over", S.warning, "talk-over", "Caller and agent spoke at once for longer than the SLO allows")


@dataclass(frozen=True)
class Thresholds:
    """From the spec's SLOs (`slo.audio`), or these defaults."""

    response_latency_ms: float = 1500.0
    dead_air_s: float = 5.0
    silent_media_s: float = 5.0
    greeting_max_s: float = 3.0
    talk_over_ms: float = 800.0


class Interval(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start: float = Field(description="seconds from the call's first message")
    end: float


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    caller_end: float = Field(description="end of the caller's last voiced frame, seconds from the call's start")
    agent_start: float = Field(description="the agent's first voiced frame after it")
    latency_ms: float


class Overlap(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start: float
    end: float
    duration_ms: float
    started_by: str = Field(description="caller (barge-in) or agent (talked over the caller)")


class SilentRun(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    side: str
    start: float
    end: float


class Latency(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    count: int
    p50_ms: float | None
    p95_ms: float | None
    max_ms: float | None


class Conversation(BaseModel):
    """The conversation part of `voxops audio --format json` (documented in docs/audio.md)."""

    model_config = ConfigDict(extra="forbid")
    turns: list[Turn]
    response_latency: Latency
    talk_over: list[Overlap]
    dead_air: list[Interval]
    dead_air_share: float | None = Field(description="share of the time the call was up spent in dead air, 0-1")
    silent_media: list[SilentRun]
    greeting_s: float | None = Field(description="answer to the agent's first voiced frame; null: never spoke")
    findings: list[Finding]


def response_turns(caller: list[Spurt], agent: list[Spurt]) -> list[Turn]:
    """Per caller spurt answered by the agent: caller's end of speech -> agent's first audio after it.

    A turn is answered when the agent starts after the caller stopped and before the caller
    spoke again; an agent already talking when the caller stopped is talk-over, not a response.
    """
    starts = np.array([s.start for s in agent])
    turns = []
    for i, spurt in enumerate(caller):
        following = caller[i + 1].start if i + 1 < len(caller) else float("inf")
        talking = any(a.start < spurt.end < a.end for a in agent)
        later = np.flatnonzero((starts >= spurt.end) & (starts < following))
        if talking or not len(later):
            continue
        begin = float(starts[later[0]])
        turns.append(Turn(caller_end=spurt.end, agent_start=begin, latency_ms=round(1000 * (begin - spurt.end), 1)))
    return turns


def overlaps(caller: Voice, agent: Voice, shortest_ms: float) -> list[Overlap]:
    both = _same_length(caller.voiced, agent.voiced)
    found = []
    for a, b in runs(both[0] & both[1]):
        if (b - a) * FRAME_S * 1000 < shortest_ms:
            continue
        caller_first = a > 0 and bool(both[0][a - 1]) and not (both[1][a - 1])
        found.append(Overlap(start=round(a * FRAME_S, 3), end=round(b * FRAME_S, 3),
                             duration_ms=round((b - a) * FRAME_S * 1000, 1),
                             started_by="agent" if caller_first else "caller"))
    return found


def _same_length(*masks: np.ndarray) -> list[np.ndarray]:
    n = max(len(m) for m in masks)
    return [np.pad(m, (0, n - len(m))) for m in masks]


def intervals(mask: np.ndarray, longest_s: float) -> list[Interval]:
    return [Interval(start=round(a * FRAME_S, 3), end=round(b * FRAME_S, 3))
            for a, b in runs(mask) if (b - a) * FRAME_S > longest_s]


def up_mask(frames: int, answered: float | None, ended: float | None, holds: list[Interval]) -> np.ndarray:
    """Frames while the call is up: from the answer to the BYE (or the end), holds left out."""
    up = np.zeros(frames, bool)
    if answered is None:
        return up
    stop = frames if ended is None else min(frames, round(ended / FRAME_S))
    up[max(0, round(answered / FRAME_S)): stop] = True
    for h in holds:
        up[max(0, round(h.start / FRAME_S)): max(0, round(h.end / FRAME_S))] = False
    return up


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def analyse(caller: Voice, agent: Voice, flowing: dict[str, np.ndarray], *, answered: float | None,
            ended: float | None, holds: list[Interval], limits: Thresholds) -> Conversation:
    """Everything the conversation shows; the findings judged against `limits`."""
    voiced_c, voiced_a = _same_length(caller.voiced, agent.voiced)
    up = up_mask(len(voiced_c), answered, ended, holds)
    turns = response_turns(caller.spurts, agent.spurts)
    latencies = [t.latency_ms for t in turns]
    dead = intervals(up & ~voiced_c & ~voiced_a, limits.dead_air_s)
    silent = []
    for side, voice in (("caller", caller), ("agent", agent)):
        flows, quiet, side_up = _same_length(flowing[side], voice.silent, up)
        silent += [SilentRun(side=side, start=i.start, end=i.end)
                   for i in intervals(flows & quiet & side_up, limits.silent_media_s)]
    first = next((s.start for s in agent.spurts if answered is None or s.start >= answered - 0.5), None)
    greeting = None if first is None or answered is None else round(max(0.0, first - answered), 3)
    talk_over = overlaps(caller, agent, limits.talk_over_ms)
    up_s = float(up.sum()) * FRAME_S
    share = round(sum(i.end - i.start for i in dead) / up_s, 4) if up_s else None
    conversation = Conversation(
        turns=turns,
        response_latency=Latency(count=len(latencies), p50_ms=_percentile(latencies, 50),
                                 p95_ms=_percentile(latencies, 95), max_ms=max(latencies, default=None)),
        talk_over=talk_over, dead_air=dead, dead_air_share=share, silent_media=silent,
        greeting_s=greeting, findings=[])
    conversation.findings = judge(conversation, answered=answered, ended=ended, limits=limits)
    return conversation


def judge(c: Conversation, *, answered: float | None, ended: float | None, limits: Thresholds) -> list[Finding]:
    out: list[Finding] = []
    for run in c.silent_media:
        out.append(SILENT_MEDIA(
            f"{run.side}'s RTP carried silence from {run.start:.1f} s to {run.end:.1f} s "
            f"({run.end - run.start:.1f} s; SLO {limits.silent_media_s:g} s)",
            severity=S.error if run.side == "agent" else S.warning,
            where=f"{run.side} audio at {run.start:.1f} s", side=run.side, start=run.start, end=run.end))
    for gap in c.dead_air:
        out.append(DEAD_AIR(f"both sides silent from {gap.start:.1f} s to {gap.end:.1f} s "
                            f"({gap.end - gap.start:.1f} s; SLO {limits.dead_air_s:g} s)",
                            where=f"audio at {gap.start:.1f} s", start=gap.start, end=gap.end))
    slow = [t for t in c.turns if t.latency_ms > limits.response_latency_ms]
    if slow:
        worst = max(slow, key=lambda t: t.latency_ms)
        out.append(SLOW_AGENT_RESPONSE(
            f"{len(slow)} of {len(c.turns)} agent responses slower than {limits.response_latency_ms:g} ms "
            f"(worst {worst.latency_ms:.0f} ms at {worst.caller_end:.1f} s; p50 {c.response_latency.p50_ms} ms)",
            where=f"audio at {worst.caller_end:.1f} s", slow=len(slow), turns=len(c.turns), worst_ms=worst.latency_ms))
    up_for = None if answered is None else (ended - answered if ended is not None else None)
    waited = up_for is None or up_for > limits.greeting_max_s
    if answered is not None and waited and (c.greeting_s is None or c.greeting_s > limits.greeting_max_s):
        said = "never spoke" if c.greeting_s is None else f"first spoke {c.greeting_s:.1f} s"
        out.append(NO_GREETING(f"the agent {said} after answering (SLO {limits.greeting_max_s:g} s)",
                               where=f"audio at {answered:.1f} s", greeting_s=c.greeting_s))
    for o in c.talk_over:
        who = "the caller barged in on the agent" if o.started_by == "caller" else "the agent talked over the caller"
        out.append(TALK_OVER(f"{who}: both spoke for {o.duration_ms:.0f} ms at {o.start:.1f} s "
                             f"(SLO {limits.talk_over_ms:g} ms)",
                             where=f"audio at {o.start:.1f} s", start=o.start, duration_ms=o.duration_ms,
                             started_by=o.started_by))
    return out


def thresholds_of(policy: object) -> Thresholds:
    """The audio thresholds of a `Policy` (spec SLOs or their defaults)."""
    return Thresholds(**{name: float(getattr(policy, name)) for name in Thresholds.__dataclass_fields__})
