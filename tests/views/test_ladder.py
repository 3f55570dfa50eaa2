"""Every ladder format renders a real call; the HTML ladder shows arrows in Chromium."""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tests.conftest import need_tool, shared_pcap
from tests.support.capture import DATA, request, response
from voxops.analysis.dialogs import build_dialogs
from voxops.analysis.ladder import build_ladder
from voxops.capture import scan
from voxops.capture.records import SipPacket
from voxops.capture.sip import parse_sip
from voxops.views.ladder import LadderFormat, render_ladder

ANSI = re.compile(r"\x1b\[")


@pytest.fixture(scope="module")
def proxied():
    result = scan(DATA / "udp_proxy.pcapng")
    dialogs = build_dialogs(result.sip)
    return build_ladder(dialogs[:1], udp=result.udp, names={"127.0.3.2": "sbc-1"})


@pytest.fixture(scope="module")
def with_media():
    result = scan(shared_pcap("sip-rtp-ilbc.pcap"))
    return build_ladder(build_dialogs(result.sip), udp=result.udp)


def test_text_has_a_line_per_message_and_colour_only_when_asked(proxied):
    plain = render_ladder(proxied, LadderFormat.text)
    assert not ANSI.search(plain)
    assert proxied.columns == ["127.0.3.1", "sbc-1", "127.0.3.3"]
    assert plain.splitlines()[0].startswith("time: t+ seconds since ")
    assert plain.splitlines()[1].split() == proxied.columns
    arrow_lines = [ln for ln in plain.splitlines() if re.match(r"t\+\d+\.\d{3} ", ln)]
    assert len(arrow_lines) == len(proxied.arrows) == 13
    assert "SDP audio 127.0.3.1:6000 PCMU,PCMA" in plain
    assert ANSI.search(render_ladder(proxied, LadderFormat.text, colour=True))


def test_rtp_streams_are_spans_between_hosts(with_media):
    (span,) = with_media.spans
    assert (span.codec, span.packets) == ("iLBC", 284)
    assert with_media.columns[span.src] == "10.0.2.15"
    text = render_ladder(with_media, LadderFormat.text)
    assert "RTP iLBC" in text and "284 packets" in text


def test_svg_png_mermaid(with_media, proxied):
    svg = render_ladder(with_media, LadderFormat.svg)
    texts = {"".join(t.itertext()).strip() for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")}
    assert {"INVITE", "100 Trying", "200 OK", "ACK", "BYE"} <= texts
    png = render_ladder(proxied, LadderFormat.png)
    assert isinstance(png, bytes) and png[:8] == b"\x89PNG\r\n\x1a\n"
    mermaid = render_ladder(proxied, LadderFormat.mermaid)
    lines = mermaid.splitlines()
    assert lines[0] == "sequenceDiagram"
    assert "    participant H1 as sbc-1" in lines
    assert sum(1 for ln in lines if re.match(r"\s+H\d(->>|--\))H\d: ", ln)) == 13


def long_call(n: int = 200):  # type: ignore[no-untyped-def]
    pkts = []
    for i in range(n // 2):
        for j, raw in enumerate((request("INFO", "long@x", cseq=i + 1, branch=f"b{i}", to_tag="t"),
                                 response(200, "OK", "long@x", cseq=i + 1, method="INFO", branch=f"b{i}"))):
            src, dst = (("10.0.0.1", 5060), ("10.0.0.2", 5060))[:: 1 if j == 0 else -1]
            pkts.append(SipPacket(len(pkts) + 1, 1700000000 + len(pkts) * 0.1, *src, *dst, "udp", raw, parse_sip(raw)))
    return build_ladder(build_dialogs(pkts))


def test_a_200_message_call_stays_one_line_per_message():
    ladder = long_call()
    text = render_ladder(ladder, LadderFormat.text)
    assert len([ln for ln in text.splitlines() if "INFO" in ln or "200 OK" in ln]) == 200
    html = render_ladder(ladder, LadderFormat.html)
    assert html.count('class="msg"') == 200


def chromium(*args: str, tmp_path) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    exe = need_tool("chromium")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}"]
    return subprocess.run([exe, *flags, *args], capture_output=True, timeout=90, check=True)


def test_html_is_self_contained_and_shows_arrows_in_chromium(with_media, tmp_path):
    html = render_ladder(with_media, LadderFormat.html)
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    data = json.loads(re.search(r'id="messages">(.*?)</script>', html, re.S).group(1))
    assert data[0]["text"].startswith("INVITE sip:test@10.0.2.15:5060 SIP/2.0")
    page = tmp_path / "ladder.html"
    page.write_text(html)
    shot = tmp_path / "shot.png"
    chromium(f"--screenshot={shot}", "--window-size=1200,700", page.as_uri(), tmp_path=tmp_path)
    import matplotlib.image as mpimg

    img = (mpimg.imread(shot)[:, :, :3] * 255).round().astype(np.int16)

    def pixels(hex_colour: str) -> int:
        rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
        return int((np.abs(img - rgb).max(axis=2) <= 12).sum())

    # request arrows (blue) and 2xx arrows (green) are drawn as long lines
    assert pixels("#1f5fa8") > 300
    assert pixels("#1b7f3a") > 300
    # a click shows the message: the same handler runs for ladder.html#3 on load
    dom = chromium("--dump-dom", page.as_uri() + "#3", tmp_path=tmp_path).stdout.decode()
    detail = re.search(r'<pre id="detail">(.*?)</pre>', dom, re.S).group(1)
    assert detail.startswith("frame 5") and "ACK sip:test@10.0.2.15:5060 SIP/2.0" in detail
