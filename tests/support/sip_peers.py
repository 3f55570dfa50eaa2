"""Real SIP peers for the render/deploy tests: kamailio, SIPp UAS/UAC, a scripted fake carrier."""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

from tests.support import sipp
from tests.support.processes import stop
from voxops.probes.sip_options import send_options

_VIA = "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]"
_FROM = "From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]"
_TO = "To: <sip:[service]@[remote_ip]:[remote_port]>"
_CONTACT = "Contact: sip:sipp@[local_ip]:[local_port]"


def _in_dialog(method: str, cseq: int, *, retrans: bool = False) -> str:
    return sipp.send(f"{method} [next_url] SIP/2.0", _VIA, _FROM, f"{_TO}[peer_tag_param]", "Call-ID: [call_id]",
                     f"CSeq: {cseq} {method}", "[routes]", _CONTACT, "Max-Forwards: 70", "Content-Length: 0",
                     retrans=retrans)


UAC_SCENARIO = sipp.scenario(
    "voxops-uac",
    sipp.send("INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0", _VIA, _FROM, _TO, "Call-ID: [call_id]",
              "CSeq: 1 INVITE", _CONTACT, "Max-Forwards: 70", "Content-Type: application/sdp",
              "Content-Length: [len]", body=sipp.sdp() + "\n", retrans=True),
    sipp.optional_responses(100, 180, 183, failed=(486, 503), failed_label="busy"),
    sipp.recv(response=200, rrs="true"),
    _in_dialog("ACK", 1),
    sipp.pause("HOLD_MS"),
    _in_dialog("BYE", 2, retrans=True),
    sipp.recv(response=200, next="end"),
    sipp.label("busy"),
    sipp.send("ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0", *sipp.REPLY_HEADERS[:4], "CSeq: 1 ACK",
              "Max-Forwards: 70", "Content-Length: 0"),
    sipp.label("end"),
)

_UAS_CONTACT = "Contact: <sip:[local_ip]:[local_port];transport=[transport]>"
UAS_SCENARIO = sipp.scenario(
    "voxops-uas",
    sipp.recv(request="INVITE", crlf="true"),
    sipp.comment("no 180: Kamailio's parallel UDP workers may reorder it behind the 200"),
    sipp.reply("200 OK", "[last_Record-Route:]", _UAS_CONTACT, "Content-Type: application/sdp",
               "Content-Length: [len]", to_tag=sipp.SIPP_TAG, body=sipp.sdp() + "\n", retrans=True),
    sipp.recv(request="ACK", crlf="true"),
    sipp.recv(request="BYE"),
    sipp.reply("200 OK", _UAS_CONTACT, "Content-Length: 0"),
)


def received_start_lines(log: Path) -> list[str]:
    """First lines of every SIP message SIPp logged as received (-trace_msg)."""
    out: list[str] = []
    if not log.exists():
        return out
    lines = log.read_text(errors="replace").splitlines()
    for i, line in enumerate(lines):
        if "message received" in line:
            for nxt in lines[i + 1 : i + 4]:
                if nxt.strip():
                    out.append(nxt.strip())
                    break
    return out


def count_invites(log: Path) -> int:
    return sum(1 for s in received_start_lines(log) if s.startswith("INVITE "))


def count_responses(log: Path, code: int) -> int:
    return sum(1 for s in received_start_lines(log) if s.startswith(f"SIP/2.0 {code} "))


class Proc:
    """A background peer that is always stopped (terminate, then kill)."""

    def __init__(self, argv: list[str], log: Path, cwd: Path) -> None:
        self.log = log
        self._fh = log.open("wb")
        self.p = subprocess.Popen(argv, stdout=self._fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd)

    def stop(self) -> None:
        stop(self.p)
        self._fh.close()


def start_kamailio(kamailio: str, cfg: Path, run_dir: Path) -> Proc:
    run_dir.mkdir(parents=True, exist_ok=True)
    return Proc([kamailio, "-DD", "-E", "-f", str(cfg.resolve()), "-P", str(run_dir / "kamailio.pid")],
                run_dir / "kamailio.log", run_dir)


def start_uas(sipp: str, ip: str, port: int, workdir: Path, name: str) -> Proc:
    scen = workdir / "uas.xml"
    scen.write_text(UAS_SCENARIO)
    return Proc([sipp, "-sf", str(scen), "-i", ip, "-p", str(port), "-aa", "-nostdin", "-trace_msg",
                 "-message_file", str(workdir / f"{name}.msg")], workdir / f"{name}.log", workdir)


