"""Drill variants of a spec: the running spec plus what a drill adds (a TLS endpoint, ...)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from voxops.spec.loader import load_topology


def derived_spec(base: Path, out_dir: Path, **sections: Any) -> Path:
    """Write base's spec with top-level `sections` replaced to out_dir/topology.yaml."""
    source = base / "topology.yaml" if base.is_dir() else base
    data = yaml.safe_load(source.read_text())
    data.update(sections)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "topology.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    load_topology(path)  # a drill never hands an invalid spec to the probes
    return path
