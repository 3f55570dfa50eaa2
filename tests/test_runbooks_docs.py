"""The docs pages generated at build time cover the real app, models and runbooks."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer.main

from tests.conftest import need_tool
from voxops import runbooks
from voxops.cli.main import app
from voxops.proc import run

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hook", REPO / "docs/hooks/generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _walk(cmd: Any, path: list[str]) -> list[tuple[str, Any]]:
    found = [(" ".join(path), cmd)]
    for name, sub in getattr(cmd, "commands", {}).items():
        found += _walk(sub, [*path, name])
    return found


def test_cli_reference_documents_every_command_and_option(hook) -> None:
    page = hook.cli_reference()
    for path, cmd in _walk(typer.main.get_command(app), ["voxops"]):
        assert f"`{path}`" in page
        for param in cmd.params:
            if param.param_type_name == "option" and not param.hidden:
                for opt in param.opts:
                    assert f"`{opt}`" in page, f"{path} {opt}"
    assert "| `--format`, `-f` | text\\|json\\|markdown | `text` |" in page


def test_spec_reference_documents_every_model_field(hook) -> None:
    page = hook.spec_reference()
    models = hook._models_in("voxops.spec") + [runbooks.RunbookMeta]
    for model in models:
        assert f"### `{model.__name__}`" in page
        for name, field in model.model_fields.items():
            assert f"| `{field.alias or name}` |" in page


def test_runbook_pages_carry_front_matter_and_body(hook) -> None:
    for rb in runbooks.load_all():
        page = hook.runbook_page(rb)
        assert page.startswith(f"# {rb.meta.title}\n")
        assert f"| Severity | **{rb.meta.severity.value}** |" in page
        assert rb.body.strip() in page
    index = hook.runbooks_index()
    assert all(f"]({rb.id}.md)" in index for rb in runbooks.load_all())


def test_nav_drops_missing_pages_and_fills_sections(hook, tmp_path) -> None:
    (tmp_path / "index.md").write_text("# x\n")
    config: dict[str, Any] = {
        "docs_dir": str(tmp_path),
        "nav": [
            {"Home": "index.md"},
            {"Guides": [{"Not written yet": "nowhere.md"}]},
            {"Runbooks": "runbooks/index.md"},
            {"Reference": [{"CLI": "reference/cli.md"}]},
        ],
    }
    nav = hook.on_config(config)["nav"]
    assert nav[0] == {"Home": "index.md"}
    assert all("Guides" not in entry for entry in nav)
    section = nav[1]["Runbooks"]
    assert section[0] == "runbooks/index.md"
    assert {"Trunk down by OPTIONS": "runbooks/trunk-down.md"} in section
    assert nav[2] == {"Reference": [{"CLI": "reference/cli.md"}]}


# The status code that makes each incident capture what its runbook is about.
SCENARIO_CODES = {
    "503-spike": "503",
    "high-pdd": "180",
    "one-way-audio": "200",
    "silent-transcoding": "200",
    "packet-loss-low-mos": "200",
    "trunk-down": "408",
    "codec-rejection-488": "488",
    "agent-pool-saturated": "486",
    "asr-drop": "480",
    "auth-failures": "403",
    "silent-media": "200",
    "dead-air": "200",
    "slow-agent-response": "200",
    "no-greeting": "200",
    "talk-over": "200",
}


@pytest.fixture(scope="module")
def scenarios(hook) -> ModuleType:
    return hook._scenarios()


def test_every_scenario_is_a_runbook(scenarios) -> None:
    assert set(scenarios.SCENARIOS) == set(SCENARIO_CODES)
    assert set(scenarios.SCENARIOS) <= {rb.id for rb in runbooks.load_all()}


def test_scenario_captures_read_as_sip_in_tshark(scenarios, tmp_path) -> None:
    # One capture holding every scenario (distinct Call-IDs): one tshark run for all.
    packets = []
    for n, runbook_id in enumerate(sorted(SCENARIO_CODES)):
        call = scenarios.Call(scenarios.call_id(runbook_id), caller=scenarios.CARRIER_A)
        scenarios.SCENARIOS[runbook_id][0](call)
        packets += [
            scenarios.Datagram(d.time + 20 * n, d.src, d.dst, d.payload) for d in call.packets
        ]
    pcap = tmp_path / "all.pcap"
    scenarios.write_pcap(pcap, packets)
    fields = ["-e", "sip.Call-ID", "-e", "sip.Status-Code"]
    out = run([need_tool("tshark"), "-r", pcap, "-Y", "sip", "-T", "fields", *fields], timeout=60)
    codes: dict[str, set[str]] = {}
    for line in out.stdout.decode().splitlines():
        call_id, _, status = line.partition("\t")
        codes.setdefault(call_id, set()).add(status)
    for runbook_id, code in SCENARIO_CODES.items():
        assert code in codes.get(scenarios.call_id(runbook_id), set()), runbook_id


def test_transcoding_and_loss_scenarios_carry_what_they_claim(scenarios, tmp_path) -> None:
    tshark = need_tool("tshark")

    def streams(runbook_id: str) -> str:
        pcap = scenarios.build(runbook_id, tmp_path)
        return run([tshark, "-r", str(pcap), "-q", "-z", "rtp,streams"], timeout=60).stdout.decode()

    transcoded = streams("silent-transcoding")
    assert "g729" in transcoded and "g711U" in transcoded
    lossy = [line for line in streams("packet-loss-low-mos").splitlines() if "g711U" in line]
    assert any("16 (16.0%)" in line for line in lossy)
    one_way = [line for line in streams("one-way-audio").splitlines() if "g711U" in line]
    assert len(one_way) == 1


@pytest.mark.parametrize("runbook_id", sorted(SCENARIO_CODES))
def test_diagnose_points_scenario_at_its_runbook(scenarios, tmp_path, cli, runbook_id) -> None:
    # The docs show each capture as the picture of its runbook: `voxops diagnose` must
    # agree, i.e. report at least one finding whose runbook is that one.
    pcap = scenarios.build(runbook_id, tmp_path)
    spec = REPO / "voxops" / "data" / "inventories" / "local"
    code, out, err = cli(
        "diagnose", scenarios.call_id(runbook_id), "--pcap", pcap, "--spec", spec,
        "--format", "json",
    )  # fmt: skip
    assert code in (0, 1), err
    findings = json.loads(out)["findings"]
    assert runbook_id in {f["runbook"] for f in findings}, findings
