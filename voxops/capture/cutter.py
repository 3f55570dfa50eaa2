"""Copying chosen frames of a capture into a new pcap (what `voxops export` writes)."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np

from voxops.capture.files import read_batches
from voxops.capture.writer import PcapWriter
from voxops.errors import CaptureError
from voxops.output_file import atomic_file


def copy_frames(source: Path, frames: set[int], out: Path) -> int:
    """Write the given frame numbers (1-based) of `source` to `out` as pcap; returns the count.

    Frames keep their bytes and timestamps (microsecond resolution). A pcap file holds
    one link type, so frames of a second link type are refused. `out` is replaced only
    when the whole file is written: a failed run leaves an existing file as it was.
    """
    wanted = np.array(sorted(frames), np.int64)
    with atomic_file(out) as fh:
        count = _copy(source, wanted, fh)
        if not count:
            raise CaptureError(f"{source}: none of the call's frames could be read again")
    return count


def _copy(source: Path, wanted: np.ndarray, out: BinaryIO) -> int:
    writer: PcapWriter | None = None
    link_type: int | None = None
    try:
        for batch in read_batches(source, lambda _msg: None):
            numbers = np.arange(batch.first_frame, batch.first_frame + len(batch))
            for i in np.flatnonzero(np.isin(numbers, wanted)).tolist():
                link = int(batch.link[i])
                if writer is None:
                    link_type = link
                    writer = PcapWriter(out, link)
                elif link != link_type:
                    raise CaptureError(
                        f"frame {batch.first_frame + i}: link type {link} differs from {link_type}; "
                        "a pcap file holds one link type"
                    )
                writer.write(float(batch.ts[i]), batch.data(i))
            if len(batch) and batch.first_frame + len(batch) > wanted[-1:].max(initial=0):
                break
    finally:
        if writer is not None:
            writer.close()
    return writer.count if writer is not None else 0
