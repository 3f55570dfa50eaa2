"""Reading captures: pcap/pcapng/gzip, link layers, IP and TCP reassembly, SIP and SDP.

Public API (stable): `scan(path, *, warn=None) -> CaptureScan`, the records in
`voxops.capture.records`, `voxops.capture.sip.parse_sip` and `voxops.capture.sdp`.
Importing this package is cheap; the numba kernels load on the first scan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voxops.capture.records import CaptureScan, SipPacket, UdpPacket, UdpTable
from voxops.errors import CaptureError

if TYPE_CHECKING:
    from voxops.capture.scanner import scan

__all__ = ["CaptureError", "CaptureScan", "SipPacket", "UdpPacket", "UdpTable", "scan"]


def __getattr__(name: str) -> Any:
    if name == "scan":
        from voxops.capture.scanner import scan

        return scan
    raise AttributeError(name)
