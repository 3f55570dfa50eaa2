"""Alert rules from the SLOs: valid for promtool, and they fire on the right series only."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from tests.conftest import REPO, need_tool
from voxops.ops.render import render_spec

RULES = "shared/prometheus/voxops-alerts.yml"

# Metric names the rendered SBC config declares, plus what the agent service exports.
AGENT_METRICS = {"voxops_agent_calls_active", "voxops_agent_calls_total", "voxops_agent_rejected_total",
                 "voxops_agent_rtcp_loss_ratio", "voxops_agent_mos", "voxops_agent_dead_air_total",
                 "voxops_agent_response_latency_seconds_bucket"}


def _rules(tmp_path: Path) -> Path:
    render_spec(REPO / "voxops" / "data" / "inventories" / "local", tmp_path / "out")
    return tmp_path / "out" / RULES


def test_rules_pass_promtool_check(tmp_path: Path) -> None:
    promtool = need_tool("promtool")
    cp = subprocess.run([promtool, "check", "rules", str(_rules(tmp_path))], capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "SUCCESS: 12 rules found" in cp.stdout  # 7, the 2 conversation rules of the agents, the 3 media-plane rules of the relays


def test_rules_use_only_exported_metrics(tmp_path: Path) -> None:
    rules = yaml.safe_load(_rules(tmp_path).read_text())
    cfg = (tmp_path / "out" / "sbc-1" / "etc" / "kamailio.cfg").read_text()
    sbc = {f"voxops_sbc_{n}" for n in re.findall(r'"name=(\w+);', cfg)}
    sbc |= {f"{n}_bucket" for n in sbc} | {f"{n}_count" for n in sbc} | {f"{n}_sum" for n in sbc}
    used = set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            used |= set(re.findall(r"\bvoxops_\w+", rule["expr"]))
    assert used and used <= sbc | AGENT_METRICS, used - sbc - AGENT_METRICS


UNIT_TESTS = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # trunk "good": 10 calls a minute, all answered
      - series: 'voxops_sbc_invite_responses_total{{trunk="good",code="200"}}'
        values: '0+10x10'
      # trunk "bad": 10 calls a minute, half of them 503 from minute 0
      - series: 'voxops_sbc_invite_responses_total{{trunk="bad",code="200"}}'
        values: '0+5x10'
      - series: 'voxops_sbc_invite_responses_total{{trunk="bad",code="503"}}'
        values: '0+5x10'
      - series: 'voxops_sbc_trunk_up{{trunk="good",uri="sip:127.0.5.11:5060"}}'
        values: '1x10'
    alert_rule_test:
      - eval_time: 5m
        alertname: VoxopsTrunkAsrLow
        exp_alerts:
          - exp_labels: {{severity: critical, trunk: bad}}
            exp_annotations:
              summary: "ASR of trunk bad below 90.0 % over 300s"
              runbook: trunk-down
      - eval_time: 5m
        alertname: VoxopsTrunk503Spike
        exp_alerts:
          - exp_labels: {{severity: critical, trunk: bad}}
            exp_annotations:
              summary: "503 spike on trunk bad: shift traffic off it"
              runbook: 503-spike
      - eval_time: 5m
        alertname: VoxopsTrunkDown
        exp_alerts: []
  - interval: 1m
    input_series:
      # 96 % answered: above the 90 % alert line, no alert
      - series: 'voxops_sbc_invite_responses_total{{trunk="ok",code="200"}}'
        values: '0+24x10'
      - series: 'voxops_sbc_invite_responses_total{{trunk="ok",code="486"}}'
        values: '0+1x10'
      # a trunk that answers nothing at all still gets its ASR alert
      - series: 'voxops_sbc_invite_responses_total{{trunk="dead",code="408"}}'
        values: '0+3x10'
      - series: 'voxops_sbc_trunk_up{{trunk="dead",uri="sip:127.0.5.12:5060"}}'
        values: '1 1 0x8'
    alert_rule_test:
      - eval_time: 5m
        alertname: VoxopsTrunkAsrLow
        exp_alerts:
          - exp_labels: {{severity: critical, trunk: dead}}
            exp_annotations:
              summary: "ASR of trunk dead below 90.0 % over 300s"
              runbook: trunk-down
      - eval_time: 5m
        alertname: VoxopsTrunkDown
        exp_alerts:
          - exp_labels: {{severity: critical, trunk: dead, uri: "sip:127.0.5.12:5060"}}
            exp_annotations:
              summary: "trunk dead host sip:127.0.5.12:5060 is down"
              runbook: trunk-down
  - interval: 1m
    input_series:
      - series: 'voxops_agent_mos{{instance="agent-1"}}'
        values: '4.2x10'
      - series: 'voxops_agent_mos{{instance="agent-2"}}'
        values: '3.1x10'
      - series: 'voxops_agent_rtcp_loss_ratio{{instance="agent-2"}}'
        values: '0.03x10'
      - series: 'voxops_agent_rtcp_loss_ratio{{instance="agent-1"}}'
        values: '0.001x10'
    alert_rule_test:
      - eval_time: 6m
        alertname: VoxopsMosLow
        exp_alerts:
          - exp_labels: {{severity: warning, instance: agent-2}}
            exp_annotations:
              summary: "MOS on agent-2 below 3.5"
              runbook: packet-loss-low-mos
      - eval_time: 6m
        alertname: VoxopsPacketLossHigh
        exp_alerts:
          - exp_labels: {{severity: warning, instance: agent-2}}
            exp_annotations:
              summary: "RTCP packet loss on agent-2 above 1.0 %"
              runbook: packet-loss-low-mos
  - interval: 1m
    input_series:
      # agent-3: 10 turns a minute, 9 of them answered after 2-3 s; agent-4: all within 0.5 s
      - series: 'voxops_agent_response_latency_seconds_bucket{{instance="agent-3",le="0.5"}}'
        values: '0+1x10'
      - series: 'voxops_agent_response_latency_seconds_bucket{{instance="agent-3",le="1.5"}}'
        values: '0+1x10'
      - series: 'voxops_agent_response_latency_seconds_bucket{{instance="agent-3",le="3"}}'
        values: '0+10x10'
      - series: 'voxops_agent_response_latency_seconds_bucket{{instance="agent-3",le="+Inf"}}'
        values: '0+10x10'
      - series: 'voxops_agent_response_latency_seconds_bucket{{instance="agent-4",le="0.5"}}'
        values: '0+10x10'
      - series: 'voxops_agent_response_latency_seconds_bucket{{instance="agent-4",le="1.5"}}'
        values: '0+10x10'
      - series: 'voxops_agent_response_latency_seconds_bucket{{instance="agent-4",le="3"}}'
        values: '0+10x10'
      - series: 'voxops_agent_response_latency_seconds_bucket{{instance="agent-4",le="+Inf"}}'
        values: '0+10x10'
      # one dead-air episode on agent-4 at minute 3, none on agent-3
      - series: 'voxops_agent_dead_air_total{{instance="agent-4"}}'
        values: '0 0 0 1 1 1 1 1 1 1 1'
      - series: 'voxops_agent_dead_air_total{{instance="agent-3"}}'
        values: '0x10'
    alert_rule_test:
      - eval_time: 6m
        alertname: VoxopsAgentResponseSlow
        exp_alerts:
          - exp_labels: {{severity: warning, instance: agent-3}}
            exp_annotations:
              summary: "95th percentile response latency on agent-3 above 1500 ms"
              runbook: slow-agent-response
      - eval_time: 5m
        alertname: VoxopsAgentDeadAir
        exp_alerts:
          - exp_labels: {{severity: warning, instance: agent-4}}
            exp_annotations:
              summary: "dead air (both sides silent over 5.0 s) on agent-4"
              runbook: dead-air
      - eval_time: 10m
        alertname: VoxopsAgentDeadAir
        exp_alerts: []
"""


def test_rules_fire_on_an_asr_drop_and_stay_quiet_when_healthy(tmp_path: Path) -> None:
    promtool = need_tool("promtool")
    rules = _rules(tmp_path)
    tests = tmp_path / "rules_test.yml"
    tests.write_text(UNIT_TESTS.format(rules=rules))
    cp = subprocess.run([promtool, "test", "rules", str(tests)], capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stdout + cp.stderr
