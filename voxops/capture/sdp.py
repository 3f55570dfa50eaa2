"""SDP bodies (RFC 8866): session and media lines the diagnosis needs, nothing more."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

MAX_SDP_LINES = 2048

# RFC 3551 table 4/5: static payload types, used when no a=rtpmap names them.
STATIC_PAYLOADS: dict[int, tuple[str, int, int]] = {
    0: ("PCMU", 8000, 1),
    3: ("GSM", 8000, 1),
    4: ("G723", 8000, 1),
    5: ("DVI4", 8000, 1),
    6: ("DVI4", 16000, 1),
    7: ("LPC", 8000, 1),
    8: ("PCMA", 8000, 1),
    9: ("G722", 8000, 1),
    10: ("L16", 44100, 2),
    11: ("L16", 44100, 1),
    12: ("QCELP", 8000, 1),
    13: ("CN", 8000, 1),
    14: ("MPA", 90000, 1),
    15: ("G728", 8000, 1),
    16: ("DVI4", 11025, 1),
    17: ("DVI4", 22050, 1),
    18: ("G729", 8000, 1),
    25: ("CelB", 90000, 1),
    26: ("JPEG", 90000, 1),
    28: ("nv", 90000, 1),
    31: ("H261", 90000, 1),
    32: ("MPV", 90000, 1),
    33: ("MP2T", 90000, 1),
    34: ("H263", 90000, 1),
}
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


@dataclass(slots=True)
class SdpMedia:
    kind: str  # audio, video, application, ...
    port: int
    proto: str  # RTP/AVP, RTP/SAVP, UDP/TLS/RTP/SAVPF, ...
    payload_types: list[int] = field(default_factory=list)  # in offer/answer order
    rtpmap: dict[int, tuple[str, int, int]] = field(default_factory=dict)
    fmtp: dict[int, str] = field(default_factory=dict)
    ptime: float | None = None
    direction: str = "sendrecv"
    crypto: bool = False
    connection: str | None = None  # media-level c= or else the session's

    def codecs(self) -> list[str]:
        """Encoding names in order, e.g. ['PCMU/8000', 'telephone-event/8000']."""
        out = []
        for pt in self.payload_types:
            enc = self.rtpmap.get(pt)
            out.append(f"{enc[0]}/{enc[1]}" if enc else str(pt))
        return out


@dataclass(slots=True)
class Sdp:
    origin: str | None = None  # o= line value
    connection: str | None = None  # session-level c= address
    session_name: str | None = None
    direction: str = "sendrecv"  # session-level attribute, default for media
    media: list[SdpMedia] = field(default_factory=list)

    def summary(self) -> str:
        """`audio 10.0.0.1:4000 PCMU/8000,telephone-event/8000 sendrecv` per m= line."""
        parts = []
        for m in self.media:
            addr = m.connection or "?"
            parts.append(f"{m.kind} {addr}:{m.port} {','.join(m.codecs())} {m.direction}")
        return "; ".join(parts)


def _address(value: str) -> str | None:
    # c=IN IP4 192.0.2.1[/ttl]
    parts = value.split()
    if len(parts) >= 3:
        return parts[2].split("/", 1)[0]
    return None


def parse_sdp(body: bytes) -> Sdp:
    """Parse what there is; unknown or malformed lines are skipped, never fatal."""
    text = body.decode("utf-8", errors="replace")
    sdp = Sdp()
    media: SdpMedia | None = None
    for n, raw in enumerate(text.splitlines()):
        if n >= MAX_SDP_LINES:
            break
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:].strip()
        if kind == "m":
            media = _media(value)
            if media is not None:
                media.connection = sdp.connection
                media.direction = sdp.direction
                sdp.media.append(media)
        elif kind == "c":
            addr = _address(value)
            if media is None:
                sdp.connection = addr
            else:
                media.connection = addr
        elif kind == "o" and media is None:
            sdp.origin = value
        elif kind == "s" and media is None:
            sdp.session_name = value
        elif kind == "a":
            _attribute(sdp, media, value)
    for m in sdp.media:
        for pt in m.payload_types:
            if pt not in m.rtpmap and pt in STATIC_PAYLOADS:
                m.rtpmap[pt] = STATIC_PAYLOADS[pt]
    return sdp


def _media(value: str) -> SdpMedia | None:
    parts = value.split()
    if len(parts) < 3:
        return None
    port_text = parts[1].split("/", 1)[0]
    if not port_text.isdecimal() or len(port_text) > 5:
        return None
    pts = [int(p) for p in parts[3:64] if p.isdecimal() and len(p) <= 3]
    return SdpMedia(kind=parts[0], port=int(port_text), proto=parts[2], payload_types=pts)


def _attribute(sdp: Sdp, media: SdpMedia | None, value: str) -> None:
    name, _, rest = value.partition(":")
    if name in DIRECTIONS:
        if media is None:
            sdp.direction = name
        else:
            media.direction = name
        return
    if media is None:
        return
    if name == "rtpmap":
        pt_text, _, enc = rest.partition(" ")
        if not pt_text.isdecimal() or len(pt_text) > 3:
            return
        bits = enc.strip().split("/")
        rate = int(bits[1]) if len(bits) > 1 and bits[1].isdecimal() and len(bits[1]) < 10 else 0
        channels = int(bits[2]) if len(bits) > 2 and bits[2].isdecimal() and len(bits[2]) < 4 else 1
        media.rtpmap[int(pt_text)] = (bits[0], rate, channels)
    elif name == "fmtp":
        pt_text, _, params = rest.partition(" ")
        if pt_text.isdecimal() and len(pt_text) <= 3:
            media.fmtp[int(pt_text)] = params.strip()
    elif name == "ptime":
        with contextlib.suppress(ValueError):
            media.ptime = float(rest)
    elif name == "crypto":
        media.crypto = True
