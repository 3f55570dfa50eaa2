"""Which file comes from which template with which data, and rendering them (pure + file writes).

The environment mirrors Ansible's template module (trim_blocks on, lstrip_blocks off,
trailing newline kept) so the same templates and the same job data give the same bytes
through `voxops render` and through a playbook.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
from pydantic import BaseModel, ConfigDict

from voxops.errors import InvalidInput, SpecError
from voxops.output_file import existing_mode_at, open_tree, replace_at
from voxops.render.context import node_context, node_paths, topology_context
from voxops.render.guard import check_context, check_secret, finalize
from voxops.resources import data_dir
from voxops.spec.models import Topology
from voxops.spec.types import shown

SECRET_MODE = 0o600
FILE_MODE = 0o640
MAX_SECRET_BYTES = 4096
# the prefix is printed into configs and unit files: the spec's file path charset
_PREFIX_RE = re.compile(r"/[A-Za-z0-9_./@+-]{0,1000}")


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


@functools.cache
def environment(templates: Path | None = None) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates or data_dir("templates"))),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=False,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=finalize,
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
            value, origin = env[ref.env], f"environment variable {ref.env}"
        else:
            value, origin = _read_secret_file(trunk.name, base / str(ref.file)), f"file {base / str(ref.file)}"
        out[trunk.name] = check_secret(f"of trunk {trunk.name} (from {origin})", value)
    return out


def _read_secret_file(trunk: str, path: Path) -> str:
    """A password file's text: a regular file of at most MAX_SECRET_BYTES UTF-8 bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise InvalidInput(f"trunk {trunk}: password file {path} is not a regular file")
            raw = os.read(fd, MAX_SECRET_BYTES + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise InvalidInput(f"trunk {trunk}: cannot read password file {path}: {exc.strerror}") from None
    if len(raw) > MAX_SECRET_BYTES:
        raise InvalidInput(f"trunk {trunk}: password file {path} is larger than {MAX_SECRET_BYTES} bytes")
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise InvalidInput(f"trunk {trunk}: password file {path} is not UTF-8 text") from None


def plan(topo: Topology, prefix: str, secrets: Mapping[str, str] | None = None) -> list[RenderJob]:
    """Every file of the topology, in a fixed order."""
    if not prefix.startswith("/"):
        raise InvalidInput(f"prefix must be an absolute path, got {shown(prefix)}")
    if not _PREFIX_RE.fullmatch(prefix):
        raise InvalidInput(f"prefix {shown(prefix)}: the folder configs point at may hold only letters, "
                           "digits and '_./@+-'", hint="render into such a folder, or pass --prefix")
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
        if node["media"]:
            jobs.append(RenderJob(host=host, template="rtpengine/rtpengine.conf.j2",
                                  dest=f"{host}/etc/rtpengine.conf", vars=v))
        if t["tls"]:
            jobs.append(RenderJob(host=host, template="kamailio/tls.cfg.j2", dest=f"{host}/etc/tls.cfg", vars=v))
        if has_creds:
            jobs.append(RenderJob(
                host=host, template="kamailio/credentials.cfg.j2", dest=f"{host}/etc/credentials.cfg",
                mode=SECRET_MODE, secret=True, vars={**v, "secrets": dict(secrets or {})},
            ))
    for agent in t["agents"]:  # one per worker; a host (inventory name) runs its instance's workers
        host, suffix = agent["instance"], agent["suffix"]
        v = {"topo": t, "agent": {**agent, "paths": node_paths(prefix, host)}}
        jobs.append(RenderJob(host=host, template="agent/agent.yaml.j2", dest=f"{host}/etc/agent{suffix}.yaml", vars=v))
        jobs.append(RenderJob(host=host, template="agent/voxops-agent.service.j2",
                              dest=f"{host}/etc/voxops-agent-{agent['name']}.service", vars=v))
    for trunk in t["trunks"]:
        jobs.append(RenderJob(host="monitoring", template="trunks/trunk.md.j2",
                              dest=f"shared/trunks/{trunk['carrier']}-{trunk['name']}.md",
                              vars={"topo": t, "trunk": trunk, "nodes": nodes}))
    jobs.append(RenderJob(host="monitoring", template="prometheus/voxops-alerts.yml.j2",
                          dest="shared/prometheus/voxops-alerts.yml", vars={"topo": t}))
    for job in jobs:  # the same data goes to Ansible's template module: check it here
        check_context(job.dest, job.vars)
    return jobs


def render_job(env: jinja2.Environment, job: RenderJob) -> str:
    try:
        return env.get_template(job.template).render(**job.vars)
    except jinja2.UndefinedError as exc:
        raise SpecError([f"{job.template}: {exc.message}"]) from None


def render_all(jobs: list[RenderJob], out_dir: Path) -> list[RenderedFile]:
    """Render every job, then write them: a template or a target that fails stops the run
    before any file is replaced. Targets must be regular files (or absent), and no folder
    below out_dir may be a link: a secret is never written through a link."""
    env = environment()
    texts = [render_job(env, job).encode() for job in jobs]
    with ExitStack() as stack:
        folders: dict[PurePosixPath, int] = {}
        targets: list[tuple[int, str, Path]] = []
        for job in jobs:
            dest = PurePosixPath(job.dest)
            if dest.parent not in folders:
                folders[dest.parent] = open_tree(out_dir, dest.parent.parts, stack)
            dir_fd = folders[dest.parent]
            existing_mode_at(dir_fd, dest.name, out_dir / job.dest)  # refuses a link, a device...
            targets.append((dir_fd, dest.name, out_dir / job.dest))
        files = []
        for (dir_fd, name, path), job, data in zip(targets, jobs, texts, strict=True):
            replace_at(dir_fd, name, data, mode=job.mode, shown=path)
            files.append(RenderedFile(path=str(path), mode=f"{job.mode:04o}",
                                      sha256=hashlib.sha256(data).hexdigest(), bytes=len(data)))
    return files

