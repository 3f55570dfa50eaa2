"""SIPp scenarios for the tests, built from one set of parts: the XML around the steps, a
message step, the reply headers SIPp copies from the request, and an SDP of SIPp's own
keywords. Each scenario then says only what is particular to it."""

from __future__ import annotations

from collections.abc import Iterable

XML_HEAD = '<?xml version="1.0" encoding="ISO-8859-1" ?>\n'
# A reply copies these from the request it answers (a dialog-making reply adds its To tag).
REPLY_HEADERS = ("[last_Via:]", "[last_From:]", "[last_To:]", "[last_Call-ID:]", "[last_CSeq:]")
SIPP_TAG = "[pid]SIPpTag01[call_number]"


def scenario(name: str, *steps: str) -> str:
    return f'{XML_HEAD}<scenario name="{name}">\n{"".join(steps)}</scenario>\n'


def send(*lines: str, body: str = "", retrans: bool = False) -> str:
    """A message: its start line and headers, a blank line, then `body` as given (SIPp
    fills in `Content-Length: [len]`)."""
    attr = ' retrans="500"' if retrans else ""
    message = "\n".join(lines) + "\n\n" + body
    return f"  <send{attr}><![CDATA[\n{message}]]></send>\n"


def recv(*, response: int | None = None, request: str | None = None, **attrs: str) -> str:
    """`attrs` as SIPp spells them (optional, next, rtd, rrs, crlf), in the given order."""
    what = f'response="{response}"' if response is not None else f'request="{request}"'
    extra = "".join(f' {key}="{value}"' for key, value in attrs.items())
    return f"  <recv {what}{extra}/>\n"


def optional_responses(*codes: int, failed: Iterable[int] = (), failed_label: str = "failed") -> str:
    """Provisional responses that may come, then finals that jump to `failed_label`."""
    steps = [recv(response=c, optional="true") for c in codes]
    steps += [recv(response=c, optional="true", next=failed_label) for c in failed]
    return "".join(steps)


def pause(ms: int | str) -> str:
    return f'  <pause milliseconds="{ms}"/>\n'


def label(name: str) -> str:
    return f'  <label id="{name}"/>\n'


def comment(text: str) -> str:
    return f"  <!-- {text} -->\n"


def reply(status: str, *headers: str, to_tag: str | None = None, body: str = "", retrans: bool = False) -> str:
    """A response to the last request: its headers copied (`to_tag` added to To), then `headers`."""
    copied = [f"{h};tag={to_tag}" if to_tag and h == "[last_To:]" else h for h in REPLY_HEADERS]
    return send(f"SIP/2.0 {status}", *copied, *headers, body=body, retrans=retrans)


def sdp(owner: str = "user1", formats: str = "0", *attributes: str) -> str:
    """An audio offer or answer on SIPp's own media address and port."""
    lines = ["v=0", f"o={owner} 53655765 2353687637 IN IP[local_ip_type] [local_ip]", "s=-",
             "c=IN IP[media_ip_type] [media_ip]", "t=0 0", f"m=audio [media_port] RTP/AVP {formats}",
             *(attributes or ("a=rtpmap:0 PCMU/8000",))]
    return "\n".join(lines) + "\n"
