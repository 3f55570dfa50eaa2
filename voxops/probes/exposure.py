"""What a SIP scanner learns about our own SBC: sipvicious svmap and svwar, run as a library.

svmap sends OPTIONS with the scanner's own User-Agent (`friendly-scanner`): an SBC that
drops scanner user agents gives no answer. svwar asks REGISTER for a small range of
extensions and compares each reply with the reply for a random one: any difference
means an attacker can tell which extensions exist.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import socket

from pydantic import BaseModel

from voxops.errors import EnvironmentProblem, InvalidInput
from voxops.findings import Finding, FindingCode, Severity
from voxops.probes.verdict import PerfDatum
from voxops.spec.models import Topology, Transport

ANSWERS_SCANNERS = FindingCode(
    "sbc-answers-scanners", Severity.error, "sbc-exposure", "the SBC answers SIP scanner user agents"
)
EXTENSIONS_ENUMERABLE = FindingCode(
    "sbc-extensions-enumerable", Severity.critical, "sbc-exposure", "a scanner can tell which extensions exist"
)

# Set in test environments: every audit target must then be a loopback address.
LOOPBACK_ONLY_ENV = "VOXOPS_AUDIT_LOOPBACK_ONLY"
DEFAULT_EXTENSIONS = "100-120,200,1000-1010"


class AuditReport(BaseModel):
    """`voxops audit --format json`."""

    target: str
    in_spec: bool
    bind: str
    answers_scanner: bool
    scanner_user_agent: str | None = None
    enumeration_method: str
    extensions_tried: int
    enumeration_answered: bool
    extensions: dict[str, str] = {}
    findings: list[Finding]

    def perfdata(self) -> list[PerfDatum]:
        return [
            PerfDatum(label="answers_scanner", value=int(self.answers_scanner), crit=0, min=0, max=1),
            PerfDatum(label="extensions_found", value=len(self.extensions), crit=0, min=0),
        ]

    def summary(self) -> str:
        return f"{self.target} gives a scanner nothing"


def parse_target(text: str) -> tuple[str, int | None]:
    """`addr`, `addr:port`, `[v6]:port` -> (address, port or None)."""
    host, port = text, None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        address = str(ipaddress.ip_address(host))
        number = int(port) if port is not None else None
    except ValueError:
        raise InvalidInput(f"not an IP address[:port]: {text!r}") from None
    if number is not None and not 1 <= number <= 65535:
        raise InvalidInput(f"port out of range in {text!r}")
    return address, number


def sbc_udp_ports(topology: Topology, address: str) -> list[int]:
    """UDP ports the spec says SBC nodes listen on at `address` (sipvicious speaks UDP)."""
    ports = []
    for node in topology.sbc.nodes:
        for transport, addr, port in node.sockets():
            if addr == address and transport is Transport.udp:
                ports.append(port)
        if node.address == address and not ports:
            ports.append(5060)
    return ports


def authorize(address: str, port: int | None, topology: Topology | None, i_own_this: bool) -> tuple[int, bool]:
    """The port to scan and whether the spec names the address; refuse anyone else's host."""
    if os.environ.get(LOOPBACK_ONLY_ENV) and not ipaddress.ip_address(address).is_loopback:
        raise InvalidInput(f"refusing to audit {address}: only loopback targets are allowed here ({LOOPBACK_ONLY_ENV})")
    if topology is None and not i_own_this:
        raise InvalidInput(
            f"refusing to audit {address}: no spec names it (give --spec, or run where topology.yaml is)",
            hint="audit only systems you operate; pass --i-own-this if this one is yours",
        )
    ports = sbc_udp_ports(topology, address) if topology is not None else []
    if not ports and not i_own_this:
        raise InvalidInput(
            f"refusing to audit {address}: it is not an SBC node address in the spec",
            hint="audit only systems you operate; pass --i-own-this if this one is yours",
        )
    if port is None:
        if not ports:
            raise InvalidInput(f"give the port to audit as {address}:PORT")
        port = ports[0]
    return port, bool(ports)