def run_uac(sipp: str, target: str, ip: str, port: int, workdir: Path, name: str, *, calls: int,
            rate: int, limit: int, hold_ms: int = 0, timeout: float = 60) -> tuple[int, Path]:
    scen = workdir / f"{name}.xml"
    scen.write_text(UAC_SCENARIO.replace("HOLD_MS", str(hold_ms)))
    msg = workdir / f"{name}.msg"
    cp = subprocess.run(
        [sipp, target, "-sf", str(scen), "-i", ip, "-p", str(port), "-m", str(calls), "-r", str(rate),
         "-l", str(limit), "-aa", "-nostdin", "-timeout", f"{int(timeout)}s", "-timeout_error",
         "-trace_msg", "-message_file", str(msg), "-recv_timeout", "10000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir, timeout=timeout + 15,
    )
    return cp.returncode, msg


def wait_udp_listening(ip: str, port: int, timeout: float = 10) -> None:
    """Wait until something answers an OPTIONS on ip:port (or the timeout passes)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if options_ping(ip, port, timeout=0.3) is not None:
            return
        time.sleep(0.1)
    raise AssertionError(f"nothing answers SIP on {ip}:{port}")


def wait_dispatcher_active(ctl: Path, *destinations: str, timeout: float = 30) -> None:
    """Wait until the SBC's dispatcher marks every 'address:port' active (its OPTIONS pings
    answered), asking kamailio over its control socket; fail with the flags seen."""
    from voxops.lab.faults import dispatcher_flags

    end = time.monotonic() + timeout
    flags: dict[str, str] = {}
    while time.monotonic() < end:
        flags = dispatcher_flags(ctl)
        if all(flags.get(d, "").startswith("A") for d in destinations):
            return
        time.sleep(0.1)
    raise AssertionError(f"not active within {timeout:g} s: {destinations}; dispatcher flags {flags}")


def options_ping(ip: str, port: int, timeout: float = 1.0) -> int | None:
    return send_options(ip, port, "udp", timeout=timeout, bind="127.0.5.250").code


def flood_options(ip: str, port: int, source: str, *, count: int) -> int:
    """Send `count` OPTIONS back to back from one address; how many replies came back."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        lport = s.getsockname()[1]
        for i in range(count):
            s.sendto((f"OPTIONS sip:{ip}:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {source}:{lport};branch=z9hG4bKfl{i}\r\n"
                      f"From: <sip:flood@{source}>;tag=f{i}\r\nTo: <sip:{ip}:{port}>\r\nCall-ID: flood{i}@{source}\r\n"
                      "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode(), (ip, port))
        s.settimeout(1.0)
        replies = 0
        while True:
            try:
                s.recv(65535)
            except OSError:
                return replies
            replies += 1


def scrape(ip: str, port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Prometheus text from the SBC -> {(name, labels): value}."""
    body = urllib.request.urlopen(f"http://{ip}:{port}/metrics", timeout=5).read().decode()
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for line in body.splitlines():
        m = re.match(r"^([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?\s+([-+0-9.eEInfa]+)", line)
        if not m:
            continue
        labels = frozenset(re.findall(r'(\w+)\s*=\s*"([^"]*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric(samples: dict, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


class FakeCarrier:
    """A carrier that answers OPTIONS with 200 and every INVITE with 503 (then absorbs the
    ACK), or, with silent=True, never answers an INVITE at all."""

    def __init__(self, ip: str, port: int, *, silent: bool = False) -> None:
        self.silent = silent
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, port))
        self.sock.settimeout(0.2)
        self._branches: set[str] = set()
        self.transmissions: dict[str, int] = {}  # Call-ID -> INVITE transmissions
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._serve, daemon=True)
        self._t.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except OSError:
                continue
            text = data.decode(errors="replace")
            method = text.split(" ", 1)[0]
            if method not in ("OPTIONS", "INVITE"):
                continue
            if method == "INVITE":
                # count transactions, not retransmissions: the top Via branch names one
                via = re.search(r"(?im)^via:[^\r\n]*branch=([^;\r\n]+)", text)
                self._branches.add(via.group(1) if via else text)
                cid = re.search(r"(?im)^call-id:\s*(\S+)", text)
                if cid:  # every transmission, retransmissions included
                    self.transmissions[cid.group(1)] = self.transmissions.get(cid.group(1), 0) + 1
                if self.silent:
                    continue
            head = [ln for ln in text.split("\r\n") if re.match(r"(?i)^(via|from|to|call-id|cseq):", ln)]
            code = "200 OK" if method == "OPTIONS" else "503 Service Unavailable"
            reply = f"SIP/2.0 {code}\r\n" + "\r\n".join(
                ln + (";tag=fake" if ln.lower().startswith("to:") and "tag=" not in ln else "") for ln in head
            ) + "\r\nContent-Length: 0\r\n\r\n"
            self.sock.sendto(reply.encode(), addr)

    @property
    def invites(self) -> int:
        return len(self._branches)

    def stop(self) -> None:
        self._stop.set()
        self._t.join(2)
        self.sock.close()
