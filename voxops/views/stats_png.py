"""PNG of `voxops stats`: ASR and PDD p95 per window, MOS over time, the worst jitter.

Each panel says in its title what red means there and which SLO it is measured
against, so a red window is read as the KPI that broke, never as another.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from voxops.output_file import atomic_file
from voxops.text.safe_text import PLOT_TEXT, visible

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from voxops.analysis.kpi import Window
    from voxops.analysis.policy import Policy
    from voxops.analysis.streams import RtpStream
    from voxops.analysis.trunkstats import StatsReport

RED = "#c33"
GREEN = "#3a3"
GREY = "#999"
TICK_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
                172800, 604800)
MAX_TICKS = 7


def worst_jitter_stream(streams: list[RtpStream], jitter: dict[int, np.ndarray]) -> tuple[str, np.ndarray] | None:
    """(label, [2, N] epoch s and jitter ms) of the stream with the highest jitter, or None."""
    worst = max(jitter, key=lambda k: (streams[k].max_jitter_ms, streams[k].mean_jitter_ms), default=None)
    if worst is None:
        return None
    s = streams[worst]
    return f"{s.src} -> {s.dst} (max {s.max_jitter_ms:.1f} ms)", jitter[worst]


def time_ticks(t_min: float, t_max: float) -> tuple[list[float], list[str], str]:
    """Tick positions (epoch s), their labels and the axis label; labels never repeat.

    The step is the smallest of TICK_STEPS_S giving at most MAX_TICKS ticks; seconds are
    shown when the step is under a minute, the day when the span crosses midnight.
    """
    span = max(t_max - t_min, 1.0)
    step = next((s for s in TICK_STEPS_S if span / s <= MAX_TICKS - 1), TICK_STEPS_S[-1])
    first = math.ceil(t_min / step) * step
    ticks = [float(first + i * step) for i in range(int((t_max - first) // step) + 1)] or [float(t_min)]
    days = {datetime.fromtimestamp(t, UTC).date() for t in (t_min, t_max)}
    if step >= 86400:
        fmt, title = "%Y-%m-%d", "date (UTC)"
    elif len(days) > 1:  # the clock repeats from one day to the next: say the day
        fmt, title = "%m-%d %H:%M" if step >= 60 else "%m-%d %H:%M:%S", "time (UTC)"
    else:
        fmt = "%H:%M:%S" if step < 60 else "%H:%M"
        title = f"time (UTC, {datetime.fromtimestamp(t_min, UTC):%Y-%m-%d})"
    return ticks, [datetime.fromtimestamp(t, UTC).strftime(fmt) for t in ticks], title


def _time_axis(ax: Axes, t_min: float, t_max: float) -> None:
    ticks, labels, title = time_ticks(t_min, t_max)
    ax.set_xticks(ticks)
    ax.set_xticklabels(labels)
    ax.set_xlabel(title)
    pad = max((t_max - t_min) * 0.03, 1.0)
    ax.set_xlim(t_min - pad, t_max + pad)


def _breached(w: Window, kpi: str) -> bool:
    return any(b.kpi == kpi for b in w.breaches)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _window_bars(ax: Axes, report: StatsReport, values: list[float], kpi: str) -> int:
    starts = [w.start for w in report.windows]
    red = [_breached(w, kpi) for w in report.windows]
    ax.bar(starts, values, width=report.window_s * 0.85, align="edge",
           color=[RED if r else GREEN for r in red])
    if starts:
        _time_axis(ax, min(starts), max(starts) + report.window_s)
    return sum(red)


def stats_figure(report: StatsReport, jitter: tuple[str, np.ndarray] | None, policy: Policy) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    rows = 2 if report.audio is None else 3
    fig = Figure(figsize=(13, 4.25 * rows))
    axes = fig.subplots(rows, 2)
    window = f"{report.window_s // 60} min" if report.window_s % 60 == 0 else f"{report.window_s} s"
    n_windows = len(report.windows)

    ax = axes[0][0]
    asr = [w.ratios.asr if w.ratios.asr is not None else float("nan") for w in report.windows]
    asr_red = _window_bars(ax, report, asr, "asr")
    ax.axhline(policy.asr_alert_percent, color=RED, linestyle="--", lw=1, zorder=3,
               label=f"ASR SLO {policy.asr_alert_percent:g} %")
    ax.set_ylim(0, 105)
    ax.set_ylabel("ASR %")
    ax.set_title(f"ASR per {window} window\nred: ASR < {policy.asr_alert_percent:g} % SLO "
                 f"(whole window or one trunk): {asr_red} of {n_windows}", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)

    ax = axes[0][1]
    pdd = [w.pdd_ms.p95 / 1000.0 if w.pdd_ms.p95 is not None else float("nan") for w in report.windows]
    limit_s = policy.pdd_max_ms / 1000.0
    pdd_red = _window_bars(ax, report, pdd, "pdd_p95")
    ax.axhline(limit_s, color=RED, linestyle="--", lw=1, zorder=3, label=f"PDD p95 SLO {limit_s:g} s")
    ax.set_ylabel("PDD p95 (s)")
    ax.set_title(f"PDD p95 per {window} window (answered calls)\nred: PDD p95 > {limit_s:g} s SLO: "
                 f"{pdd_red} of {n_windows}", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)

    mos_red = _mos_panel(axes[1][0], report)
    _jitter_panel(axes[1][1], jitter, policy)
    broken = [f"ASR in {_count(asr_red, 'window')}" if asr_red else "",
              f"PDD p95 in {_count(pdd_red, 'window')}" if pdd_red else "",
              f"MOS in {_count(mos_red, 'call')}" if mos_red else ""]
    if report.audio is not None:
        from voxops.views.stats_audio_png import dead_air_panel, latency_panel

        slow = latency_panel(axes[2][0], report.audio, policy)
        dead_air_panel(axes[2][1], report.audio, policy)
        broken.append(f"response latency p95 in {_count(slow, 'group')}" if slow else "")
    summary = "; ".join(b for b in broken if b) or "none"
    fig.suptitle(f"{visible(report.capture)}: {report.calls} calls. SLO breaches: {summary}", **PLOT_TEXT)
    fig.tight_layout()
    return fig


def _mos_panel(ax: Axes, report: StatsReport) -> int:
    calls = [c for c in report.call_list if c.mos is not None]
    threshold = report.mos.threshold
    low = [c.mos is not None and c.mos < threshold for c in calls]
    ax.scatter([c.start for c in calls], [c.mos or 0.0 for c in calls], s=18,
               c=[RED if bad else "#639" for bad in low])
    ax.axhline(threshold, color=RED, linestyle="--", lw=1, zorder=3, label=f"MOS SLO {threshold:g}")
    ax.set_ylim(1, 4.6)
    ax.set_ylabel("MOS (E-model, worst stream of the call)")
    if calls:
        _time_axis(ax, min(c.start for c in calls), max(c.start for c in calls))
    ax.set_title(f"MOS per call over time (call start)\nred: MOS < {threshold:g} SLO: "
                 f"{sum(low)} of {len(calls)} calls with media", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    return sum(low)


def _jitter_panel(ax: Axes, jitter: tuple[str, np.ndarray] | None, policy: Policy) -> None:
    if jitter is None:
        ax.set_title("jitter: no RTP stream in this capture", fontsize=10)
        return
    label, data = jitter
    over = data[1] > policy.jitter_max_ms
    ax.plot(data[0], data[1], color="#c63", lw=1)
    if over.any():
        ax.plot(data[0][over], data[1][over], ".", color=RED, ms=3)
    ax.axhline(policy.jitter_max_ms, color=RED, linestyle="--", lw=1, zorder=3,
               label=f"jitter SLO {policy.jitter_max_ms:g} ms")
    ax.set_ylabel("interarrival jitter (ms)")
    _time_axis(ax, float(data[0].min()), float(data[0].max()))
    ax.set_title(f"jitter of the worst stream: {visible(label)}\nred: jitter > {policy.jitter_max_ms:g} ms SLO",
                 fontsize=10, **PLOT_TEXT)
    ax.legend(loc="upper right", fontsize=8)


def write_stats_png(report: StatsReport, jitter: tuple[str, np.ndarray] | None, path: Path,
                    policy: Policy) -> Path:
    """`jitter`: (label, array [2, N] of epoch seconds and jitter ms) for one stream, or None."""
    fig = stats_figure(report, jitter, policy)
    with atomic_file(path) as fh:
        fig.savefig(fh, format="png", dpi=80)
    return path
