"""PNG of `voxops stats`: ASR per window, PDD histogram, MOS per call, jitter over time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from voxops.output_file import atomic_file
from voxops.views.safe_text import PLOT_TEXT, visible

if TYPE_CHECKING:
    import numpy as np

    from voxops.analysis.trunkstats import StatsReport


def write_stats_png(report: StatsReport, jitter: tuple[str, np.ndarray] | None, path: Path) -> Path:
    """`jitter`: (label, array [2, N] of epoch seconds and jitter ms) for one stream, or None."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    ax = axes[0][0]
    starts = [w.start for w in report.windows]
    asr = [w.ratios.asr if w.ratios.asr is not None else float("nan") for w in report.windows]
    ax.bar(range(len(starts)), asr, color=["#c33" if w.breaches else "#3a3" for w in report.windows])
    ax.set_title(f"ASR per {report.window_s} s window (%), red: below the SLO")
    ax.set_ylim(0, 100)
    step = max(1, len(starts) // 8)
    ax.set_xticks(range(0, len(starts), step))
    ax.set_xticklabels([datetime.fromtimestamp(t, UTC).strftime("%H:%M") for t in starts[::step]])
    ax.set_xlabel("window start (UTC)")

    ax = axes[0][1]
    pdds = [c.pdd_ms for c in report.call_list if c.pdd_ms is not None]
    ax.hist(pdds, bins=min(30, max(5, len(pdds))), color="#36c")
    ax.set_title("PDD (ms)")

    ax = axes[1][0]
    mos = [c.mos for c in report.call_list if c.mos is not None]
    ax.plot(range(len(mos)), mos, "o", color="#639")
    ax.set_xlabel("call")
    ax.axhline(report.mos.threshold, color="#c33", linestyle="--")
    ax.set_ylim(1, 4.6)
    ax.set_title("MOS per call (E-model)")

    ax = axes[1][1]
    if jitter is not None:
        label, data = jitter
        ax.plot(data[0] - data[0][0], data[1], color="#c63")
        ax.set_title(f"jitter over time: {visible(label)}", **PLOT_TEXT)
        ax.set_xlabel("s")
        ax.set_ylabel("ms")
    else:
        ax.set_title("jitter over time: no RTP stream")
    fig.tight_layout()
    try:
        with atomic_file(path) as fh:
            fig.savefig(fh, format="png", dpi=80)
    finally:
        plt.close(fig)
    return path
