"""SVG and PNG ladders through matplotlib (Agg): one row per message, RTP as shaded spans."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from voxops.analysis.ladder import Arrow, Ladder, Span
from voxops.views.ladder import visible_ladder
from voxops.views.safe_text import PLOT_TEXT

COLOURS = {
    "request": "#1f5fa8",
    "provisional": "#b07d00",
    "success": "#1b7f3a",
    "redirect": "#7a3fa0",
    "failure": "#c0262d",
}
ROW_INCHES = 0.34
COLUMN_INCHES = 2.4
LEFT_INCHES = 2.0


def layout_rows(ladder: Ladder) -> tuple[list[tuple[int, Arrow]], dict[int, tuple[int, int]]]:
    """Row of each arrow, and (start row, end row) of each span (index in ladder.spans)."""
    arrows: list[tuple[int, Arrow]] = []
    spans: dict[int, list[int]] = {}
    span_ids = {id(s): i for i, s in enumerate(ladder.spans)}
    row = 0
    for _ts, kind, item in ladder.events():
        if isinstance(item, Arrow):
            arrows.append((row, item))
            row += 2 if item.sdp else 1
        else:
            spans.setdefault(span_ids[id(item)], []).append(row)
            if kind == "rtp-start":
                row += 1
    return arrows, {k: (v[0], v[-1]) for k, v in spans.items()}


def render_plot(ladder: Ladder, fmt: str) -> str | bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    plt.rcParams["svg.fonttype"] = "none"  # keep labels as searchable text
    ladder = visible_ladder(ladder)  # and every text artist gets PLOT_TEXT: a '$' is a dollar sign
    arrows, span_rows = layout_rows(ladder)
    n_rows = max([r for r, _ in arrows] + [e for _, e in span_rows.values()] + [1]) + 1
    n_cols = len(ladder.columns)
    width = LEFT_INCHES + COLUMN_INCHES * max(n_cols, 2)
    height = ROW_INCHES * (n_rows + 3)
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    left = -LEFT_INCHES / COLUMN_INCHES
    ax.set_xlim(left, max(n_cols, 2) - 0.5)
    ax.set_ylim(n_rows + 0.5, -2.5)
    ax.axis("off")
    for x, name in enumerate(ladder.columns):
        ax.plot([x, x], [-1, n_rows], color="#888888", lw=1, zorder=1)
        _text(ax, x, -1.6, name, ha="center", va="center", fontsize=9, weight="bold",
                bbox=dict(boxstyle="round", fc="#eef2f7", ec="#888888"))
    for i, span in enumerate(ladder.spans):
        start, end = span_rows[i]
        _draw_span(ax, Rectangle, span, start, end, i)
    for row, a in arrows:
        colour = COLOURS[a.kind]
        stamp = datetime.fromtimestamp(a.ts, UTC).strftime("%H:%M:%S.%f")[:-3]
        _text(ax, left + 0.05, row, f"{stamp}  +{a.delta_ms:.1f} ms", fontsize=7,
                va="center", family="monospace", color="#444444")
        label = a.label + ("  (retransmission)" if a.retransmission else "")
        if a.src == a.dst:
            _text(ax, a.src + 0.05, row, "\u21ba " + label, fontsize=8, va="center", color=colour)
        else:
            ax.annotate("", xy=(a.dst, row), xytext=(a.src, row), zorder=3,
                        arrowprops=dict(arrowstyle="-|>", color=colour, lw=1.3,
                                        linestyle="--" if a.retransmission else "-"))
            _text(ax, (a.src + a.dst) / 2, row - 0.12, label, ha="center", va="bottom",
                    fontsize=8, color=colour, zorder=4)
        if a.sdp:
            _text(ax, min(a.src, a.dst) + 0.05, row + 0.55, "SDP " + a.sdp, fontsize=6.5,
                    color="#555555", va="center", zorder=4)
    _text(ax, left + 0.05, n_rows, f"Call-ID {', '.join(ladder.call_ids)}", fontsize=7, color="#444444")
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=100)
    plt.close(fig)
    data = buf.getvalue()
    return data.decode() if fmt == "svg" else data


def _text(ax, x: float, y: float, text: str, **style) -> None:  # type: ignore[no-untyped-def]
    """Every label as plain text: wire text such as `$x^2$` is not matplotlib math."""
    ax.text(x, y, text, **PLOT_TEXT, **style)


def _draw_span(ax, rectangle, span: Span, start: int, end: int, i: int) -> None:  # type: ignore[no-untyped-def]
    lo, hi = sorted((span.src, span.dst))
    # two directions of one call sit side by side instead of on top of each other
    offset = 0.08 if span.src < span.dst else -0.08
    x0 = lo + 0.1 + (offset if offset > 0 else 0)
    w = max(hi - lo - 0.28, 0.1)
    ax.add_patch(rectangle((x0, start - 0.3), w, max(end - start, 0.6), fc="#4a7bd0", alpha=0.12,
                           ec="#4a7bd0", lw=0.8, zorder=0))
    arrow = "\u2192" if span.src < span.dst else "\u2190"
    _text(ax, lo + 0.15 + (offset if offset > 0 else 0), start, f"{arrow} {span.label}",
            fontsize=6.5, color="#2a4f9a", va="center", zorder=2)
