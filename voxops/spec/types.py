"""Constrained scalar types of the spec: the one definition of what may reach a rendered file.

Every value that can reach a rendered config file (Kamailio cfg, dispatcher list, tls.cfg,
YAML, systemd units, trunk sheets) is one of these types. Addresses are parsed and
re-emitted in canonical form (IPv6 zone ids are refused), host names follow RFC 1123, and
every other string is held to a charset without quotes, backslashes, whitespace, `;`, `$`,
`#`, braces or any control or non-ASCII character, so nothing in a value can end a
Kamailio string, start a preprocessor directive, add a dispatcher destination or a YAML
key, or be templated again by Ansible. The renderer checks the same promise once more on
the data it hands to the templates (voxops.render.guard).
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field

_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
# RFC 1123 host name: letters, digits and inner hyphens per label, 253 characters at most
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_RE = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})*\.?")
# DNS owner names may also hold the `_service._proto` labels of SRV records (RFC 2782)
_DOTTED_QUAD_RE = re.compile(r"[0-9]+(\.[0-9]+){3}")
_DNS_LABEL = r"_?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DNS_NAME_RE = re.compile(rf"(?=.{{1,253}}\Z){_DNS_LABEL}(?:\.{_DNS_LABEL})*\.?")
_PATH_RE = re.compile(r"[A-Za-z0-9_./@+-]{1,4096}")
# The user part of a SIP URI: no quote, `$` (Kamailio pseudo-variables), `;` (URI
# parameters are not accepted) or `:`, so nothing in a URI can end a Kamailio string or a
# dispatcher attribute list.
_SIP_URI_RE = re.compile(r"(sips?):(?:([A-Za-z0-9_.!~*()&=+,-]{1,64})@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::([0-9]{1,5}))?")
_URL_RE = re.compile(
    r"(https?|tcp|tls|udp|wss?)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::([0-9]{1,5}))?(/[A-Za-z0-9_./%~+-]{0,2000})?"
)
_ENV_RE = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")
_CODEC_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,31}")
_PIPELINE_RE = re.compile(r"echo|prompt|websocket|[A-Za-z_][A-Za-z0-9_.]{0,199}:[A-Za-z_][A-Za-z0-9_]{0,99}")
# Expected DNS answers never reach a rendered file, but NAPTR answers hold quotes:
# printable ASCII on one line.
_ANSWER_RE = re.compile(r"[\x20-\x7e]{1,512}")


def shown(value: object, limit: int = 60) -> str:
    """A value for a one-line error message: repr (control characters escaped), shortened."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(str(value))} characters)"


def _check(regex: re.Pattern[str], what: str):  # type: ignore[no-untyped-def]
    def validate(value: str) -> str:
        if not regex.fullmatch(value):
            raise ValueError(f"not a valid {what}: {shown(value)}")
        return value

    return validate


def canonical_ip(value: str) -> str:
    """The address in canonical form; an IPv6 zone id (`%eth0`) is refused."""
    if "%" in value:
        raise ValueError(f"zone ids ('%...') of IPv6 addresses are not supported: {shown(value)}")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"not a valid IP address: {shown(value)}") from None


def _host(value: str) -> str:
    bare = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    if ":" in bare or "%" in bare:
        return canonical_ip(bare)
    if _HOST_RE.fullmatch(value):
        # all-numeric, or starting like one (Kamailio reads `1.2.3.4a` as an address and a
        # stray word): an IPv4 address or nothing
        if value.rstrip(".").rsplit(".", 1)[-1].isdigit() or _DOTTED_QUAD_RE.match(value):
            return canonical_ip(value)
        return value.lower()
    raise ValueError(f"not a valid IP address or host name (RFC 1123): {shown(value)}")


def _dns_name(value: str) -> str:
    if not _DNS_NAME_RE.fullmatch(value):
        raise ValueError(f"not a valid DNS name: {shown(value)}")
    return value.lower()


def _port(text: str | None) -> int | None:
    if text is None:
        return None
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is not in 1..65535")
    return port


def _authority(host: str, port_text: str | None) -> str:
    """host[:port] of a URI, the host canonical (an IPv6 address in brackets)."""
    host = _host(host)
    port = _port(port_text)
    return (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")


def _sip_uri(value: str) -> str:
    m = _SIP_URI_RE.fullmatch(value)
    if not m:
        raise ValueError(f"not a valid SIP URI (sip:[user@]host[:port], no parameters, quotes or ';'): {shown(value)}")
    scheme, user, host, port_text = m.groups()
    return f"{scheme}:{user + '@' if user else ''}{_authority(host, port_text)}"


def _url(value: str) -> str:
    m = _URL_RE.fullmatch(value)
    if not m:
        raise ValueError(f"not a valid URL (http, https, tcp, tls, udp, ws, wss; no quotes or spaces): {shown(value)}")
    scheme, host, port_text, path = m.groups()
    return f"{scheme}://{_authority(host, port_text)}{path or ''}"


def _codec(value: str) -> str:
    if not _CODEC_RE.fullmatch(value):
        raise ValueError(f"not a valid codec name: {shown(value)}")
    return value.upper()


def _plain_decimal(value: float) -> float:
    # A number with more places than this renders as `1e-05`, which YAML 1.1 readers
    # (the agent's config loader among them) take for a string.
    if round(value, 4) != value:
        raise ValueError(f"use at most 4 decimal places (got {shown(value)})")
    return value


Name = Annotated[
    str,
    AfterValidator(_check(_NAME_RE, "name (lower-case letters, digits, '-', '_'; max 63)")),
]
Host = Annotated[str, AfterValidator(_host)]
DnsName = Annotated[str, AfterValidator(_dns_name)]
IPAddress = Annotated[str, AfterValidator(canonical_ip)]
FilePath = Annotated[str, AfterValidator(_check(_PATH_RE, "file path (letters, digits, '_./@+-' only)"))]
SipUri = Annotated[str, AfterValidator(_sip_uri)]
Url = Annotated[str, AfterValidator(_url)]
EnvVar = Annotated[str, AfterValidator(_check(_ENV_RE, "environment variable name"))]
Codec = Annotated[str, AfterValidator(_codec)]
Pipeline = Annotated[
    str, AfterValidator(_check(_PIPELINE_RE, "pipeline ('echo', 'prompt', 'websocket' or 'package.module:Class', ASCII)"))
]
DnsAnswer = Annotated[str, AfterValidator(_check(_ANSWER_RE, "DNS answer (printable ASCII on one line)"))]
PlainFloat = Annotated[float, AfterValidator(_plain_decimal)]
Port = Annotated[int, Field(ge=1, le=65535)]
Percent = Annotated[float, Field(ge=0, le=100), AfterValidator(_plain_decimal)]
SipCode = Annotated[int, Field(ge=100, le=699)]


class Transport(StrEnum):
    udp = "udp"
    tcp = "tcp"
    tls = "tls"


# Well-known codec names, used for did-you-mean and by the renderers' defaults.
KNOWN_CODECS = ("PCMU", "PCMA", "G722", "G729", "OPUS", "ILBC", "GSM", "SPEEX", "L16", "AMR", "AMR-WB")
