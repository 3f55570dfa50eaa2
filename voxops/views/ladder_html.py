"""One self-contained HTML page: an inline SVG ladder; clicking an arrow shows the message.

No external scripts, fonts or styles, so the file can be attached to an incident.
"""

from __future__ import annotations

from datetime import UTC, datetime

from voxops.analysis.ladder import Ladder
from voxops.views.ladder import visible_ladder
from voxops.views.ladder_plot import COLOURS, layout_rows
from voxops.views.safe_text import html_text as escape
from voxops.views.safe_text import script_json

COL_W = 220
ROW_H = 30
LEFT = 190
TOP = 60

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>SIP ladder {title}</title>
<style>
body {{ font-family: sans-serif; margin: 0; display: flex; }}
#ladder {{ flex: 1 1 auto; overflow: auto; height: 100vh; }}
#detail {{ flex: 0 0 38%; height: 100vh; overflow: auto; border-left: 1px solid #ccc;
  background: #fafafa; margin: 0; padding: 12px; font: 12px monospace; white-space: pre-wrap; }}
.msg {{ cursor: pointer; }}
.msg:hover text {{ font-weight: bold; }}
.msg.sel line {{ stroke-width: 4; }}
.host {{ font-weight: bold; font-size: 13px; }}
.meta {{ font: 11px monospace; fill: #555; }}
.sdp {{ font-size: 10px; fill: #666; }}
</style></head>
<body><div id="ladder"><svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">
<defs>{markers}</defs>
{body}
</svg></div><pre id="detail">Click an arrow to see the whole message.</pre>
<script type="application/json" id="messages">{messages}</script>
<script>
const messages = JSON.parse(document.getElementById("messages").textContent);
const detail = document.getElementById("detail");
function show(i) {{
  const m = messages[i];
  if (!m) return;
  document.querySelectorAll(".msg.sel").forEach(function (s) {{ s.classList.remove("sel"); }});
  document.querySelector('.msg[data-i="' + i + '"]').classList.add("sel");
  detail.textContent = m.head + "\\n\\n" + m.text;
}}
document.querySelectorAll(".msg").forEach(function (el) {{
  el.addEventListener("click", function () {{ show(Number(el.dataset.i)); history.replaceState(null, "", "#" + el.dataset.i); }});
}});
// ladder.html#3 opens with message 3 shown: links in incident notes point at one message
if (location.hash.length > 1) show(Number(location.hash.slice(1)));
</script></body></html>
"""


def _x(col: int) -> int:
    return LEFT + col * COL_W + COL_W // 2


def render_html(ladder: Ladder) -> str:
    ladder = visible_ladder(ladder)
    parts: list[str] = []
    arrow_rows, span_rows = layout_rows(ladder)
    rows = max([r + (2 if a.sdp else 1) for r, a in arrow_rows] + [e for _, e in span_rows.values()] + [1])
    spans_drawn = [(i, start, end) for i, (start, end) in span_rows.items()]
    width = LEFT + COL_W * len(ladder.columns) + 40
    height = TOP + ROW_H * (rows + 2)
    for col, name in enumerate(ladder.columns):
        x = _x(col)
        parts.append(f'<line x1="{x}" y1="{TOP - 10}" x2="{x}" y2="{height - 20}" stroke="#999"/>')
        parts.append(f'<text class="host" x="{x}" y="{TOP - 24}" text-anchor="middle">{escape(name)}</text>')
    for i, start, end in spans_drawn:
        s = ladder.spans[i]
        lo, hi = sorted((_x(s.src), _x(s.dst)))
        shift = 6 if s.src < s.dst else -6
        y0, y1 = TOP + start * ROW_H, TOP + max(end, start + 1) * ROW_H
        parts.append(
            f'<rect x="{lo + 14 + shift}" y="{y0 - 10}" width="{max(hi - lo - 28, 10)}" height="{y1 - y0}" '
            f'fill="#4a7bd0" fill-opacity="0.12" stroke="#4a7bd0"><title>{escape(s.label)} '
            f'{escape(s.src_addr)} -&gt; {escape(s.dst_addr)}</title></rect>'
        )
        arrow = "\u2192" if s.src < s.dst else "\u2190"
        parts.append(f'<text class="sdp" x="{lo + 20 + shift}" y="{y0 + 4}" fill="#2a4f9a">'
                     f'{arrow} {escape(s.label)}</text>')
    messages: list[dict[str, str]] = []
    markers = []
    for kind, colour in COLOURS.items():
        markers.append(
            f'<marker id="head-{kind}" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" '
            f'markerHeight="10" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        )
    for row, a in arrow_rows:
        y = TOP + row * ROW_H
        colour = COLOURS[a.kind]
        x1, x2 = _x(a.src), _x(a.dst)
        if x1 == x2:
            x2 = x1 + 40
        stamp = datetime.fromtimestamp(a.ts, UTC).strftime("%H:%M:%S.%f")[:-3]
        label = a.label + (" (retransmission)" if a.retransmission else "")
        dash = ' stroke-dasharray="6 4"' if a.retransmission else ""
        parts.append(
            f'<g class="msg" data-i="{len(messages)}"><title>frame {a.frame}: {escape(a.src_addr)} -&gt; '
            f'{escape(a.dst_addr)} ({a.transport})</title>'
            f'<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{colour}" stroke-width="2.5"{dash} '
            f'marker-end="url(#head-{a.kind})"/>'
            f'<rect x="{min(x1, x2)}" y="{y - 16}" width="{abs(x2 - x1)}" height="20" fill="transparent"/>'
            f'<text x="{(x1 + x2) // 2}" y="{y - 5}" text-anchor="middle" fill="{colour}" font-size="12">'
            f'{escape(label)}</text></g>'
        )
        parts.append(f'<text class="meta" x="8" y="{y + 4}">{stamp} +{a.delta_ms:.1f}ms</text>')
        if a.sdp:
            parts.append(f'<text class="sdp" x="{min(x1, x2) + 6}" y="{y + 18}">SDP {escape(a.sdp)}</text>')
        messages.append({
            "head": f"frame {a.frame}  {stamp} UTC  {a.src_addr} -> {a.dst_addr} ({a.transport})"
                    + ("  [retransmission]" if a.retransmission else ""),
            "text": a.text,
        })
    data = script_json(messages)
    return _PAGE.format(
        title=escape(", ".join(ladder.call_ids)), width=width, height=height,
        markers="".join(markers), body="\n".join(parts), messages=data,
    )
