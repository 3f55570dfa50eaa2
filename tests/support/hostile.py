"""A capture whose SIP and SDP carry terminal escapes, bidi overrides and markup of every output syntax.

Two calls between 10.0.0.1 and 10.0.0.2:
  HOSTILE_ID: INVITE / 100 / 180 / 183 / 200 (both with SDP) / ACK / 2 x 50 RTP / BYE / 200 (8 SIP messages)
  SECOND_ID: INVITE with a hostile c= address / 488 (2 SIP messages)
"""

from __future__ import annotations

import struct
import unicodedata
from pathlib import Path

from voxops.capture.writer import PcapWriter, udp_frame

ESC = "\x1b"
CLEAR = ESC + "[2J" + ESC + "[H"  # CSI 2J: clear the screen
TITLE = ESC + "]0;pwned title" + "\x07"  # OSC 0: set the window title
CLIPBOARD = ESC + "]52;c;ZWNobyBwd25lZA==" + "\x07"  # OSC 52: put "echo pwned" in the clipboard
C1_CSI = "\x9b31m"  # the one-character CSI of 8-bit terminals
BIDI = "\u202etxt.exe\u202c\u2066x\u2069"
MARKUP = "[bold red]loud[/][link=https://evil.example/]click[/link]"

HOSTILE_ID = f"evil{CLEAR}{TITLE}\x01\x7f{C1_CSI}{BIDI}@10.0.0.1"
SECOND_ID = f"second{CLIPBOARD}{C1_CSI}@10.0.0.1"
CODEC = f"op{TITLE}us{C1_CSI}\u202e"  # an rtpmap encoding name
CONNECTION = f"10.0.0.9{CLEAR}\u202e"  # a c= address
MATH = "Ringing $x^2$"
BAD_MATH = r"Ringing $\nope{x}$"
FORGED = "Progress\rH0-)H1: forged\rH1-xH0: forged too; H0->>H1: x --> #35; %%{init}%%"
REASONS = {100: f"Trying{TITLE}", 180: f"{MATH} {BAD_MATH}", 183: FORGED, 200: f"OK{CLIPBOARD}]]>", 488: f"Not{C1_CSI}Here\uffff"}
HEADERS = (
    "Subject: <!--<script>\r\n"
    "X-Note: </script><script>document.title='owned'</script>\r\n"
    f"User-Agent: ]]> {MARKUP} {BIDI}{CLEAR}\r\n"
)
FROM = f"<sip:alice{CLIPBOARD}\u2028@example.com>"
TO = f"<sip:bob{CLEAR}\x00{BIDI}@example.com>"
A, B = "10.0.0.1", "10.0.0.2"
T0 = 1_700_000_000.0
MESSAGES = {HOSTILE_ID: 8, SECOND_ID: 2}


def sdp(addr: str, port: int) -> str:
    return (f"v=0\r\no=- 1 1 IN IP4 {A}\r\ns=-\r\nc=IN IP4 {addr}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 96\r\na=rtpmap:96 {CODEC}/8000\r\na=sendrecv\r\n")


def _message(start: str, call_id: str, cseq: str, *, body: str = "", extra: str = "", tag: str = "") -> bytes:
    ctype = "Content-Type: application/sdp\r\n" if body else ""
    return (
        f"{start}\r\nVia: SIP/2.0/UDP {A}:5060;branch=z9hG4bK-{cseq.split()[0]}\r\n"
        f"From: {FROM};tag=a1\r\nTo: {TO}{tag}\r\nCall-ID: {call_id}\r\nCSeq: {cseq}\r\n"
        f"{extra}{ctype}Content-Length: {len(body.encode())}\r\n\r\n{body}"
    ).encode()


def _rtp(seq: int, ssrc: int) -> bytes:
    return struct.pack("!BBHII", 0x80, 96, seq, seq * 160, ssrc) + bytes(160)


def write_capture(path: Path) -> Path:
    frames: list[tuple[float, str, str, bytes]] = []

    def sip(t: float, forward: bool, data: bytes) -> None:
        frames.append((T0 + t, *((A, B) if forward else (B, A)), data))

    cid, tag = HOSTILE_ID, ";tag=b1"
    sip(0.0, True, _message("INVITE sip:bob@10.0.0.2 SIP/2.0", cid, "1 INVITE", body=sdp(A, 4000), extra=HEADERS))
    for i, code in enumerate((100, 180, 183)):
        sip(0.1 + i * 0.1, False, _message(f"SIP/2.0 {code} {REASONS[code]}", cid, "1 INVITE", tag=tag, extra=HEADERS))
    sip(0.5, False, _message(f"SIP/2.0 200 {REASONS[200]}", cid, "1 INVITE", body=sdp(B, 5000), tag=tag))
    sip(0.6, True, _message("ACK sip:bob@10.0.0.2 SIP/2.0", cid, "1 ACK", tag=tag))
    for n in range(50):
        frames.append((T0 + 0.7 + n * 0.02, A, B, _rtp(n, 0x1111)))
        frames.append((T0 + 0.71 + n * 0.02, B, A, _rtp(n, 0x2222)))
    sip(2.0, True, _message("BYE sip:bob@10.0.0.2 SIP/2.0", cid, "2 BYE", tag=tag))
    sip(2.1, False, _message(f"SIP/2.0 200 {REASONS[200]}", cid, "2 BYE", tag=tag))
    sip(3.0, True, _message("INVITE sip:bob@10.0.0.2 SIP/2.0", SECOND_ID, "1 INVITE", body=sdp(CONNECTION, 4100)))
    sip(3.1, False, _message(f"SIP/2.0 488 {REASONS[488]}", SECOND_ID, "1 INVITE", tag=";tag=c1"))
    frames.sort(key=lambda f: f[0])
    with PcapWriter(path) as out:
        for ts, src, dst, data in frames:
            rtp = not data.startswith((b"SIP/", b"INVITE", b"ACK", b"BYE"))
            ports = (4000, 5000) if src == A else (5000, 4000)
            sport, dport = ports if rtp else (5060, 5060)
            out.write(ts, udp_frame(src, sport, dst, dport, data))
    return path


def raw_controls(text: str, keep: str = "\n") -> list[str]:
    """Every control, format (bidi, zero-width) or separator character in `text`, except `keep`."""
    return sorted({c for c in text if c not in keep and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs")})
