"""Reading captures: pcap/pcapng/gzip, link layers, IP and TCP reassembly, SIP and SDP.

Public API (stable): `scan(path, *, warn=None) -> CaptureScan`, the records in
`voxops.capture.records` (SipPacket, UdpPacket, UdpTable, CaptureScan),
`voxops.capture.sip.parse_sip` and `voxops.capture.sdp`. Names resolve lazily so that
importing the package (as the CLI does) does not import numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voxops.errors import CaptureError

if TYPE_CHECKING:
    from voxops.capture.records import CaptureScan, SipPacket, UdpPacket, UdpTable
    from voxops.capture.scanner import scan

__all__ = ["CaptureError", "CaptureScan", "SipPacket", "UdpPacket", "UdpTable", "scan"]


def __getattr__(name: str) -> Any:
    if name == "scan":
        from voxops.capture.scanner import scan

        return scan
    if name in ("CaptureScan", "SipPacket", "UdpPacket", "UdpTable"):
        from voxops.capture import records

        return getattr(records, name)
    raise AttributeError(name)
