"""The conversation panels of `voxops stats --audio --format png`: agent response latency
and dead-air share per trunk and per agent, each against its SLO."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxops.text.safe_text import visible

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from voxops.analysis.audio_kpi import AudioKpi, AudioStats
    from voxops.analysis.policy import Policy

RED, GREEN, GREY = "#c33", "#3a3", "#999"
MAX_GROUPS = 12  # bars per panel; the JSON has every trunk and agent


def _groups(audio: AudioStats) -> list[tuple[str, AudioKpi]]:
    named = [(f"trunk {k}", v) for k, v in audio.trunks.items()] + [(f"agent {k}", v) for k, v in audio.agents.items()]
    return [(visible(name)[:40], kpi) for name, kpi in named[:MAX_GROUPS]] or [("all calls", audio.all)]


def latency_panel(ax: Axes, audio: AudioStats, policy: Policy) -> int:
    """p50 (light) and p95 (solid, red above the SLO) per group; returns the groups in breach."""
    groups = _groups(audio)
    names = [g[0] for g in groups]
    p50 = [(k.response_latency_p50_ms or 0.0) / 1000 for _, k in groups]
    p95 = [(k.response_latency_p95_ms or 0.0) / 1000 for _, k in groups]
    limit = policy.response_latency_ms / 1000
    red = [v > limit for v in p95]
    rows = list(range(len(groups)))
    ax.barh([r + 0.2 for r in rows], p95, height=0.4, color=[RED if r else GREEN for r in red], label="p95")
    ax.barh([r - 0.2 for r in rows], p50, height=0.4, color=GREY, label="p50")
    ax.axvline(limit, color=RED, linestyle="--", lw=1, label=f"response SLO {limit:g} s")
    ax.set_yticks(rows)
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("caller's end of speech -> agent's first audio (s)")
    ax.set_title(f"agent response latency ({audio.all.turns} turns, {audio.all.calls} calls decoded)\n"
                 f"red: p95 > {limit:g} s SLO: {sum(red)} of {len(groups)}", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    return sum(red)


def dead_air_panel(ax: Axes, audio: AudioStats, policy: Policy) -> int:
    """Share of the time up spent in dead air per group (red: any dead air beyond the SLO)."""
    groups = _groups(audio)
    share = [100 * (k.dead_air_share or 0.0) for _, k in groups]
    red = [s > 0 for s in share]
    rows = list(range(len(groups)))
    ax.barh(rows, share, height=0.6, color=[RED if r else GREEN for r in red])
    ax.set_yticks(rows)
    ax.set_yticklabels([g[0] for g in groups], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max([5.0, *share]) * 1.15)
    ax.set_xlabel("dead air, % of the time the calls were up")
    ax.set_title(f"dead-air share (both sides silent > {policy.dead_air_s:g} s)\n"
                 f"red: some dead air: {sum(red)} of {len(groups)}", fontsize=10)
    return sum(red)
