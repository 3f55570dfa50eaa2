"""No spec value can inject config lines: a quote, a newline or `;` is refused at validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.render.specs import spec
from voxops.errors import SpecError
from voxops.render.engine import plan, render_all
from voxops.spec.loader import load_topology_text

PAYLOADS = ['evil"', "evil\nmodparam(\"x\")", "evil;drop", "evil'"]


def _set(data: dict[str, Any], path: str, value: str) -> None:
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    node: Any = data
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value


# Every string field that reaches a rendered file (Kamailio cfg, dispatcher list, tls.cfg,
# agent YAML, systemd unit, trunk handover, alert rules).
FIELDS = {
    "name": "{}",
    "carriers.0.name": "{}",
    "carriers.0.trunks.0.name": "{}",
    "carriers.0.trunks.0.hosts.0.address": "{}",
    "carriers.0.trunks.0.codecs.0": "{}",
    "sbc.domain": "sbc{}.test",
    "sbc.nodes.0.name": "{}",
    "sbc.nodes.0.address": "127.0.5.1{}",
    "sbc.nodes.0.listen.0.advertise": "pub{}.test",
    "agents.instances.0.name": "{}",
    "agents.instances.0.host": "127.0.5.21{}",
    "agents.pipeline": "mod:Cls{}",
    "sbc.ivr_fallback.uri": "sip:ivr@127.0.5.30{}",
    "sbc.tls.certificate": "/etc/x{}.crt",
    "agents.dependencies.0.url": "https://asr.test/health{}",
    "agents.dependencies.0.name": "{}",
    "carriers.0.trunks.0.credentials.username": "{}",
    "carriers.0.trunks.0.credentials.password.env": "PW{}",
    "carriers.0.trunks.0.credentials.password.file": "/etc/pw{}",
}


def _full_spec() -> dict[str, Any]:
    data = spec()
    data["sbc"]["ivr_fallback"] = {"uri": "sip:ivr@127.0.5.30:5080"}
    data["sbc"]["tls"] = {"certificate": "/etc/x.crt", "key": "/etc/x.key"}
    data["agents"]["dependencies"] = [{"name": "asr", "kind": "asr", "url": "https://asr.test/health"}]
    data["carriers"][0]["trunks"][0]["credentials"] = {"username": "acme", "password": {"env": "PW"}}
    data["carriers"][0]["trunks"][0]["codecs"] = ["PCMU"]
    data["sbc"]["nodes"][0]["listen"][0]["advertise"] = "pub.test"
    return data


@pytest.mark.parametrize("field", sorted(FIELDS))
@pytest.mark.parametrize("payload", PAYLOADS, ids=["quote", "newline", "semicolon", "apostrophe"])
def test_quote_newline_semicolon_rejected_at_validation(field: str, payload: str) -> None:
    data = _full_spec()
    if field.endswith("password.file"):
        data["carriers"][0]["trunks"][0]["credentials"]["password"] = {"file": "/etc/pw"}
    _set(data, field, FIELDS[field].format(payload))
    with pytest.raises(SpecError):
        load_topology_text(yaml.safe_dump(data))


def test_the_unmodified_spec_is_valid_and_renders(tmp_path: Path) -> None:
    """The check above fails because of the payload, not because the base spec is broken."""
    data = _full_spec()
    data["sbc"]["tls"] = None
    del data["carriers"][0]["trunks"][0]["credentials"]
    topo = load_topology_text(yaml.safe_dump(data))
    files = render_all(plan(topo, str(tmp_path)), tmp_path)
    for f in files:
        text = Path(f.path).read_text()
        assert "evil" not in text
        assert "\r" not in text
