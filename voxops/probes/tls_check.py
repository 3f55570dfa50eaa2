"""TLS endpoints of the spec: expiry, hostname, chain trust, protocol, mutual TLS, silent fallback.

The incident this catches: a certificate expired on a Saturday and mutual TLS failed
without anyone noticing because the SBC still answered plain SIP over UDP. So when TLS
on a node does not answer but UDP on the same node does, that is critical by itself.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from pydantic import BaseModel

from voxops.errors import InvalidInput
from voxops.findings import Finding, FindingCode, Severity
from voxops.probes.sip_options import OptionsResult, is_ip, send_options
from voxops.probes.verdict import PerfDatum
from voxops.spec.models import TlsEndpoint, Topology, Transport

_RB = "cert-expiry"
EXPIRED = FindingCode("cert-expired", Severity.critical, _RB, "a certificate in the chain has expired")
EXPIRING = FindingCode("cert-expiring", Severity.warning, _RB, "a certificate expires within the warn/critical days")
HOSTNAME = FindingCode("cert-hostname-mismatch", Severity.critical, _RB, "the certificate does not name the host")
UNTRUSTED = FindingCode("cert-untrusted", Severity.critical, _RB, "the chain does not lead to the expected CA")
CHAIN_INVALID = FindingCode("cert-chain-invalid", Severity.error, _RB, "the chain fails verification")
OLD_PROTOCOL = FindingCode("tls-old-protocol", Severity.warning, _RB, "the endpoint speaks a TLS version below policy")
UNREACHABLE = FindingCode("tls-unreachable", Severity.error, _RB, "the TLS endpoint does not complete a handshake")
CLIENT_REJECTED = FindingCode("tls-client-cert-rejected", Severity.critical, _RB, "mutual TLS rejects our client certificate")
MALFORMED = FindingCode("cert-malformed", Severity.error, _RB, "a certificate the server sends cannot be read in full")
SILENT_FALLBACK = FindingCode(
    "tls-silent-fallback", Severity.critical, _RB, "TLS on a node is down while plain SIP on it answers"
)

# OpenSSL's X509_V_FLAG_NO_CHECK_TIME: judge trust apart from expiry (reported on its own)
_NO_CHECK_TIME = 0x200000
_UNTRUSTED_CODES = {18, 19, 20, 21, 2}  # self-signed leaf/in chain, unknown issuer, no issuer cert
_VERSIONS = {"TLSv1": 10, "TLSv1.1": 11, "TLSv1.2": 12, "TLSv1.3": 13}


class CertInfo(BaseModel):
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    days_left: float
    san: list[str]
    sha256: str


class EndpointResult(BaseModel):
    """One TLS endpoint. JSON field names are a public interface."""

    name: str
    host: str
    port: int
    server_name: str | None
    warn_days: int
    critical_days: int
    handshake: bool = False
    error: str | None = None
    protocol: str | None = None
    cipher: str | None = None
    chain: list[CertInfo] = []
    trusted: bool | None = None
    trust_error: str | None = None
    trust_anchor: str = "system"
    hostname_match: bool | None = None
    client_certificate: str | None = None
    client_accepted: bool | None = None
    old_protocol_accepted: str | None = None
    fallback: OptionsResult | None = None
    fallback_target: str | None = None
    cert_problems: list[str] = []


class CertsReport(BaseModel):
    """`voxops certs --format json`."""

    spec: str
    endpoints: list[EndpointResult]
    findings: list[Finding]

    def perfdata(self) -> list[PerfDatum]:
        perf = []
        for e in self.endpoints:
            if e.chain:
                perf.append(PerfDatum(label=f"{e.name}_days", value=round(min(c.days_left for c in e.chain), 2),
                                      uom="d", warn=e.warn_days, crit=e.critical_days))
        return perf

    def summary(self) -> str:
        return f"{len(self.endpoints)} TLS endpoints valid"


def _san(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [*ext.get_values_for_type(x509.DNSName), *(str(i) for i in ext.get_values_for_type(x509.IPAddress))]


def _describe_chain(chain: list[bytes], now: datetime) -> tuple[list[CertInfo], list[str]]:
    """The certificates that can be read, and one problem per one that cannot (in full).

    A certificate with unreadable extensions is kept, without names; one that cannot be
    parsed at all is left out. Either way the other certificates are still reported.
    """
    described: list[CertInfo] = []
    problems: list[str] = []
    for pos, der in enumerate(chain):
        what = "certificate" if pos == 0 else f"chain certificate {pos}"
        try:
            cert = x509.load_der_x509_certificate(der)
            described.append(_describe(cert, now, problems, what))
        except ValueError as exc:
            problems.append(f"{what} cannot be parsed: {exc}")
    return described, problems


def _describe(cert: x509.Certificate, now: datetime, problems: list[str], what: str) -> CertInfo:
    try:
        san = _san(cert)
    except ValueError as exc:  # malformed extensions: report it, keep the rest of the certificate
        problems.append(f"{what} ({cert.subject.rfc4514_string()}) has unreadable extensions: {exc}")
        san = []
    not_after = cert.not_valid_after_utc
    return CertInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=not_after,
        days_left=round((not_after - now).total_seconds() / 86400, 3),
        san=san,
        sha256=cert.fingerprint(hashes.SHA256()).hex(),
    )


def hostname_matches(name: str, san: list[str]) -> bool:
    """RFC 6125: exact DNS name or IP, or a wildcard in the left-most label only."""
    name = name.rstrip(".").lower()
    try:
        ip = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        ip = None
    for entry in san:
        entry = entry.rstrip(".").lower()
        if ip is not None:
            with contextlib.suppress(ValueError):
                if ipaddress.ip_address(entry) == ip:
                    return True
            continue
        if entry == name:
            return True
        if entry.startswith("*.") and "." in name and name.split(".", 1)[1] == entry[2:]:
            return True
    return False


def _context(verify: bool, ca: str | None, ep: TlsEndpoint, base: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False  # names are matched against the SAN here, with a finding of their own
    if verify:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.verify_flags |= _NO_CHECK_TIME  # type: ignore[assignment]
        if ca:
            ctx.load_verify_locations(cafile=str(base / ca))
        else:
            ctx.load_default_certs()
    else:
        ctx.verify_mode = ssl.CERT_NONE
        _allow_legacy(ctx)  # inspect whatever the server speaks; policy is judged afterwards
    if ep.client_certificate and ep.client_key:
        ctx.load_cert_chain(str(base / ep.client_certificate), str(base / ep.client_key))
    return ctx


def _allow_legacy(ctx: ssl.SSLContext, *, only: bool = False) -> None:
    """Let this client speak TLS 1.0/1.1 too (or only them), at OpenSSL security level 0."""
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():  # deprecated on purpose: offering them is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        if only:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1


def _handshake(ep: TlsEndpoint, ctx: ssl.SSLContext, timeout: float) -> ssl.SSLSocket:
    raw = socket.create_connection((ep.host.strip("[]"), ep.port), timeout=timeout)
    sni = ep.server_name or (None if is_ip(ep.host) else ep.host)
    try:
        return ctx.wrap_socket(raw, server_hostname=sni)
    except BaseException:
        raw.close()
        raise


def _chain(sock: ssl.SSLSocket) -> list[bytes]:
    """The DER certificates the server sent, leaf first."""
    sslobj = getattr(sock, "_sslobj", None)
    getter = getattr(sslobj, "get_unverified_chain", None)
    if getter is not None:  # the whole chain the server sent (public API from Python 3.13)
        return [c.public_bytes(ssl._ssl.ENCODING_DER) for c in getter() or []]  # type: ignore[attr-defined]
    der = sock.getpeercert(binary_form=True)
    return [der] if der else []


def _rejects_client(ep: TlsEndpoint, exc: BaseException) -> bool:
    """TLS 1.2 servers reject a client certificate inside the handshake, with an alert."""
    text = str(exc).lower()
    return bool(ep.client_certificate) and isinstance(exc, ssl.SSLError) and "alert" in text and (
        "certificate" in text or "unknown ca" in text or "access denied" in text)


def _client_accepted(sock: ssl.SSLSocket) -> bool:
    """TLS 1.3 servers reject a client certificate after the handshake: read briefly for the alert."""
    sock.settimeout(0.3)
    try:
        data = sock.recv(1)
    except TimeoutError:
        return True
    except ssl.SSLError:
        return False
    except OSError:
        return False
    return data != b""


def inspect(ep: TlsEndpoint, topology: Topology, base: Path, timeout: float) -> EndpointResult:
    now = datetime.now(UTC)
    result = EndpointResult(name=ep.name, host=ep.host, port=ep.port, server_name=ep.server_name,
                            warn_days=ep.warn_days, critical_days=ep.critical_days,
                            client_certificate=ep.client_certificate)
    try:
        ctx = _context(False, None, ep, base)
    except (OSError, ssl.SSLError) as exc:
        raise InvalidInput(f"tls_endpoints.{ep.name}: cannot load the client certificate: {exc}") from exc
    try:
        with _handshake(ep, ctx, timeout) as sock:
            chain, problems = _describe_chain(_chain(sock), now)
            update: dict[str, object] = {
                "handshake": True, "protocol": sock.version(), "cipher": (sock.cipher() or ("",))[0],
                "chain": chain, "cert_problems": problems,
            }
            if ep.client_certificate:
                update["client_accepted"] = _client_accepted(sock)
    except (OSError, ssl.SSLError) as exc:
        err = "connection refused" if isinstance(exc, ConnectionRefusedError) else (
            "timeout" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}")
        failed = {"error": err, "client_accepted": False if _rejects_client(ep, exc) else None}
        return _fallback(result.model_copy(update=failed), ep, topology, timeout)
    result = result.model_copy(update=update)
    if result.client_accepted is False:
        result = _fallback(result, ep, topology, timeout)
    name = ep.server_name or ep.host
    if chain and not any(p.startswith("certificate ") for p in problems):  # the leaf's names are known
        result = result.model_copy(update={"hostname_match": hostname_matches(name, chain[0].san)})
    return _trust(result, ep, topology, base, timeout)


def _ca_of(ep: TlsEndpoint, topology: Topology) -> str | None:
    if ep.ca:
        return ep.ca
    if ep.node and topology.sbc.tls is not None:
        return topology.sbc.tls.ca
    return None


def _trust(result: EndpointResult, ep: TlsEndpoint, topology: Topology, base: Path, timeout: float) -> EndpointResult:
    ca = _ca_of(ep, topology)
    try:
        ctx = _context(True, ca, ep, base)
    except (OSError, ssl.SSLError) as exc:
        raise InvalidInput(f"tls_endpoints.{ep.name}: cannot load CA {ca}: {exc}") from exc
    update: dict[str, object] = {"trust_anchor": ca or "system"}
    try:
        with _handshake(ep, ctx, timeout):
            update["trusted"] = True
    except ssl.SSLCertVerificationError as exc:
        update.update(trusted=False, trust_error=f"{exc.verify_code}: {exc.verify_message}")
    except (OSError, ssl.SSLError) as exc:
        update["trust_error"] = f"{type(exc).__name__}: {exc}"
    update["old_protocol_accepted"] = _old_protocol(ep, timeout)
    return result.model_copy(update=update)


def _old_protocol(ep: TlsEndpoint, timeout: float) -> str | None:
    """Offer only TLS 1.0/1.1: a server that takes it accepts downgraded clients."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        _allow_legacy(ctx, only=True)
        with _handshake(ep, ctx, timeout) as sock:
            return sock.version()
    except (OSError, ssl.SSLError, ValueError):
        return None


