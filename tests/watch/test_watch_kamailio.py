"""The SBC rendered from a spec with `sbc.hep` mirrors every SIP message to `voxops watch`:
the calls placed through it are recorded on their trunk with the outcome the callers saw."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import free_port, need_tool
from tests.support.sip_peers import (
    count_responses,
    run_uac,
    start_kamailio,
    start_uas,
    wait_dispatcher_active,
    wait_udp_listening,
)
from voxops.render.engine import plan, render_all
from voxops.spec.loader import load_topology_text

SBC, CARRIER, AGENT, WATCH = "127.0.31.40", "127.0.31.41", "127.0.31.42", "127.0.31.43"
CALLS = 10

SPEC = """
version: 1
name: watch-live
carriers:
  - name: carrier-a
    trunks:
      - {{name: main, hosts: [{{address: {car}, port: {pcar}}}], options_ping: {{interval_s: 1}}}}
sbc:
  domain: sbc.watch.test
  nodes: [{{name: sbc-w, address: {sbc}, listen: [{{transport: udp, port: {psbc}}}], metrics_port: null}}]
  admission: {{max_concurrent_calls: 50}}
  hep: {{address: {watch}, port: {phep}}}
agents:
  instances: [{{name: agent-w, host: {agent}, sip_port: {pagent}, health_port: {phealth}, max_calls: 10}}]
"""


@pytest.mark.slow
def test_rendered_kamailio_mirrors_sip_to_the_watch(tmp_path: Path) -> None:
    kamailio, sipp = need_tool("kamailio"), need_tool("sipp")
    ports = {"pcar": free_port(CARRIER), "psbc": free_port(SBC), "pagent": free_port(AGENT),
             "phealth": free_port(AGENT), "phep": free_port(WATCH)}
    text = SPEC.format(car=CARRIER, sbc=SBC, agent=AGENT, watch=WATCH, **ports)
    spec = tmp_path / "topology.yaml"
    spec.write_text(text)
    topo = load_topology_text(text)
    render_all(plan(topo, str(tmp_path)), tmp_path)
    cfg = tmp_path / "sbc-w" / "etc" / "kamailio.cfg"
    uri = f"sip:{WATCH}:{ports['phep']};transport=udp"
    assert f'modparam("siptrace", "duplicate_uri", "{uri}")' in cfg.read_text()
    jsonl = tmp_path / "calls.jsonl"
    watch = subprocess.Popen(
        [sys.executable, "-m", "voxops", "watch", "--hep", f"{WATCH}:{ports['phep']}", "--spec", str(spec),
         "--jsonl", str(jsonl), "--db", str(tmp_path / "calls.db"), "--duration", "120s"],
        stderr=subprocess.PIPE, text=True)
    procs = []
    try:
        assert watch.stderr is not None and "HEP on" in watch.stderr.readline()
        procs.append(start_uas(sipp, CARRIER, ports["pcar"], tmp_path, "carrier"))
        procs.append(start_kamailio(kamailio, cfg, tmp_path / "sbc-w" / "run"))
        wait_udp_listening(SBC, ports["psbc"])
        wait_dispatcher_active(tmp_path / "sbc-w" / "run" / "kamailio_ctl", f"{CARRIER}:{ports['pcar']}")
        rc, uac_log = run_uac(sipp, f"{SBC}:{ports['psbc']}", AGENT, ports["pagent"], tmp_path, "agent",
                              calls=CALLS, rate=10, limit=5, hold_ms=200)
        assert rc == 0, (tmp_path / "sbc-w" / "run" / "kamailio.log").read_text()[-3000:]
        answered = count_responses(uac_log, 200) // 2  # the INVITE's and the BYE's
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if jsonl.exists() and len(jsonl.read_text().splitlines()) >= CALLS:
                break
            time.sleep(0.3)
    finally:
        for p in procs:
            p.stop()
        watch.send_signal(signal.SIGTERM)
        _, err = watch.communicate(timeout=30)
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(records) == CALLS == answered, err
    for r in records:
        assert (r["trunk"], r["final_status"], r["finished_by"]) == ("carrier-a/main", 200, "bye")
        assert r["path"] == ["agent-w", "sbc-w", "carrier-a"]
        assert r["pdd_ms"] is not None and r["duration_s"] is not None and r["duration_s"] >= 0.2
    code = subprocess.run([sys.executable, "-m", "voxops", "calls", "--db", str(tmp_path / "calls.db"),
                           "--trunk", "carrier-a/main", "--format", "json"], capture_output=True, text=True)
    assert sorted(r["call_id"] for r in json.loads(code.stdout)) == sorted(r["call_id"] for r in records)
