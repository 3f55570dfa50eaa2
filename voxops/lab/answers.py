"""Who answered what, read back from a drill's capture with voxops's own capture engine."""

from __future__ import annotations

from pathlib import Path


def answered_uris(pcap: Path, proxies: set[str]) -> dict[str, str]:
    """Call-ID -> Request-URI of the branch a proxy (an SBC node) relayed that got the 200."""
    from voxops.capture.scanner import scan

    branch: dict[tuple[str, str], str] = {}  # (call-id, callee address) -> last R-URI sent there
    answered: dict[str, str] = {}
    for packet in scan(pcap, media=False).sip:
        msg = packet.msg
        call_id, cseq = msg.call_id, msg.cseq
        if call_id is None or cseq is None or cseq[1] != "INVITE":
            continue
        if msg.is_request and msg.method == "INVITE" and packet.src in proxies and msg.request_uri:
            branch[(call_id, packet.dst)] = msg.request_uri
        elif not msg.is_request and msg.status == 200 and packet.dst in proxies and (call_id, packet.src) in branch:
            answered[call_id] = branch[(call_id, packet.src)]
    return answered
