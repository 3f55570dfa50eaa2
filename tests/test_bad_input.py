"""Every command, fed every kind of bad input that applies to it: a one-line error and a
documented exit code (2 invalid input, 3 environment), never a traceback or exit 4, and
an output file that existed before a failed run is left exactly as it was.

The command tree is walked from the app itself: a command with a file argument is fed
each kind of bad file without being listed here, and a new command without a baseline
invocation fails `test_every_command_has_a_baseline` until one is added.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import stat
import struct
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Any, get_args

import pytest
import typer.main
import yaml

from tests.conftest import REPO, free_port, need_root, need_tool
from voxops.capture.writer import PcapWriter, udp_frame
from voxops.cli.main import app

CAPTURES = REPO / "tests" / "data" / "capture"
DIAGNOSIS = REPO / "tests" / "data" / "diagnosis"
GOOD_PCAP = DIAGNOSIS / "clean.pcap"
GOOD_PCAPNG = CAPTURES / "udp_proxy.pcapng"
GOOD_SPEC = DIAGNOSIS / "topology.yaml"
CALL = "1-12747@127.0.4.1"  # the one call of clean.pcap
HOST = "127.0.8.1"  # loopback only; nothing listens on the ports these tests pick
SENTINEL = b"precious output from an earlier run\n"

Cli = Callable[..., tuple[int, str, str]]


def assert_clean_failure(result: tuple[int, str, str], *, allow_ok: bool = False) -> None:
    """Exit 1/2/3 (or 0 when `allow_ok`: a damaged capture read as far as it goes), no
    traceback, and at most one error line (`voxops: error: ...`, optionally one hint)."""
    code, out, err = result
    assert "Traceback" not in err + out
    assert code != 4, err
    allowed = {0, 1, 2, 3} if allow_ok else {1, 2, 3}
    assert code in allowed, (code, err)
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("voxops: error:")]
    if code == 0:  # success may report progress on stderr, but no error
        assert not errors, err
        return
    for line in lines:
        assert line.startswith(("voxops: error:", "voxops: warning:", "  hint:")), f"stray stderr line: {line!r}"
    if code in (2, 3):
        assert len(errors) == 1, err
        hints = [line for line in lines if line.startswith("  hint:")]
        assert len(hints) <= 1, err


def assert_invalid_report(result: tuple[int, str, str], spec: str) -> None:
    """`validate` reports one line per problem (`file:line:col: path: message`) and a summary."""
    code, out, err = result
    assert "Traceback" not in err + out
    assert code == 2, (code, err)
    lines = err.splitlines()
    assert lines and lines[-1] == f"{spec}: invalid ({len(lines) - 1} error(s))", err
    assert all(line.startswith((spec, "error: ")) for line in lines[:-1]), err


def assert_invalid_json_report(result: tuple[int, str, str]) -> None:
    """`validate --format json`: the report on stdout, `valid` false, one line per error."""
    code, out, err = result
    assert "Traceback" not in err + out
    assert code == 2, (code, err)
    report = json.loads(out)
    assert report["valid"] is False and report["errors"], report
    assert all("\n" not in e for e in report["errors"]), report


def run_sweep(cli: Cli, argv: list[str], *, allow_ok: bool = False) -> tuple[int, str, str]:
    """Run one case and check it by the command's documented error format."""
    result = cli(*argv)
    if argv[0] == "validate" and "json" in argv:
        assert_invalid_json_report(result)
    elif argv[0] == "validate":
        assert_invalid_report(result, argv[1])
    else:
        assert_clean_failure(result, allow_ok=allow_ok)
    return result


def nagios_unknown(result: tuple[int, str, str]) -> None:
    code, out, err = result
    assert "Traceback" not in err + out
    assert code == 3, (code, out, err)
    assert out.splitlines()[0].split(" - ")[0].endswith("UNKNOWN"), out


# --- bad files, generated from the good ones at test time -------------------------------------------


def _records(data: bytes) -> list[int]:
    """Byte offsets of the records of a little-endian classic pcap."""
    offs, pos = [], 24
    while pos + 16 <= len(data):
        offs.append(pos)
        pos += 16 + struct.unpack_from("<I", data, pos + 8)[0]
    return offs


