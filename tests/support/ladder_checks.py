"""What every ladder view must hold for any text a peer sends; shared by the tests and
benchmarks/fuzz_views.py.

  text     no control, format or separator character but LF (and our own SGR colours)
  Mermaid  one arrow statement per message and RTP stream, after CR/LF/';' splitting
  HTML     the JSON script ends where it should and parses; the viewer script follows
  SVG      parses as XML; no raw control character
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from voxops.analysis.ladder import Arrow, Ladder, Span
from voxops.text.safe_text import UNSAFE
from voxops.views.ladder import LadderFormat, render_ladder, visible_ladder
from voxops.views.ladder_layout import layout

SGR = re.compile(r"\x1b\[\d+m")
ENTITY = re.compile(r"#\w+;")
MERMAID_ARROW = re.compile(r"\s*\w+\s*-{1,2}(>>|>|x|\))\s*\w+\s*:")
DATA_SCRIPT = re.compile(r'<script type="application/json" id="messages">(.*?)</script>\s*<script>\s*const messages', re.S)
SCRIPT_BREAK = re.compile(r"<!--|</?script|-->", re.I)


def raw_left(text: str, keep: str = "\n") -> list[str]:
    return [c for c in UNSAFE.findall(text) if c not in keep]


def mermaid_arrows(text: str) -> list[str]:
    """Statements Mermaid reads as arrows: it ends lines at CR, LF or ';' (after entity codes)."""
    statements = re.split(r"\r\n?|\n|;", ENTITY.sub("", text))
    return [s for s in statements if MERMAID_ARROW.match(s)]


def html_messages(page: str) -> list[dict[str, str]]:
    """The viewer's message data, checked to end its script element where the page means it to."""
    found = DATA_SCRIPT.search(page)
    assert found is not None, page
    assert not SCRIPT_BREAK.search(found.group(1)), found.group(1)
    data = json.loads(found.group(1))
    assert isinstance(data, list)
    return data


def check_views(ladder: Ladder, *, with_svg: bool) -> None:
    for colour in (False, True):
        text = render_ladder(ladder, LadderFormat.text, colour=colour)
        assert isinstance(text, str) and not raw_left(SGR.sub("", text)), text
    mermaid = render_ladder(ladder, LadderFormat.mermaid)
    assert isinstance(mermaid, str) and not raw_left(mermaid), mermaid
    # one arrow per drawn message (retransmissions folded) and per RTP stream
    picture = layout(visible_ladder(ladder))
    assert len(mermaid_arrows(mermaid)) == len(picture.messages) + len(ladder.spans), mermaid
    page = render_ladder(ladder, LadderFormat.html)
    assert isinstance(page, str) and not raw_left(page, keep="\n\t")
    assert len(html_messages(page)) == len(ladder.arrows)
    if with_svg:
        svg = render_ladder(ladder, LadderFormat.svg)
        assert isinstance(svg, str) and not raw_left(svg)
        ET.fromstring(svg)


def ladder_of(columns: list[str], call_id: str, arrows: list[tuple[int, int, str, str | None, str]],
              codec: str | None) -> Ladder:
    """A ladder straight from strings: (src, dst, label, sdp, text) per arrow, a span when `codec`."""
    n = len(columns)
    ladder = Ladder(columns=columns, addresses=[f"10.0.0.{i}" for i in range(n)], call_ids=[call_id])
    for i, (src, dst, label, sdp, text) in enumerate(arrows):
        ladder.arrows.append(Arrow(
            index=i, frame=i + 1, ts=1.0 + i * 0.1, delta_ms=100.0 * (i > 0), src=src % n, dst=dst % n,
            label=label, call_id=call_id, leg=0, retransmission=i % 2 == 1, sdp=sdp, transport="udp",
            src_addr=label[:20], dst_addr=text[:20], text=text,
        ))
    if n > 1 and codec is not None:
        ladder.spans.append(Span(src=0, dst=1, start=1.05, end=1.25, packets=10, payload_type=96,
                                 codec=codec, ssrc=0x1234, src_addr=codec[:20], dst_addr="10.0.0.1:4000"))
    return ladder
