"""SVG and PNG ladders through matplotlib (Agg), drawn from ladder_layout rows.

Every row holds one thing: a SIP arrow with its label, an SDP summary, a media lane
(a thin arrow per direction with packets, loss, jitter and MOS written on it) or a
failover note, so nothing is drawn over a message label. The left gutter gives the
call-relative time of each row; the right gutter shows how long each media lane lasts.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from voxops.analysis.ladder import Ladder
from voxops.text.safe_text import PLOT_TEXT
from voxops.views.ladder import visible_ladder
from voxops.views.ladder_layout import Lane, Picture, layout

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from voxops.views.ladder_audio import AudioTrack

COLOURS = {
    "request": "#1f5fa8",
    "provisional": "#b07d00",
    "success": "#1b7f3a",
    "redirect": "#7a3fa0",
    "failure": "#c0262d",
}
LANE_OK = "#139a9a"
LANE_TROUBLE = "#e8590c"
FAILED_HOP = "#fde2e1"
ROW_INCHES = 0.3
COLUMN_INCHES = 2.3
LEFT_INCHES = 1.25
GUTTER_INCHES = 0.14  # per media lane, right of the last host
HEADER_ROWS = 3.2


def lane_colour(lane: Lane) -> str:
    return LANE_TROUBLE if lane.trouble else LANE_OK


AUDIO_LANE_INCHES = 1.1


def ladder_figure(ladder: Ladder, audio: AudioTrack | None = None) -> Figure:
    """The ladder as a matplotlib figure; artists carry gids (sip-label, rtp-lane, ...);
    with `audio`, an energy lane per direction under the message arrows."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    ladder = visible_ladder(ladder)  # and every text artist gets PLOT_TEXT: a '$' is a dollar sign
    pic = layout(ladder)
    n_cols = max(len(pic.columns), 2)
    gutter = GUTTER_INCHES * len(pic.lanes) + (0.2 if pic.lanes else 0.0)
    width = LEFT_INCHES + COLUMN_INCHES * n_cols + gutter
    ladder_height = ROW_INCHES * (pic.rows + HEADER_ROWS + 1.5)
    lanes_height = AUDIO_LANE_INCHES * len(audio.lanes) + 0.5 if audio is not None else 0.0
    height = ladder_height + lanes_height
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0, lanes_height / height, 1, ladder_height / height))
    if audio is not None:
        _energy_lanes(fig, audio, width, height)
    left = -0.5 - LEFT_INCHES / COLUMN_INCHES
    ax.set_xlim(left, n_cols - 0.5 + gutter / COLUMN_INCHES)
    ax.set_ylim(pic.rows + 1.0, -HEADER_ROWS)
    ax.axis("off")
    _header(ax, pic, ladder, left)
    _failed_hops(ax, pic)
    for m in pic.messages:
        a = m.arrow
        colour = COLOURS[a.kind]
        _text(ax, left + 0.04, m.row, pic.when(m), fontsize=7, va="center", family="monospace",
              color="#444444", gid="time")
        if a.src == a.dst:
            _text(ax, a.src + 0.04, m.row, "\u21ba " + m.label, fontsize=8, va="center", color=colour,
                  gid="sip-label")
            continue
        ax.annotate("", xy=(a.dst, m.row), xytext=(a.src, m.row), zorder=3,
                    arrowprops=dict(arrowstyle="-|>", color=colour, lw=1.3,
                                    linestyle="--" if len(m.copies) > 1 else "-"))
        _text(ax, (a.src + a.dst) / 2, m.row - 0.1, m.label, ha="center", va="bottom", fontsize=8,
              color=colour, zorder=4, gid="sip-label")
    for n in pic.notes:
        failover = n.kind == "failover"
        _text(ax, (n.src + n.dst) / 2, n.row, n.text, va="center", ha="center", zorder=4,
              fontsize=7.5 if failover else 6.5, color=COLOURS["failure"] if failover else "#555555",
              weight="bold" if failover else "normal", gid=f"{n.kind}-note")
    for i, lane in enumerate(pic.lanes):
        _lane(ax, pic, lane, left, n_cols - 0.5 + (0.1 + (i + 0.5) * GUTTER_INCHES) / COLUMN_INCHES)
    _text(ax, left + 0.04, pic.rows + 0.5, f"Call-ID {', '.join(pic.call_ids)}", fontsize=7,
          color="#444444", va="center")
    return fig


