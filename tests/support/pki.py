"""Certificates generated at test time with cryptography: CAs, server and client leaves."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_path: Path
    key_path: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(directory: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Issued:
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return Issued(cert, key, cert_path, key_path)


def make_ca(directory: Path, stem: str, *, issuer: Issued | None = None, days_left: float = 3650) -> Issued:
    """A self-signed root, or an intermediate CA when `issuer` is given."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    subject = _name(f"{stem} CA")
    cert = (
        x509.CertificateBuilder().subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=30)).not_valid_after(now + timedelta(days=days_left))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(issuer.key if issuer else key, hashes.SHA256())
    )
    return _write(directory, stem, cert, key)


def make_leaf(
    directory: Path,
    stem: str,
    ca: Issued,
    names: list[str],
    *,
    days_left: float = 365,
    client: bool = False,
    subject: x509.Name | None = None,
) -> Issued:
    """A leaf for `names` (its SANs; the first is the CN unless `subject` is given)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    not_after = now + timedelta(days=days_left)
    sans: list[x509.GeneralName] = []
    for n in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    cert = (
        x509.CertificateBuilder().subject_name(subject or _name(names[0])).issuer_name(ca.cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(min(now - timedelta(days=1), not_after - timedelta(days=2))).not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return _write(directory, stem, cert, key)


def make_certs(directory: Path, name: str = "sbc.render.test") -> dict[str, str]:
    """A CA and a server certificate for `name` signed by it, valid one day: the `sbc.tls`
    files of a spec."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = make_ca(directory, "ca", days_left=1)
    leaf = make_leaf(directory, "sbc", ca, [name], days_left=1)
    return {"certificate": str(leaf.cert_path), "key": str(leaf.key_path), "ca": str(ca.cert_path)}
