"""Agent workers and the capacity they give: what `voxops validate` reports.

An agent instance is a host; `workers: N` runs N agent processes on it, worker k on
sip_port + k and health_port + k. Worker 0 keeps the instance's name and file names, so
a spec without `workers` renders exactly as before; worker k > 0 is `<name>-w<k>`.
One process serves at most PROCESS_CALL_LIMIT calls (the pjsua2 wheel's PJSUA_MAX_CALLS).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from voxops.spec.models import AgentInstance, Topology

PROCESS_CALL_LIMIT = 4


class AgentWorker(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    instance: str  # the host (inventory name)
    index: int
    name: str
    host: str
    sip_port: int
    health_port: int
    max_calls: int
    suffix: str  # "" for worker 0, "-w<k>" otherwise: file names on the host


def workers_of(instance: AgentInstance) -> list[AgentWorker]:
    out = []
    for k in range(instance.workers):
        suffix = f"-w{k}" if k else ""
        out.append(AgentWorker(
            instance=instance.name, index=k, name=instance.name + suffix, host=instance.host,
            sip_port=instance.sip_port + k, health_port=instance.health_port + k,
            max_calls=instance.max_calls, suffix=suffix,
        ))
    return out


def all_workers(topo: Topology) -> list[AgentWorker]:
    return [w for instance in topo.agents.instances for w in workers_of(instance)]


class HostCapacity(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    workers: int
    calls_per_worker: int
    calls: int


class Capacity(BaseModel):
    """JSON `capacity` of `voxops validate`: concurrent calls per agent host and in all,
    against the SBC's admission limit (null when admission control is off)."""

    model_config = ConfigDict(frozen=True)

    hosts: list[HostCapacity]
    total_calls: int
    admission_limit: int | None


def capacity(topo: Topology) -> Capacity:
    hosts = []
    for instance in topo.agents.instances:
        per_worker = min(instance.max_calls, PROCESS_CALL_LIMIT)
        hosts.append(HostCapacity(name=instance.name, workers=instance.workers, calls_per_worker=per_worker,
                                  calls=per_worker * instance.workers))
    adm = topo.sbc.admission
    limit = adm.max_concurrent_calls if adm is not None and adm.enabled else None
    return Capacity(hosts=hosts, total_calls=sum(h.calls for h in hosts), admission_limit=limit)
