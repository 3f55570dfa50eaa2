"""SIPp scenarios for the agent tests, built from shared parts and written at test time."""

from __future__ import annotations

from pathlib import Path

_INVITE = """
  <send retrans="500">
    <![CDATA[
      INVITE sip:agent@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:agent@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:caller@[local_ip]:[local_port]>
      Max-Forwards: 70
      Supported: timer
      Session-Expires: 1800
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [rtpport] RTP/AVP [pt] 101
      a=rtpmap:[pt] [codec]/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=sendrecv
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="486" optional="true" next="refused"/>
  <recv response="488" optional="true" next="refused"/>
  <recv response="503" optional="true" next="refused"/>
  <recv response="500" optional="true" next="refused"/>
  <recv response="200" rtd="true" rrs="true"/>
"""


def _in_dialog(method: str, cseq: int, body: str = "", ctype: str = "") -> str:
    extra = f"Content-Type: {ctype}\n      " if ctype else ""
    length = "[len]" if body else "0"
    retrans = "" if method == "ACK" else ' retrans="500"'
    return f"""
  <send{retrans}>
    <![CDATA[
      {method} [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: {cseq} {method}
      Contact: <sip:caller@[local_ip]:[local_port]>
      Max-Forwards: 70
      {extra}Content-Length: {length}

      {body}
    ]]>
  </send>
"""


_REFUSED = """
  <label id="refused"/>
  <send>
    <![CDATA[
      ACK sip:agent@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      [last_From:]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <label id="done"/>
"""

_BYE_FROM_AGENT = """
  <recv request="BYE" timeout="20000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <nop next="done"/>
"""

_HOLD_SDP = """v=0
      o=caller 53655765 2353687638 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [rtpport] RTP/AVP [pt] 101
      a=rtpmap:[pt] [codec]/8000
      a=rtpmap:101 telephone-event/8000
      a={direction}"""


def _wrap(body: str) -> str:
    return f'<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="voxops agent test">{body}</scenario>\n'


def caller(path: Path, *, hold: bool = False, media_pcap: Path | None = None) -> Path:
    """INVITE, hold the call for -d ms (optionally putting it on hold and back, or playing
    RTP from a pcap), BYE."""
    body = _INVITE + _in_dialog("ACK", 1)
    if media_pcap is not None:
        body += f'<nop><action><exec play_pcap_audio="{media_pcap}"/></action></nop>'
    cseq = 2
    if hold:
        for direction in ("sendonly", "sendrecv"):
            sdp = _HOLD_SDP.format(direction=direction)
            body += _in_dialog("INVITE", cseq, sdp, "application/sdp")
            body += '<recv response="100" optional="true"/><recv response="200"/>'
            body += _in_dialog("ACK", cseq)
            body += '<pause milliseconds="500"/>'
            cseq += 1
    body += '<pause/>' + _in_dialog("BYE", cseq) + '<recv response="200" crlf="true" next="done"/>' + _REFUSED
    path.write_text(_wrap(body))
    return path


def ivr_caller(path: Path, *, info_digits: str = "") -> Path:
    """INVITE, optionally send digits as SIP INFO (application/dtmf-relay), wait for the agent's BYE."""
    body = _INVITE + _in_dialog("ACK", 1) + '<pause milliseconds="300"/>'
    for i, digit in enumerate(info_digits):
        body += _in_dialog("INFO", 2 + i, f"Signal={digit}\n      Duration=160", "application/dtmf-relay")
        body += '<recv response="200"/><pause milliseconds="100"/>'
    body += _BYE_FROM_AGENT + _REFUSED
    path.write_text(_wrap(body))
    return path


def canceller(path: Path) -> Path:
    """INVITE, CANCEL once it rings: expects 200 to the CANCEL and 487 to the INVITE."""
    invite = _INVITE.split('<recv response="100"')[0]
    body = invite + '<recv response="100" optional="true"/><recv response="180"/>'
    body += """
  <send>
    <![CDATA[
      CANCEL sip:agent@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      From: sipp <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:agent@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 CANCEL
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
  <recv response="487"/>
"""
    body += _REFUSED.replace('<label id="refused"/>', "")
    path.write_text(_wrap(body))
    return path
