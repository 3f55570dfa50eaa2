"""`voxops validate`, `schema`, `init` run in-process as a user would."""

from __future__ import annotations

import json

import jsonschema
import yaml

from tests.spec.conftest import LOCAL, PRODUCTION


def test_validate_production_example_exits_0(cli):
    code, out, err = cli("validate", PRODUCTION.parent)
    assert code == 0, err
    assert "valid" in err


def test_validate_typo_exits_2_with_line_and_suggestion(cli, write_spec):
    text = PRODUCTION.read_text().replace("priority: 0", "prority: 0")
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "prority" in ln)
    path = write_spec(text)
    code, out, err = cli("validate", path)
    assert code == 2
    assert f"{path}:{line}:" in err
    assert "did you mean 'priority'" in err
    assert "Traceback" not in err


def test_single_trunk_reports_finding_with_code(cli, write_spec, prod_data):
    prod_data["carriers"] = prod_data["carriers"][:1]
    path = write_spec(prod_data)
    code, out, _ = cli("validate", path)
    assert code == 0  # warnings alone do not fail ...
    assert "warning single-carrier" in out
    assert "runbook: single-point-of-failure" in out
    code, _, _ = cli("validate", path, "--strict")
    assert code == 1  # ... unless --strict


def test_error_finding_fails_without_strict(cli, write_spec, prod_data):
    del prod_data["sbc"]["tls"]["ca"]
    code, out, _ = cli("validate", write_spec(prod_data))
    assert code == 1
    assert "error mtls-without-ca" in out


def test_validate_json(cli, write_spec, prod_data):
    prod_data["carriers"] = prod_data["carriers"][:1]
    code, out, _ = cli("validate", write_spec(prod_data), "--format", "json")
    data = json.loads(out)
    assert data["valid"] is True and data["errors"] == []
    codes = {f["finding"]["code"] for f in data["findings"]}
    assert "single-carrier" in codes
    first = data["findings"][0]
    assert set(first["finding"]) >= {"code", "severity", "message", "runbook"}
    assert ":" in first["where"]


def test_validate_json_on_invalid_spec(cli, write_spec):
    code, out, _ = cli("validate", write_spec("name: [unclosed\n"), "--format", "json")
    assert code == 2
    data = json.loads(out)
    assert data["valid"] is False and "not valid YAML" in data["errors"][0]


def test_validate_missing_file(cli, tmp_path):
    code, _, err = cli("validate", tmp_path / "nope.yaml")
    assert code == 2 and "no such file" in err


def test_schema_is_valid_json_schema_and_accepts_examples(cli):
    code, out, _ = cli("schema")
    assert code == 0
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in (LOCAL, PRODUCTION):
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        assert errors == [], errors[:1]
    bad = yaml.safe_load(PRODUCTION.read_text())
    bad["carriers"][0]["colour"] = "red"
    assert list(validator.iter_errors(bad)), "extra keys must be rejected by the schema too"


def test_init_writes_a_valid_commented_spec(cli, tmp_path):
    path = tmp_path / "topology.yaml"
    code, _, _ = cli("init", path)
    assert code == 0
    assert path.read_text().startswith("# voxops topology spec")
    code, _, err = cli("validate", path, "--strict")
    assert code == 0, err


def test_init_never_overwrites_without_force(cli, tmp_path):
    path = tmp_path / "topology.yaml"
    path.write_text("mine")
    code, _, err = cli("init", path)
    assert code == 2 and "--force" in err
    assert path.read_text() == "mine"
