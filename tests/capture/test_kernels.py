"""The ahead-of-time kernels and the numba JIT fallback read captures identically."""

from __future__ import annotations

import numpy as np

from tests.conftest import shared_pcap
from tests.support.capture import DATA
from voxops.capture import kernels, scan


def test_jit_fallback_matches_the_compiled_kernels(monkeypatch):
    paths = [DATA / "udp_proxy.pcapng", shared_pcap("sip-rtp-ilbc.pcap")]  # pcapng; pcap with RTP
    compiled = [scan(p) for p in paths]
    monkeypatch.setattr(kernels, "_loaded", kernels.jit_kernels())
    for path, want in zip(paths, compiled, strict=True):
        got = scan(path)
        assert [p.raw for p in got.sip] == [p.raw for p in want.sip]
        assert got.packets == want.packets
        for column in ("frame", "ts", "src", "dst", "sport", "dport", "length", "head"):
            assert np.array_equal(getattr(got.udp, column), getattr(want.udp, column))


def test_kernel_cache_is_keyed_by_source_and_versions(monkeypatch, tmp_path):
    monkeypatch.setenv("VOXOPS_CACHE_DIR", str(tmp_path))
    assert kernels.cache_dir() == tmp_path / "voxops"
    name = kernels._module_name()
    assert name.startswith("_voxops_kernels_") and name == kernels._module_name()
