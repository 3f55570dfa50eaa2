"""Every DNS record of the spec asked of every vantage at once, and the answers compared.

The incident this catches: a change that propagated unevenly and sent half the traffic
to a decommissioned address. All queries run concurrently (asyncio), each bounded by the
spec's `dns.timeout_s`, so the whole check takes about as long as the slowest vantage.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections import defaultdict

import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
from pydantic import BaseModel

from voxops.errors import InvalidInput, Unreachable
from voxops.findings import Finding, FindingCode, Severity
from voxops.probes.verdict import PerfDatum
from voxops.spec.models import DnsRecord, RecordType, Topology, Vantage

_RB = "dns-propagation"
VANTAGE_TIMEOUT = FindingCode("dns-vantage-timeout", Severity.warning, _RB, "a vantage resolver did not answer in time")
ERROR_RCODE = FindingCode("dns-error-rcode", Severity.error, _RB, "NXDOMAIN or SERVFAIL at some vantages")
DISAGREE = FindingCode("dns-vantages-disagree", Severity.error, _RB, "vantages give different answers for one record")
STRAY = FindingCode("dns-stray-address", Severity.critical, _RB, "an answer points to an address outside the topology")
UNEXPECTED = FindingCode("dns-unexpected-answer", Severity.warning, _RB, "an answer the spec does not expect")
MISSING = FindingCode("dns-missing-answer", Severity.error, _RB, "an expected answer is missing at some vantages")
SRV_TARGET = FindingCode("dns-srv-target-unresolved", Severity.error, _RB, "an SRV target has no address")
TTL_LONG = FindingCode("dns-ttl-too-long", Severity.warning, _RB, "a TTL too long for a quick failover")
MAX_SRV_TARGETS = 32  # SRV targets followed per answer; a real service has a handful
TARGET_QUERIES_AT_ONCE = 8  # per vantage: an answer naming many targets does not become a flood
# what a resolver that misbehaves can make a query raise: that vantage's error, nothing more
QUERY_ERRORS = (dns.exception.DNSException, OSError, EOFError)


class VantageAnswer(BaseModel):
    """What one vantage said about one record. JSON field names are a public interface."""

    vantage: str
    server: str
    rcode: str | None = None
    answers: list[str] = []
    ttl: int | None = None
    error: str | None = None
    elapsed_ms: float = 0.0
    srv_targets: dict[str, list[str]] = {}
    srv_targets_skipped: int = 0


class RecordResult(BaseModel):
    name: str
    type: RecordType
    expect: list[str]
    max_ttl_s: int
    vantages: list[VantageAnswer]


class DnsReport(BaseModel):
    """`voxops dns --format json`."""

    spec: str
    timeout_s: float
    elapsed_ms: float
    records: list[RecordResult]
    findings: list[Finding]

    def perfdata(self) -> list[PerfDatum]:
        slowest: dict[str, float] = defaultdict(float)
        for r in self.records:
            for v in r.vantages:
                slowest[v.vantage] = max(slowest[v.vantage], v.elapsed_ms)
        perf = [PerfDatum(label="elapsed", value=round(self.elapsed_ms, 1), uom="ms", min=0)]
        perf += [PerfDatum(label=f"{name}_slowest", value=round(ms, 1), uom="ms", min=0,
                           crit=self.timeout_s * 1000) for name, ms in slowest.items()]
        return perf

    def summary(self) -> str:
        vantages = {v.vantage for r in self.records for v in r.vantages}
        return f"{len(self.records)} records agree across {len(vantages)} vantages"


def normalize(rtype: RecordType, text: str) -> str:
    """One spelling per answer: canonical addresses, lower-case names without the final dot."""
    if rtype in (RecordType.A, RecordType.AAAA):
        try:
            return str(ipaddress.ip_address(text.strip()))
        except ValueError:
            return text.strip().lower()
    parts = text.split()
    if parts:
        parts[-1] = parts[-1].rstrip(".").lower()
    return " ".join(parts)


def _answer_text(rtype: RecordType, rdata: object) -> str:
    if rtype is RecordType.SRV:
        srv = rdata
        target = srv.target.to_text(omit_final_dot=True)  # type: ignore[attr-defined]
        return f"{srv.priority} {srv.weight} {srv.port} {target}".lower()  # type: ignore[attr-defined]
    return normalize(rtype, rdata.to_text())  # type: ignore[attr-defined]


async def _query(server: str, port: int, name: str, rtype: str, timeout: float) -> dns.message.Message:
    q = dns.message.make_query(dns.name.from_text(name), rtype)
    async with asyncio.timeout(timeout):  # UDP and the TCP fallback together
        response, _ = await dns.asyncquery.udp_with_fallback(q, server, timeout=timeout, port=port)
    return response


def _addresses_in(msg: dns.message.Message, target: str) -> list[str]:
    found = []
    for rrset in msg.additional:
        if rrset.name.to_text(omit_final_dot=True).lower() == target and rrset.rdtype in (
            dns.rdatatype.A, dns.rdatatype.AAAA
        ):
            found += [str(ipaddress.ip_address(r.to_text())) for r in rrset]
    return found


async def _resolve_target(v: Vantage, target: str, msg: dns.message.Message, deadline: float,
                          slots: asyncio.Semaphore) -> list[str] | None:
    """The target's addresses (glue first), or None when the deadline came before asking."""
    glue = _addresses_in(msg, target)
    if glue:
        return sorted(glue)
    found: list[str] = []
    for rtype in ("A", "AAAA"):
        async with slots:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None if rtype == "A" else sorted(found)
            try:
                reply = await _query(v.address, v.port, target, rtype, remaining)
            except QUERY_ERRORS:
                continue
        for rrset in reply.answer:
            if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                found += [str(ipaddress.ip_address(r.to_text())) for r in rrset]
    return sorted(found)


