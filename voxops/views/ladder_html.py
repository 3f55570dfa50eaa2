"""One self-contained HTML page: an inline SVG ladder; clicking an arrow shows the message.

No external scripts, fonts or styles, so the file can be attached to an incident. Host
columns shrink to fit a 1280 px window (down to MIN_COL_W each); the message pane sits
below the ladder, folds away, and j/k (or the arrow keys) step through the messages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from voxops.analysis.ladder import Ladder
from voxops.text.safe_text import html_text as escape
from voxops.text.safe_text import script_json
from voxops.views.ladder import visible_ladder
from voxops.views.ladder_layout import Lane, Message, Picture, layout
from voxops.views.ladder_plot import COLOURS, FAILED_HOP, lane_colour

if TYPE_CHECKING:
    from voxops.views.ladder_audio import AudioTrack

FIT_WIDTH = 1280  # every host column fits a window this wide
MAX_COL_W = 240
MIN_COL_W = 120
ROW_H = 28
LEFT = 118  # the time gutter
TOP = 74
GUTTER_W = 8
AUDIO_MIN_W = 960  # the energy lanes are at least this wide, whatever the number of hosts  # per media lane, right of the last host

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width">
<title>SIP ladder {title}</title>
<style>
html, body {{ margin: 0; height: 100%; }}
body {{ font-family: sans-serif; display: flex; flex-direction: column; }}
#ladder {{ flex: 1 1 auto; overflow: auto; min-height: 0; }}
#pane {{ flex: 0 0 auto; border-top: 1px solid #bbb; background: #fafafa; }}
#pane button {{ font: 12px sans-serif; border: 0; background: #e8ecf2; width: 100%; text-align: left;
  padding: 4px 10px; cursor: pointer; }}
#detail {{ height: 34vh; overflow: auto; margin: 0; padding: 8px 12px; font: 12px monospace;
  white-space: pre-wrap; }}
#pane.folded #detail {{ display: none; }}
.msg {{ cursor: pointer; }}
.msg:hover text {{ font-weight: bold; }}
.msg.sel line {{ stroke-width: 4; }}
.msg.sel rect {{ fill: #fff3bf; }}
.host {{ font-weight: bold; font-size: 13px; }}
.meta {{ font: 11px monospace; fill: #555; }}
.sdp {{ font-size: 10px; fill: #666; }}
.lane {{ font-size: 10px; }}
.failover {{ font-size: 11px; font-weight: bold; fill: {failure}; }}
</style></head>
<body><div id="ladder"><svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">
<defs>{markers}</defs>
{body}
</svg>{audio}</div>
<div id="pane" class="folded"><button id="fold" type="button"><span id="fold-mark">&#9656;</span> message (click an arrow; j/k or &#8593;/&#8595; step, d folds this pane)</button>
<pre id="detail">Click an arrow to see the whole message.</pre></div>
<script type="application/json" id="messages">{messages}</script>
<script>
const messages = JSON.parse(document.getElementById("messages").textContent);
const detail = document.getElementById("detail");
const pane = document.getElementById("pane");
const drawn = Array.from(document.querySelectorAll(".msg"));
let current = -1;
function fold(folded) {{
  pane.classList.toggle("folded", folded);
  document.getElementById("fold-mark").textContent = folded ? "\\u25b8" : "\\u25be";
}}
function show(i) {{
  const m = messages[i];
  if (!m) return;
  drawn.forEach(function (s) {{ s.classList.remove("sel"); }});
  const el = document.querySelector('.msg[data-i="' + m.g + '"]');
  el.classList.add("sel");
  current = drawn.indexOf(el);
  detail.textContent = m.head + "\\n\\n" + m.text;
  fold(false);
  el.scrollIntoView({{block: "nearest"}});
}}
function step(by) {{
  const next = drawn[Math.max(0, Math.min(drawn.length - 1, current + by))];
  if (next) {{ show(Number(next.dataset.i)); history.replaceState(null, "", "#" + next.dataset.i); }}
}}
drawn.forEach(function (el) {{
  el.addEventListener("click", function () {{ show(Number(el.dataset.i)); history.replaceState(null, "", "#" + el.dataset.i); }});
}});
document.getElementById("fold").addEventListener("click", function () {{ fold(!pane.classList.contains("folded")); }});
document.addEventListener("keydown", function (e) {{
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  if (e.key === "j" || e.key === "ArrowDown") {{ step(1); e.preventDefault(); }}
  else if (e.key === "k" || e.key === "ArrowUp") {{ step(-1); e.preventDefault(); }}
  else if (e.key === "d" || e.key === "Escape") fold(!pane.classList.contains("folded") || e.key === "Escape");
}});
// ladder.html#3 opens with message 3 shown: links in incident notes point at one message
if (location.hash.length > 1) show(Number(location.hash.slice(1)));
</script></body></html>
"""


