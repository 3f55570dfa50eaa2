"""The sanitizer every view uses for text that came off the wire."""

from __future__ import annotations

import io
import json
import re
import sys
import unicodedata

from rich.console import Console

from tests.support.hostile import BIDI, CLEAR, CLIPBOARD, MARKUP, TITLE, raw_controls
from voxops.text.safe_text import (
    UNSAFE,
    html_text,
    json_output,
    mermaid_text,
    rich_text,
    script_json,
    visible,
)

HOSTILE = f"a{CLEAR}{TITLE}{CLIPBOARD}\x9b2J\x00\x7f\r\n\t{BIDI}\u2028\u2029\u200b\ufeff\U000e0041z"
UNSAFE_CATEGORIES = ("Cc", "Cf", "Zl", "Zp", "Cs")


def test_the_character_class_is_every_control_format_and_separator_character():
    missed, extra = [], []
    for cp in range(sys.maxunicode + 1):
        c = chr(cp)
        category = unicodedata.category(c)
        matched = UNSAFE.match(c) is not None
        if category in UNSAFE_CATEGORIES and not matched:
            missed.append(hex(cp))
        elif matched and category not in (*UNSAFE_CATEGORIES, "Cn"):  # Cn: assigned by a later Unicode
            extra.append(hex(cp))
    assert missed == [] and extra == []


def test_visible_writes_escapes_and_is_idempotent():
    shown = visible(HOSTILE)
    assert raw_controls(shown, keep="") == []
    assert shown.startswith("a\\x1b[2J\\x1b[H\\x1b]0;pwned title\\x07\\x1b]52;c;")
    assert "\\x9b2J\\x00\\x7f\\r\\n\\t\\u202etxt.exe\\u202c\\u2066x\\u2069\\u2028\\u2029\\u200b\\ufeff\\U000e0041z" in shown
    assert visible(shown) == shown
    assert visible("plain text, caf\u00e9 \u00fcber \u4e2d\u6587") == "plain text, caf\u00e9 \u00fcber \u4e2d\u6587"
    assert visible("a\nb\x1b", keep="\n") == "a\nb\\x1b"
    assert visible("\ufffe\uffff\ufdd0\U0010ffff") == "\\ufffe\\uffff\\ufdd0\\U0010ffff"  # not XML


def test_rich_prints_markup_as_text():
    out = io.StringIO()
    Console(file=out, width=300, highlight=False).print(f"[red]{rich_text(MARKUP)}[/red]")
    assert out.getvalue().strip() == MARKUP


def test_html_and_script_json():
    assert html_text('<b a="1">&\'' + CLEAR) == "&lt;b a=&quot;1&quot;&gt;&amp;&#x27;\\x1b[2J\\x1b[H"
    data = [{"text": "</script><!--<script>-->\u2028\u2029&" + HOSTILE}]
    embedded = script_json(data)
    assert json.loads(embedded) == data
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in embedded
    assert raw_controls(embedded, keep="") == []


def test_mermaid_text_is_one_statement():
    text = mermaid_text("a\rb\nc; H0->>H1: x #35; %%{init}%% \"q\" `t` <br>\u2028")
    assert raw_controls(text, keep="") == []
    assert not any(c in re.sub(r"#\d+;", "", text) for c in ';#"`<>{}%')  # only Mermaid entity codes


def test_json_output_keeps_values_and_escapes_what_json_allows_raw():
    value = {"k\u202e": HOSTILE + "\U000e0041"}
    text = json_output(json.dumps(value, ensure_ascii=False, indent=2))
    assert json.loads(text) == value
    assert raw_controls(text) == []
