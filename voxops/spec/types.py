"""Constrained scalar types of the spec.

Every value that can reach a rendered config file (Kamailio cfg, YAML, systemd units) is
one of these types, so no quote, newline, `;` or other config syntax can pass through.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_HOST_RE = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$"
)
_PATH_RE = re.compile(r"^[A-Za-z0-9_./@+-]{1,4096}$")
# No quote, `$` (Kamailio pseudo-variables) and no `;`: URI parameters are not accepted, so
# nothing in a URI can end a Kamailio string or a dispatcher attribute list.
_SIP_URI_RE = re.compile(r"^sips?:([A-Za-z0-9_.!~*()&=+,-]+@)?[A-Za-z0-9_.:\[\]-]+$")
_URL_RE = re.compile(r"^(https?|tcp|tls|udp|wss?)://[A-Za-z0-9_.:\[\]-]+(/[A-Za-z0-9_./%~+-]*)?$")
_ENV_RE = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
_CODEC_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,31}$")


def _check(regex: re.Pattern[str], what: str):  # type: ignore[no-untyped-def]
    def validate(value: str) -> str:
        if not regex.fullmatch(value):
            raise ValueError(f"not a valid {what}: {value!r}")
        return value

    return validate


def _host(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip("[]")))
    except ValueError:
        pass
    if not _HOST_RE.fullmatch(value):
        raise ValueError(f"not a valid IP address or host name: {value!r}")
    return value.lower()


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"not a valid IP address: {value!r}") from None


def _codec(value: str) -> str:
    if not _CODEC_RE.fullmatch(value):
        raise ValueError(f"not a valid codec name: {value!r}")
    return value.upper()


Name = Annotated[
    str,
    AfterValidator(_check(_NAME_RE, "name (lower-case letters, digits, '-', '_'; max 63)")),
]
Host = Annotated[str, AfterValidator(_host)]
IPAddress = Annotated[str, AfterValidator(_ip)]
FilePath = Annotated[str, AfterValidator(_check(_PATH_RE, "file path (no spaces, quotes or ';')"))]
SipUri = Annotated[str, AfterValidator(_check(_SIP_URI_RE, "SIP URI (no parameters, quotes or ';')"))]
Url = Annotated[str, AfterValidator(_check(_URL_RE, "URL (http, https, tcp, tls, udp, ws, wss)"))]
EnvVar = Annotated[str, AfterValidator(_check(_ENV_RE, "environment variable name"))]
Codec = Annotated[str, AfterValidator(_codec)]
Port = Annotated[int, Field(ge=1, le=65535)]
Percent = Annotated[float, Field(ge=0, le=100)]
SipCode = Annotated[int, Field(ge=100, le=699)]


class Transport(StrEnum):
    udp = "udp"
    tcp = "tcp"
    tls = "tls"


# Well-known codec names, used for did-you-mean and by the renderers' defaults.
KNOWN_CODECS = ("PCMU", "PCMA", "G722", "G729", "OPUS", "ILBC", "GSM", "SPEEX", "L16", "AMR", "AMR-WB")