async def ask(v: Vantage, record: DnsRecord, timeout: float) -> VantageAnswer:
    """One record at one vantage, SRV targets followed at the same vantage, within `timeout`."""
    started = time.monotonic()
    deadline = started + timeout
    result = VantageAnswer(vantage=v.name, server=f"{v.address}:{v.port}")

    def done(**fields: object) -> VantageAnswer:
        fields["elapsed_ms"] = round((time.monotonic() - started) * 1000, 3)
        return result.model_copy(update=fields)

    try:
        msg = await _query(v.address, v.port, record.name, record.type.value, timeout)
    except (dns.exception.Timeout, TimeoutError):
        return done(error="timeout")
    except QUERY_ERRORS as exc:
        return done(error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    rcode = dns.rcode.to_text(msg.rcode())
    qtype = dns.rdatatype.from_text(record.type.value)
    answers: list[str] = []
    ttls: list[int] = []
    for rrset in msg.answer:
        if rrset.rdtype == qtype:
            answers += [_answer_text(record.type, r) for r in rrset]
            ttls.append(rrset.ttl)
    targets: dict[str, list[str]] = {}
    names = sorted({a.split()[-1] for a in answers if a.split()[-1] != ""}) if record.type is RecordType.SRV else []
    if names:
        slots = asyncio.Semaphore(TARGET_QUERIES_AT_ONCE)
        found = await asyncio.gather(*(_resolve_target(v, n, msg, deadline, slots) for n in names[:MAX_SRV_TARGETS]))
        targets = {n: addrs for n, addrs in zip(names, found, strict=False) if addrs is not None}
    return done(rcode=rcode, answers=sorted(set(answers)), ttl=max(ttls) if ttls else None, srv_targets=targets,
                srv_targets_skipped=len(names) - len(targets))


async def _check_all(topology: Topology) -> tuple[list[RecordResult], float]:
    checks = topology.dns
    started = time.monotonic()
    pairs = [(r, v) for r in checks.records for v in checks.vantages]
    answers = await asyncio.gather(*(ask(v, r, checks.timeout_s) for r, v in pairs))
    results = []
    for i, record in enumerate(checks.records):
        per = answers[i * len(checks.vantages):(i + 1) * len(checks.vantages)]
        results.append(RecordResult(name=record.name, type=record.type, expect=record.expect,
                                    max_ttl_s=record.max_ttl_s, vantages=list(per)))
    return results, (time.monotonic() - started) * 1000


def check_dns(topology: Topology, spec: str = "") -> DnsReport:
    checks = topology.dns
    if not checks.vantages or not checks.records:
        raise InvalidInput(f"{spec or 'the spec'} has no dns.vantages or no dns.records to check",
                           hint="add dns: {vantages: [...], records: [...]} to the topology")
    results, elapsed = asyncio.run(_check_all(topology))
    if all(v.error is not None for r in results for v in r.vantages):
        raise Unreachable("no vantage resolver answered: " + ", ".join(
            f"{v.name} ({v.address}:{v.port})" for v in checks.vantages))
    return DnsReport(spec=spec, timeout_s=checks.timeout_s, elapsed_ms=round(elapsed, 3),
                     records=results, findings=judge(topology, results))


def judge(topology: Topology, results: list[RecordResult]) -> list[Finding]:
    """The findings of a set of answers (pure: no network)."""
    known = set(topology.addresses())
    for rec in topology.dns.records:
        if rec.type in (RecordType.A, RecordType.AAAA):
            known |= {normalize(rec.type, e) for e in rec.expect}
    findings: list[Finding] = _timeouts(topology, results)
    for r in results:
        findings += _judge_record(r, known)
    return findings


def _timeouts(topology: Topology, results: list[RecordResult]) -> list[Finding]:
    found = []
    for v in topology.dns.vantages:
        failed = [f"{r.name} {r.type.value}" for r in results for a in r.vantages
                  if a.vantage == v.name and a.error is not None]
        if failed:
            errors = sorted({a.error or "" for r in results for a in r.vantages if a.vantage == v.name and a.error})
            found.append(VANTAGE_TIMEOUT(
                f"vantage {v.name} ({v.address}:{v.port}) gave no answer for {len(failed)} record(s): "
                f"{', '.join(errors)} after {topology.dns.timeout_s:g} s",
                where=f"{v.address}:{v.port}", vantage=v.name, records=failed, errors=errors,
            ))
    return found


def _judge_record(r: RecordResult, known: set[str]) -> list[Finding]:
    label = f"{r.name} {r.type.value}"
    answered = [a for a in r.vantages if a.error is None]
    found: list[Finding] = []
    bad = {a.vantage: a.rcode for a in answered if a.rcode in ("NXDOMAIN", "SERVFAIL", "REFUSED")}
    if bad:
        good = [a.vantage for a in answered if a.vantage not in bad]
        found.append(ERROR_RCODE(
            f"{label}: " + ", ".join(f"{rc} at {v}" for v, rc in bad.items())
            + (f" (answered at {', '.join(good)})" if good else ""),
            where=r.name, rcodes=bad,
        ))
    sets = {a.vantage: a.answers for a in answered}
    if len({tuple(s) for s in sets.values()}) > 1:
        found.append(DISAGREE(
            f"{label}: vantages disagree: " + "; ".join(f"{v}: {', '.join(s) or '(none)'}" for v, s in sets.items()),
            where=r.name, answers=sets,
        ))
    found += _judge_values(r, label, answered, known)
    long_ttl = {a.vantage: a.ttl for a in answered if a.ttl is not None and a.ttl > r.max_ttl_s}
    if long_ttl:
        found.append(TTL_LONG(
            f"{label}: TTL " + ", ".join(f"{t} s at {v}" for v, t in long_ttl.items())
            + f" is above {r.max_ttl_s} s: a failover takes that long to reach callers",
            where=r.name, ttl=long_ttl, max_ttl_s=r.max_ttl_s,
        ))
    return found


def _judge_values(r: RecordResult, label: str, answered: list[VantageAnswer], known: set[str]) -> list[Finding]:
    found: list[Finding] = []
    expect = {normalize(r.type, e) for e in r.expect}
    stray: dict[str, list[str]] = defaultdict(list)
    unexpected: dict[str, list[str]] = defaultdict(list)
    unresolved: dict[str, list[str]] = defaultdict(list)
    for a in answered:
        addresses = list(a.answers) if r.type in (RecordType.A, RecordType.AAAA) else []
        for target, addrs in a.srv_targets.items():
            addresses += addrs
            if not addrs:
                unresolved[target].append(a.vantage)
        for address in addresses:
            if address not in known:
                stray[address].append(a.vantage)
        for answer in a.answers:
            if expect and answer not in expect and answer not in stray:
                unexpected[answer].append(a.vantage)
    for address, where in stray.items():
        found.append(STRAY(
            f"{label} leads to {address} at {', '.join(where)}: not an address of the topology "
            "(a decommissioned host?)",
            where=r.name, address=address, vantages=where,
        ))
    for answer, where in unexpected.items():
        found.append(UNEXPECTED(f"{label}: {answer} at {', '.join(where)} is not in expect",
                                where=r.name, answer=answer, vantages=where))
    for target, where in unresolved.items():
        found.append(SRV_TARGET(f"{label}: SRV target {target} has no A/AAAA address at {', '.join(where)}",
                                where=r.name, target=target, vantages=where))
    noerror = [a for a in answered if a.rcode == "NOERROR"]
    for value in sorted(expect):
        lacking = [a.vantage for a in noerror if value not in a.answers]
        if lacking:
            found.append(MISSING(f"{label}: expected {value} missing at {', '.join(lacking)}",
                                 where=r.name, expected=value, vantages=lacking))
    return found
