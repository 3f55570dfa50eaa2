"""The tshark engine: the same records as `scan()`, dissected by Wireshark through pyshark.

Slow (tens of thousands of packets per second) but it decrypts SIP over TLS with a key
log and knows every dissector Wireshark has. SIP bytes come from the dissected PDU
(`sip_raw`), so TCP/TLS reassembly and decryption are Wireshark's; the message itself
is parsed by the same `parse_sip` as the native engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from voxops.capture.records import (
    HEAD_BYTES,
    CaptureScan,
    SipPacket,
    UdpPacket,
    UdpTableBuilder,
    is_rtcp,
)
from voxops.capture.sip import parse_sip
from voxops.errors import CaptureError, ToolMissing
from voxops.proc import which


def _raw_values(value: Any) -> list[str]:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return [value] if isinstance(value, str) else []


def _hex(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def scan_tshark(
    path: Path,
    *,
    tls_keylog: Path | None = None,
    media: bool = True,
    warn: Callable[[str], None] | None = None,
) -> CaptureScan:
    which("tshark")
    try:
        import pyshark
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ToolMissing("pyshark is not installed") from exc
    prefs = {"tls.keylog_file": str(tls_keylog)} if tls_keylog is not None else None
    _ensure_event_loop()
    cap = pyshark.FileCapture(
        str(path), use_json=True, include_raw=True, keep_packets=False,
        display_filter=None if media else "sip", override_prefs=prefs,
    )
    sip: list[SipPacket] = []
    rtcp: list[UdpPacket] = []
    rows: list[tuple[int, float, int, int, int, int, int, bytes]] = []
    addresses: list[str] = []
    index: dict[str, int] = {}

    def intern(addr: str) -> int:
        if addr not in index:
            index[addr] = len(addresses)
            addresses.append(addr)
        return index[addr]

    packets = 0
    problem: str | None = None
    try:
        for pkt in cap:
            packets += 1
            _packet(pkt, sip, rtcp, rows, intern, media)
    except Exception as exc:  # noqa: BLE001 - pyshark wraps tshark failures in its own types
        problem = _reason(exc)
    problem = _close(cap) or problem
    warnings: list[str] = []
    if problem is not None:
        # tshark reads a damaged capture as far as it goes, then fails: as the native engine
        # does, keep what came before (and say so), unless nothing could be read at all
        if not packets:
            raise CaptureError(f"{path}: tshark could not read it: {problem}")
        warnings.append(f"{path}: {problem}; the {packets} packet(s) before it are kept")
        if warn is not None:
            warn(warnings[-1])
    builder = UdpTableBuilder()
    if rows:
        cols = list(zip(*rows, strict=True))
        builder.add(
            frame=np.array(cols[0], np.int64), ts=np.array(cols[1], np.float64),
            src=np.array(cols[2], np.int32), dst=np.array(cols[3], np.int32),
            sport=np.array(cols[4], np.int64), dport=np.array(cols[5], np.int64),
            length=np.array(cols[6], np.int64),
            head=np.frombuffer(b"".join(cols[7]), np.uint8).reshape(-1, HEAD_BYTES),
        )
    if not media:
        packets = max((p.frame for p in sip), default=0)
    return CaptureScan(sip=sip, udp=builder.build(addresses), rtcp=rtcp, addresses=addresses,
                       packets=packets, warnings=warnings)


def _ensure_event_loop() -> None:
    """pyshark needs a current asyncio loop in the main thread; asyncio.run() (the live
    checks) leaves none behind, so a second command in one process would fail."""
    try:
        asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())


def _reason(exc: BaseException) -> str:
    """One line out of pyshark's several: tshark's own last error line when it has one."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if line.startswith("Last error line:"):
            return line.removeprefix("Last error line:").strip().removeprefix("tshark:").strip()
    return lines[0] if lines else type(exc).__name__


def _close(cap: Any) -> str | None:
    """Stop tshark; its failure as one line, or None when it exited cleanly.

    pyshark raises from close() when tshark exited non-zero and then again from __del__
    at garbage collection (an "Exception ignored" traceback on stderr): forget the
    process once it has been reaped so that cannot happen.
    """
    try:
        cap.close()
    except Exception as exc:  # noqa: BLE001 - TSharkCrashException and friends
        return _reason(exc)
    finally:
        cap._running_processes.clear()
    return None


def _every(pkt: Any, name: str) -> list[Any]:
    """Every layer of that name in dissection order: pyshark folds a name seen again in a
    frame (several SIP messages in one segment; the IP inside a tunnel) into the first
    layer's `duplicate_layers`."""
    out = []
    for layer in pkt.layers:
        if layer.layer_name == name:
            out += [layer, *getattr(layer, "duplicate_layers", [])]
    return out


def _innermost(pkt: Any, names: tuple[str, ...]) -> Any:
    """The last layer of one of `names`: tunnels (IP-in-IP, GRE, GTP-U) stack IP and UDP
    layers, and a message's own addresses are the innermost ones."""
    found = [layer for name in names for layer in _every(pkt, name)]
    last = [layer for layer in pkt.layers if layer.layer_name in names]
    if not last:
        return None
    kind = last[-1].layer_name
    return [layer for layer in found if layer.layer_name == kind][-1]


def _packet(pkt: Any, sip: list[SipPacket], rtcp: list[UdpPacket], rows: list, intern: Callable[[str], int],
            media: bool) -> None:
    names = [layer.layer_name for layer in pkt.layers]
    ip = _innermost(pkt, ("ip", "ipv6"))
    if ip is None:
        return
    frame, ts = int(pkt.number), float(pkt.sniff_timestamp)
    src, dst = str(ip.src), str(ip.dst)
    l4 = _innermost(pkt, ("udp", "tcp"))
    if l4 is None:
        return
    sport, dport = int(l4.srcport), int(l4.dstport)
    if "sip" in names:
        transport = "udp" if "udp" in names else ("tls" if "tls" in names else "tcp")
        if "websocket" in names:
            transport = "ws"
        for layer in _every(pkt, "sip_raw"):
            for text in _raw_values(layer.value):
                raw = _hex(text)
                msg = parse_sip(raw)
                if msg is not None:
                    sip.append(SipPacket(frame, ts, src, sport, dst, dport, transport, raw, msg))
        return
    if not media or "udp" not in names:
        return
    payload_text = l4.get_field("payload")
    payload = _hex(str(payload_text)) if payload_text else b""
    if is_rtcp(payload):
        rtcp.append(UdpPacket(frame, ts, src, sport, dst, dport, payload))
    rows.append((frame, ts, intern(src), intern(dst), sport, dport, len(payload),
                 payload[:HEAD_BYTES].ljust(HEAD_BYTES, b"\0")))
