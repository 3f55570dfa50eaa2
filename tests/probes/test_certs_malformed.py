"""`voxops certs` with a server whose certificate carries a malformed SAN: that endpoint
gets a finding naming the problem, and every other endpoint is still reported."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID

from tests.probes.specs import write_probe_spec
from tests.support.pki import Issued, make_ca, make_leaf
from tests.support.probe_peers import addr, port_on, tls_server

HOST = addr(53)
NAME = "sbc.probe.test"
# SubjectAltName whose only entry is an iPAddress of 5 bytes (neither IPv4 nor IPv6)
BAD_SAN = b"\x30\x07\x87\x05\x01\x02\x03\x04\x05"


def make_bad_san_leaf(directory: Path, ca: Issued) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)]))
        .issuer_name(ca.cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=200))
        .add_extension(x509.UnrecognizedExtension(ExtensionOID.SUBJECT_ALTERNATIVE_NAME, BAD_SAN), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    cert_path, key_path = directory / "badsan.pem", directory / "badsan.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_malformed_san_is_reported_and_other_endpoints_kept(tmp_path, cli):
    ca = make_ca(tmp_path, "ca")
    valid = make_leaf(tmp_path, "valid", ca, [NAME], days_left=200)
    bad_cert, bad_key = make_bad_san_leaf(tmp_path, ca)
    good_port, bad_port = port_on(HOST), port_on(HOST)
    base = {"host": HOST, "server_name": NAME, "ca": "ca.pem"}
    spec = write_probe_spec(tmp_path, tls_endpoints=[base | {"name": "badsan", "port": bad_port},
                                               base | {"name": "valid", "port": good_port}])
    with tls_server(HOST, good_port, valid.cert_path, valid.key_path), tls_server(HOST, bad_port, bad_cert, bad_key):
        code, out, err = cli("certs", spec, "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    results = {e["name"]: e for e in report["endpoints"]}
    assert results["valid"]["hostname_match"] and results["valid"]["chain"][0]["san"] == [NAME]
    assert results["valid"]["cert_problems"] == []
    bad = results["badsan"]
    assert bad["handshake"] and bad["chain"][0]["subject"] == f"CN={NAME}" and bad["trusted"] is True
    assert bad["hostname_match"] is None  # its names cannot be read: no verdict on them
    assert len(bad["cert_problems"]) == 1 and "unreadable extensions" in bad["cert_problems"][0]
    assert [(f["code"], f["message"].split(":")[0]) for f in report["findings"]] == [("cert-malformed", "badsan")]