def _pcap_bad(d: Path) -> dict[str, Path]:
    good = GOOD_PCAP.read_bytes()
    recs = _records(good)
    bogus_caplen = bytearray(good)
    struct.pack_into("<I", bogus_caplen, recs[3] + 8, 0xFFFFFFF0)
    huge_first = bytearray(good)
    struct.pack_into("<I", huge_first, 24 + 8, 0x7FFFFFFF)
    flipped = bytearray(good)
    for i in range(40, len(flipped), 97):
        flipped[i] ^= 0xFF
    ng = bytearray(GOOD_PCAPNG.read_bytes())
    shb_len = struct.unpack_from("<I", ng, 4)[0]
    ng_bogus = bytearray(ng)
    struct.pack_into("<I", ng_bogus, shb_len + 4, 0xFFFFFFF0)  # the interface block's length
    ng_bogus_packet = bytearray(ng)
    idb_len = struct.unpack_from("<I", ng, shb_len + 4)[0]
    struct.pack_into("<I", ng_bogus_packet, shb_len + idb_len + 4, 13)  # not a multiple of 4
    gz = gzip.compress(good)
    files = {
        "pcap-header-cut": good[:17],
        "pcap-cut-mid-record": good[: recs[5] + 30],
        "pcap-bogus-caplen": bytes(bogus_caplen),
        "pcap-first-record-huge": bytes(huge_first),
        "pcap-flipped-bytes": bytes(flipped),
        "pcap-no-records": good[:24],
        "pcapng-bogus-block-length": bytes(ng_bogus),
        "pcapng-bogus-packet-length": bytes(ng_bogus_packet),
        "pcapng-cut": bytes(ng[: len(ng) // 2 + 3]),
        "pcapng-magic-only": bytes(ng[:4]),
        "gzip-ends-early": gz[: len(gz) // 2],
        "gzip-magic-only": gz[:2],
        "gzip-of-garbage": gzip.compress(bytes(range(256)) * 8),
        "gzip-corrupt": gz[:20] + bytes(b ^ 0x5A for b in gz[20:200]) + gz[200:],
    }
    out = {}
    for name, data in files.items():
        path = d / f"{name}.pcap"
        path.write_bytes(data)
        out[name] = path
    return out


def _garbage_sip(d: Path) -> Path:
    """A well-formed pcap whose UDP payloads are hostile would-be SIP."""
    payloads = [
        b"INVITE",
        b"INVITE sip:x SIP/2.0\r\n",
        b"INVITE sip:x SIP/2.0\r\nCall-ID: g1\r\nCSeq: banana INVITE\r\nContent-Length: 99999\r\n\r\nv=0",
        b"SIP/2.0 999999999999 OK\r\nCall-ID: g1\r\nCSeq: 1 INVITE\r\n\r\n",
        b"SIP/2.0 200\r\nCall-ID: g1\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n\r\n"
        b"v=0\r\nc=IN IP4 999.1.1.1\r\nm=audio 99999999 RTP/AVP 0 x\r\na=rtpmap:x\r\n",
        b"BYE sip:x SIP/2.0\r\nCall-ID: g1\r\nCSeq: 2 BYE\r\nVia: SIP/2.0/UDP ;branch=\r\n\r\n",
        b"INVITE sip:y SIP/2.0\r\nCall-ID: g2\r\nCSeq: 1 INVITE\r\nFrom: <\x00\xff>;tag=\r\nTo: \r\n"
        b"Content-Type: application/sdp\r\n\r\nm=audio -5 RTP/AVP\r\nc=IN IP6 ::::\r\n",
        b"ACK\x00\xff\xfe sip:\xc3\x28 SIP/2.0\r\n" + b"A" * 3000,
        b"\x80\x00" + b"\xff" * 30,  # RTP-looking garbage
    ]
    path = d / "garbage-sip.pcap"
    with PcapWriter(path) as w:
        for i, payload in enumerate(payloads * 3):
            w.write(1_700_000_000 + i * 0.01, udp_frame("127.0.4.1", 5060, "127.0.4.2", 5060 + i % 2, payload))
    return path


@pytest.fixture(scope="module")
def bad(tmp_path_factory) -> dict[str, Path]:
    """Kinds of bad input file, by name (each a fresh path in a module-wide folder)."""
    d = tmp_path_factory.mktemp("bad")
    (d / "a-directory").mkdir()
    (d / "empty").write_bytes(b"")
    (d / "binary-garbage").write_bytes(bytes((i * 7919) % 251 for i in range(4096)))
    (d / "text").write_text("hello, this is not what you think it is\n")
    (d / "not-a-dir").write_text("x")
    files = {
        "missing": d / "does-not-exist",
        "directory": d / "a-directory",
        "empty": d / "empty",
        "binary-garbage": d / "binary-garbage",
        "text": d / "text",
        "under-a-file": d / "not-a-dir" / "x",
    }
    return files | _pcap_bad(d) | {"garbage-sip": _garbage_sip(d)}


GENERIC = ["missing", "directory", "empty", "binary-garbage", "text", "under-a-file"]
CAPTURE_DAMAGE = [
    "pcap-header-cut", "pcap-cut-mid-record", "pcap-bogus-caplen", "pcap-first-record-huge",
    "pcap-flipped-bytes", "pcap-no-records", "pcapng-bogus-block-length", "pcapng-bogus-packet-length",
    "pcapng-cut", "pcapng-magic-only", "gzip-ends-early", "gzip-magic-only", "gzip-of-garbage",
    "gzip-corrupt", "garbage-sip",
]


# --- the command tree ---------------------------------------------------------------------------------


def commands() -> dict[str, Any]:
    """Every leaf command by its full name ("group sub" for groups)."""
    root = typer.main.get_command(app)
    out: dict[str, Any] = {}

    def walk(cmd: Any, prefix: str) -> None:
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, f"{prefix} {name}".strip())
        else:
            out[prefix] = cmd

    walk(root, "")
    return out


def path_params(cmd: Any) -> list[Any]:
    """Parameters annotated as a Path (typer keeps the annotation on each parameter)."""
    def is_path(p: Any) -> bool:
        annotation = p.type_descriptor.annotation
        return any(isinstance(t, type) and issubclass(t, PurePath) for t in (annotation, *get_args(annotation)))

    return [p for p in cmd.params if is_path(p)]


@pytest.fixture(scope="module")
def net(tmp_path_factory) -> dict[str, Path]:
    """Specs whose every live target is a closed port on 127.0.8.x (short timeouts)."""
    d = tmp_path_factory.mktemp("net")
    dead = free_port(HOST)
    doc = yaml.safe_load(GOOD_SPEC.read_text())
    doc["carriers"][0]["trunks"][0]["hosts"] = [{"address": HOST, "port": dead}]
    doc["carriers"][1]["trunks"][0]["hosts"] = [{"address": "127.0.8.2", "port": dead}]
    doc["sbc"]["nodes"][0].update(address="127.0.8.3", listen=[{"transport": "udp", "port": dead}])
    doc["dns"] = {
        "vantages": [{"name": "dead", "address": HOST, "port": dead}],
        "records": [{"name": "sbc.diag.test", "type": "A", "expect": ["127.0.8.3"]}],
        "timeout_s": 0.3,
    }
    doc["tls_endpoints"] = [{"name": "sbc-tls", "host": HOST, "port": free_port(HOST, kind=1)}]
    spec = d / "topology.yaml"
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    return {"spec": spec, "dir": d}


def _agent_files(out: Path) -> tuple[Path, Path]:
    """A valid agent config and an IVR callback database, beside `out`."""
    from voxops.agent.config import agent_config_for, dump_agent_config
    from voxops.agent.ivr import CallbackStore
    from voxops.spec.loader import load_topology

    out.parent.mkdir(parents=True, exist_ok=True)
    config, db = out.parent / "agent.yaml", out.parent / "ivr.db"
    if not config.exists():
        topology, _ = load_topology(GOOD_SPEC)
        config.write_text(dump_agent_config(agent_config_for(topology, "agent-1")))
    if not db.exists():
        CallbackStore(db)
    return config, db


LOCAL = REPO / "voxops" / "data" / "inventories" / "local"


def baselines(net: dict[str, Path], out: Path) -> dict[str, list[str]]:
    """A working invocation of each command (the sweep swaps one input at a time)."""
    pcap, spec = str(GOOD_PCAP), str(GOOD_SPEC)
    agent_config, ivr_db = _agent_files(out)
    return {
        "agent run": ["agent", "run", "--config", str(agent_config)],
        "agent config": ["agent", "config", spec, "--instance", "agent-1"],
        "agent callbacks": ["agent", "callbacks", "--db", str(ivr_db)],
        "runbook": ["runbook", "503"],
        "lab up": ["lab", "up", str(LOCAL / "topology.yaml"), "--dir", str(out.parent / "lab")],
        "lab down": ["lab", "down", "--dir", str(out.parent / "lab")],
        "lab status": ["lab", "status", "--dir", str(out.parent / "lab")],
        "lab call": ["lab", "call", "--count", "1", "--dir", str(out.parent / "lab")],
        "lab drill": ["lab", "drill", "trunk-down", "--spec", str(LOCAL / "topology.yaml"),
                      "--dir", str(out.parent / "lab")],
        "lab demo": ["lab", "demo", str(LOCAL / "topology.yaml"), "--dir", str(out.parent / "lab")],
        "deploy": ["deploy", str(LOCAL / "topology.yaml"), "-i", str(LOCAL), "--check",
                   "--prefix", str(out.parent / "prefix")],
        "calls": ["calls", pcap],
        "ladder": ["ladder", pcap, "--call-id", "1-12747@127.0.4.1", "--spec", spec, "-o", str(out)],
        "export": ["export", pcap, "--call-id", "1-12747@127.0.4.1", "-o", str(out)],
        "audio": ["audio", pcap, "--call-id", "1-12747@127.0.4.1", "--spec", spec, "-o", str(out.parent / "audio")],
        "rtp": ["rtp", pcap],
        "diagnose": ["diagnose", "1-12747@127.0.4.1", "--pcap", pcap, "--spec", spec, "--no-index"],
        "stats": ["stats", pcap, "--spec", spec],
        "watch": ["watch", "--follow", pcap, "--once", "--spec", spec, "--db", str(out.parent / "calls.db")],
        "validate": ["validate", spec],
        "schema": ["schema"],
        "init": ["init", str(out), "--force"],
        "render": ["render", spec, "-o", str(out.parent / "rendered")],
        "probe": ["probe", str(net["spec"]), "--once", "--timeout", "0.2"],
        "dns": ["dns", str(net["spec"])],
        "certs": ["certs", str(net["spec"]), "--timeout", "0.3"],
        "audit": ["audit", f"{HOST}:{free_port(HOST)}", "--i-own-this", "--timeout", "0.3"],
    }


def test_every_command_has_a_baseline(net, tmp_path):
    missing = set(commands()) - set(baselines(net, tmp_path / "out"))
    assert not missing, f"add a baseline invocation for {sorted(missing)} to tests/test_bad_input.py"


# what each baseline returns when its inputs are good (the live ones find nothing listening)
BASELINE_EXIT = {"probe": 1, "certs": 1, "dns": 3}


# with good inputs these serve calls until stopped (agent run) or drive the whole stack (lab):
# tests/agent and tests/lab exercise them; here only their bad inputs are swept
RUNS_UNTIL_STOPPED = {"agent run", "lab up", "lab down", "lab status", "lab call", "lab drill", "lab demo"}


def test_baselines_run(cli, net, tmp_path):
    """Each baseline works as it is, so a failure in the sweep is the swapped input's doing."""
    for name, argv in baselines(net, tmp_path / "out").items():
        if name in RUNS_UNTIL_STOPPED:
            continue
        code, _, err = cli(*argv)
        assert code == BASELINE_EXIT.get(name, 0), (name, err)
        assert "Traceback" not in err


def test_baseline_call_id_exists(cli):
    code, out, err = cli("calls", GOOD_PCAP, "--format", "json")
    assert code == 0, err
    assert "1-12747@127.0.4.1" in out


def _swap(argv: list[str], param: Any, value: str) -> list[str] | None:
    """argv with the value of `param` replaced (or added), None when it cannot take a file."""
    argv = list(argv)
    if param.param_type_name == "argument":
        for i, a in enumerate(argv[1:], 1):
            if Path(a).suffix in (".pcap", ".yaml") or a.endswith("topology.yaml"):
                argv[i] = value
                return argv
        return None
    flag = max(param.opts, key=len)
    for i, a in enumerate(argv):
        if a in param.opts:
            argv[i + 1] = value
            return argv
    return [*argv, flag, value]


def _cases() -> list[tuple[str, str, str]]:
    out = []
    for name, cmd in sorted(commands().items()):
        for param in path_params(cmd):
            if param.name in ("output", "out", "path", "prometheus") or "--dir" in param.opts:
                continue  # output paths and run directories: see the output tests below
            for kind in GENERIC:
                out.append((name, param.name or "", kind))
    return out


@pytest.mark.parametrize(("command", "param", "kind"), _cases())
def test_bad_input_file(cli, bad, net, tmp_path, command, param, kind):
    """Each file argument or option of each command, given each kind of bad file."""
    cmd = commands()[command]
    p = next(p for p in cmd.params if p.name == param)
    argv = _swap(baselines(net, tmp_path / "out")[command], p, str(bad[kind]))
    assert argv is not None
    run_sweep(cli, argv)


# damage before the first packet: nothing to keep, so an error rather than a warning
NOTHING_READABLE = {"pcap-header-cut", "pcap-first-record-huge", "pcapng-bogus-block-length",
                    "pcapng-bogus-packet-length", "pcapng-magic-only", "gzip-magic-only", "gzip-of-garbage",
                    "gzip-corrupt"}
TSHARK_DAMAGE = {"pcap-header-cut", "pcap-cut-mid-record", "pcapng-bogus-block-length", "gzip-ends-early",
                 "garbage-sip"}
CAPTURE_COMMANDS = {
    "calls": lambda p: ["calls", p],
    "calls-tshark": lambda p: ["calls", p, "--engine", "tshark"],
    "ladder": lambda p: ["ladder", p],
    "export": lambda p: ["export", p, "--call-id", "1-12747@127.0.4.1", "-o", "{out}"],
    "audio": lambda p: ["audio", p, "--call-id", "1-12747@127.0.4.1", "-o", "{out}-audio"],
    "rtp": lambda p: ["rtp", p, "--rtp-heuristic"],
    "diagnose": lambda p: ["diagnose", "1-12747@127.0.4.1", "--pcap", p],
    "diagnose-garbage-call": lambda p: ["diagnose", "g1", "--pcap", p, "--no-index"],
    "stats": lambda p: ["stats", p, "--format", "json"],
    "watch": lambda p: ["watch", "--follow", p, "--once", "--jsonl", "-"],
}


@pytest.mark.parametrize("kind", CAPTURE_DAMAGE)
@pytest.mark.parametrize("command", sorted(CAPTURE_COMMANDS))
def test_damaged_capture(cli, bad, tmp_path, command, kind):
    """A damaged capture is read as far as it goes (exit 0 with warnings) or refused in one
    line; an existing -o file survives a refusal."""
    if command == "calls-tshark":
        if kind not in TSHARK_DAMAGE:
            pytest.skip("tshark runs on a sample of the damage (a second each)")
        need_tool("tshark")
    src = tmp_path / bad[kind].name  # its own folder: the sidecar index lands there
    shutil.copy(bad[kind], src)
    out = tmp_path / "existing.out"
    out.write_bytes(SENTINEL)
    argv = [a.replace("{out}", str(out)) for a in CAPTURE_COMMANDS[command](str(src))]
    result = cli(*argv)
    assert_clean_failure(result, allow_ok=True)
    if kind in NOTHING_READABLE and command != "calls-tshark":
        assert result[0] == 2, result
    if result[0] != 0:
        assert out.read_bytes() == SENTINEL


def test_damage_is_reported(cli, bad):
    """A capture read only part way says so on stderr, naming the record."""
    code, _, err = cli("calls", bad["pcap-cut-mid-record"])
    assert code == 0
    assert "voxops: warning: record" in err and "truncated" in err
    code, _, err = cli("rtp", bad["gzip-ends-early"])
    assert code == 0
    assert "compressed stream ends early" in err


# --- specs that are valid YAML but wrong, or not YAML at all ----------------------------------------

BAD_SPECS = {
    "list-at-top": "- a\n- b\n",
    "scalar": "just a string\n",
    "null": "~\n",
    "wrong-types": "version: 1\nname: x\ncarriers: 5\nsbc: []\nagents: nope\n",
    "nested-wrong": "version: 1\nname: x\ncarriers: [{name: c, trunks: [{name: t, hosts: [{address: [1, 2]}]}]}]\n",
    "unknown-version": "version: 99\nname: x\n",
    "bad-yaml": "version: 1\nname: [unclosed\n",
    "tabs": "version: 1\n\tname: x\n",
    "duplicate-keys": "version: 1\nversion: 2\nname: x\n",
    "alias-bomb": "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
    "g: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
    "python-tag": "version: !!python/object/apply:os.system ['true']\nname: x\n",
    "huge-number": "version: 1\nname: x\nslo: {pdd_max_ms: 1e999999}\n",
    "huge-integer": "version: 1\nname: x\ncarriers: [{name: c, trunks: [{name: t, weight: 1" + "0" * 5000 + "}]}]\n",
    "huge-hex": "version: 1\nname: x\nslo: {pdd_max_ms: 0x" + "f" * 5000 + "}\n",
    "huge-integer-key": "version: 1\nname: x\n? " + "9" * 5000 + "\n: 1\n",
    "latin1": "name: caf\xe9\n",
    "nul-bytes": "version: 1\x00\nname: x\n",
}

SPEC_COMMANDS = {
    "validate": lambda s, n: ["validate", s],
    "validate-json": lambda s, n: ["validate", s, "--format", "json", "--check-files"],
    "render": lambda s, n: ["render", s, "-o", str(n["dir"] / "rendered")],
    "probe": lambda s, n: ["probe", s, "--once", "--timeout", "0.2"],
    "dns": lambda s, n: ["dns", s],
    "certs": lambda s, n: ["certs", s, "--timeout", "0.3"],
    "audit": lambda s, n: ["audit", "127.0.8.3", "--spec", s, "--timeout", "0.3"],
    "ladder": lambda s, n: ["ladder", str(GOOD_PCAP), "--call-id", "1-12747@127.0.4.1", "--spec", s],
    "diagnose": lambda s, n: ["diagnose", "1-12747@127.0.4.1", "--pcap", str(GOOD_PCAP), "--spec", s, "--no-index"],
    "stats": lambda s, n: ["stats", str(GOOD_PCAP), "--spec", s],
    "watch": lambda s, n: ["watch", "--follow", str(GOOD_PCAP), "--once", "--spec", s],
}


@pytest.mark.parametrize("kind", sorted(BAD_SPECS))
@pytest.mark.parametrize("command", sorted(SPEC_COMMANDS))
def test_bad_spec(cli, net, tmp_path, command, kind):
    spec = tmp_path / "topology.yaml"
    text = BAD_SPECS[kind]
    spec.write_bytes(text.encode("latin-1") if kind == "latin1" else text.encode())
    result = run_sweep(cli, SPEC_COMMANDS[command](str(spec), net))
    assert result[0] == 2, result


@pytest.mark.parametrize("command", ["probe", "dns", "certs"])
def test_bad_spec_in_nagios_mode_is_unknown(cli, bad, command):
    nagios_unknown(cli(command, bad["binary-garbage"], "--nagios"))


def test_spec_dir_without_topology_yaml(cli, bad):
    run_sweep(cli, ["validate", str(bad["directory"])])


# --- unreachable hosts (closed ports on 127.0.8.x) -------------------------------------------------


def test_unreachable_live_checks(cli, net):
    """Nothing listening: findings (exit 1) or, when nothing at all answered, exit 3."""
    for argv, expected in ((["probe", net["spec"], "--once", "--timeout", "0.2", "--format", "json"], 1),
                           (["dns", net["spec"]], 3), (["certs", net["spec"], "--timeout", "0.3"], 1)):
        result = cli(*argv)
        assert_clean_failure(result)
        assert result[0] == expected, result
    # an SBC that does not answer a scanner is the good outcome of an audit
    code, out, err = cli("audit", f"{HOST}:{free_port(HOST)}", "--i-own-this", "--timeout", "0.3")
    assert code == 0 and "no answer" in out and "Traceback" not in err


# --- output paths: unwritable, a directory, and an existing file kept on failure -------------------

OUTPUT_COMMANDS = {
    "ladder": lambda o: ["ladder", str(GOOD_PCAP), "--call-id", "1-12747@127.0.4.1", "-o", o],
    "ladder-png": lambda o: ["ladder", str(GOOD_PCAP), "--call-id", "1-12747@127.0.4.1", "-f", "png", "-o", o],
    "export": lambda o: ["export", str(GOOD_PCAP), "--call-id", "1-12747@127.0.4.1", "-o", o],
    "stats-png": lambda o: ["stats", str(GOOD_PCAP), "--format", "png", "-o", o],
    "init": lambda o: ["init", o, "--force"],
    "render": lambda o: ["render", str(GOOD_SPEC), "-o", o],
    "probe-prometheus": lambda o: ["probe", "{spec}", "--once", "--timeout", "0.2", "--prometheus", o],
}


@pytest.mark.parametrize("kind", ["directory", "under-a-file", "missing-parent"])
@pytest.mark.parametrize("command", sorted(OUTPUT_COMMANDS))
def test_unwritable_output(cli, net, tmp_path, command, kind):
    if kind == "directory":
        target = tmp_path / "a-dir"
        target.mkdir()
        if command == "render":
            target = tmp_path / "a-file"  # render writes into a directory: give it a file
            target.write_bytes(SENTINEL)
    elif kind == "under-a-file":
        (tmp_path / "plain").write_text("x")
        target = tmp_path / "plain" / "out"
    else:
        target = tmp_path / "no" / "such" / "dir" / "out"
    if command == "render" and kind == "missing-parent":
        pytest.skip("render creates its output directory")
    argv = [a.replace("{spec}", str(net["spec"])) for a in OUTPUT_COMMANDS[command](str(target))]
    assert_clean_failure(cli(*argv))
    if target.is_file():
        assert target.read_bytes() == SENTINEL


def _special_output(kind: str, tmp_path: Path) -> Path:
    """An output path that is not a regular file; for a link, the file it points at is
    another user's and must come through untouched."""
    if kind == "dev-null":
        return Path("/dev/null")
    target = tmp_path / kind
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(target))
        sock.close()
    elif kind == "chardev":  # a twin of /dev/null that a wrong rename may destroy
        need_root()
        os.mknod(target, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    else:
        victim = tmp_path / "someone-elses-file"
        victim.write_bytes(SENTINEL)
        if os.geteuid() == 0:
            os.chown(victim, 65534, 65534)
        target.symlink_to(victim if kind == "link-to-others-file" else "/proc/self/fd/1")
    return target


def _identity(path: Path) -> tuple[int, int, int, str]:
    st = os.lstat(path)
    return st.st_mode, st.st_ino, st.st_rdev, os.readlink(path) if path.is_symlink() else ""


SPECIAL_OUTPUTS = ["dev-null", "chardev", "fifo", "socket", "link-to-others-file", "link-to-stdout"]


@pytest.mark.parametrize("kind", SPECIAL_OUTPUTS)
@pytest.mark.parametrize("command", sorted(set(OUTPUT_COMMANDS) - {"render"}))  # render: tests/render
def test_output_that_is_not_a_regular_file_is_refused(cli, net, tmp_path, command, kind):
    """A device, FIFO, socket or link at the output path: one line, exit 2, left as it was
    (with `-o -` meaning standard output instead)."""
    target = _special_output(kind, tmp_path)
    before = _identity(target)
    argv = [a.replace("{spec}", str(net["spec"])) for a in OUTPUT_COMMANDS[command](str(target))]
    result = cli(*argv)
    assert_clean_failure(result)
    assert result[0] == 2 and str(target) in result[2], result
    assert _identity(target) == before
    if kind == "link-to-others-file":
        assert (tmp_path / "someone-elses-file").read_bytes() == SENTINEL
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


STDOUT_OUTPUTS = {
    "ladder": b"INVITE",
    "ladder-png": b"\x89PNG\r\n",
    "export": b"\xd4\xc3\xb2\xa1",
    "stats-png": b"\x89PNG\r\n",
    "init": b"# voxops topology spec",
}


@pytest.mark.parametrize("command", sorted(STDOUT_OUTPUTS))
def test_dash_writes_to_stdout(capsysbinary, monkeypatch, tmp_path, command):
    from voxops.cli.main import main

    monkeypatch.chdir(tmp_path)  # nothing named "-" may appear
    code = main(OUTPUT_COMMANDS[command]("-"))
    out, err = capsysbinary.readouterr()
    assert code == 0, err
    assert STDOUT_OUTPUTS[command] in out[:4096]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["ladder", "ladder-png", "export", "stats-png"])
def test_existing_output_kept_when_input_is_bad(cli, bad, tmp_path, command):
    out = tmp_path / "existing"
    out.write_bytes(SENTINEL)
    argv = OUTPUT_COMMANDS[command](str(out))
    for kind in ("binary-garbage", "pcap-header-cut", "gzip-magic-only", "directory"):
        argv[1] = str(bad[kind])
        assert_clean_failure(cli(*argv))
        assert out.read_bytes() == SENTINEL, kind
    argv[1] = str(GOOD_PCAP)
    if "--call-id" in argv:  # a Call-ID the capture does not hold
        argv[argv.index("--call-id") + 1] = "no-such-call"
        assert_clean_failure(cli(*argv))
        assert out.read_bytes() == SENTINEL


def test_no_temp_files_left_behind(cli, bad, tmp_path):
    out = tmp_path / "out.pcap"
    out.write_bytes(SENTINEL)
    cli("export", GOOD_PCAP, "--call-id", "1-12747@127.0.4.1", "-o", out)
    cli("ladder", bad["binary-garbage"], "-o", out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.pcap"]
    assert out.read_bytes().startswith(b"\xd4\xc3\xb2\xa1")  # the successful export replaced it


def test_output_keeps_its_mode_and_is_replaced_whole(cli, tmp_path):
    out = tmp_path / "ladder.txt"
    out.write_bytes(SENTINEL)
    out.chmod(0o640)
    code, _, err = cli("ladder", GOOD_PCAP, "--call-id", CALL, "-o", out)
    assert code == 0, err
    assert out.read_text().count("INVITE") >= 1
    assert out.stat().st_mode & 0o777 == 0o640


def test_tshark_keeps_what_came_before_damage(cli, bad):
    """tshark fails at the damaged record after reading the rest: kept, with a warning."""
    need_tool("tshark")
    code, out, err = cli("calls", bad["pcap-cut-mid-record"], "--engine", "tshark", "--format", "json")
    assert code == 0, err
    assert [c["call_id"] for c in json.loads(out)] == [CALL]
    assert "voxops: warning:" in err and "cut short" in err and "Traceback" not in err


@pytest.mark.parametrize("kind", ["binary-garbage", "directory", "empty"])
def test_damaged_sidecar_index_is_rebuilt(cli, bad, tmp_path, kind):
    """A sidecar index that is garbage (or not a file) is ignored, never trusted or fatal."""
    from voxops.capture.index import index_path

    pcap = tmp_path / "clean.pcap"
    shutil.copy(GOOD_PCAP, pcap)
    sidecar = index_path(pcap)
    sidecar.parent.mkdir(parents=True, exist_ok=True)
    if kind == "directory":
        sidecar.mkdir()
    else:
        shutil.copy(bad[kind], sidecar)
    code, out, err = cli("diagnose", CALL, "--pcap", pcap, "--format", "json")
    assert code in (0, 1) and "Traceback" not in err, err
    assert json.loads(out)["call_id"] == CALL


@pytest.mark.parametrize("field", ["client_certificate", "ca"])
def test_garbage_certificate_files(cli, bad, net, tmp_path, field):
    """Unloadable PEM files named by the spec: one line naming the endpoint, exit 2."""
    import socket
    import ssl
    import threading

    from tests.support.pki import make_ca, make_leaf

    doc = yaml.safe_load(net["spec"].read_text())
    leaf = make_leaf(tmp_path, "sbc", make_ca(tmp_path, "ca"), [HOST])
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(leaf.cert_path, leaf.key_path)
    listener = socket.create_server((HOST, 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        listener.settimeout(5)
        try:
            while True:
                conn, _ = listener.accept()
                try:
                    server_ctx.wrap_socket(conn, server_side=True).close()
                except (OSError, ssl.SSLError):
                    conn.close()
        except OSError:
            return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        endpoint = {"name": "sbc-tls", "host": HOST, "port": port, field: str(bad["binary-garbage"])}
        if field == "client_certificate":
            endpoint["client_key"] = str(bad["binary-garbage"])
        doc["tls_endpoints"] = [endpoint]
        spec = tmp_path / "topology.yaml"
        spec.write_text(yaml.safe_dump(doc, sort_keys=False))
        result = cli("certs", spec, "--timeout", "1")
        assert_clean_failure(result)
        assert result[0] == 2 and "sbc-tls" in result[2]
    finally:
        listener.close()
        thread.join(timeout=6)


@pytest.mark.parametrize("argv", [
    ["calls", "{pcap}", "--since", "nan"],
    ["calls", "{pcap}", "--until", "inf"],
    ["calls", "{pcap}", "--since", "yesterday"],
    ["stats", "{pcap}", "--window", "0"],
    ["stats", "{pcap}", "--window", "5 weeks"],
    ["ladder", "{pcap}", "--call-id", "no-such-call"],
    ["diagnose", "", "--pcap", "{pcap}", "--no-index"],
    ["export", "{pcap}", "--call-id", "no-such-call", "-o", "{out}"],
    ["probe", "{spec}", "--once", "--target", "nope"],
    ["audit", "127.0.8.1:5999", "--i-own-this", "--bind", "10.255.255.1", "--timeout", "0.2"],
    ["audit", "127.0.8.1:5999", "--i-own-this", "--bind", "::1", "--timeout", "0.2"],
    ["audit", "127.0.8.1:99999", "--i-own-this", "--timeout", "0.2"],
    ["audit", "127.0.8.1:5999", "--i-own-this", "--extensions", "5-1", "--timeout", "0.2"],
    ["calls", "{pcap}", "--tls-keylog", "{pcap}"],
    ["calls", "{pcap}", "--engine", "tshark", "--tls-keylog", "{missing}"],
])
def test_bad_option_values(cli, bad, net, tmp_path, argv):
    values = {"{pcap}": str(GOOD_PCAP), "{out}": str(tmp_path / "out"), "{spec}": str(net["spec"]),
              "{missing}": str(bad["missing"])}
    result = cli(*[values.get(a, a) for a in argv])
    assert_clean_failure(result)
    assert result[0] == 2, result
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["ladder", "export", "stats-png"])
def test_output_over_an_input_is_refused(cli, tmp_path, command):
    pcap = tmp_path / "call.pcap"
    shutil.copy(GOOD_PCAP, pcap)
    argv = OUTPUT_COMMANDS[command](str(pcap))
    argv[1] = str(pcap)
    result = cli(*argv)
    assert_clean_failure(result)
    assert result[0] == 2 and "is the input" in result[2]
    assert pcap.read_bytes() == GOOD_PCAP.read_bytes()


@pytest.mark.parametrize("argv", [
    ["ladder", "{g}", "--call-id", "g1"],
    ["ladder", "{g}", "--call-id", "g2", "-f", "html", "-o", "{out}"],
    ["ladder", "{g}", "--call-id", "g2", "-f", "mermaid"],
    ["export", "{g}", "--call-id", "g1", "-o", "{out}"],
    ["diagnose", "g2", "--pcap", "{g}", "-f", "html", "--no-index"],
    ["calls", "{g}", "--all", "-f", "json"],
])
def test_hostile_sip_is_shown_not_fatal(cli, bad, tmp_path, argv):
    """Would-be SIP with absurd codes, CSeqs, lengths and SDP: every view still renders."""
    values = {"{g}": str(bad["garbage-sip"]), "{out}": str(tmp_path / "out")}
    code, out, err = cli(*[values.get(a, a) for a in argv])
    assert code in (0, 1), err
    assert "Traceback" not in err and "error" not in err
    if "{out}" in argv:
        assert (tmp_path / "out").stat().st_size > 0
    else:
        assert out.strip()
