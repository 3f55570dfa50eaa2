"""A single SIP OPTIONS over UDP: is anything answering at address:port?"""

from __future__ import annotations

import contextlib
import random
import socket


def send_options(address: str, port: int, *, timeout_s: float = 1.0) -> int | None:
    """The status code of the reply, or None when nothing answered within timeout_s."""
    branch = f"z9hG4bK-lab{random.getrandbits(40):x}"
    tag = f"{random.getrandbits(32):x}"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        local_port = sock.getsockname()[1]
        msg = (
            f"OPTIONS sip:{address}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch={branch};rport\r\n"
            f"From: <sip:lab@127.0.0.1>;tag={tag}\r\n"
            f"To: <sip:{address}:{port}>\r\n"
            f"Call-ID: {branch}@127.0.0.1\r\n"
            "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        sock.settimeout(timeout_s)
        with contextlib.suppress(OSError):
            sock.sendto(msg.encode(), (address, port))
            while True:
                data = sock.recv(65535)
                first = data.split(b"\r\n", 1)[0].decode(errors="replace").split()
                if len(first) >= 2 and first[0] == "SIP/2.0" and first[1].isdigit():
                    code = int(first[1])
                    if code >= 200:
                        return code
    return None
