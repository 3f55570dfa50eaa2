"""Peers for the media-relay tests: a rendered rtpengine, a capture on lo, tshark's reading of it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.support.sip_peers import Proc
from voxops.probes import rtpengine_ng as ng


def start_rtpengine(rtpengine: str, conf: Path, run_dir: Path) -> Proc:
    """The rendered relay in the foreground, logging to run_dir/rtpengine.log."""
    run_dir.mkdir(parents=True, exist_ok=True)
    return Proc([rtpengine, f"--config-file={conf}", "--config-section=rtpengine", "--foreground", "--log-stderr",
                 f"--pidfile={run_dir / 'rtpengine.pid'}"], run_dir / "rtpengine.log", run_dir)


def wait_ng(host: str, port: int, proc: Proc, timeout: float = 10) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            ng.ping(host, port, timeout=0.3)
            return
        except ng.NgError:
            if proc.p.poll() is not None:
                break
            time.sleep(0.1)
    raise AssertionError(f"rtpengine does not answer ng ping on {host}:{port}: "
                         f"{proc.log.read_text(errors='replace')[-1500:]}")


def start_capture(dumpcap: str, hosts: list[str], out: Path) -> Proc:
    """dumpcap on lo, only our addresses; returns once it is capturing."""
    bpf = " or ".join(f"host {h}" for h in hosts)
    proc = Proc([dumpcap, "-q", "-i", "lo", "-f", f"udp and ({bpf})", "-w", str(out)], out.with_suffix(".log"), out.parent)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        if "Capturing on" in proc.log.read_text(errors="replace") or (out.exists() and out.stat().st_size > 0):
            return proc
        if proc.p.poll() is not None:
            break
        time.sleep(0.05)
    proc.stop()
    raise AssertionError(f"dumpcap did not start: {proc.log.read_text(errors='replace')[-500:]}")


def udp_flows(tshark: str, pcap: Path, sip_ports: list[int]) -> list[dict[str, str]]:
    """Every UDP packet as tshark decodes it: addresses, ports, whether RTP, SDP addresses."""
    decode = [arg for p in sip_ports for arg in ("-d", f"udp.port=={p},sip")]
    fields = ["ip.src", "udp.srcport", "ip.dst", "udp.dstport", "rtp.ssrc", "sdp.connection_info.address",
              "sdp.owner.address", "sip.Method", "sip.Status-Code"]
    cp = subprocess.run([tshark, "-n", "-r", str(pcap), "--enable-heuristic", "rtp_udp", *decode, "-T", "fields",
                         "-E", "separator=|", *[a for f in fields for a in ("-e", f)]],
                        capture_output=True, text=True, timeout=120, check=True)
    return [dict(zip(fields, line.split("|"), strict=True)) for line in cp.stdout.splitlines() if line]


def rtp_count(flows: list[dict[str, str]], src: str, dst: str) -> int:
    return sum(1 for f in flows if f["rtp.ssrc"] and f["ip.src"] == src and f["ip.dst"] == dst)
