"""Who answered what, read back from a drill's capture with tshark."""

from __future__ import annotations

from pathlib import Path

from voxops.proc import run


def answered_uris(pcap: Path, proxies: set[str]) -> dict[str, str]:
    """Call-ID -> Request-URI of the branch a proxy (an SBC node) relayed that got the 200."""
    cp = run(
        [
            "tshark", "-r", str(pcap), "-Y", 'sip.CSeq.method == "INVITE"', "-T", "fields",
            "-E", "separator=\t", "-e", "sip.Call-ID", "-e", "ip.src", "-e", "ip.dst",
            "-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.r-uri",
        ],
        timeout=60,
    )  # fmt: skip
    branch: dict[tuple[str, str], str] = {}  # (call-id, callee address) -> last R-URI sent there
    answered: dict[str, str] = {}
    for line in cp.stdout.decode(errors="replace").splitlines():
        parts = line.split("\t")
        if len(parts) < 6:
            continue
        call_id, src, dst, method, status, ruri = parts[:6]
        if method == "INVITE" and src in proxies:
            branch[(call_id, dst)] = ruri
        elif status == "200" and dst in proxies and (call_id, src) in branch:
            answered[call_id] = branch[(call_id, src)]
    return answered
