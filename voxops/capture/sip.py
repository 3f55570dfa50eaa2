"""SIP message parsing (RFC 3261 section 7): tolerant of real-world mess, strict about size.

`parse_sip` never raises on bad input: it returns None when the bytes are not a SIP
message. Work is linear in the input and bounded by MAX_MESSAGE / MAX_HEADERS, so a
hostile datagram costs at most a few hundred microseconds.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voxops.capture.sdp import Sdp

MAX_MESSAGE = 256 * 1024  # larger than any UDP datagram; TCP messages beyond are cut
MAX_HEADERS = 512
MAX_START_LINE = 8 * 1024

# RFC 3261 section 7.3.3 and the IANA registry of compact forms.
COMPACT = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}
_CANONICAL = {
    name.lower(): name
    for name in (
        *COMPACT.values(),
        "CSeq", "Max-Forwards", "User-Agent", "Server", "Allow", "Route", "Record-Route",
        "Require", "Proxy-Require", "Unsupported", "Authorization", "Proxy-Authorization",
        "WWW-Authenticate", "Proxy-Authenticate", "Expires", "Date", "Timestamp", "Warning",
        "Reason", "P-Asserted-Identity", "Privacy", "RSeq", "RAck", "Min-SE", "Accept",
        "Accept-Encoding", "Accept-Language", "Organization", "Priority", "Retry-After",
        "Diversion", "X-CID", "X-Call-ID",
    )
}
# Headers whose value may hold several comma-separated entries (RFC 3261 7.3.1); the
# authentication and date headers contain commas that do not separate values.
_LIST_HEADERS = {
    "via", "contact", "route", "record-route", "allow", "supported", "require",
    "proxy-require", "unsupported", "accept", "accept-encoding", "accept-language",
    "allow-events", "p-asserted-identity", "diversion", "content-encoding",
}
_METHOD = re.compile(rb"^[A-Za-z][A-Za-z0-9.!%*_+`'~-]{0,31}$")
_TAG = re.compile(r";\s*tag\s*=\s*([^;>,\s]+)", re.I)
_BRANCH = re.compile(r";\s*branch\s*=\s*([^;,\s]+)", re.I)


def canonical_name(name: str) -> str:
    """Header name in its usual spelling; compact forms expanded."""
    low = name.strip().lower()
    if len(low) == 1 and low in COMPACT:
        return COMPACT[low]
    return _CANONICAL.get(low, name.strip())


def split_list(value: str) -> list[str]:
    """Split a comma-separated header value, respecting quotes and <...>."""
    out: list[str] = []
    depth = 0
    quoted = False
    start = 0
    i = 0
    n = len(value)
    while i < n:
        ch = value[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            depth += 1
        elif ch == ">" and depth:
            depth -= 1
        elif ch == "," and depth == 0:
            part = value[start:i].strip()
            if part:
                out.append(part)
            start = i + 1
        i += 1
    part = value[start:].strip()
    if part:
        out.append(part)
    return out


def name_addr_uri(value: str) -> str:
    """The URI inside a From/To/Contact value: `"Bob" <sip:b@x>;tag=1` -> `sip:b@x`."""
    lt = value.find("<")
    if lt >= 0:
        gt = value.find(">", lt)
        return value[lt + 1 : gt if gt > 0 else len(value)].strip()
    return value.split(";", 1)[0].strip()


def uri_user(uri: str) -> str:
    """The user part of a SIP or tel URI (the number), or '' when there is none."""
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    if uri.lower().startswith("tel:"):
        return rest.split(";", 1)[0]
    return rest.split("@", 1)[0] if "@" in rest else ""


class SipMessage:
    """One SIP request or response. Header access is case-insensitive and compact-aware."""

    __slots__ = (
        "is_request", "method", "request_uri", "status", "reason", "headers", "body",
        "truncated", "__dict__",
    )

    def __init__(
        self,
        *,
        is_request: bool,
        method: str | None,
        request_uri: str | None,
        status: int | None,
        reason: str | None,
        headers: list[tuple[str, str]],
        body: bytes,
        truncated: bool = False,
    ) -> None:
        self.is_request = is_request
        self.method = method
        self.request_uri = request_uri
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.truncated = truncated  # Content-Length promised more body than arrived

    def __repr__(self) -> str:
        return f"SipMessage({self.summary!r}, call_id={self.call_id!r})"

    @cached_property
    def _index(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for name, value in self.headers:
            index.setdefault(name.lower(), []).append(value)
        return index

    def header(self, name: str) -> str | None:
        """First value of a header (`header("i")` == `header("Call-ID")`), or None."""
        values = self._index.get(canonical_name(name).lower())
        return values[0] if values else None

    def headers_all(self, name: str) -> list[str]:
        """Every value of a header, list-valued headers split at their commas."""
        low = canonical_name(name).lower()
        values = self._index.get(low, [])
        if low in _LIST_HEADERS:
            return [part for v in values for part in split_list(v)]
        return list(values)

    @property
    def summary(self) -> str:
        """`INVITE` or `200 OK`: what a ladder arrow says."""
        if self.is_request:
            return self.method or "?"
        return f"{self.status} {self.reason}".strip()

    @cached_property
    def call_id(self) -> str | None:
        value = self.header("Call-ID")
        return value.strip() if value is not None else None

    @cached_property
    def cseq(self) -> tuple[int, str] | None:
        value = self.header("CSeq")
        if not value:
            return None
        parts = value.split()
        if len(parts) != 2 or not parts[0].isdecimal() or len(parts[0]) > 10:
            return None
        return int(parts[0]), parts[1].upper()

    @cached_property
    def branch(self) -> str | None:
        """branch parameter of the top Via."""
        vias = self.headers_all("Via")
        if not vias:
            return None
        m = _BRANCH.search(vias[0])
        return m.group(1) if m else None

    @cached_property
    def from_uri(self) -> str | None:
        value = self.header("From")
        return name_addr_uri(value) if value is not None else None

    @cached_property
    def from_tag(self) -> str | None:
        return _tag(self.header("From"))

    @cached_property
    def to_uri(self) -> str | None:
        value = self.header("To")
        return name_addr_uri(value) if value is not None else None

    @cached_property
    def to_tag(self) -> str | None:
        return _tag(self.header("To"))

    @property
    def user_agent(self) -> str | None:
        return self.header("User-Agent") or self.header("Server")

    @property
    def content_type(self) -> str | None:
        value = self.header("Content-Type")
        return value.split(";", 1)[0].strip().lower() if value else None

    @cached_property
    def sdp(self) -> Sdp | None:
        """The parsed SDP body (Content-Type application/sdp), or None."""
        if not self.body or self.content_type != "application/sdp":
            return None
        from voxops.capture.sdp import parse_sdp

        return parse_sdp(self.body)


def _tag(value: str | None) -> str | None:
    if value is None:
        return None
    # The tag sits after the closing '>' when there is one; a ;tag inside <...> is a URI param.
    gt = value.rfind(">")
    m = _TAG.search(value[gt + 1 :] if gt >= 0 else value)
    return m.group(1) if m else None


def _head_end(data: bytes) -> tuple[int, int]:
    """(end of headers, start of body); (-1, -1) when no blank line is present."""
    crlf = data.find(b"\r\n\r\n")
    lf = data.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return crlf, crlf + 4
    if lf >= 0:
        return lf, lf + 2
    return -1, -1


def looks_like_sip(data: bytes) -> bool:
    """Cheap test on the first line: `SIP/2.0 NNN` or `METHOD uri SIP/2.0`."""
    if data[:8] == b"SIP/2.0 ":
        return True
    eol = data.find(b"\n", 0, MAX_START_LINE)
    if eol < 0:
        return False
    line = data[:eol].rstrip(b"\r")
    return line[-8:].upper() == b" SIP/2.0" and b" " in line[:-8]


def parse_sip(data: bytes) -> SipMessage | None:
    """Parse one SIP message, or None when the bytes are not one."""
    if not data or len(data) > MAX_MESSAGE or not looks_like_sip(data):
        return None
    head_end, body_start = _head_end(data)
    if head_end < 0:
        head_end, body_start = len(data), len(data)
    try:
        head = data[:head_end].decode("utf-8", errors="replace")
    except Exception:  # pragma: no cover - decode with errors=replace does not raise
        return None
    lines = head.replace("\r\n", "\n").split("\n")
    start = lines[0].strip()
    msg_kw: dict = {}
    if start.startswith("SIP/2.0 "):
        parts = start.split(" ", 2)
        code = parts[1] if len(parts) > 1 else ""
        if len(code) != 3 or not code.isdecimal():
            return None
        msg_kw = dict(
            is_request=False, method=None, request_uri=None, status=int(code),
            reason=parts[2].strip() if len(parts) > 2 else "",
        )
    else:
        parts = start.split()
        if len(parts) != 3 or parts[2].upper() != "SIP/2.0":
            return None
        if not _METHOD.match(parts[0].encode()):
            return None
        msg_kw = dict(
            is_request=True, method=parts[0].upper(), request_uri=parts[1], status=None,
            reason=None,
        )
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":
            # Folded continuation (RFC 3261 7.3.1): joins the previous header with one space.
            if headers:
                name, value = headers[-1]
                headers[-1] = (name, f"{value} {line.strip()}")
            continue
        colon = line.find(":")
        if colon <= 0:
            continue  # tolerate junk lines rather than dropping the whole message
        if len(headers) >= MAX_HEADERS:
            break
        headers.append((canonical_name(line[:colon]), line[colon + 1 :].strip()))
    body = data[body_start:]
    truncated = False
    for name, value in headers:
        if name == "Content-Length":
            length = _content_length(value)
            if length is not None:
                if length < len(body):
                    body = body[:length]
                elif length > len(body):
                    truncated = True
            break
    return SipMessage(headers=headers, body=bytes(body), truncated=truncated, **msg_kw)


def _content_length(value: str) -> int | None:
    value = value.strip()
    if not value.isdecimal() or len(value) > 9:
        return None
    return int(value)


def head_content_length(buf: bytes | bytearray, head_end: int) -> int:
    """Content-Length of the head buf[:head_end] (0 when missing or not a count)."""
    for raw in bytes(buf[:head_end]).split(b"\n")[1:]:
        colon = raw.find(b":")
        if colon <= 0:
            continue
        name = raw[:colon].strip().lower()
        if name in (b"content-length", b"l"):
            parsed = _content_length(raw[colon + 1 :].decode("latin-1"))
            return parsed if parsed is not None else 0
    return 0


def frame_length(buf: bytes | bytearray | memoryview) -> int | None:
    """Length of the first complete SIP message in a stream buffer (TCP/TLS framing).

    Content-Length is mandatory on streams (RFC 3261 18.3); when it is missing the
    message ends at the blank line. None means more bytes are needed.
    """
    data = bytes(buf[: MAX_MESSAGE + 4])
    head_end, body_start = _head_end(data)
    if head_end < 0:
        return None
    total = body_start + min(head_content_length(data, head_end), MAX_MESSAGE)
    return total if total <= len(buf) else None
