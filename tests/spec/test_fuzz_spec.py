"""A short run of the spec fuzzer (benchmarks/fuzz_spec.py): loading, validating and
rendering mutated specs ends in a result or InvalidInput, never another exception."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_spec_fuzzer_runs_clean(tmp_path):
    corpus = tmp_path / "corpus"
    cp = subprocess.run([sys.executable, str(REPO / "benchmarks" / "fuzz_spec.py"), "--runs", "300", "-seed=1",
                         str(corpus)], capture_output=True, text=True, timeout=600, check=False)
    assert cp.returncode == 0, cp.stderr[-3000:]
    assert "Done 300 runs" in cp.stderr
