"""Capture formats the native reader does not read but tshark does (Microsoft NetMon,
Sun snoop, ...): such a file is read with the tshark engine, with a note, instead of
stopping. The format is told from the file's first bytes (after gzip), never its name.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from voxops.capture.files import PCAP_MAGIC, PCAPNG_MAGIC, open_capture
from voxops.errors import CaptureError

FOREIGN_MAGIC = {
    b"GMBU": "Microsoft NetMon 2",
    b"RTSS": "Microsoft NetMon 1",
    b"snoop\0\0\0": "Sun snoop",
    b"XCP\0": "NetXray / Sniffer",
}


def foreign_format(path: Path) -> str | None:
    """The name of a format tshark reads and the native reader does not; None for pcap,
    pcapng and whatever is unknown (the native reader then says what it found)."""
    try:
        fh = open_capture(path)
        try:
            buf = bytearray(8)
            got = fh.readinto(memoryview(buf))  # type: ignore[attr-defined]  # gzip: decompressed bytes
            head = bytes(buf[:got])
        finally:
            fh.close()
    except (OSError, EOFError, ValueError, CaptureError):
        return None  # the native reader reports it
    if head[:4] in PCAP_MAGIC or head[:4] == PCAPNG_MAGIC:
        return None
    return next((name for magic, name in FOREIGN_MAGIC.items() if head.startswith(magic)), None)


def native_or_tshark(path: Path, warn: Callable[[str], None] | None) -> bool:
    """True when `path` must be read by the tshark engine (a note is given); a foreign
    format without tshark installed is an environment problem that says so."""
    import shutil

    from voxops.errors import EnvironmentProblem

    name = foreign_format(path)
    if name is None:
        return False
    if shutil.which("tshark") is None:
        raise EnvironmentProblem(f"{path}: a {name} capture: voxops reads pcap and pcapng natively, and "
                                 "other formats through tshark, which is not installed",
                                 hint="install the Debian package tshark, or convert it: editcap -F pcapng IN OUT")
    if warn is not None:
        warn(f"{path}: a {name} capture, read with the tshark engine (the native reader reads pcap and pcapng)")
    return True
