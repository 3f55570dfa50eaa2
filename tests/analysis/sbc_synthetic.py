"""A synthetic SBC-node capture for what the lab cannot produce on demand, with its truth.

Built with the docs' `Call` (docs/hooks/scenarios.py) on the local inventory's addresses:
- FAILOVER: agent-1 -> sbc-1 -> carrier-a, which answers neither the INVITE nor its two
  retransmissions; sbc-1 fails over to carrier-b after 3.0 s, which answers (PDD 3.3 s);
- TWIN: another call of agent-1 answered by carrier-b 1 ms after FAILOVER, on the same
  media ports (a SIPp-like peer reuses one port for every call): its RTP flows too;
- BUSY: agent-1's call refused with 486 by sbc-1's admission (no INVITE goes on) while
  FAILOVER and TWIN carry media on the same agent port;
- NO_BYE: carrier-a -> sbc-1 -> agent-2, answered, RTP for 19 s, the capture ends before
  any BYE;
- DTMF: carrier-b -> sbc-1 -> agent-2, PCMU with RFC 4733 events in the middle (voice
  suppressed while a key is held), hung up cleanly.
"""

from __future__ import annotations

import importlib.util
import random
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "voxops" / "data" / "inventories" / "local" / "topology.yaml"
FAILOVER, TWIN, BUSY, NO_BYE, DTMF = "failover@node", "twin@node", "busy@node", "nobye@node", "dtmf@node"
A1, A2 = ("127.0.9.21", 5070), ("127.0.9.22", 5070)
A1_MEDIA, A2_MEDIA = ("127.0.9.21", 40000), ("127.0.9.22", 40002)
CA_MEDIA, CB_MEDIA = ("127.0.9.11", 30000), ("127.0.9.12", 30000)
TRUNK_A, TRUNK_B = "carrier-a/carrier-a-main", "carrier-b/carrier-b-main"
NO_BYE_SECONDS = 19.0


@dataclass(frozen=True)
class Truth:
    trunk: str | None
    final_status: int
    hops: list[tuple[str, list[tuple[str, str]]]]  # (sender, [(next node, outcome)])
    codes: set[str]  # finding codes the diagnosis must give (and no others)


TRUTH = {
    FAILOVER: Truth(TRUNK_B, 200, [("agent-1", [("sbc-1", "answered")]),
                                   ("sbc-1", [("carrier-a", "no-answer"), ("carrier-b", "answered")])],
                    {"failover", "sip-retransmissions", "ambiguous-media", "high-pdd"}),
    TWIN: Truth(TRUNK_B, 200, [("agent-1", [("sbc-1", "answered")]), ("sbc-1", [("carrier-b", "answered")])],
                {"ambiguous-media"}),
    BUSY: Truth(None, 486, [("agent-1", [("sbc-1", "rejected")])], {"busy-here"}),
    NO_BYE: Truth(TRUNK_A, 200, [("carrier-a", [("sbc-1", "answered")]), ("sbc-1", [("agent-2", "answered")])],
                  set()),
    DTMF: Truth(TRUNK_B, 200, [("carrier-b", [("sbc-1", "answered")]), ("sbc-1", [("agent-2", "answered")])],
                set()),
}


