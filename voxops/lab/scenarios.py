"""SIPp scenarios of the lab: carrier simulators (UAS) and the caller (UAC), with RTP.

Carriers answer in one of these modes:
  answer     100, 180, 200 with a PCMU answer, then stream PCMU back (two-way audio)
  slow       the same, after a delay before the 180 (post-dial delay)
  reject     100 then 503 Service Unavailable (a carrier in a capacity crunch)
  busy       100 then 486 Busy Here (the callee is busy: no failover to another carrier)
  transcode  answers G.729 (PT 18) to a PCMU-only offer and streams PT 18 (silent transcoding)
  one-way    answers PCMU but never sends RTP back (the caller hears silence)
"Silent" (no answer at all, not even to OPTIONS) is not a SIPp scenario: the carrier's
SIPp is stopped and a listener that never replies takes its address (see faults.py).

The caller logs one line per call ("<call-id> <status>") with SIPp's -trace_logs so the
lab can count answers, 486s and failures call by call. SIPp 3.6.1 sends the RTP of every
concurrent call from one port: fine for signalling load. Drills that judge media place
test calls instead (`voxops.probes.call_check.place_call`), each from its own SIP and RTP
ports, so a capture tells every call's media apart.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path


class CarrierMode(StrEnum):
    answer = "answer"
    slow = "slow"
    reject = "reject"
    busy = "busy"
    transcode = "transcode"
    one_way = "one-way"


# Final responses the caller expects besides 200; anything else fails the call in SIPp
# (and is counted as "failed" by the lab).
REJECT_CODES = (403, 404, 408, 480, 481, 486, 487, 488, 500, 502, 503, 504, 603)

_HEAD = '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n'


def _reply(status: str, *, to_tag: bool, sdp: str | None = None, contact: bool = False) -> str:
    to = "[last_To:];tag=[pid]SIPpTag01[call_number]" if to_tag else "[last_To:]"
    lines = [
        f"SIP/2.0 {status}",
        "[last_Via:]",
        "[last_From:]",
        to,
        "[last_Call-ID:]",
        "[last_CSeq:]",
        "[last_Record-Route:]",
    ]
    if contact:
        lines.append("Contact: <sip:carrier@[local_ip]:[local_port];transport=[transport]>")
    if sdp is None:
        lines.append("Content-Length: 0")
        body = ""
    else:
        lines += ["Content-Type: application/sdp", "Content-Length: [len]"]
        body = sdp
    return "  <send><![CDATA[\n\n" + "\n".join(lines) + "\n\n" + body + "\n  ]]></send>\n"


def _sdp(payload_type: int, name: str) -> str:
    return (
        "v=0\n"
        "o=carrier 53655765 2353687637 IN IP[local_ip_type] [local_ip]\n"
        "s=-\n"
        "c=IN IP[media_ip_type] [media_ip]\n"
        "t=0 0\n"
        f"m=audio [rtpstream_audio_port] RTP/AVP {payload_type}\n"
        f"a=rtpmap:{payload_type} {name}/8000\n"
        "a=ptime:20\n"
    )


def carrier_scenario(mode: CarrierMode, *, audio: Path, g729: Path, delay_ms: int = 3000) -> str:
    """The UAS scenario of one carrier mode (see the module docstring)."""
    out = [_HEAD, f'<scenario name="voxops carrier {mode.value}">\n']
    out.append('  <recv request="INVITE" crlf="true"><action><log message="[call_id]"/></action></recv>\n')
    out.append(_reply("100 Trying", to_tag=False))
    if mode in (CarrierMode.reject, CarrierMode.busy):
        status = "503 Service Unavailable" if mode is CarrierMode.reject else "486 Busy Here"
        out.append(_reply(status, to_tag=True))
        out.append('  <recv request="ACK" crlf="true"/>\n</scenario>\n')
        return "".join(out)
    if mode is CarrierMode.slow:
        out.append(f'  <pause milliseconds="{delay_ms}"/>\n')
    out.append(_reply("180 Ringing", to_tag=True))
    if mode is CarrierMode.transcode:
        answer, stream = _sdp(18, "G729"), f"{g729},-1,18"
    else:
        answer, stream = _sdp(0, "PCMU"), f"{audio},-1,0"
    out.append(_reply("200 OK", to_tag=True, sdp=answer, contact=True).replace("<send>", '<send retrans="500">'))
    out.append('  <recv request="ACK" crlf="true"/>\n')
    if mode is not CarrierMode.one_way:
        out.append(f'  <nop><action><exec rtp_stream="{stream}"/></action></nop>\n')
    out.append('  <recv request="BYE"/>\n')
    out.append(_reply("200 OK", to_tag=False))
    out.append('  <timewait milliseconds="500"/>\n</scenario>\n')
    return "".join(out)


def caller_scenario(*, audio: Path, hold_ms: int, answer_timeout_ms: int = 15000) -> str:
    """UAC: INVITE with a PCMU offer, stream PCMU for hold_ms, BYE through the proxy's route set."""
    log = '<action><log message="[call_id] {what} [clock_tick]"/></action>'
    parts = [_HEAD, '<scenario name="voxops caller">\n']
    parts.append("""  <send retrans="500" start_rtd="setup"><![CDATA[

INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: voxops-lab <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:caller@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
User-Agent: voxops-lab
Subject: voxops lab call
Content-Type: application/sdp
Content-Length: [len]

v=0
o=caller 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [rtpstream_audio_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20

  ]]></send>
""")
    parts.append('  <recv response="100" optional="true"/>\n')
    parts.append('  <recv response="180" optional="true"/>\n')
    parts.append('  <recv response="183" optional="true"/>\n')
    for code in REJECT_CODES:
        parts.append(
            f'  <recv response="{code}" optional="true" next="rejected">'
            f"{log.format(what=code)}</recv>\n"
        )
    parts.append(
        f'  <recv response="200" rrs="true" rtd="setup" timeout="{answer_timeout_ms}" '
        f'ontimeout="noanswer">{log.format(what=200)}</recv>\n'
    )
    parts.append("""  <send><![CDATA[

ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: voxops-lab <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
[routes]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: <sip:caller@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
Content-Length: 0

  ]]></send>
""")
    parts.append(f'  <nop><action><exec rtp_stream="{audio},-1,0"/></action></nop>\n')
    parts.append(f'  <pause milliseconds="{hold_ms}"/>\n')
    parts.append('  <nop><action><exec rtp_stream="pause"/></action></nop>\n')
    parts.append("""  <send retrans="500"><![CDATA[

BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: voxops-lab <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
[routes]
Call-ID: [call_id]
CSeq: 2 BYE
Contact: <sip:caller@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
Content-Length: 0

  ]]></send>
""")
    parts.append('  <recv response="200" crlf="true"/>\n')
    parts.append('  <nop next="end"/>\n')
    parts.append('  <label id="rejected"/>\n')
    parts.append("""  <send><![CDATA[

ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: voxops-lab <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

  ]]></send>
""")
    parts.append('  <nop next="end"/>\n')
    parts.append(f'  <label id="noanswer"/>\n  <nop>{log.format(what="timeout")}</nop>\n')
    parts.append('  <label id="end"/>\n</scenario>\n')
    return "".join(parts)


def write_media(directory: Path) -> tuple[Path, Path]:
    """Raw PCMU (a 1 kHz tone, 1 s) and G.729-sized frames (PT 18) for rtp_stream."""
    import math

    directory.mkdir(parents=True, exist_ok=True)
    pcmu = directory / "tone.pcmu"
    g729 = directory / "frames.g729"
    if not pcmu.exists():
        pcmu.write_bytes(bytes(_ulaw(int(8000 * math.sin(2 * math.pi * 1000 * n / 8000))) for n in range(8000)))
    if not g729.exists():
        # 50 frames of 20 bytes: content is irrelevant, the payload type is what a drill checks
        g729.write_bytes(bytes((i * 37 + 11) % 251 for i in range(1000)))
    return pcmu, g729


def _ulaw(sample: int) -> int:
    """G.711 mu-law encoding of a 16-bit linear sample."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    sample = min(abs(sample), clip) + bias
    exponent = 7
    for exp in range(7, -1, -1):
        if sample & (0x4000 >> (7 - exp)):
            exponent = exp
            break
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF
