"""Captures for the tests: SIP message builders, a pcapng writer, tshark's view and voxops's of a capture, the CLI run as a user runs it."""

from __future__ import annotations

import json
import struct
import subprocess
from collections import Counter
from pathlib import Path

from voxops.analysis.dialogs import build_dialogs
from voxops.capture import scan

DATA = Path(__file__).resolve().parents[1] / "data" / "capture"
# (file, extra tshark arguments): SIPp's IPv6 callee sits on 5072, a port tshark gives AYIYA
REAL_CAPTURES = [
    ("udp_proxy.pcapng", []),
    ("tcp_proxy.pcap", []),
    ("ipv6.pcap", ["-d", "udp.port==5072,sip"]),
    ("fragmented.pcap", []),
]


def sdp(addr: str = "10.0.0.1", port: int = 4000, extra: str = "") -> str:
    return (
        f"v=0\r\no=- 1 1 IN IP4 {addr}\r\ns=-\r\nc=IN IP4 {addr}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
        f"a=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n{extra}"
    )


def request(method: str, call_id: str, *, cseq: int = 1, branch: str = "z9hG4bK1",
            body: str = "", to_tag: str | None = None, extra: str = "",
            uri: str = "sip:bob@example.com") -> bytes:
    ctype = "Content-Type: application/sdp\r\n" if body else ""
    tag = f";tag={to_tag}" if to_tag else ""
    return (
        f"{method} {uri} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 10.0.0.1:5060;branch={branch}\r\n"
        f"From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>{tag}\r\n"
        f"Call-ID: {call_id}\r\nCSeq: {cseq} {'INVITE' if method == 'ACK' and not to_tag else method}\r\n"
        f"Max-Forwards: 70\r\n{extra}{ctype}Content-Length: {len(body.encode())}\r\n\r\n{body}"
    ).encode()


def response(status: int, reason: str, call_id: str, *, cseq: int = 1, method: str = "INVITE",
             branch: str = "z9hG4bK1", body: str = "", to_tag: str | None = "b1") -> bytes:
    ctype = "Content-Type: application/sdp\r\n" if body else ""
    tag = f";tag={to_tag}" if to_tag else ""
    return (
        f"SIP/2.0 {status} {reason}\r\n"
        f"Via: SIP/2.0/UDP 10.0.0.1:5060;branch={branch}\r\n"
        f"From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>{tag}\r\n"
        f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n{ctype}"
        f"Content-Length: {len(body.encode())}\r\n\r\n{body}"
    ).encode()


def write_pcapng(path: Path, packets: list[tuple[int, float, bytes]], links: list[int],
                 *, big: bool = False, tsresol: int | None = None) -> None:
    """pcapng with one interface per link type; packets are (interface, ts, frame)."""
    e = ">" if big else "<"

    def block(btype: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        n = len(body) + 12
        return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)

    out = [block(0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1))]
    units = 10 ** (tsresol or 6)
    for link in links:
        opts = b""
        if tsresol is not None:
            opts = struct.pack(e + "HH", 9, 1) + bytes([tsresol]) + b"\0\0\0" + struct.pack(e + "HH", 0, 0)
        out.append(block(1, struct.pack(e + "HHI", link, 0, 262144) + opts))
    for iface, ts, data in packets:
        ticks = round(ts * units)
        out.append(block(6, struct.pack(e + "IIIII", iface, ticks >> 32, ticks & 0xFFFFFFFF,
                                        len(data), len(data)) + data))
    path.write_bytes(b"".join(out))


def tshark_messages(path: Path, extra: list[str] | None = None) -> list[tuple[str, int | None, str]]:
    """(Call-ID, status or None, CSeq method) of every SIP message tshark dissects."""
    cp = subprocess.run(
        ["tshark", "-r", str(path), *(extra or []), "-Y", "sip", "-T", "json", "-J", "sip"],
        capture_output=True, timeout=120, check=True,
    )
    out = []
    for pkt in json.loads(cp.stdout or b"[]", object_pairs_hook=_keep_duplicates):
        layers = pkt["_source"]["layers"]["sip"]
        for layer in layers if isinstance(layers, list) else [layers]:
            status = layer.get("sip.Status-Line_tree", {}).get("sip.Status-Code")
            hdrs = layer.get("sip.msg_hdr_tree", {})
            method = hdrs.get("sip.CSeq_tree", {}).get("sip.CSeq.method", "")
            out.append((hdrs.get("sip.Call-ID", ""), int(status) if status else None, method))
    return out


def _keep_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """tshark repeats the "sip" key when one frame carries two messages: keep both."""
    out: dict[str, object] = {}
    for key, value in pairs:
        if key == "sip" and key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out


def tshark_summary(path: Path, extra: list[str] | None = None) -> dict[str, tuple[int, int | None]]:
    """Call-ID -> (message count, final status of the INVITE or first request) per tshark."""
    msgs = tshark_messages(path, extra)
    counts = Counter(cid for cid, _, _ in msgs)
    finals: dict[str, int | None] = {}
    first_method: dict[str, str] = {}
    for cid, status, method in msgs:
        first_method.setdefault(cid, method)
        finals.setdefault(cid, None)
        final = status is not None and status >= 200 and status not in (401, 407)
        if final and method == first_method[cid] and finals[cid] is None:
            finals[cid] = status
    return {cid: (counts[cid], finals[cid]) for cid in counts}


def voxops_summary(path: Path, **kw) -> dict[str, tuple[int, int | None]]:  # type: ignore[no-untyped-def]
    return {d.call_id: (len(d.messages), d.final_status) for d in build_dialogs(scan(path, **kw).sip)}