def _fallback(result: EndpointResult, ep: TlsEndpoint, topology: Topology, timeout: float) -> EndpointResult:
    node = next((n for n in topology.sbc.nodes if n.name == ep.node), None) if ep.node else None
    if node is None:
        return result
    udp = [(a, p) for t, a, p in node.sockets() if t is Transport.udp] or [(node.address, 5060)]
    for address, port in udp:
        answer = send_options(address, port, "udp", timeout=timeout)
        result = result.model_copy(update={"fallback": answer, "fallback_target": f"udp:{address}:{port}"})
        if answer.code is not None:
            break
    return result


def judge(ep: TlsEndpoint, r: EndpointResult, min_version: str = "TLSv1.2") -> list[Finding]:
    """The findings of one inspected endpoint (pure: no network)."""
    where = f"{r.host}:{r.port}"
    found: list[Finding] = []
    if r.client_accepted is False:
        found.append(CLIENT_REJECTED(
            f"{ep.name}: the server rejects client certificate {r.client_certificate}"
            + (f" ({r.error})" if r.error else ""), where=where, client_certificate=r.client_certificate,
        ))
    if r.fallback is not None and r.fallback.code is not None:
        tls_state = f"does not answer ({r.error})" if not r.handshake or r.error else "rejects our client certificate"
        found.append(SILENT_FALLBACK(
            f"{ep.name}: TLS on {where} {tls_state} but plain SIP on node {ep.node} "
            f"({r.fallback_target}) answers {r.fallback.code}: calls fall back to unencrypted signalling",
            where=where, node=ep.node, tls_error=r.error, fallback=r.fallback_target, code=r.fallback.code,
        ))
    if not r.handshake:
        if not found:
            found.append(UNREACHABLE(f"{ep.name}: no TLS handshake with {where}: {r.error}", where=where,
                                     error=r.error))
        return found
    for problem in r.cert_problems:
        found.append(MALFORMED(f"{ep.name}: {problem}", where=where, problem=problem))
    for pos, cert in enumerate(r.chain):
        what = "certificate" if pos == 0 else f"chain certificate {pos} ({cert.subject})"
        if cert.days_left <= 0:
            found.append(EXPIRED(f"{ep.name}: {what} expired {cert.not_after:%Y-%m-%d %H:%M} UTC "
                                 f"({-cert.days_left:.1f} days ago)", where=where, position=pos,
                                 not_after=cert.not_after.isoformat(), days_left=cert.days_left))
        elif cert.days_left <= ep.warn_days:
            severity = Severity.critical if cert.days_left <= ep.critical_days else Severity.warning
            found.append(EXPIRING(f"{ep.name}: {what} expires in {cert.days_left:.1f} days "
                                  f"({cert.not_after:%Y-%m-%d} UTC; warn {ep.warn_days}, critical {ep.critical_days})",
                                  severity=severity, where=where, position=pos,
                                  not_after=cert.not_after.isoformat(), days_left=cert.days_left))
    if r.hostname_match is False:
        name = ep.server_name or ep.host
        found.append(HOSTNAME(f"{ep.name}: certificate names {', '.join(r.chain[0].san) or '(no SAN)'}, not {name}",
                              where=where, expected=name, san=r.chain[0].san))
    if r.trusted is False:
        code = int((r.trust_error or "0").split(":", 1)[0])
        finding = UNTRUSTED if code in _UNTRUSTED_CODES else CHAIN_INVALID
        found.append(finding(f"{ep.name}: chain does not verify against {r.trust_anchor}: {r.trust_error}",
                             where=where, trust_anchor=r.trust_anchor, error=r.trust_error))
    if r.protocol and _VERSIONS.get(r.protocol, 0) < _VERSIONS[min_version]:
        found.append(OLD_PROTOCOL(f"{ep.name}: negotiated {r.protocol}, below {min_version}",
                                  where=where, protocol=r.protocol))
    elif r.old_protocol_accepted:
        found.append(OLD_PROTOCOL(f"{ep.name}: still accepts {r.old_protocol_accepted} (policy: {min_version}+)",
                                  where=where, protocol=r.old_protocol_accepted))
    return found


def check_certs(topology: Topology, spec: Path, *, timeout: float = 3.0, only: str | None = None) -> CertsReport:
    endpoints = [e for e in topology.tls_endpoints if only is None or e.name == only]
    if not endpoints:
        raise InvalidInput(f"{spec} has no tls_endpoints" + (f" named {only!r}" if only else ""),
                           hint="add tls_endpoints: [{name, host, port, ...}] to the topology")
    base = spec if spec.is_dir() else spec.parent  # relative certificate paths are relative to the spec
    with ThreadPoolExecutor(max_workers=min(16, len(endpoints))) as pool:
        results = list(pool.map(lambda e: inspect(e, topology, base, timeout), endpoints))
    min_version = topology.sbc.tls.min_version if topology.sbc.tls else "TLSv1.2"
    findings = [f for e, r in zip(endpoints, results, strict=True) for f in judge(e, r, min_version)]
    return CertsReport(spec=str(spec), endpoints=results, findings=findings)
