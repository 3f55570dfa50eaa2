"""A real call on loopback (127.0.25.x): SIPp caller and agent play known sentences with
`play_pcap_audio`, tshark captures it, `voxops audio` hears it. Run under the live lock."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np

from tests.audio.support import RATE, correlation, g711_packets, read_wav, speech
from tests.conftest import free_port, need_root, need_tool, wait_capturing
from voxops.capture.writer import PcapWriter, rtp_bytes, udp_frame

CALLER, AGENT = "127.0.25.1", "127.0.25.2"
GAP_MS = 700  # scripted: the agent starts this long after the caller's sentence ends

_SDP = """v=0
      o=- 1 1 IN IP4 [local_ip]
      s=-
      c=IN IP4 [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
      a=ptime:20"""

_UAC = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="voxops audio caller">
  <send retrans="500"><![CDATA[
      INVITE sip:agent@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: caller <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:agent@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:caller@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      {_SDP}
  ]]></send>
  <recv response="100" optional="true"/>
  <recv response="200" rrs="true"/>
  <send><![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: caller <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:caller@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
  ]]></send>
  <nop><action><exec play_pcap_audio="caller.pcap"/></action></nop>
  <pause/>
  <send retrans="500"><![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: caller <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0
  ]]></send>
  <recv response="200"/>
</scenario>
"""

_UAS = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="voxops audio agent">
  <recv request="INVITE"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:agent@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      SDP
  ]]></send>
  <recv request="ACK"/>
  <pause milliseconds="PAUSE"/>
  <nop><action><exec play_pcap_audio="agent.pcap"/></action></nop>
  <recv request="BYE" timeout="30000"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
  ]]></send>
</scenario>
"""


def _rtp_pcap(path: Path, pcm: np.ndarray, ssrc: int) -> Path:
    """The sentence as 20 ms PCMU packets, for SIPp to replay with their timing."""
    with PcapWriter(path) as w:
        for at, seq, ts, _, pt, payload in g711_packets(pcm, ssrc=ssrc, start_s=0.0):
            w.write(1_700_000_000 + at, udp_frame("10.9.0.1", 4000, "10.9.0.2", 4002, rtp_bytes(seq, ts, ssrc, pt, payload)))
    return path



def test_sipp_call_heard_through_a_real_capture(tmp_path, cli) -> None:
    need_root()
    sipp, tshark = need_tool("sipp"), need_tool("tshark")
    said = speech("I would like to check the status of my order, please.", tmp_path)
    answer = speech("Of course. Can you tell me the order number?", tmp_path)
    _rtp_pcap(tmp_path / "caller.pcap", said, 0x1111)
    _rtp_pcap(tmp_path / "agent.pcap", answer, 0x2222)
    pause_ms = round(1000 * len(said) / RATE) + GAP_MS
    sdp = _SDP
    (tmp_path / "uas.xml").write_text(_UAS.replace("SDP", sdp).replace("PAUSE", str(pause_ms)))
    (tmp_path / "uac.xml").write_text(_UAC)
    hold_ms = pause_ms + round(1000 * len(answer) / RATE) + 800
    uas_port, uac_port = free_port(AGENT), free_port(CALLER)
    capture = tmp_path / "call.pcap"
    cap = subprocess.Popen([tshark, "-i", "lo", "-f", "net 127.0.25.0/24", "-F", "pcap", "-w", str(capture)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_capturing(cap)
        common = ["-m", "1", "-nostdin", "-timeout", "40", "-timeout_error"]
        uas = subprocess.Popen([sipp, "-sf", "uas.xml", "-i", AGENT, "-p", str(uas_port), "-mi", AGENT,
                                "-mp", str(free_port(AGENT)), *common], cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        uac = subprocess.run([sipp, f"{AGENT}:{uas_port}", "-sf", "uac.xml", "-i", CALLER, "-p", str(uac_port),
                              "-mi", CALLER, "-mp", str(free_port(CALLER)), "-d", str(hold_ms), *common],
                             cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        uas.wait(timeout=30)
        assert uac.returncode == 0 and uas.returncode == 0
        time.sleep(0.5)
    finally:
        cap.send_signal(signal.SIGINT)
        try:
            cap.wait(timeout=10)
        except subprocess.TimeoutExpired:
            cap.kill()
    code, out, err = cli("calls", capture, "--format", "json")
    call_id = json.loads(out)[0]["call_id"]
    code, out, err = cli("audio", capture, "--call-id", call_id, "-o", tmp_path / "out", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    for side, sent in (("caller", said), ("agent", answer)):
        entry = next(s for s in report["sides"] if s["role"] == side)
        pcm, _ = read_wav(Path(entry["wav"]))
        start = int(round(entry["talk_spurts"][0]["start"] * RATE))
        best = max(correlation(sent, pcm[max(0, start + lag):]) for lag in range(-160, 161))
        assert best > 0.95, (side, best)
    turns = report["conversation"]["turns"]
    wire_ms = _wire_gap_ms(tshark, capture)  # what tshark saw: caller's last packet end -> agent's first
    assert len(turns) == 1, turns
    assert abs(turns[0]["latency_ms"] - GAP_MS) <= 40, (turns, wire_ms)
    assert abs(turns[0]["latency_ms"] - wire_ms) <= 40, (turns, wire_ms)


def _wire_gap_ms(tshark: str, capture: Path) -> float:
    out = subprocess.run([tshark, "-r", str(capture), "--enable-heuristic", "rtp_udp", "-Y", "rtp",
                          "-T", "fields", "-e", "frame.time_epoch", "-e", "rtp.ssrc"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    times: dict[int, list[float]] = {}
    for line in out.splitlines():
        when, ssrc = line.split("\t")
        times.setdefault(int(ssrc, 16), []).append(float(when))
    return 1000 * (min(times[0x2222]) - (max(times[0x1111]) + 0.020))