def scenarios() -> ModuleType:
    spec = importlib.util.spec_from_file_location("voxops_docs_scenarios", REPO / "docs/hooks/scenarios.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def _outbound(sc: ModuleType, call, t0: float, answer_at: float, attempts: list[tuple[float, tuple, tuple]]) -> None:
    """agent-1 -> sbc-1, then sbc-1 -> each (time, carrier, retransmission times); the last answers."""
    offer = sc.sdp(A1_MEDIA, [0, 101])
    call.request(t0, "INVITE", A1, sc.SBC, offer)
    call.response(t0 + 0.005, 100, "Trying", sc.SBC, A1)
    for at, carrier, again in attempts:
        call.request(at, "INVITE", sc.SBC, carrier, offer)
        first = call.packets[-1]
        call.packets += [sc.Datagram(t, sc.SBC, carrier, first.payload) for t in again]
    answer = sc.sdp(CB_MEDIA, [0, 101])
    call.response(answer_at, 200, "OK", sc.CARRIER_B, sc.SBC, body=answer)
    call.response(answer_at + 0.001, 200, "OK", sc.SBC, A1, body=answer)
    call.request(answer_at + 0.02, "ACK", A1, sc.SBC)
    call.request(answer_at + 0.021, "ACK", sc.SBC, sc.CARRIER_B)


def _inbound(sc: ModuleType, call, carrier, carrier_media, t0: float) -> float:
    offer = sc.sdp(carrier_media, [0, 101])
    call.request(t0, "INVITE", carrier, sc.SBC, offer)
    call.request(t0 + 0.01, "INVITE", sc.SBC, A2, offer)
    answer = sc.sdp(A2_MEDIA, [0, 101])
    call.response(t0 + 0.3, 200, "OK", A2, sc.SBC, body=answer)
    call.response(t0 + 0.301, 200, "OK", sc.SBC, carrier, body=answer)
    call.request(t0 + 0.32, "ACK", carrier, sc.SBC)
    call.request(t0 + 0.33, "ACK", sc.SBC, A2)
    return t0 + 0.35


def _bye(sc: ModuleType, call, caller, callee, t: float) -> None:
    call.request(t, "BYE", caller, sc.SBC, cseq=2)
    call.request(t + 0.01, "BYE", sc.SBC, callee, cseq=2)
    call.response(t + 0.02, 200, "OK", callee, sc.SBC, method="BYE", cseq=2)
    call.response(t + 0.03, 200, "OK", sc.SBC, caller, method="BYE", cseq=2)


def _dtmf_rtp(sc: ModuleType, call, t0: float, seconds: float) -> None:
    """PCMU with a key held 1 s from 1 s on: the 101 packets carry the event's start timestamp."""
    rng = random.Random(7)
    ssrc = rng.getrandbits(32)
    for n in range(int(seconds * 50)):
        at, ts = t0 + n * 0.02, n * 160
        if 50 <= n < 100:  # the key is held: events instead of voice
            header = struct.pack("!BBHII", 0x80, 101 | (0x80 if n == 50 else 0), n, 50 * 160, ssrc)
            body = struct.pack("!BBH", 5, 0x0A | (0x80 if n == 99 else 0), (n - 49) * 160)
        else:
            header, body = struct.pack("!BBHII", 0x80, 0, n, ts, ssrc), rng.randbytes(160)
        call.packets.append(sc.Datagram(at, CB_MEDIA, A2_MEDIA, header + body))


def build(directory: Path) -> Path:
    sc = scenarios()
    packets = []
    fo = sc.Call(FAILOVER, caller=A1)
    _outbound(sc, fo, 0.0, 3.3, [(0.01, sc.CARRIER_A, (0.51, 1.51)), (3.01, sc.CARRIER_B, ())])
    fo.rtp(3.34, A1_MEDIA, CB_MEDIA, 0, 2.0)
    fo.rtp(3.34, CB_MEDIA, A1_MEDIA, 0, 2.0)
    _bye(sc, fo, A1, sc.CARRIER_B, 5.5)
    twin = sc.Call(TWIN, caller=A1)
    _outbound(sc, twin, 2.9, 3.301, [(2.91, sc.CARRIER_B, ())])
    twin.rtp(3.345, A1_MEDIA, CB_MEDIA, 0, 2.0)
    twin.rtp(3.345, CB_MEDIA, A1_MEDIA, 0, 2.0)
    _bye(sc, twin, A1, sc.CARRIER_B, 5.6)
    busy = sc.Call(BUSY, caller=A1)
    busy.request(4.0, "INVITE", A1, sc.SBC, sc.sdp(A1_MEDIA, [0, 101]))
    busy.response(4.001, 486, "Busy Here", sc.SBC, A1)
    busy.request(4.002, "ACK", A1, sc.SBC)
    nobye = sc.Call(NO_BYE, caller=sc.CARRIER_A)
    ack = _inbound(sc, nobye, sc.CARRIER_A, CA_MEDIA, 1.0)
    nobye.rtp(ack, CA_MEDIA, A2_MEDIA, 0, NO_BYE_SECONDS)
    nobye.rtp(ack, A2_MEDIA, CA_MEDIA, 0, NO_BYE_SECONDS)
    dtmf = sc.Call(DTMF, caller=sc.CARRIER_B)
    ack = _inbound(sc, dtmf, sc.CARRIER_B, CB_MEDIA, 6.0)
    _dtmf_rtp(sc, dtmf, ack, 3.0)
    dtmf.rtp(ack, A2_MEDIA, CB_MEDIA, 0, 3.0)
    _bye(sc, dtmf, sc.CARRIER_B, A2, ack + 3.1)
    for call in (fo, twin, busy, nobye, dtmf):
        packets += call.packets
    path = directory / "sbc-node-synthetic.pcap"
    sc.write_pcap(path, packets)
    return path
