"""Generate the real-peer test captures in this folder (run as root: `python make_captures.py`).

Each capture is recorded by tshark on the loopback interface of a private network
namespace (so fixed ports never collide with anything), with SIPp as caller and callee
and, for the proxied cases, kamailio (kamailio.cfg here) in the middle:

  udp_proxy.pcapng  UDP, SIPp 127.0.3.1 -> kamailio 127.0.3.2 -> SIPp 127.0.3.3:
                    3 answered calls, one 486 (user "busy"), one 404 (user "nobody")
  tcp_proxy.pcap    the same path over TCP, 2 answered calls
  ipv6.pcap         SIPp [::1]:5071 -> SIPp [::1]:5072 over UDP, 2 answered calls
  fragmented.pcap   MTU 1500 and an INVITE with a 3 kB SDP: IPv4 fragments, 2 calls
  tls.pcap          one call over TLS (127.0.3.1 -> 127.0.3.3:5061) between two small
                    Python peers; tls.keys is their key log (for --engine tshark)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))  # run as a script from this folder

from tests.support import sipp  # noqa: E402
from tests.support.processes import stop  # noqa: E402

NS = f"voxcap{os.getpid()}"

_VIA = "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]"
_RURI = "sip:[service]@[remote_ip]:[remote_port]"
_CONTACT = "Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>"
_OFFER = sipp.sdp("caller", "0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
                  "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20", "a=sendrecv")
UAC = sipp.scenario(
    "voxops test caller",
    sipp.send(f"INVITE {_RURI} SIP/2.0", _VIA,
              'From: "Test Caller" <sip:+15550100[call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]',
              "To: <sip:[service]@[remote_ip]:[remote_port]>", "Call-ID: [call_id]", "CSeq: 1 INVITE", _CONTACT,
              "Max-Forwards: 70", "User-Agent: voxops-test-uac", "Content-Type: application/sdp",
              "Content-Length: [len]", body=_OFFER + "%(padding)s", retrans=True),
    sipp.optional_responses(100, 180, 183, failed=(404, 486)),
    sipp.recv(response=200, rtd="true"),
    sipp.send(f"ACK {_RURI} SIP/2.0", _VIA, "[last_From:]", "[last_To:]", "Call-ID: [call_id]", "CSeq: 1 ACK",
              _CONTACT, "Max-Forwards: 70", "Content-Length: 0"),
    sipp.pause(300),
    sipp.send(f"BYE {_RURI} SIP/2.0", _VIA, "[last_From:]", "[last_To:]", "Call-ID: [call_id]", "CSeq: 2 BYE",
              _CONTACT, "Max-Forwards: 70", "Content-Length: 0", retrans=True),
    sipp.recv(response=200, crlf="true", next="done"),
    sipp.label("failed"),
    sipp.send(f"ACK {_RURI} SIP/2.0", *sipp.REPLY_HEADERS[:3], "Call-ID: [call_id]", "CSeq: 1 ACK",
              "Max-Forwards: 70", "Content-Length: 0"),
    sipp.label("done"),
)


def sh(*argv: str, timeout: float = 30) -> None:
    subprocess.run(argv, check=True, timeout=timeout)


def ns(*argv: str) -> list[str]:
    return ["ip", "netns", "exec", NS, *argv]


def sipp_call(workdir: Path, args: list[str], padding: int = 0) -> None:
    pad = "".join(f"a=x-voxops-pad:{i:04d}{'x' * 60}\n" for i in range(padding))
    scenario = workdir / f"uac{padding}.xml"
    scenario.write_text(UAC % {"padding": pad})
    sh(*ns("sipp", "-sf", str(scenario), "-m", "1", "-nostdin", "-timeout", "10s",
           "-timeout_error", *args), timeout=30)


def record(name: str, fmt: str, body) -> None:  # type: ignore[no-untyped-def]
    """Run body(workdir) inside a fresh namespace while tshark captures lo."""
    sh("ip", "netns", "add", NS)
    procs: list[subprocess.Popen] = []
    workdir = Path(tempfile.mkdtemp(prefix="voxcap-"))
    out = HERE / name
    try:
        sh(*ns("ip", "link", "set", "lo", "up", "mtu", "1500" if "frag" in name else "65536"))
        cap = subprocess.Popen(ns("tshark", "-q", "-i", "lo", "-F", fmt, "-w", str(workdir / "cap")),
                               stderr=subprocess.DEVNULL)
        procs.append(cap)
        time.sleep(2)
        body(workdir, procs)
        time.sleep(1)
    finally:
        for p in reversed(procs):
            stop(p, 10)
        subprocess.run(["ip", "netns", "del", NS], check=False)
    shutil.copy(workdir / "cap", out)
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"wrote {out} ({out.stat().st_size} bytes)")


def start(procs: list, argv: list[str]) -> None:
    procs.append(subprocess.Popen(ns(*argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(1)


def kamailio(workdir: Path, procs: list) -> None:
    cfg = workdir / "kamailio.cfg"
    cfg.write_text((HERE / "kamailio.cfg").read_text())
    start(procs, ["kamailio", "-DD", "-E", "-f", str(cfg), "-Y", str(workdir), "-w", str(workdir)])


def proxied(transport: str, calls: list[str]):  # type: ignore[no-untyped-def]
    def body(workdir: Path, procs: list) -> None:
        t = "t1" if transport == "tcp" else "u1"
        start(procs, ["sipp", "-sn", "uas", "-i", "127.0.3.3", "-p", "5060", "-t", t, "-nostdin"])
        kamailio(workdir, procs)
        for i, user in enumerate(calls):
            sipp_call(workdir, ["127.0.3.2:5060", "-i", "127.0.3.1", "-p", str(5070 + i),
                                "-t", t, "-s", user])
    return body


def ipv6(workdir: Path, procs: list) -> None:
    start(procs, ["sipp", "-sn", "uas", "-i", "::1", "-p", "5072", "-nostdin"])
    for i in range(2):
        sipp_call(workdir, ["[::1]:5072", "-i", "::1", "-p", str(5080 + i), "-s", "agent"])


def fragmented(workdir: Path, procs: list) -> None:
    start(procs, ["sipp", "-sn", "uas", "-i", "127.0.3.3", "-p", "5060", "-nostdin"])
    for i in range(2):
        sipp_call(workdir, ["127.0.3.3:5060", "-i", "127.0.3.1", "-p", str(5090 + i),
                            "-s", "agent"], padding=45)


TLS_CALL = [
    ("c", "INVITE sip:agent@127.0.3.3:5061;transport=tls SIP/2.0", "1 INVITE", False),
    ("s", "SIP/2.0 100 Trying", "1 INVITE", False),
    ("s", "SIP/2.0 180 Ringing", "1 INVITE", True),
    ("s", "SIP/2.0 200 OK", "1 INVITE", True),
    ("c", "ACK sip:agent@127.0.3.3:5061;transport=tls SIP/2.0", "1 ACK", True),
    ("c", "BYE sip:agent@127.0.3.3:5061;transport=tls SIP/2.0", "2 BYE", True),
    ("s", "SIP/2.0 200 OK", "2 BYE", True),
]


def tls_message(first: str, cseq: str, tag: bool) -> bytes:
    return (f"{first}\r\nVia: SIP/2.0/TLS 127.0.3.1:5062;branch=z9hG4bK-tls-{cseq.split()[0]}\r\n"
            "From: <sip:+15550100@127.0.3.1>;tag=tlsfrom\r\n"
            f"To: <sip:agent@127.0.3.3>{';tag=tlsto' if tag else ''}\r\n"
            f"Call-ID: tls-call-1@127.0.3.1\r\nCSeq: {cseq}\r\nContent-Length: 0\r\n\r\n").encode()


def tls_peer(role: str, workdir: str) -> None:
    """One side of the TLS call (run inside the namespace by tls())."""
    import socket
    import ssl

    wd = Path(workdir)
    if role == "server":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(wd / "cert.pem", wd / "key.pem")
        ctx.keylog_filename = str(wd / "keys")
        with socket.create_server(("127.0.3.3", 5061)) as srv:
            conn, _ = srv.accept()
            with ctx.wrap_socket(conn, server_side=True) as tls_sock:
                _converse(tls_sock, "s")
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # tshark decrypts 1.2 from a key log reliably
        ctx.keylog_filename = str(wd / "keys")
        raw = socket.create_connection(("127.0.3.3", 5061), source_address=("127.0.3.1", 5062))
        with ctx.wrap_socket(raw) as tls_sock:
            _converse(tls_sock, "c")


def _converse(sock, me: str) -> None:  # type: ignore[no-untyped-def]
    for who, first, cseq, tag in TLS_CALL:
        msg = tls_message(first, cseq, tag)
        if who == me:
            time.sleep(0.05)
            sock.sendall(msg)
        else:
            got = b""
            while len(got) < len(msg):
                got += sock.recv(65536)


def tls(workdir: Path, procs: list) -> None:
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", "/CN=agent.test",
       "-keyout", str(workdir / "key.pem"), "-out", str(workdir / "cert.pem"))
    me = str(Path(__file__).resolve())
    start(procs, [sys.executable, me, "--tls-peer", "server", str(workdir)])
    sh(*ns(sys.executable, me, "--tls-peer", "client", str(workdir)), timeout=30)
    time.sleep(0.5)
    shutil.copy(workdir / "keys", HERE / "tls.keys")


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--tls-peer":
        tls_peer(sys.argv[2], sys.argv[3])
        return 0
    if os.geteuid() != 0:
        print("run as root (network namespace and capture)", file=sys.stderr)
        return 3
    only = sys.argv[1:]
    if only == ["tls"]:
        record("tls.pcap", "pcap", tls)
        return 0
    record("udp_proxy.pcapng", "pcapng", proxied("udp", ["agent", "agent", "busy", "agent", "nobody"]))
    record("tcp_proxy.pcap", "pcap", proxied("tcp", ["agent", "agent"]))
    record("ipv6.pcap", "pcap", ipv6)
    record("fragmented.pcap", "pcap", fragmented)
    record("tls.pcap", "pcap", tls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
