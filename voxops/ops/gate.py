"""Health gates used between rolling steps: a SIP OPTIONS 200, an HTTP 200 from /readyz,
the media relay's answer to an ng ping, and the relay's config read as rtpengine reads it.

Run by the playbooks as `python -m voxops.ops.gate sip HOST PORT` (exit 0 when healthy).
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.error
import urllib.request


def sip_options(host: str, port: int, *, timeout: float = 1.0) -> int | None:
    """One OPTIONS over UDP; the final reply's status code, or None when nothing came back."""
    from voxops.probes.sip_options import send_options

    return send_options(host, port, "udp", timeout=timeout, user_agent="voxops-deploy-gate").code


def http_status(url: str, *, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


def relay_ping(host: str, port: int, *, timeout: float = 1.0) -> int | None:
    """200 when the relay answers an ng ping with pong, else None."""
    from voxops.probes import rtpengine_ng

    try:
        rtpengine_ng.ping(host, port, timeout=timeout)
    except rtpengine_ng.NgError:
        return None
    return 200


def wait_healthy(check, timeout: float, interval: float = 0.5) -> int | None:  # type: ignore[no-untyped-def]
    """Poll until the check returns 200 or the timeout passes; the last status seen."""
    end = time.monotonic() + timeout
    last = None
    while True:
        last = check()
        if last == 200 or time.monotonic() >= end:
            return last
        time.sleep(interval)


def main(argv: list[str] | None = None) -> int:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--timeout", type=float, default=15.0)
    ap = argparse.ArgumentParser(prog="python -m voxops.ops.gate")
    sub = ap.add_subparsers(dest="kind", required=True)
    sip = sub.add_parser("sip", help="wait for a SIP OPTIONS 200", parents=[common])
    sip.add_argument("host")
    sip.add_argument("port", type=int)
    http = sub.add_parser("http", help="wait for an HTTP 200 (an agent's /readyz)", parents=[common])
    http.add_argument("url")
    relay = sub.add_parser("relay", help="wait for the media relay to answer an ng ping", parents=[common])
    relay.add_argument("host")
    relay.add_argument("port", type=int)
    relay_config = sub.add_parser("relay-config", help="check a relay config as rtpengine reads it")
    relay_config.add_argument("config")
    call = sub.add_parser("relay-call", help="one test call through the relay: RTP both ways", parents=[common])
    for name in ("host", "port", "public", "private"):
        call.add_argument(name, type=int if name == "port" else str)
    args = ap.parse_args(argv)
    if args.kind == "relay-config":
        return _check_relay_config(args.config)
    if args.kind == "relay-call":
        return _relay_call(args.host, args.port, args.public, args.private, args.timeout)
    if args.kind == "sip":
        status = wait_healthy(lambda: sip_options(args.host, args.port), args.timeout)
        what = f"SIP OPTIONS to {args.host}:{args.port}"
    elif args.kind == "relay":
        status = wait_healthy(lambda: relay_ping(args.host, args.port), args.timeout)
        what = f"ng ping to the media relay at {args.host}:{args.port}"
    else:
        status = wait_healthy(lambda: http_status(args.url), args.timeout)
        what = f"GET {args.url}"
    if status == 200:
        print(f"{what}: 200")
        return 0
    print(f"{what}: {status or 'no answer'} after {args.timeout:g} s", file=sys.stderr)
    return 1


def _relay_call(host: str, port: int, public: str, private: str, timeout: float) -> int:
    from voxops.probes import rtpengine_ng
    from voxops.probes.relay_call import place_test_call

    try:
        call = place_test_call(host, port, public, private, timeout=min(timeout, 5.0))
    except (rtpengine_ng.NgError, OSError) as exc:
        print(f"test call through the relay at {host}:{port}: {exc}", file=sys.stderr)
        return 1
    line = (f"test call through the relay at {host}:{port}: {call.to_private}/{call.sent_each_way} packets "
            f"reached {private}, {call.to_public}/{call.sent_each_way} reached {public}")
    print(line, file=sys.stdout if call.ok else sys.stderr)
    return 0 if call.ok else 1


def _check_relay_config(config: str) -> int:
    from pathlib import Path

    from voxops.deploy.validation import check_rtpengine
    from voxops.errors import VoxopsError

    try:
        check = check_rtpengine(Path(config))
    except VoxopsError as exc:
        print(f"{config}: {exc}", file=sys.stderr)
        return 1
    print(f"{check.config}: {check.detail}", file=sys.stdout if check.ok else sys.stderr)
    return 0 if check.ok else 1


if __name__ == "__main__":
    sys.exit(main())
