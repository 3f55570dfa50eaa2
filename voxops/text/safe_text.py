"""Text that came off the wire, made inert for each place voxops prints or draws it.

A capture or a live peer controls Call-IDs, reason phrases, URIs, header values, SDP
codec names and addresses, certificate subjects and DNS answers. Printed raw, an ESC
or C1 CSI sequence clears the screen, retitles the terminal or fills the clipboard
(OSC 52); bidi overrides reorder what a reader sees; a lone CR forges a Mermaid
line; `<!--<script>` ends the HTML viewer's script; `$...$` becomes matplotlib math.

`visible` is the base of every view: control characters (C0, DEL, C1), format
characters (bidi embeddings, overrides and isolates, zero-width characters, tag
characters) and the line/paragraph separators become visible escapes (`\\x1b`,
`\\u202e`). The other functions add the escaping of one output context on top.
Pure functions: no I/O, no state.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

T = TypeVar("T")

# Unicode categories Cc, Cf, Zl, Zp and Cs (checked against unicodedata by the tests), and the
# noncharacters: U+FFFE and U+FFFF are not XML, the others are as meaningless on the wire.
_UNSAFE_CLASS = (
    "\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufdd0-\ufdef\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
    + "".join(f"{chr(plane + 0xFFFE)}-{chr(plane + 0xFFFF)}" for plane in range(0, 0x110000, 0x10000))
)
UNSAFE = re.compile(f"[{_UNSAFE_CLASS}]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

# Mermaid: ';' ends a statement, '#' starts an entity code, '%%' a comment or a
# directive, quotes, angle brackets and braces change how a label is parsed or drawn.
# Each becomes Mermaid's own entity code, so the label still reads the same.
_MERMAID = {c: f"#{ord(c)};" for c in ';#"`<>{}%'}
_MERMAID_RE = re.compile("[" + re.escape("".join(_MERMAID)) + "]")

# JSON inside <script>: '<' and '>' would let `</script>`, `<!--` and `-->` change where
# the script ends; '&' is escaped for pages parsed as XHTML.
_SCRIPT = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}
_SCRIPT_RE = re.compile("[<>&]")
_JSON_RAW = re.compile(f"[{_UNSAFE_CLASS.replace(chr(0) + '-' + chr(0x1F), '')}]")


def _escape_char(c: str) -> str:
    named = _NAMED.get(c)
    if named is not None:
        return named
    cp = ord(c)
    if cp < 0x100:
        return f"\\x{cp:02x}"
    return f"\\u{cp:04x}" if cp < 0x10000 else f"\\U{cp:08x}"


def visible(text: object, *, keep: str = "") -> str:
    """`text` with every control, format and separator character written as an escape.

    Characters in `keep` (e.g. "\\n" for a multi-line block) stay as they are.
    Applying it twice gives the same result as once.
    """
    s = text if isinstance(text, str) else str(text)
    if not UNSAFE.search(s):
        return s
    if keep:
        return UNSAFE.sub(lambda m: m.group() if m.group() in keep else _escape_char(m.group()), s)
    return UNSAFE.sub(lambda m: _escape_char(m.group()), s)


def visible_fields(value: T) -> T:
    """A copy of a pydantic model (or list, dict, tuple) with `visible` applied to every string in it."""
    if isinstance(value, str):
        return visible(value)  # type: ignore[return-value]
    fields = getattr(type(value), "model_fields", None)
    if fields is not None:
        return value.model_copy(update={k: visible_fields(getattr(value, k)) for k in fields})  # type: ignore[attr-defined]
    if isinstance(value, list | tuple):
        return type(value)(visible_fields(v) for v in value)  # type: ignore[return-value]
    if isinstance(value, dict):
        return {visible_fields(k): visible_fields(v) for k, v in value.items()}  # type: ignore[return-value]
    return value


def visible_block(text: str) -> str:
    """A multi-line message (CRLF or LF lines) with its line breaks kept as LF and tabs kept."""
    return visible(text.replace("\r\n", "\n"), keep="\n\t")


def rich_text(text: object) -> str:
    """For rich's console markup: visible, with `[` escaped so tags are printed, not applied."""
    from rich.markup import escape

    return escape(visible(text))


def html_text(text: object) -> str:
    """For HTML (or SVG) element content and quoted attribute values."""
    from html import escape

    return escape(visible(text), quote=True)


def script_json(data: Any) -> str:
    """JSON to embed in a `<script>` element: nothing in it can end or comment out the element.

    U+2028 and U+2029 come out as `\\u2028` / `\\u2029` (ensure_ascii).
    """
    import json

    text = json.dumps(data, ensure_ascii=True)
    return _SCRIPT_RE.sub(lambda m: _SCRIPT[m.group()], text)


def mermaid_text(text: object) -> str:
    """A Mermaid participant name, message or note: one line, no statement separators."""
    return _MERMAID_RE.sub(lambda m: _MERMAID[m.group()], visible(text)).strip()


# keyword arguments of every matplotlib text artist that shows wire text: no TeX, no mathtext
PLOT_TEXT: dict[str, Any] = {"usetex": False, "parse_math": False}


def json_output(text: str) -> str:
    """JSON text with DEL, C1, format and separator characters as `\\uXXXX` escapes.

    The values are unchanged for a JSON reader; a terminal showing the JSON gets no
    raw control or bidi character. (C0 characters are escaped by every JSON encoder.)
    """
    if not _JSON_RAW.search(text):
        return text
    return _JSON_RAW.sub(lambda m: _json_escape(m.group()), text)


def _json_escape(c: str) -> str:
    cp = ord(c)
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    cp -= 0x10000
    return f"\\u{0xD800 + (cp >> 10):04x}\\u{0xDC00 + (cp & 0x3FF):04x}"
