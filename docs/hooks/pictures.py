"""mkdocs hook: the ladder pictures of docs/ladders.md, drawn at build time.

Each capture of scenarios.PICTURES is written, then drawn by `voxops ladder` as PNG and
as the HTML page, so the pictures on the page are exactly what a user gets. A picture
that fails is a warning, which fails `mkdocs build --strict`.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.voxops.pictures")
HOOKS = Path(__file__).resolve().parent
REPO = HOOKS.parent.parent
FORMATS = ("png", "html")


def _scenarios() -> Any:
    spec = importlib.util.spec_from_file_location("voxops_docs_picture_scenarios", HOOKS / "scenarios.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def draw_pictures() -> dict[str, bytes]:
    """Site path -> content: the capture, PNG and HTML ladder of every picture scenario."""
    from voxops.cli.main import main

    scenarios = _scenarios()
    spec = REPO / "voxops" / "data" / "inventories" / "local"
    names = ["--spec", str(spec)] if spec.is_dir() else []
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in scenarios.PICTURES:
            pcap = scenarios.build(name, Path(tmp))
            out[f"ladders/{name}.pcap"] = pcap.read_bytes()
            for fmt in FORMATS:
                target = Path(tmp) / f"{name}.{fmt}"
                argv = ["ladder", str(pcap), "--call-id", scenarios.call_id(name), "--format", fmt, "-o", str(target)]
                code = main([*argv, *names])
                if code != 0 or not target.is_file():
                    log.warning("voxops %s exited %s for the %s picture", " ".join(argv), code, name)
                    continue
                out[f"ladders/{name}.{fmt}"] = target.read_bytes()
    return out


def on_files(files: Files, config: Any) -> Files:
    for uri, content in draw_pictures().items():
        files.append(File.generated(config, uri, content=content))
    return files
