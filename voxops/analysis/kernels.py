"""Loading the compiled RTP kernels (rtpkernels.py), built by the capture kernels' builder.

Importing numba and loading JIT-cached kernels costs about a second of CPU in every
process (see voxops.capture.kernels), more than analysing the RTP of a million packets.
So the kernels are compiled ahead of time once (numba.pycc) into an extension module in
the user cache, keyed by their source and the numba/Python versions; later runs import
it without numba. Where that build cannot run (no C compiler), numba's JIT is used.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

_SOURCE = Path(__file__).resolve().parent / "rtpkernels.py"
_loaded: Any = None


def load() -> Any:
    """The kernels module: ahead-of-time build if possible, else numba JIT."""
    global _loaded
    if _loaded is None:
        from voxops.capture.kernels import ahead_of_time

        module = ahead_of_time([_SOURCE], "voxops.analysis.rtpkernels", "RTP", "_voxops_rtp_kernels_")
        _loaded = module if module is not None else jit_kernels()
    return _loaded


def jit_kernels() -> SimpleNamespace:
    from voxops.analysis import rtpkernels

    return SimpleNamespace(**{n: getattr(rtpkernels, n) for n in rtpkernels.SIGNATURES})
