"""Every view of every capture command over a capture full of terminal escapes and markup.

Text goes to terminals: no raw control, format or separator character may reach stdout
or stderr. JSON keeps the values (escaped by JSON). Each drawn format stays well formed:
the SVG is XML, the HTML viewer's script still runs, `$` is a dollar sign, and Mermaid
draws one arrow per message.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from tests.support.hostile import (
    BIDI,
    CLEAR,
    CODEC,
    CONNECTION,
    HOSTILE_ID,
    MATH,
    MESSAGES,
    SECOND_ID,
    raw_controls,
    write_capture,
)
from tests.support.ladder_checks import html_messages, mermaid_arrows
from tests.views.test_ladder import chromium

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def pcap(tmp_path_factory):
    return write_capture(tmp_path_factory.mktemp("hostile") / "hostile.pcap")


def run(cli, *args, raw_check: bool = True):  # type: ignore[no-untyped-def]
    """stdout and stderr of a command that succeeded (checked for raw characters unless told)."""
    code, out, err = cli(*args)
    assert code in (0, 1), (code, err)
    if raw_check:
        assert raw_controls(out) == [], args
        assert raw_controls(err) == [], args
    return out, err


def text_views(pcap):  # type: ignore[no-untyped-def]
    """Text views whole (--full: the escapes are checked in full), fitted to 80 columns, and the rest."""
    views = [("calls", pcap, "--full"), ("calls", pcap, "--all"), ("rtp", pcap, "--full"), ("rtp", pcap),
             ("stats", pcap, "--full"), ("stats", pcap)]
    for cid in MESSAGES:
        views += [("ladder", pcap, "--call-id", cid, "--format", "text", "--full"),
                  ("ladder", pcap, "--call-id", cid, "--format", "text"),
                  ("ladder", pcap, "--call-id", cid, "--format", "mermaid")]
        views += [("diagnose", cid, "--pcap", pcap, "--no-index", "--full"),
                  ("diagnose", cid, "--pcap", pcap, "--no-index"),
                  ("diagnose", cid, "--pcap", pcap, "--no-index", "--format", "html")]
    return views


def test_text_views_show_wire_text_escaped(cli, pcap):
    outputs = {}
    for args in text_views(pcap):
        outputs[args] = run(cli, *args)[0]
    calls = outputs[("calls", pcap, "--full")]
    assert "evil\\x1b[2J\\x1b[H\\x1b]0;pwned title\\x07\\x01\\x7f\\x9b31m\\u202etxt.exe" in calls
    assert "bob\\x1b[2J\\x1b[H\\x00\\u202e" in calls
    ladder = outputs[("ladder", pcap, "--call-id", HOSTILE_ID, "--format", "text", "--full")]
    assert "183 Progress\\rH0" in ladder  # cut to the column width
    assert "op\\x1b]0;pwned title\\x07us\\x9b31m\\u202e/8000" in ladder
    assert "\\x9b31m" in outputs[("rtp", pcap, "--full")]
    assert "183 Progress\\rH0-)H1: forged\\rH1-xH0" in outputs[("diagnose", HOSTILE_ID, "--pcap", pcap, "--no-index", "--full")]
    diagnosis = outputs[("diagnose", SECOND_ID, "--pcap", pcap, "--no-index", "--full")]
    assert "10.0.0.9\\x1b[2J\\x1b[H\\u202e:4100" in diagnosis
    page = outputs[("diagnose", HOSTILE_ID, "--pcap", pcap, "--no-index", "--format", "html")]
    assert "<title>voxops diagnose evil\\x1b[2J" in page and "183 Progress\\rH0-)H1: forged\\rH1-xH0" in page


def test_colour_ladder_has_only_its_own_escapes(pcap):
    from voxops.analysis.dialogs import build_dialogs
    from voxops.analysis.ladder import build_ladder
    from voxops.capture import scan
    from voxops.views.ladder import LadderFormat, render_ladder

    result = scan(pcap)
    dialogs = [d for d in build_dialogs(result.sip) if d.call_id == HOSTILE_ID]
    text = render_ladder(build_ladder(dialogs, udp=result.udp), LadderFormat.text, colour=True)
    assert isinstance(text, str)
    assert raw_controls(re.sub(r"\x1b\[(\d+)m", "", text)) == []


def test_errors_and_export_messages_on_stderr(cli, pcap, tmp_path):
    code, out, err = cli("ladder", pcap, "--call-id", f"nothing{CLEAR}{BIDI}")
    assert code == 2 and "matches no call" in err
    assert raw_controls(err) == [] and "\\x1b[2J" in err
    _, err = run(cli, "export", pcap, "--call-id", HOSTILE_ID, "-o", tmp_path / "one.pcap")
    assert "frames of evil\\x1b[2J" in err


def test_json_keeps_the_values_escaped_by_json(cli, pcap):
    for args, pick in (
        (("calls", pcap), lambda d: d[0]["call_id"]),
        (("rtp", pcap), lambda d: d[0]["call_id"]),
        (("stats", pcap), lambda d: d["call_list"][0]["call_id"]),
        (("diagnose", HOSTILE_ID, "--pcap", pcap, "--no-index"), lambda d: d["call_id"]),
    ):
        out, _ = run(cli, *args, "--format", "json")
        assert pick(json.loads(out)) == HOSTILE_ID
    out, _ = run(cli, "diagnose", SECOND_ID, "--pcap", pcap, "--no-index", "--format", "json")
    offer = json.loads(out)["codecs"]["offer"]
    assert offer["address"] == CONNECTION and offer["codecs"] == [f"{CODEC}/8000"]


def svg_texts(cli, pcap, call_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    out, _ = run(cli, "ladder", pcap, "--call-id", call_id, "--format", "svg", raw_check=False)
    root = ET.fromstring(out)  # a raw control character is not XML
    assert raw_controls(out) == []
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_svg_is_xml(cli, pcap):
    assert any("488 Not\\x9b31mHere" in t for t in svg_texts(cli, pcap, SECOND_ID))


def test_svg_dollars_are_text(cli, pcap):
    texts = svg_texts(cli, pcap, HOSTILE_ID)
    assert any(MATH in t for t in texts)  # drawn as written, not as x squared
    assert any("Trying\\x1b]0;pwned title\\x07" in t for t in texts)


def test_png_renders_without_mathtext(cli, pcap, tmp_path):
    png = tmp_path / "ladder.png"
    code, _, err = cli("ladder", pcap, "--call-id", HOSTILE_ID, "--format", "png", "-o", png)
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("call_id", "arrows"), [(HOSTILE_ID, MESSAGES[HOSTILE_ID] + 2), (SECOND_ID, 2)])
def test_mermaid_draws_one_arrow_per_message(cli, pcap, call_id, arrows):
    out, _ = run(cli, "ladder", pcap, "--call-id", call_id, "--format", "mermaid", raw_check=False)
    assert len(mermaid_arrows(out)) == arrows  # SIP messages, and an arrow per RTP stream
    assert raw_controls(out) == []


def test_html_script_block_is_intact(cli, pcap):
    out, _ = run(cli, "ladder", pcap, "--call-id", HOSTILE_ID, "--format", "html", raw_check=False)
    # the data script holds nothing that ends or extends a script element early (HTML script
    # data states), and the viewer script comes right after it
    messages = html_messages(out)
    assert len(messages) == MESSAGES[HOSTILE_ID]
    assert "Subject: <!--<script>" in messages[0]["text"]
    assert out.count("<script") == 2
    assert raw_controls(out) == []


def test_html_viewer_runs_in_chromium(cli, pcap, tmp_path):
    out, _ = run(cli, "ladder", pcap, "--call-id", HOSTILE_ID, "--format", "html", raw_check=False)
    page = tmp_path / "ladder.html"
    page.write_text(out)
    dom = chromium("--dump-dom", page.as_uri() + "#0", tmp_path=tmp_path).stdout.decode()
    detail = re.search(r'<pre id="detail">(.*?)</pre>', dom, re.S)
    assert detail is not None
    # the viewer ran: message 0 is shown, its hostile headers as text
    assert detail.group(1).startswith("frame 1"), detail.group(1)[:200]
    assert "Subject: &lt;!--&lt;script&gt;" in detail.group(1)
    assert "owned" not in re.search(r"<title>(.*?)</title>", dom, re.S).group(1)
    assert raw_controls(dom, keep="\n\t") == []
