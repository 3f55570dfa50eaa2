"""Real peers for the live-check tests, on 127.0.7.x only, always stopped."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.conftest import free_port, need_tool
from tests.support.processes import stop
from voxops.probes.sip_options import send_options

LOOPBACK = "127.0.7."


def addr(n: int) -> str:
    assert 1 <= n <= 254
    return f"{LOOPBACK}{n}"


def wait_options(host: str, port: int, transport: str = "udp", deadline_s: float = 8.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if send_options(host, port, transport, timeout=0.3).code is not None:
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing answers OPTIONS on {transport}:{host}:{port}")


@contextlib.contextmanager
def running(argv: list[str], ready: Callable[[subprocess.Popen[bytes]], None], **popen: Any) -> Iterator[subprocess.Popen[bytes]]:
    """Start a peer, wait until `ready` returns, always stop it."""
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.DEVNULL)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, **popen)
    try:
        ready(proc)
        yield proc
    finally:
        stop(proc)
        if proc.stderr:
            proc.stderr.close()


@contextlib.contextmanager
def sipp_uas(host: str, port: int, workdir: Path, transport: str = "u1") -> Iterator[subprocess.Popen[bytes]]:
    """SIPp's built-in UAS; -aa makes it answer OPTIONS with 200."""
    argv = [need_tool("sipp"), "-sn", "uas", "-aa", "-i", host, "-p", str(port), "-t", transport, "-nostdin",
            "-timeout", "120s", "-timeout_error"]
    with running(argv, lambda _: wait_options(host, port, "udp" if transport.startswith("u") else "tcp"),
                 cwd=workdir) as proc:
        yield proc


@contextlib.contextmanager
def blackhole(host: str) -> Iterator[tuple[int, list[tuple[bytes, tuple[str, int]]]]]:
    """A UDP socket that reads everything (data, sender) and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.settimeout(0.1)
    received: list[tuple[bytes, tuple[str, int]]] = []
    running = True

    def drain() -> None:
        while running:
            with contextlib.suppress(TimeoutError, OSError):
                received.append(sock.recvfrom(65535))

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1], received
    finally:
        running = False
        thread.join(timeout=10)
        # what already arrived but the reader has not taken yet (a loaded machine) counts too
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while True:
                received.append(sock.recvfrom(65535))
        sock.close()


def port_on(host: str) -> int:
    return free_port(host)


@contextlib.contextmanager
def dnsmasq(host: str, port: int, *records: str, ttl: int = 60) -> Iterator[subprocess.Popen[bytes]]:
    """An authoritative-only dnsmasq: answers from its flags, REFUSED outside probe.test."""
    argv = [need_tool("dnsmasq"), "--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
            "--pid-file=", "--bind-interfaces", f"--listen-address={host}", f"--port={port}",
            "--user=root", "--local=/probe.test/", f"--local-ttl={ttl}", *records]
    with running(argv, lambda proc: _wait_dns(host, port, proc), stderr=subprocess.PIPE) as proc:
        yield proc


def _wait_dns(host: str, port: int, proc: subprocess.Popen[bytes]) -> None:
    import dns.exception
    import dns.message
    import dns.query

    end = time.monotonic() + 8
    while time.monotonic() < end:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"dnsmasq on {host}:{port} exited: {err}")
        try:
            dns.query.udp(dns.message.make_query("probe.test", "SOA"), host, port=port, timeout=0.2)
            return
        except (dns.exception.Timeout, OSError):
            time.sleep(0.05)
    raise RuntimeError(f"dnsmasq on {host}:{port} does not answer")


def wait_tcp(host: str, port: int, proc: subprocess.Popen[bytes], deadline_s: float = 8.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port}")


@contextlib.contextmanager
def tls_server(host: str, port: int, cert: Path, key: Path, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """openssl s_server in -www mode: one handshake after another, no stdin needed."""
    argv = [need_tool("openssl"), "s_server", "-accept", f"{host}:{port}", "-cert", str(cert), "-key", str(key),
            "-www", "-quiet", *extra]
    with running(argv, lambda proc: wait_tcp(host, port, proc)) as proc:
        yield proc


@contextlib.contextmanager
def kamailio(cfg: Path, host: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """Kamailio in the foreground on a rendered config; absolute paths (it changes to /)."""
    run = cfg.parent.parent / "run"
    run.mkdir(parents=True, exist_ok=True)
    log = (run / "kamailio.log").open("ab")
    argv = [need_tool("kamailio"), "-DD", "-E", "-f", str(cfg.resolve()), "-P", str(run.resolve() / "kamailio.pid")]
    try:
        with running(argv, lambda _: wait_options(host, port, deadline_s=15), stdout=log, stderr=subprocess.STDOUT,
                     cwd=run) as proc:
            yield proc
    finally:
        log.close()


REGISTER_UAS = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register-uas: extension 100 exists (401), every other one is 404">
  <recv request="REGISTER">
    <action>
      <ereg regexp="sip:100@" search_in="hdr" header="To:" check_it="false" assign_to="known"/>
    </action>
  </recv>
  <nop next="exists" test="known"/>
  <send>
    <![CDATA[

      SIP/2.0 404 Not Found
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <nop next="end"/>
  <label id="exists"/>
  <send>
    <![CDATA[

      SIP/2.0 401 Unauthorized
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      WWW-Authenticate: Digest realm="probe.test", nonce="0123456789abcdef"
      Content-Length: 0

    ]]>
  </send>
  <label id="end"/>
</scenario>
"""


@contextlib.contextmanager
def permissive_registrar(host: str, port: int, workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A SIPp UAS that answers anyone, scanners included, and tells extensions apart."""
    scenario = workdir / "register-uas.xml"
    scenario.write_text(REGISTER_UAS)
    argv = [need_tool("sipp"), "-sf", str(scenario), "-aa", "-i", host, "-p", str(port), "-nostdin",
            "-timeout", "120s"]
    with running(argv, lambda _: wait_options(host, port), cwd=workdir) as proc:
        yield proc


@contextlib.contextmanager
def knot(host: str, port: int, zone: str, records: str, workdir: Path, ttl: int = 60) -> Iterator[subprocess.Popen[bytes]]:
    """knotd, authoritative for `zone` with the given record lines, in the foreground."""
    run = workdir / f"knot-{host}-{port}"
    run.mkdir(parents=True)
    (run / "zone").write_text(
        f"$ORIGIN {zone}.\n$TTL {ttl}\n@ SOA ns hostmaster 1 3600 600 86400 {ttl}\n@ NS ns\nns A {host}\n{records}\n"
    )
    (run / "knot.conf").write_text(
        f'server:\n  rundir: "{run}"\n  listen: {host}@{port}\n'
        f'database:\n  storage: "{run}/db"\n'
        f'zone:\n  - domain: {zone}\n    storage: "{run}"\n    file: "zone"\n'
    )
    argv = [need_tool("knotd"), "-c", str(run / "knot.conf")]
    with running(argv, lambda proc: _wait_dns(host, port, proc), stderr=subprocess.PIPE) as proc:
        yield proc
