"""`voxops watch`: diagnose calls as they happen, from HEP or a growing capture; keep call records."""

from __future__ import annotations

import ipaddress
import re
import socket
import sys
from pathlib import Path

import typer

from voxops.errors import ExitCode, InvalidInput

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, flag: str) -> float:
    m = _DURATION.fullmatch(text)
    if not m or float(m.group(1)) <= 0:
        raise InvalidInput(f"{flag} {text!r}: expected a duration such as 30s, 5m, 2h or 30d")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_listen(text: str, flag: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """`PORT`, `ADDR:PORT` or `[V6]:PORT`."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or default_host
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        raise InvalidInput(f"{flag} {text!r}: expected [ADDRESS:]PORT with a numeric address") from None
    if not 0 <= number <= 65535:
        raise InvalidInput(f"{flag} {text!r}: port out of range")
    return host, number


def _networks(values: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    from voxops.watch.sources import LOOPBACK

    nets = list(LOOPBACK)
    for v in values:
        try:
            nets.append(ipaddress.ip_network(v, strict=False))
        except ValueError:
            raise InvalidInput(f"--allow {v!r}: expected an address or a network such as 10.0.0.0/24") from None
    return nets


def watch(
    hep: list[str] = typer.Option([], "--hep", help="Receive HEP v2/v3 on [ADDR:]PORT, UDP and TCP (repeatable; address 127.0.0.1 unless given)."),
    interface: list[str] = typer.Option([], "--interface", "-i", help="Capture on this interface with dumpcap, filtered to the spec's SIP ports and media range (repeatable)."),
    bpf: str | None = typer.Option(None, "--bpf", help="With --interface: this capture filter instead of the one built from the spec."),
    follow: list[Path] = typer.Option([], "--follow", help="Read a pcap/pcapng capture as it is written (repeatable)."),
    spec: Path | None = typer.Option(None, "--spec", help="Topology spec: trunk and node names, codec policy, SLOs."),
    db: str | None = typer.Option(None, "--db", help="Call record store: a SQLite file, or postgresql://..."),
    retention: str | None = typer.Option(None, "--retention", help="Delete records older than this (e.g. 30d)."),
    jsonl: str | None = typer.Option(None, "--jsonl", help="Write each finished call as a JSON line to FILE ('-': standard output)."),
    jsonl_max_mb: int = typer.Option(100, "--jsonl-max-mb", min=1, help="Rotate the JSON lines file at this size."),
    metrics: str | None = typer.Option(None, "--metrics", help="Serve Prometheus /metrics on [ADDR:]PORT (address 127.0.0.1 unless given)."),
    allow: list[str] = typer.Option([], "--allow", help="Also accept HEP from this address or network (loopback always; repeatable)."),
    hep_secret_file: Path | None = typer.Option(None, "--hep-secret-file", help="File holding the HEP3 shared secret (auth key) senders must carry."),
    no_tcp: bool = typer.Option(False, "--no-tcp", help="HEP over UDP only."),
    node: str | None = typer.Option(None, "--node", help="Name of this watch in the records (default: the host name)."),
    view: bool = typer.Option(False, "--view", help="A live view of calls, trunks and findings on standard error."),
    once: bool = typer.Option(False, "--once", help="With --follow only: stop at the end of the file(s)."),
    duration: str | None = typer.Option(None, "--duration", help="Stop after this long (e.g. 10m)."),
    linger: str = typer.Option("2s", "--linger", help="Keep a finished call this long for late responses and media."),
    setup_timeout: str = typer.Option("180s", "--setup-timeout", help="Finish an unanswered call silent this long."),
    idle_timeout: str = typer.Option("15m", "--idle-timeout", help="Finish an answered call with no SIP nor media this long."),
    max_calls: int = typer.Option(20000, "--max-calls", min=1, help="Calls followed at once; the stalest is finished beyond."),
    max_datagrams: int = typer.Option(250_000, "--max-datagrams", min=0, help="Media datagrams held per call."),
) -> int:
    """Follow calls live (HEP from the SBCs, or a capture being written), diagnose each as it ends."""
    from voxops.analysis.loader import policy_for
    from voxops.watch.engine import Tracker
    from voxops.watch.runner import Outputs, Watch, serve_metrics
    from voxops.watch.sources import AllowList, FollowFile, HepListener
    from voxops.watch.state import Limits

    if not hep and not follow and not interface:
        raise InvalidInput("nothing to watch: give --hep [ADDR:]PORT, --interface IF or --follow FILE")
    if once and (hep or interface):
        raise InvalidInput("--once reads files to their end: it cannot be used with --hep or --interface")
    if hep_secret_file is not None and not hep:
        raise InvalidInput("--hep-secret-file is the key HEP senders carry: it needs --hep")
    listens = [parse_listen(h, "--hep") for h in hep]
    limits = Limits(max_calls=max_calls, max_datagrams=max_datagrams, linger_s=parse_duration(linger, "--linger"),
                    setup_timeout_s=parse_duration(setup_timeout, "--setup-timeout"),
                    idle_timeout_s=parse_duration(idle_timeout, "--idle-timeout"))
    stop_after = parse_duration(duration, "--duration") if duration else None
    keep_s = parse_duration(retention, "--retention") if retention else None
    secret = _read_secret(hep_secret_file)
    nets = AllowList(_networks(allow))
    policy = policy_for(spec)
    outputs = Outputs(node=node or socket.gethostname())
    tracker = Tracker(lambda _done: None, limits)
    w = Watch(tracker, policy, outputs)
    try:
        if db is not None:
            from voxops.records.store import RecordStore

            outputs.store = RecordStore(db, retention_s=keep_s)
        if jsonl is not None:
            from voxops.watch.output import JsonLines

            outputs.jsonl = JsonLines(jsonl, max_bytes=jsonl_max_mb * 1024 * 1024)
        if view:
            from voxops.watch.output import LiveView

            outputs.view = LiveView(sys.stderr)
        for path in follow:
            w.add(FollowFile(tracker, path, once=once))
        if interface:
            from voxops.watch.interface import InterfaceCapture, bpf_filter

            capture_filter = bpf if bpf is not None else bpf_filter(_topology(spec))
            for name in interface:
                w.add(InterfaceCapture(tracker, name, capture_filter))
                print(f"voxops watch: capturing on {name} ({capture_filter})", file=sys.stderr)
        for host, port in listens:
            listener = HepListener(tracker, host, port, allow=nets, secret=secret, tcp=not no_tcp)
            print(f"voxops watch: HEP on {host}:{listener.port}", file=sys.stderr)
            w.add(listener)
        if metrics is not None:
            metrics_host, metrics_port = parse_listen(metrics, "--metrics")
            server = serve_metrics(w.metrics, metrics_host, metrics_port)
            print(f"voxops watch: metrics on http://{metrics_host}:{server.server_address[1]}/metrics", file=sys.stderr)
        w.run(stop_after)
    finally:
        if outputs.store is not None:
            outputs.store.close()
        if outputs.jsonl is not None:
            outputs.jsonl.close()
    return ExitCode.OK


def _topology(spec: Path | None):  # type: ignore[no-untyped-def]
    if spec is None:
        return None
    from voxops.spec.loader import load_topology

    return load_topology(spec)[0]


def _read_secret(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise InvalidInput(f"--hep-secret-file {path}: {exc.strerror}") from exc
    if not secret:
        raise InvalidInput(f"--hep-secret-file {path}: the file is empty")
    if len(secret) > 256 or not all(33 <= b < 127 for b in secret):
        raise InvalidInput(f"--hep-secret-file {path}: expected one word of printable ASCII, at most 256 bytes")
    return secret


def register(app: typer.Typer) -> None:
    app.command()(watch)