def _energy_lanes(fig: Figure, audio: AudioTrack, width: float, height: float) -> None:
    from voxops.views.ladder_audio import draw_energy

    lane_h = AUDIO_LANE_INCHES / height
    for i, lane in enumerate(audio.lanes):
        bottom = (AUDIO_LANE_INCHES * (len(audio.lanes) - 1 - i) + 0.4) / height
        ax = fig.add_axes((LEFT_INCHES / width, bottom, 1 - (LEFT_INCHES + 0.3) / width, lane_h * 0.62))
        draw_energy(ax, audio, lane, show_gaps=lane.role == "agent")
        if i == len(audio.lanes) - 1:
            ax.set_xlabel("t+ s (the ladder's time)", fontsize=7)


def render_plot(ladder: Ladder, fmt: str, audio: AudioTrack | None = None) -> str | bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.rc_context({"svg.fonttype": "none"}):  # keep labels as searchable text
        fig = ladder_figure(ladder, audio)
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=100)
    data = buf.getvalue()
    return data.decode() if fmt == "svg" else data


def _header(ax: Axes, pic: Picture, ladder: Ladder, left: float) -> None:
    failed = {f.failed for f in pic.failovers}
    for x, name in enumerate(pic.columns):
        ax.plot([x, x], [-1.2, pic.rows], color="#999999", lw=1, zorder=1)
        bad = x in failed
        _text(ax, x, -1.8, ("\u2717 " if bad else "") + name, ha="center", va="center", fontsize=9,
              weight="bold", gid="host", color=COLOURS["failure"] if bad else "black",
              bbox=dict(boxstyle="round", fc="#fbe9e9" if bad else "#eef2f7",
                        ec=COLOURS["failure"] if bad else "#888888"))
    start = datetime.fromtimestamp(pic.t0, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    _text(ax, left + 0.04, -2.8, f"time: t+ seconds since {start} UTC (first packet of the call)",
          fontsize=7, color="#444444", va="center", gid="time-axis")
    _text(ax, left + 0.04, -1.8, "t+ s", fontsize=8, weight="bold", va="center", family="monospace")


def _failed_hops(ax: Axes, pic: Picture) -> None:
    from matplotlib.patches import Rectangle

    for f in pic.failovers:
        first, last = pic.failover_rows(f)
        lo, hi = sorted((f.src, f.failed))
        ax.add_patch(Rectangle((lo - 0.05, first - 0.62), hi - lo + 0.1, last - first + 1.12, fc=FAILED_HOP,
                               ec=COLOURS["failure"], lw=0.8, ls=":", zorder=0, gid="failed-hop"))


def _lane(ax: Axes, pic: Picture, lane: Lane, left: float, gutter_x: float) -> None:
    """A thin arrow across the hop with the stream's figures above it, its time span in
    the left gutter and a bar in the right gutter from its first to its last packet."""
    from matplotlib.patches import FancyArrow, Rectangle

    colour = lane_colour(lane)
    s = lane.span
    direction = 1 if lane.dst > lane.src else -1
    length = (lane.dst - lane.src) - direction * 0.04
    ax.add_patch(FancyArrow(lane.src + direction * 0.02, lane.row + 0.12, length, 0, width=0.07,
                            head_width=0.22, head_length=0.06, length_includes_head=True,
                            fc=colour if s else "none", ec=colour, ls="-" if s else "--", lw=0.8, zorder=2,
                            gid="rtp-lane"))
    _text(ax, (lane.src + lane.dst) / 2, lane.row - 0.02, lane.text, ha="center", va="bottom", fontsize=6.5,
          color=colour, zorder=2, gid="rtp-text")
    if s is None:
        return
    _text(ax, left + 0.04, lane.row, pic.span_time(s.start, s.end), fontsize=6.5,
          va="center", family="monospace", color=colour, gid="rtp-time")
    ax.add_patch(Rectangle((gutter_x - 0.015, lane.row - 0.3), 0.03, lane.end_row - lane.row + 0.6, fc=colour,
                           ec="none", zorder=2, gid="rtp-gutter"))


def _text(ax: Axes, x: float, y: float, text: str, **style) -> None:  # type: ignore[no-untyped-def]
    """Every label as plain text: wire text such as `$x^2$` is not matplotlib math."""
    ax.text(x, y, text, **PLOT_TEXT, **style)
