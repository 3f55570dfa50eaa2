"""Choosing the reader: the native engine, or tshark (pyshark) for what only Wireshark's
dissectors can do, such as SIP over TLS decrypted with a key log."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from voxops.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np

    from voxops.capture.records import CaptureScan, SipFilter, UdpTable


class Engine(StrEnum):
    native = "native"
    tshark = "tshark"


def load_capture(
    path: str | Path,
    *,
    engine: Engine = Engine.native,
    tls_keylog: Path | None = None,
    media: bool = True,
    warn: Callable[[str], None] | None = None,
    udp_keep: Callable[[UdpTable], np.ndarray] | None = None,
    sip_filter: SipFilter | None = None,
) -> CaptureScan:
    """Scan a capture with the chosen engine; both return the same records.

    `sip_filter` drops unwanted SIP messages during a native scan (after a tshark one).
    """
    from voxops.capture.files import check_capture_path

    path = check_capture_path(Path(path))
    if tls_keylog is not None and engine is not Engine.tshark:
        raise InvalidInput("--tls-keylog needs --engine tshark (TLS is decrypted by Wireshark)")
    if engine is Engine.native:
        from voxops.capture.foreign import native_or_tshark

        engine = Engine.tshark if native_or_tshark(path, warn) else engine
    if engine is Engine.tshark:
        from voxops.capture.tshark import scan_tshark

        result = scan_tshark(path, tls_keylog=tls_keylog, media=media, warn=warn)
        if udp_keep is not None:
            result.udp = result.udp.select(udp_keep(result.udp))
        if sip_filter is not None:
            result.sip = [p for p in result.sip if sip_filter.wants_raw(p.raw) and sip_filter.wants(p)]
        return result
    from voxops.capture.scanner import scan

    return scan(path, warn=warn, media=media, udp_keep=udp_keep, sip_filter=sip_filter)
