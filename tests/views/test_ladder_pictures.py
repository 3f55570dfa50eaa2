"""The picture ladders show the call: nothing of the media covers a SIP label, retransmissions
fold, SDP shows once per transaction, a failed hop is marked, the HTML fits 1280 px."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from tests.views.pictures import chromium, scenario_ladder
from voxops.analysis.ladder import Ladder
from voxops.views.ladder import LadderFormat, render_ladder
from voxops.views.ladder_layout import failovers_from_arrows, layout
from voxops.views.ladder_plot import LANE_OK, LANE_TROUBLE, ladder_figure

SCENES = ("clean-call", "failover-call", "one-way-audio")


@pytest.fixture(scope="module")
def ladders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ladder]:
    where = tmp_path_factory.mktemp("scenes")
    return {name: scenario_ladder(name, where) for name in SCENES}


def _is_sip_label(text: str, labels: set[str]) -> bool:
    return any(text == label or text.startswith(label + " ") for label in labels)


def _drawn_figure(ladder: Ladder, fmt: LadderFormat, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The figure `voxops ladder -f png|svg` saves, caught at savefig."""
    from matplotlib.figure import Figure

    seen = []
    original = Figure.savefig

    def record(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    render_ladder(ladder, fmt)
    return seen[-1]


def _label_boxes(fig, ladder: Ladder, dpi: float = 100.0) -> list:  # type: ignore[no-untyped-def]
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig.set_dpi(dpi)
    renderer = FigureCanvasAgg(fig).get_renderer()
    labels = {a.label for a in ladder.arrows}
    return [(t.get_text(), t.get_window_extent(renderer)) for t in fig.axes[0].texts
            if _is_sip_label(t.get_text(), labels)], renderer


@pytest.mark.parametrize("fmt", [LadderFormat.png, LadderFormat.svg])
@pytest.mark.parametrize("name", SCENES)
def test_no_media_drawing_overlaps_a_sip_label(ladders, name, fmt, monkeypatch):
    ladder = ladders[name]
    fig = _drawn_figure(ladder, fmt, monkeypatch)
    boxes, renderer = _label_boxes(fig, ladder)
    assert len(boxes) >= len(layout(ladder).messages)
    ax = fig.axes[0]
    media = [p for p in ax.patches if not (p.get_gid() or "").startswith("failed-hop")]
    media += [t for t in ax.texts if "RTP" in t.get_text()]
    assert media, "the call's RTP is drawn"
    hits = [(text, m) for text, box in boxes for m in media
            if box.padded(-1).overlaps(m.get_window_extent(renderer))]
    assert not hits


def _near(img: np.ndarray, hex_colour: str, tolerance: int = 30) -> np.ndarray:
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return np.abs(img[:, :, :3].astype(np.int16) - rgb).max(axis=2) <= tolerance


def _lane_pixels_in_labels(img: np.ndarray, boxes: list) -> dict[str, int]:  # type: ignore[type-arg]
    height = img.shape[0]
    found = {}
    for text, box in boxes:
        x0, x1 = int(box.x0), int(np.ceil(box.x1))
        y0, y1 = int(height - box.y1), int(np.ceil(height - box.y0))
        region = img[max(y0, 0):y1, max(x0, 0):x1]
        found[text] = int((_near(region, LANE_OK) | _near(region, LANE_TROUBLE)).sum())
    return found


@pytest.mark.parametrize("name", SCENES)
def test_png_pixels_of_media_lanes_stay_out_of_sip_labels(ladders, name, tmp_path):
    import matplotlib.image as mpimg

    ladder = ladders[name]
    png = tmp_path / "ladder.png"
    png.write_bytes(render_ladder(ladder, LadderFormat.png))
    img = (mpimg.imread(png) * 255).round().astype(np.uint8)
    boxes, _ = _label_boxes(ladder_figure(ladder), ladder)
    assert (_near(img, LANE_OK) | _near(img, LANE_TROUBLE)).sum() > 200  # the lanes are there
    assert not any(_lane_pixels_in_labels(img, boxes).values())


def test_svg_in_chromium_keeps_media_out_of_sip_labels(ladders, tmp_path):
    import matplotlib.image as mpimg

    ladder = ladders["failover-call"]
    svg = tmp_path / "ladder.svg"
    svg.write_text(render_ladder(ladder, LadderFormat.svg))
    fig = ladder_figure(ladder)
    boxes, _ = _label_boxes(fig, ladder, dpi=96.0)  # Chromium draws 1 pt as 96/72 px
    width, height = (fig.get_size_inches() * 96).round().astype(int)
    shot = tmp_path / "svg.png"
    chromium(f"--screenshot={shot}", f"--window-size={width},{height}", svg.as_uri(), tmp_path=tmp_path)
    img = (mpimg.imread(shot) * 255).round().astype(np.uint8)
    assert _near(img, LANE_OK).sum() > 200
    assert not any(_lane_pixels_in_labels(img, boxes).values())


def test_failover_hop_retransmissions_and_sdp(ladders):
    ladder = ladders["failover-call"]
    (f,) = failovers_from_arrows(ladder)
    names = ladder.columns
    assert (names[f.src], names[f.failed], names[f.next_host]) == ("sbc-1", "carrier-a", "carrier-b")
    assert f.reason == "503 Service Unavailable"
    pic = layout(ladder)
    labels = [m.label for m in pic.messages]
    assert labels.count("INVITE x3") == 1  # sent three times to carrier-a: one arrow
    assert len(pic.messages) == len(ladder.arrows) - 2
    offers = [n for n in pic.notes if n.kind == "sdp" and "127.0.9.21:40000" in n.text]
    assert len(offers) == 3  # agent -> sbc, sbc -> carrier-a, sbc -> carrier-b: once per transaction
    (note,) = [n for n in pic.notes if n.kind == "failover"]
    assert note.text.endswith("carrier-a failed: 503 Service Unavailable; failover to carrier-b")
    first, last = pic.failover_rows(f)
    assert first < last == note.row
    mermaid = render_ladder(ladder, LadderFormat.mermaid)
    assert mermaid.count("INVITE x3") == 1 and "failover to carrier-b" in mermaid
    assert re.search(r"H\d-\)H\d: RTP PCMU ssrc 0x[0-9a-f]{8} \d+ pkts .* loss 4\.0#37; .* t\+2\.\d{3} s to t\+4\.\d{3} s", mermaid)


def test_one_way_audio_draws_the_missing_direction(ladders):
    pic = layout(ladders["one-way-audio"])
    seen = [(ln.src, ln.dst) for ln in pic.lanes if ln.span is not None]
    missing = [(ln.src, ln.dst) for ln in pic.lanes if ln.span is None]
    assert len(seen) == 1 and missing == [seen[0][::-1]]
    assert [ln.trouble for ln in pic.lanes] == [False, True]


def test_clean_call_lanes_carry_their_figures(ladders):
    pic = layout(ladders["clean-call"])
    assert len(pic.lanes) == 2 and not any(ln.trouble for ln in pic.lanes)
    for lane in pic.lanes:
        assert re.fullmatch(r"RTP PCMU \u00b7 100 pkts \u00b7 loss 0\.0% \u00b7 jitter \d+\.\d ms \u00b7 MOS 4\.\d\d",
                            lane.text), lane.text
    assert pic.rel(pic.t0 + 1.5) == "t+1.500 s"


MEASURE = """<script>
(function () {
  const box = function (el) { const r = el.getBoundingClientRect(); return [r.left, r.right, r.top, r.bottom]; };
  const ladder = document.getElementById("ladder");
  const out = {width: window.innerWidth, height: window.innerHeight,
    hosts: Array.from(document.querySelectorAll("text.host")).map(box),
    scroll: [ladder.scrollWidth, ladder.clientWidth], view: box(ladder), folded: [], heads: []};
  out.folded.push(document.getElementById("pane").classList.contains("folded"));
  ["j", "j", "ArrowDown", "k"].forEach(function (key) {
    document.dispatchEvent(new KeyboardEvent("keydown", {key: key}));
    out.heads.push(document.getElementById("detail").textContent.split("\\n")[0]);
  });
  out.folded.push(document.getElementById("pane").classList.contains("folded"));
  document.dispatchEvent(new KeyboardEvent("keydown", {key: "d"}));
  out.folded.push(document.getElementById("pane").classList.contains("folded"));
  const pre = document.createElement("pre");
  pre.id = "measured";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script></body>"""


def test_html_four_hosts_fit_1280_px_and_keys_step_through_messages(ladders, tmp_path: Path):
    ladder = ladders["failover-call"]
    assert len(ladder.columns) == 4
    page = tmp_path / "ladder.html"
    page.write_text(render_ladder(ladder, LadderFormat.html).replace("</body>", MEASURE))
    dom = chromium("--window-size=1280,800", "--dump-dom", page.as_uri(), tmp_path=tmp_path).stdout.decode()
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    out = json.loads(found.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
    assert out["width"] <= 1280 and len(out["hosts"]) == 4
    view_left, view_right, view_top, view_bottom = out["view"]
    for left, right, top, bottom in out["hosts"]:  # inside the ladder's visible box
        assert view_left <= left and right <= min(view_right, out["width"])
        assert view_top <= top and bottom <= min(view_bottom, out["height"])
    assert out["scroll"][0] <= out["scroll"][1]  # no sideways scrolling
    assert out["folded"] == [True, False, True]
    # j, j, down, k: the first three messages in order, then back to the second
    assert out["heads"][0].startswith("frame 1  t+0.000 s (")
    frames = [int(re.match(r"frame (\d+) ", h).group(1)) for h in out["heads"]]
    assert frames[0] < frames[1] < frames[2] and frames[3] == frames[1]


def test_html_screenshot_at_1280_shows_every_host(ladders, tmp_path: Path):
    import matplotlib.image as mpimg

    page = tmp_path / "ladder.html"
    page.write_text(render_ladder(ladders["failover-call"], LadderFormat.html))
    shot = tmp_path / "shot.png"
    chromium(f"--screenshot={shot}", "--window-size=1280,800", page.as_uri(), tmp_path=tmp_path)
    img = (mpimg.imread(shot) * 255).round().astype(np.uint8)
    assert img.shape[1] == 1280
    # four grey lifelines, the last one inside the window
    lifeline = _near(img[200:600], "#999999", tolerance=8).sum(axis=0) > 300
    columns = np.flatnonzero(lifeline)
    groups = np.split(columns, np.flatnonzero(np.diff(columns) > 3) + 1)
    assert len([g for g in groups if len(g)]) == 4


def test_a_hostile_reason_phrase_in_a_failover_note_stays_text():
    from tests.support.hostile import FORGED, HEADERS, TITLE
    from tests.support.ladder_checks import check_views, html_messages, ladder_of

    reason = f"503 {FORGED} <img src=x onerror=alert(1)> $x^2$ {TITLE}"
    invite = "INVITE sip:x@h SIP/2.0\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n" + HEADERS
    answer = f"SIP/2.0 {reason}\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n"
    ladder = ladder_of(["sbc-1", "carrier-a", f"carrier-b{TITLE}"], "c",
                       [(0, 1, "INVITE", None, invite), (1, 0, reason, None, answer),
                        (0, 2, "INVITE", None, invite.replace("CSeq: 1", "CSeq: 2"))], "PCMU")
    for a in ladder.arrows:
        a.retransmission = False
    (failover,) = failovers_from_arrows(ladder)
    assert failover.reason == reason and failover.next_host == 2
    check_views(ladder, with_svg=True)  # one Mermaid arrow per message: the note forges none
    page = render_ladder(ladder, LadderFormat.html)
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert len(html_messages(page)) == 3
    mermaid = render_ladder(ladder, LadderFormat.mermaid)
    (note,) = [ln for ln in mermaid.splitlines() if "failed:" in ln]
    assert note.startswith("    Note over H0,H1: ") and "failover to carrier-b" in note


def test_a_hop_that_never_answers_is_marked_without_a_next_host(tmp_path):
    ladder = scenario_ladder("trunk-down", tmp_path)
    (f,) = failovers_from_arrows(ladder)
    assert (ladder.columns[f.src], ladder.columns[f.failed], f.next_host) == ("sbc-1", "carrier-a", None)
    assert f.reason == "no answer to 4 INVITEs"
    pic = layout(ladder)
    assert "INVITE x4" in [m.label for m in pic.messages]
    assert [n.text for n in pic.notes if n.kind == "failover"] == [
        "\u2717 hop sbc-1 \u2192 carrier-a failed: no answer to 4 INVITEs"]


def test_media_one_way_by_sdp_is_not_drawn_as_missing(ladders):
    import copy

    ladder = copy.deepcopy(ladders["one-way-audio"])
    for a in ladder.arrows:
        if a.sdp and a.label == "200 OK":
            a.sdp = a.sdp.replace("sendrecv", "sendonly")
    assert [ln.span is None for ln in layout(ladder).lanes] == [False]


def _msg(first: str, cseq: str) -> str:
    return f"{first}\r\nCall-ID: c\r\nCSeq: {cseq}\r\n\r\n"


def _sip_ladder(columns: list[str], rows: list[tuple[int, int, str, str]]) -> Ladder:
    """A one-call ladder from (src, dst, label, CSeq) rows; no row is a retransmission."""
    from tests.support.ladder_checks import ladder_of

    def first_line(label: str) -> str:
        return f"SIP/2.0 {label}" if label[0].isdigit() else f"{label} sip:x@h SIP/2.0"

    ladder = ladder_of(columns, "c", [(src, dst, label, None, _msg(first_line(label), cseq))
                                      for src, dst, label, cseq in rows], None)
    for a in ladder.arrows:
        a.retransmission = False
    return ladder


def test_a_cancelled_branch_followed_by_another_host_is_a_failover():
    ladder = _sip_ladder(["sbc-1", "carrier-a", "carrier-b"], [
        (0, 1, "INVITE", "1 INVITE"), (1, 0, "100 Trying", "1 INVITE"), (0, 1, "CANCEL", "1 CANCEL"),
        (1, 0, "487 Request Terminated", "1 INVITE"), (0, 2, "INVITE", "2 INVITE"), (2, 0, "200 OK", "2 INVITE"),
    ])
    (f,) = failovers_from_arrows(ladder)
    assert (f.failed, f.next_host, f.reason, f.last_arrow) == (1, 2, "cancelled", 2)
    # answered hops and endpoint refusals (486) are not failed hops
    ladder.arrows[3].label = "486 Busy Here"
    ladder.arrows[3].text = _msg("SIP/2.0 486 Busy Here", "1 INVITE")
    assert failovers_from_arrows(ladder) == []


def test_parallel_forking_is_not_a_failover():
    # both branches at once; b answers, a is cancelled: nothing failed
    ladder = _sip_ladder(["proxy", "a", "b"], [
        (0, 1, "INVITE", "1 INVITE"), (0, 2, "INVITE", "1 INVITE"), (2, 0, "200 OK", "1 INVITE"),
        (0, 1, "CANCEL", "1 CANCEL"), (1, 0, "487 Request Terminated", "1 INVITE"),
    ])
    assert failovers_from_arrows(ladder) == []
    del ladder.arrows[3:]  # a never answers, b answered within T1 of the fork
    assert failovers_from_arrows(ladder) == []
