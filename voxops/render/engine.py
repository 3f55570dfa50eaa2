"""Which file comes from which template with which data, and rendering them (pure + file writes).

The environment mirrors Ansible's template module (trim_blocks on, lstrip_blocks off,
trailing newline kept) so the same templates and the same job data give the same bytes
through `voxops render` and through a playbook.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel, ConfigDict

from voxops.errors import InvalidInput, SpecError
from voxops.render.context import check_secret, node_context, node_paths, topology_context
from voxops.resources import data_dir
from voxops.spec.models import Topology

SECRET_MODE = 0o600
FILE_MODE = 0o640


class RenderJob(BaseModel):
    """One output file: template (relative to voxops/data/templates/), destination (relative to prefix)."""

    model_config = ConfigDict(frozen=True)

    host: str
    template: str
    dest: str
    mode: int = FILE_MODE
    secret: bool = False
    vars: dict[str, Any]


class RenderedFile(BaseModel):
    path: str
    mode: str
    sha256: str
    bytes: int


def environment(templates: Path | None = None) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates or data_dir("templates"))),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=False,
        keep_trailing_newline=True,
        autoescape=False,
    )


def resolve_secrets(topo: Topology, base: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The carrier passwords the spec references (environment variable or file)."""
    env = os.environ if env is None else env
    out: dict[str, str] = {}
    for _, trunk in topo.trunks():
        if trunk.credentials is None:
            continue
        ref = trunk.credentials.password
        if ref.env:
            if ref.env not in env:
                raise InvalidInput(
                    f"trunk {trunk.name}: environment variable {ref.env} (its password) is not set",
                    hint="export it before rendering or deploying",
                )
            value = env[ref.env]
        else:
            path = base / str(ref.file)
            try:
                value = path.read_text().strip()
            except OSError as exc:
                raise InvalidInput(f"trunk {trunk.name}: cannot read password file {path}: {exc.strerror}") from None
        out[trunk.name] = check_secret(f"{trunk.name} password", value)
    return out


def plan(topo: Topology, prefix: str, secrets: Mapping[str, str] | None = None) -> list[RenderJob]:
    """Every file of the topology, in a fixed order."""
    if not prefix.startswith("/"):
        raise InvalidInput(f"prefix must be an absolute path, got {prefix!r}")
    t = topology_context(topo)
    nodes = [node_context(topo, n, prefix) for n in topo.sbc.nodes]
    if any("udp" not in n["socket_for"] for n in nodes):
        raise SpecError(["sbc.nodes: every node needs a udp listener toward the agents"])
    has_creds = any(tr["credentials"] for tr in t["trunks"])
    if has_creds and secrets is None:
        raise InvalidInput("the spec references carrier passwords: resolve them first")
    jobs: list[RenderJob] = []
    for node in nodes:
        host = node["name"]
        v = {"topo": t, "node": node}
        jobs.append(RenderJob(host=host, template="kamailio/kamailio.cfg.j2", dest=f"{host}/etc/kamailio.cfg", vars=v))
        jobs.append(RenderJob(host=host, template="kamailio/dispatcher.list.j2", dest=f"{host}/etc/dispatcher.list", vars=v))
        if t["tls"]:
            jobs.append(RenderJob(host=host, template="kamailio/tls.cfg.j2", dest=f"{host}/etc/tls.cfg", vars=v))
        if has_creds:
            jobs.append(RenderJob(
                host=host, template="kamailio/credentials.cfg.j2", dest=f"{host}/etc/credentials.cfg",
                mode=SECRET_MODE, secret=True, vars={**v, "secrets": dict(secrets or {})},
            ))
    for agent in t["agents"]:
        host = agent["name"]
        v = {"topo": t, "agent": {**agent, "paths": node_paths(prefix, host)}}
        jobs.append(RenderJob(host=host, template="agent/agent.yaml.j2", dest=f"{host}/etc/agent.yaml", vars=v))
        jobs.append(RenderJob(host=host, template="agent/voxops-agent.service.j2",
                              dest=f"{host}/etc/voxops-agent-{host}.service", vars=v))
    for trunk in t["trunks"]:
        jobs.append(RenderJob(host="monitoring", template="trunks/trunk.md.j2",
                              dest=f"shared/trunks/{trunk['carrier']}-{trunk['name']}.md",
                              vars={"topo": t, "trunk": trunk, "nodes": nodes}))
    jobs.append(RenderJob(host="monitoring", template="prometheus/voxops-alerts.yml.j2",
                          dest="shared/prometheus/voxops-alerts.yml", vars={"topo": t}))
    return jobs


def render_job(env: jinja2.Environment, job: RenderJob) -> str:
    try:
        return env.get_template(job.template).render(**job.vars)
    except jinja2.UndefinedError as exc:
        raise SpecError([f"{job.template}: {exc.message}"]) from None


def write_file(path: Path, text: str, mode: int) -> RenderedFile:
    """Atomic write; the mode is set before the content lands, so a secret is never world-readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode()
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
    finally:
        os.close(fd)
    tmp.replace(path)
    return RenderedFile(path=str(path), mode=f"{mode:04o}", sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))


def render_all(jobs: list[RenderJob], out_dir: Path) -> list[RenderedFile]:
    env = environment()
    return [write_file(out_dir / job.dest, render_job(env, job), job.mode) for job in jobs]
