"""Every audit in these tests may only ever target loopback."""

from __future__ import annotations

import pytest

from voxops.probes.exposure import LOOPBACK_ONLY_ENV


@pytest.fixture(autouse=True)
def _loopback_only_audits(monkeypatch):
    monkeypatch.setenv(LOOPBACK_ONLY_ENV, "1")
