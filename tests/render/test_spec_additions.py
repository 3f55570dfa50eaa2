"""The spec fields the SBC templates added: probing mode and failover timeout."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.specs import spec
from voxops.errors import SpecError
from voxops.render.engine import plan, render_all
from voxops.spec.loader import load_topology_text


def _render(data: dict, tmp_path: Path) -> tuple[str, str]:
    render_all(plan(load_topology_text(yaml.safe_dump(data)), str(tmp_path)), tmp_path)
    etc = tmp_path / "sbc-1" / "etc"
    return (etc / "kamailio.cfg").read_text(), (etc / "dispatcher.list").read_text()


def test_defaults_ping_every_trunk(tmp_path: Path) -> None:
    cfg, disp = _render(spec(), tmp_path)
    assert 'modparam("dispatcher", "ds_probing_mode", 1)' in cfg
    assert 'modparam("dispatcher", "ds_ping_interval", 10)' in cfg
    assert 'modparam("dispatcher", "ds_probing_threshold", 3)' in cfg
    assert 'modparam("tm", "fr_timer", 3000)' in cfg
    assert "1 sip:127.0.5.11:5060 0 0 rweight=60" in disp


def test_marked_mode_pings_only_trunks_with_pings_enabled(tmp_path: Path) -> None:
    data = spec()
    data["sbc"]["probing_mode"] = "marked"
    data["sbc"]["failover_timeout_ms"] = 800
    data["carriers"][1]["trunks"][0]["options_ping"] = {"enabled": False}
    data["carriers"][0]["trunks"][0]["options_ping"] = {"interval_s": 5, "failure_threshold": 2, "reply_codes": [200, 404]}
    cfg, disp = _render(data, tmp_path)
    assert 'modparam("dispatcher", "ds_probing_mode", 3)' in cfg
    assert 'modparam("dispatcher", "ds_ping_reply_codes", "code=200;code=404")' in cfg
    assert 'modparam("tm", "fr_timer", 800)' in cfg
    assert "1 sip:127.0.5.11:5060 8 0 rweight=60" in disp  # flag 8: probed
    assert "1 sip:127.0.5.12:5060 0 0 rweight=40" in disp  # never probed


@pytest.mark.parametrize("field,value", [("probing_mode", "sometimes"), ("failover_timeout_ms", 10)])
def test_bad_values_are_refused(field: str, value: object) -> None:
    data = spec()
    data["sbc"][field] = value
    with pytest.raises(SpecError):
        load_topology_text(yaml.safe_dump(data))