def _local_address(address: str) -> str:
    """The source address the kernel would use towards the target."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.connect((address, 9))
        return str(s.getsockname()[0])


def _free_udp_port(bind: str) -> int:
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((bind, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _quiet_sipvicious():  # type: ignore[no-untyped-def]
    loggers = [logging.getLogger(n) for n in ("DrinkOrSip", "TakeASip")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def run_svmap(address: str, port: int, bind: str, timeout: float) -> tuple[bool, str | None]:
    """One svmap OPTIONS from an explicit bind address and port: (answered, user agent seen)."""
    from sipvicious.svmap import DrinkOrSip

    ipv6 = ":" in address
    scanner = DrinkOrSip(iter([(address, port, "OPTIONS")]), bindingip=bind, localport=_free_udp_port(bind),
                         socktimeout=timeout, externalip=bind, ipv6=ipv6)
    try:
        scanner.start()
    finally:
        scanner.sock.close()
    for key, ua in scanner.resultua.items():
        if key.rsplit(":", 1)[0].strip("[]") == address:
            return True, None if ua in ("unknown", "") else str(ua)
    return False, None


def run_svwar(address: str, port: int, bind: str, extensions: str, timeout: float, method: str) -> tuple[bool, dict[str, str]]:
    """svwar over a numeric range: (the server answered at all, extension -> classification)."""
    from sipvicious.libs.svhelper import getRange
    from sipvicious.svwar import TakeASip

    ranges = getRange(extensions)
    war = TakeASip(host=address, port=port, bindingip=bind, externalip=bind, localport=_free_udp_port(bind),
                   method=method, guessmode=1, guessargs=(ranges, 0, None, False), socktimeout=timeout,
                   maxlastrecvtime=max(timeout, 1.0), ipv6=":" in address)
    try:
        war.start()
    finally:
        war.sock.close()
    return war.BADUSER is not None, {str(k): str(v) for k, v in war.resultauth.items()}


def audit(
    target: str,
    *,
    topology: Topology | None,
    i_own_this: bool,
    extensions: str = DEFAULT_EXTENSIONS,
    method: str = "REGISTER",
    timeout: float = 2.0,
    bind: str | None = None,
) -> AuditReport:
    address, port = parse_target(target)
    tried = count_extensions(extensions)
    if method not in ("REGISTER", "OPTIONS"):
        raise InvalidInput(f"--method {method}: only REGISTER or OPTIONS (an INVITE scan rings phones)")
    if bind is not None:
        bind = parse_target(bind)[0]
    port, in_spec = authorize(address, port, topology, i_own_this)
    if bind is not None:
        if (":" in bind) != (":" in address):
            raise InvalidInput(f"--bind {bind}: not of the address family of {address}")
        try:
            _free_udp_port(bind)
        except OSError as exc:  # EADDRNOTAVAIL: not an address of this machine
            raise InvalidInput(f"--bind {bind}: cannot send from it: {exc.strerror}") from exc
    try:
        bind = bind or _local_address(address)
    except OSError as exc:
        raise EnvironmentProblem(f"no route to {address}: {exc.strerror}") from exc
    with _quiet_sipvicious():
        answered, ua = run_svmap(address, port, bind, timeout)
        enum_answered, found = run_svwar(address, port, bind, extensions, timeout, method)
    where = f"{address}:{port}"
    findings: list[Finding] = []
    if answered:
        findings.append(ANSWERS_SCANNERS(
            f"{where} answers svmap's OPTIONS (User-Agent: friendly-scanner)"
            + (f" and names itself {ua!r}" if ua else "") + ": scanners find it",
            where=where, user_agent=ua,
        ))
    if found:
        findings.append(EXTENSIONS_ENUMERABLE(
            f"{where}: {method} replies tell {len(found)} extension(s) apart: "
            + ", ".join(f"{k} ({v})" for k, v in sorted(found.items())),
            where=where, extensions=found, method=method,
        ))
    return AuditReport(target=where, in_spec=in_spec, bind=bind, answers_scanner=answered, scanner_user_agent=ua,
                       enumeration_method=method, extensions_tried=tried, enumeration_answered=enum_answered,
                       extensions=found, findings=findings)


def count_extensions(extensions: str) -> int:
    """How many extensions a range list like `100-120,200` names (and that it is one)."""
    total = 0
    for part in extensions.split(","):
        low, _, high = part.strip().partition("-")
        if not low.isdigit() or (high and not high.isdigit()) or (high and int(high) < int(low)):
            raise InvalidInput(f"--extensions {extensions!r}: expected ranges like 100-199,1000")
        total += int(high) - int(low) + 1 if high else 1
    if total > 10_000:
        raise InvalidInput(f"--extensions {extensions!r}: {total} extensions is a scan, not an audit (max 10000)")
    return total
