"""The media relay in the rendered SBC: rtpengine's config per node, Kamailio driving it,
configs both tools accept, and media-plane alert rules that fire on the right trunk."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import need_tool
from tests.support.specs import spec, write_spec
from voxops.deploy.validation import check_kamailio, check_rtpengine, rtpengine_problems
from voxops.ops.render import render_spec

MEDIA = {"nodes": [{"node": "sbc-1", "public": "127.0.23.1", "private": "127.0.24.1"}],
         "port_min": 31000, "port_max": 31999, "ng_port": 2223, "metrics_port": 9103}


def media_spec(**media) -> dict:
    data = spec()
    data["sbc"]["media"] = {**MEDIA, **media}
    return data


def _render(tmp_path: Path, data: dict, check: bool = False):
    return render_spec(write_spec(data, tmp_path / "topology.yaml"), tmp_path / "out", check=check)


def test_each_node_gets_a_relay_config_with_its_own_addresses(tmp_path: Path) -> None:
    _render(tmp_path, media_spec())
    one = (tmp_path / "out/sbc-1/etc/rtpengine.conf").read_text()
    two = (tmp_path / "out/sbc-2/etc/rtpengine.conf").read_text()
    assert "interface = public/127.0.23.1;private/127.0.24.1\n" in one
    # sbc-2 is not listed: both sides default to its own address; on loopback the control
    # socket binds the node's address so two nodes can share a host
    assert "interface = public/127.0.5.2;private/127.0.5.2\n" in two
    assert "listen-ng = 127.0.5.2:2223\n" in two and "listen-http = 127.0.5.2:9103\n" in two
    assert "port-min = 31000\n" in one and "port-max = 31999\n" in one and "table = -1\n" in one
    assert "recording-dir" not in one
    cfg = (tmp_path / "out/sbc-1/etc/kamailio.cfg").read_text()
    assert 'modparam("rtpengine", "rtpengine_sock", "udp:127.0.5.1:2223")' in cfg
    for call in ("rtpengine_offer(", "rtpengine_answer(", "rtpengine_delete("):
        assert call in cfg, call


def test_without_media_nothing_of_the_relay_is_rendered(tmp_path: Path) -> None:
    _render(tmp_path, spec())
    assert not (tmp_path / "out/sbc-1/etc/rtpengine.conf").exists()
    assert "rtpengine" not in (tmp_path / "out/sbc-1/etc/kamailio.cfg").read_text()


def _route(cfg: str, name: str) -> str:
    m = re.search(rf"^(?:failure_|onreply_)?route\[{name}\] \{{\n(.*?)^\}}", cfg, re.M | re.S)
    assert m, name
    return m.group(1)


def test_every_way_a_call_ends_frees_its_relay_session(tmp_path: Path) -> None:
    _render(tmp_path, media_spec())
    cfg = (tmp_path / "out/sbc-1/etc/kamailio.cfg").read_text()
    media = _route(cfg, "MEDIA")
    assert re.search(r'is_method\("BYE"\)\) \{\n\t\trtpengine_delete\(\);', media)
    assert re.search(r'is_method\("CANCEL"\)\) \{\n\t\trtpengine_delete\(\);', media)
    # a failed call frees it; a carrier failover keeps it for the next branch
    for failure in ("CARRIER_FAILURE", "AGENT_FAILURE", "IVR_FAILURE"):
        body = _route(cfg, failure)
        assert body.rstrip().endswith("route(MEDIA_FAILED);") or "route(MEDIA_FAILED);\n\treturn;" in body, failure
    carrier = _route(cfg, "CARRIER_FAILURE")
    assert carrier.index("ds_next_dst()") < carrier.rindex("route(MEDIA_FAILED)")
    assert "route(MEDIA_FAILED);\n\t\texit;" in carrier  # 486 / 603: no failover
    assert "rtpengine_delete()" in _route(cfg, "MEDIA_FAILED")
    # answers on 18x and 2xx of every INVITE, from agents and from carriers
    assert "route(MEDIA_ANSWER);" in _route(cfg, "TRUNK_REPLY")
    assert "route(MEDIA_ANSWER);" in _route(cfg, "MEDIA_REPLY")
    assert '$rs =~ "^(18[0-9]|2[0-9][0-9])$"' in _route(cfg, "MEDIA_ANSWER")


def test_transcoding_and_recording_reach_the_offer_and_the_relay(tmp_path: Path) -> None:
    _render(tmp_path, media_spec(transcode=["PCMA", "G722"], recording={"enabled": True, "dir": "/var/spool/rec"}))
    cfg = (tmp_path / "out/sbc-1/etc/kamailio.cfg").read_text()
    assert "codec-transcode-PCMA codec-transcode-G722 record-call=on" in cfg
    conf = (tmp_path / "out/sbc-1/etc/rtpengine.conf").read_text()
    assert "recording-dir = /var/spool/rec\n" in conf and "recording-method = pcap\n" in conf


def test_rendered_configs_pass_kamailio_and_rtpengine(tmp_path: Path) -> None:
    need_tool("kamailio")
    need_tool("rtpengine")
    report = _render(tmp_path, media_spec(transcode=["PCMA"], recording={"enabled": True, "dir": "/tmp/rec"}),
                     check=True)
    assert [Path(c.config).name for c in report.checks] == ["kamailio.cfg"] * 2 + ["rtpengine.conf"] * 2
    assert all(c.ok for c in report.checks), [c.detail for c in report.checks]


@pytest.mark.parametrize(("change", "found"), [
    (lambda t: t.replace("interface = public/127.0.23.1;private/127.0.24.1",
                         "interface = public/127.0.23.1\ninterface = private/127.0.24.1"), "interface given twice"),
    (lambda t: t.replace("port-min = 31000", "port-min = 41000"), "port range 41000-31999"),
    (lambda t: t.replace("listen-ng", "# listen-ng"), "no listen-ng"),
    (lambda t: t.replace("public/127.0.23.1", "public/sbc.example"), "is not NAME/ADDRESS"),
    (lambda t: t + "port-max\n", "neither a [section] nor key = value"),
], ids=["duplicate-interface", "range", "no-ng", "interface-name", "bare-word"])
def test_a_relay_config_rtpengine_would_misread_is_refused(tmp_path: Path, change, found) -> None:
    """rtpengine itself starts happily with two `interface` lines (it keeps the last) and
    an upside-down range; the check reads the file the way it does and says so."""
    need_tool("rtpengine")
    _render(tmp_path, media_spec())
    conf = tmp_path / "out/sbc-1/etc/rtpengine.conf"
    assert check_rtpengine(conf).ok
    conf.write_text(change(conf.read_text()))
    result = check_rtpengine(conf)
    assert not result.ok and found in result.detail, result.detail


def test_rtpengine_itself_refuses_a_value_it_cannot_parse(tmp_path: Path) -> None:
    need_tool("rtpengine")
    _render(tmp_path, media_spec())
    conf = tmp_path / "out/sbc-1/etc/rtpengine.conf"
    conf.write_text(conf.read_text().replace("timeout = 60", "timeout = soon"))
    assert rtpengine_problems(conf.read_text()) == []
    result = check_rtpengine(conf)
    assert not result.ok and "rtpengine refused its options" in result.detail


def test_kamailio_refuses_a_broken_relay_socket(tmp_path: Path) -> None:
    need_tool("kamailio")
    _render(tmp_path, media_spec())
    cfg = tmp_path / "out/sbc-1/etc/kamailio.cfg"
    cfg.write_text(cfg.read_text().replace('"mos_min_pv"', '"mos_minimum_pv"'))
    assert not check_kamailio(cfg).ok


MEDIA_RULE_TESTS = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # trunk "good": 10 calls end a minute at MOS 4.3 and 0.2 % loss; "bad": MOS 3.0, 3 % loss
      - series: 'voxops_sbc_relay_mos_average_sum{{trunk="good"}}'
        values: '0+43x10'
      - series: 'voxops_sbc_relay_mos_average_count{{trunk="good"}}'
        values: '0+10x10'
      - series: 'voxops_sbc_relay_mos_average_sum{{trunk="bad"}}'
        values: '0+30x10'
      - series: 'voxops_sbc_relay_mos_average_count{{trunk="bad"}}'
        values: '0+10x10'
      - series: 'voxops_sbc_relay_loss_percent_sum{{trunk="good"}}'
        values: '0+2x10'
      - series: 'voxops_sbc_relay_loss_percent_count{{trunk="good"}}'
        values: '0+10x10'
      - series: 'voxops_sbc_relay_loss_percent_sum{{trunk="bad"}}'
        values: '0+30x10'
      - series: 'voxops_sbc_relay_loss_percent_count{{trunk="bad"}}'
        values: '0+10x10'
      # sbc-1's relay stops answering its scrape at minute 3; sbc-2's misses offers from minute 6
      - series: 'up{{job="voxops-rtpengine",instance="sbc-1"}}'
        values: '1 1 1 0x7'
      - series: 'up{{job="voxops-rtpengine",instance="sbc-2"}}'
        values: '1x10'
      - series: 'up{{job="voxops-sbc",instance="sbc-2"}}'
        values: '0x10'
      - series: 'voxops_sbc_relay_unavailable_total{{instance="sbc-2",trunk="good"}}'
        values: '0 0 0 0 0 0 0 2 4 6'
    alert_rule_test:
      - eval_time: 5m
        alertname: VoxopsRelayMosLow
        exp_alerts:
          - exp_labels: {{severity: warning, trunk: bad}}
            exp_annotations:
              summary: "MOS measured by the media relay on trunk bad below 3.5 over 5m"
              runbook: packet-loss-low-mos
      - eval_time: 5m
        alertname: VoxopsRelayLossHigh
        exp_alerts:
          - exp_labels: {{severity: warning, trunk: bad}}
            exp_annotations:
              summary: "packet loss measured by the media relay on trunk bad above 1.0 % over 5m"
              runbook: packet-loss-low-mos
      - eval_time: 2m
        alertname: VoxopsRelayDown
        exp_alerts: []
      - eval_time: 8m
        alertname: VoxopsRelayDown
        exp_alerts:
          - exp_labels: {{severity: critical, job: voxops-rtpengine, instance: sbc-1}}
            exp_annotations:
              summary: "media relay sbc-1 is down: its SBC node refuses calls with 503"
              runbook: one-way-audio
          - exp_labels: {{severity: critical, instance: sbc-2}}
            exp_annotations:
              summary: "media relay sbc-2 is down: its SBC node refuses calls with 503"
              runbook: one-way-audio
"""


def test_media_rules_fire_per_trunk_and_per_relay(tmp_path: Path) -> None:
    promtool = need_tool("promtool")
    _render(tmp_path, media_spec())
    rules = tmp_path / "out/shared/prometheus/voxops-alerts.yml"
    check = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "SUCCESS: 12 rules found" in check.stdout, check.stdout + check.stderr
    tests = tmp_path / "media_rules_test.yml"
    tests.write_text(MEDIA_RULE_TESTS.format(rules=rules))
    cp = subprocess.run([promtool, "test", "rules", str(tests)], capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stdout + cp.stderr


def test_a_node_without_a_metrics_port_renders_a_config_kamailio_accepts(tmp_path: Path) -> None:
    need_tool("kamailio")
    data = media_spec()
    for node in data["sbc"]["nodes"]:
        node["metrics_port"] = None
    report = _render(tmp_path, data, check=True)
    assert report.checks and all(c.ok for c in report.checks), [c.detail for c in report.checks]
