"""`voxops certs` text and Nagios output of a certificate whose names carry escapes and markup."""

from __future__ import annotations

import json

from cryptography import x509
from cryptography.x509.oid import NameOID

from tests.probes.specs import write_probe_spec
from tests.support.hostile import BIDI, CLEAR, CLIPBOARD, TITLE, raw_controls
from tests.support.pki import make_ca, make_leaf
from tests.support.probe_peers import addr, port_on, tls_server

HOST = addr(53)
# attributes are at most 64 characters; spaces let the table wrap them instead of cutting them
CN = f"sbc{CLEAR}\x9b31m{BIDI} [red]cn[/]"
ORG = f"Org {CLIPBOARD}\u2028 [link=https://evil.example/]o[/]"
UNIT = f"ou {TITLE} :thumbs_up:"


def column(table: str, index: int) -> str:
    """The words of one column of a rich table (its cells may wrap over several lines)."""
    rows = [line.split("│") for line in table.splitlines() if line.startswith("│")]
    return " ".join(r[index + 1].strip() for r in rows if len(r) > index + 1)
SAN = f"x{CLIPBOARD}{CLEAR}[bold]loud[/bold].probe.test"  # a DNS name is IA5: ASCII only


def test_hostile_certificate_names_are_shown_escaped(tmp_path, cli):
    ca = make_ca(tmp_path, "ca")
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CN), x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG),
                         x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, UNIT)])
    leaf = make_leaf(tmp_path, "hostile", ca, [SAN], days_left=3, subject=subject)
    port = port_on(HOST)
    spec = write_probe_spec(tmp_path, tls_endpoints=[{"name": "hostile", "host": HOST, "port": port,
                                                "server_name": "sbc.probe.test", "ca": "ca.pem"}])
    with tls_server(HOST, port, leaf.cert_path, leaf.key_path):
        text = cli("certs", spec)
        nagios = cli("certs", spec, "--nagios")
        as_json = cli("certs", spec, "--format", "json")
    code, out, err = text
    assert code == 1, err
    assert raw_controls(out) == [] and raw_controls(err) == []
    names = column(out, 4)  # subject / SAN
    for markup in ("[bold]loud[/bold]", "[link=https://evil.example/]o[/]", ":thumbs_up:", "[red]cn[/]"):
        assert markup in names  # printed as text, not applied
    assert "CN=sbc\\x1b[2J\\x1b[H\\x9b31m\\u202e" in names
    assert "x\\x1b]52;c;ZWNobyBwd25lZA==\\x07" in names
    code, out, err = nagios
    assert code == 2 and out.startswith("TLS CRITICAL - ")
    assert raw_controls(out) == [] and raw_controls(err) == []
    assert "\\x1b[2J" in out  # the critical findings quote the names
    endpoint = json.loads(as_json[1])["endpoints"][0]
    assert endpoint["chain"][0]["san"] == [SAN]
    assert CN in endpoint["chain"][0]["subject"]
    assert raw_controls(as_json[1]) == []
