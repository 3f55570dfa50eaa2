"""`voxops render` end to end: load the spec, plan, render, optionally check with kamailio."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from voxops.deploy.validation import ConfigCheck, check_kamailio, check_rtpengine
from voxops.render.engine import RenderedFile, plan, render_all, resolve_secrets
from voxops.spec.loader import load_topology


class RenderReport(BaseModel):
    spec: str
    output: str
    prefix: str
    files: list[RenderedFile]
    checks: list[ConfigCheck]


def render_spec(spec: Path, out: Path, *, prefix: str | None = None, check: bool = False) -> RenderReport:
    topo, _ = load_topology(spec)
    base = spec if spec.is_dir() else spec.parent
    out = out.resolve()
    pfx = prefix or str(out)
    needs_secrets = any(t.credentials for _, t in topo.trunks())
    jobs = plan(topo, pfx, resolve_secrets(topo, base) if needs_secrets else None)
    files = render_all(jobs, out)
    checks: list[ConfigCheck] = []
    if check:
        checks = [check_kamailio(out / j.dest) for j in jobs if j.dest.endswith("/kamailio.cfg")]
        checks += [check_rtpengine(out / j.dest) for j in jobs if j.dest.endswith("/rtpengine.conf")]
    return RenderReport(spec=str(spec), output=str(out), prefix=pfx, files=files, checks=checks)
