"""cert-expiry: a TLS endpoint of the SBC whose certificate expires in a few days."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

from voxops.lab import consult
from voxops.lab.checks import calls_check, names_fault
from voxops.lab.context import DrillContext
from voxops.lab.specfile import derived_spec

EXPIRES_IN_DAYS = 2


def self_signed(directory: Path, common_name: str, address: str, days: float) -> tuple[Path, Path]:
    """A self-signed certificate (EC P-256) valid for `days` from now, and its key."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(common_name), x509.IPAddress(ipaddress.ip_address(address))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "expiring.crt", directory / "expiring.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def _free_tcp_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def _tcp_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.3):
            return True
    except OSError:
        return False


def expiring_endpoint(ctx: DrillContext) -> None:
    node = ctx.topology.sbc.nodes[0]
    address = node.address
    server_name = f"{node.name}.{ctx.topology.sbc.domain}"
    port = _free_tcp_port(address)
    cert, key = self_signed(ctx.out / "tls", server_name, address, EXPIRES_IN_DAYS)
    ctx.fault = f"the TLS certificate of {node.name} ({address}:{port}) expires in {EXPIRES_IN_DAYS} days"
    calls = ctx.calls(inbound=True, count=max(2, int(ctx.load.rate * 2)))
    ctx.sup.start(
        "tls-endpoint",
        ["openssl", "s_server", "-accept", f"{address}:{port}", "-cert", str(cert), "-key", str(key), "-quiet", "-naccept", "1000"],
        ready=lambda: _tcp_open(address, port),
    )
    endpoints = [
        {"name": f"{node.name}-tls", "host": address, "port": port, "server_name": server_name,
         "node": node.name, "warn_days": 21, "critical_days": 7}
    ]  # fmt: skip
    ctx.promise_spec = derived_spec(ctx.promise_spec, ctx.out / "spec", tls_endpoints=endpoints)
    ctx.figures["days_left"] = EXPIRES_IN_DAYS
    names_fault(ctx, "voxops certs names the fault", consult.certs(ctx.promise_spec), {"cert-expiry"}, "cert-expiry")
    batch = calls.wait()
    ctx.figures["calls"] = batch.model_dump(exclude={"calls"})
    calls_check(ctx, batch.failed, batch.placed, "calls over UDP are not affected")
    ctx.call_id = batch.answered_call_ids[-1] if batch.answered_call_ids else None
