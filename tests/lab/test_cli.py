"""Lab commands refuse what they must not do, before anything starts."""

from __future__ import annotations

import json

from voxops.resources import data_dir


def test_a_spec_outside_loopback_is_refused(cli, tmp_path):
    code, _, err = cli("lab", "up", str(data_dir("inventories") / "production"), "--dir", str(tmp_path))
    assert code == 2
    assert "loopback only" in err
    assert not (tmp_path / "state.json").exists()
    assert not list(tmp_path.glob("pids/*.pid"))


def test_unknown_drill_is_a_usage_error(cli, tmp_path):
    code, _, err = cli("lab", "drill", "meteor-strike", "--dir", str(tmp_path))
    assert code == 2
    assert "trunk-down" in err  # the message lists the drills there are


def test_status_without_a_lab(cli, tmp_path):
    code, out, _ = cli("lab", "status", "--dir", str(tmp_path), "--format", "json")
    assert code == 1
    assert json.loads(out)["up"] is False


def test_calls_need_a_lab(cli, tmp_path):
    code, _, err = cli("lab", "call", "--dir", str(tmp_path))
    assert code == 2
    assert "no lab is up" in err