class _Grid:
    def __init__(self, pic: Picture) -> None:
        gutter = GUTTER_W * len(pic.lanes) + 24
        fit = (FIT_WIDTH - LEFT - gutter - 24) // max(len(pic.columns), 1)
        self.col_w = max(MIN_COL_W, min(MAX_COL_W, fit))
        self.width = LEFT + self.col_w * len(pic.columns) + gutter
        self.height = TOP + ROW_H * (pic.rows + 1)

    def x(self, col: int) -> int:
        return LEFT + col * self.col_w + self.col_w // 2

    @staticmethod
    def y(row: int) -> int:
        return TOP + row * ROW_H + ROW_H // 2


def _fit(text: str, width: int, px_per_char: float = 7.0) -> str:
    room = max(int(width / px_per_char), 4)
    return text if len(text) <= room else text[: room - 1] + "\u2026"


def render_html(ladder: Ladder, audio: AudioTrack | None = None) -> str:
    ladder = visible_ladder(ladder)
    pic = layout(ladder)
    grid = _Grid(pic)
    lanes = ""
    if audio is not None:
        from voxops.views.ladder_audio import energy_svg, players_html

        lanes_w = max(grid.width, AUDIO_MIN_W)
        drawn, used = energy_svg(audio, lanes_w, 0, LEFT)
        lanes = (f'<div><svg xmlns="http://www.w3.org/2000/svg" class="energy-lanes" width="{lanes_w}" '
                 f'height="{used + 8}">{drawn}</svg></div>' + players_html(audio))
    parts: list[str] = []
    failed = {f.failed for f in pic.failovers}
    for f in pic.failovers:
        first, last = pic.failover_rows(f)
        lo, hi = sorted((grid.x(f.src), grid.x(f.failed)))
        parts.append(f'<rect class="failed-hop" x="{lo - 8}" y="{grid.y(first) - ROW_H // 2}" width="{hi - lo + 16}" '
                     f'height="{(last - first + 1) * ROW_H}" fill="{FAILED_HOP}" stroke="{COLOURS["failure"]}" '
                     f'stroke-dasharray="2 3"/>')
    start = datetime.fromtimestamp(pic.t0, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    parts.append(f'<text class="meta" x="8" y="18">time: t+ seconds since {start} UTC '
                 f'(first packet of the call); Call-ID {escape(", ".join(pic.call_ids))}</text>')
    parts.append(f'<text class="meta" x="8" y="{TOP - 24}" font-weight="bold">t+ s</text>')
    for col, name in enumerate(pic.columns):
        x = grid.x(col)
        bad = col in failed
        shown = ("\u2717 " if bad else "") + _fit(name, grid.col_w - 16, 8.0)
        parts.append(f'<line x1="{x}" y1="{TOP - 12}" x2="{x}" y2="{grid.height - 10}" stroke="#999" shape-rendering="crispEdges"/>')
        parts.append(f'<text class="host" x="{x}" y="{TOP - 24}" text-anchor="middle"'
                     f'{" fill=" + chr(34) + COLOURS["failure"] + chr(34) if bad else ""}>'
                     f'<title>{escape(name)} {escape(ladder.addresses[col])}</title>{escape(shown)}</text>')
    for n in pic.notes:
        x = (grid.x(n.src) + grid.x(n.dst)) // 2
        parts.append(f'<text class="{n.kind}" x="{x}" y="{grid.y(n.row) + 4}" text-anchor="middle">'
                     f'{escape(n.text)}</text>')
    for i, lane in enumerate(pic.lanes):
        parts.append(_lane(grid, pic, lane, grid.width - 12 - GUTTER_W * (len(pic.lanes) - i)))
    markers = [
        f'<marker id="head-{kind}" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" '
        f'markerHeight="10" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        for kind, colour in COLOURS.items()
    ]
    messages: list[dict[str, object]] = [{} for _ in ladder.arrows]
    for m in pic.messages:
        parts.append(_message(grid, pic, m, messages))
    return _PAGE.format(
        title=escape(", ".join(ladder.call_ids)), width=grid.width, height=grid.height,
        failure=COLOURS["failure"], markers="".join(markers), body="\n".join(parts),
        messages=script_json(messages), audio=lanes,
    )


def _message(grid: _Grid, pic: Picture, m: Message, messages: list[dict[str, object]]) -> str:
    """The drawn arrow of a message, and the pane text of each of its copies."""
    a = m.arrow
    y = grid.y(m.row)
    colour = COLOURS[a.kind]
    x1, x2 = grid.x(a.src), grid.x(a.dst)
    if x1 == x2:
        x2 = x1 + 40
    sent = ""
    if len(m.copies) > 1:
        sent = f"\nsent {len(m.copies)} times: " + ", ".join(pic.rel(c.ts) for c in m.copies)
    for c in m.copies:
        stamp = datetime.fromtimestamp(c.ts, UTC).strftime("%H:%M:%S.%f")[:-3]
        messages[c.index] = {
            "g": a.index,
            "head": f"frame {c.frame}  {pic.rel(c.ts)} ({stamp} UTC)  {c.src_addr} -> {c.dst_addr} ({c.transport})"
                    + ("  [retransmission]" if c.retransmission else "") + sent,
            "text": c.text,
        }
    dash = ' stroke-dasharray="6 4"' if len(m.copies) > 1 else ""
    label = _fit(m.label, abs(x2 - x1) + grid.col_w - 20)
    return (
        f'<g class="msg" data-i="{a.index}"><title>frame {a.frame}: {escape(a.src_addr)} -&gt; '
        f'{escape(a.dst_addr)} ({a.transport}) {escape(a.label)}</title>'
        f'<rect x="{min(x1, x2)}" y="{y - 17}" width="{abs(x2 - x1)}" height="22" fill="transparent"/>'
        f'<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{colour}" stroke-width="2.5"{dash} '
        f'marker-end="url(#head-{a.kind})"/>'
        f'<text x="{(x1 + x2) // 2}" y="{y - 5}" text-anchor="middle" fill="{colour}" font-size="12">'
        f'{escape(label)}</text></g>'
        f'<text class="meta" x="8" y="{y + 4}">{pic.when(m)}</text>'
    )


def _lane(grid: _Grid, pic: Picture, lane: Lane, gutter_x: int) -> str:
    colour = lane_colour(lane)
    s = lane.span
    x1, x2 = grid.x(lane.src), grid.x(lane.dst)
    y = grid.y(lane.row)
    sign = 1 if x2 > x1 else -1
    tip = x2 - sign * 2
    base = tip - sign * 9
    fill = colour if s else "none"
    dash = "" if s else ' stroke-dasharray="4 3"'
    title = "no RTP seen" if s is None else (
        f"{escape(s.src_addr)} -&gt; {escape(s.dst_addr)} ssrc {s.ssrc:#010x} "
        f"{pic.rel(s.start)} to {pic.rel(s.end)}")
    out = (
        f'<g class="lane"><title>{title}</title>'
        f'<path d="M{x1 + sign * 2},{y + 3} L{base},{y + 3} L{base},{y + 1} L{tip},{y + 6} L{base},{y + 11} '
        f'L{base},{y + 9} L{x1 + sign * 2},{y + 9} z" fill="{fill}" stroke="{colour}"{dash}/>'
        f'<text x="{(x1 + x2) // 2}" y="{y - 1}" text-anchor="middle" fill="{colour}">{escape(lane.text)}</text></g>'
    )
    if s is not None:
        y_end = grid.y(lane.end_row)
        out += (f'<text class="meta" x="8" y="{y + 4}" fill="{colour}">{pic.span_time(s.start, s.end)}</text>'
                f'<rect class="lane-time" x="{gutter_x}" y="{y - ROW_H // 2 + 2}" width="4" '
                f'height="{y_end - y + ROW_H - 4}" fill="{colour}"><title>{title}</title></rect>')
    return out
