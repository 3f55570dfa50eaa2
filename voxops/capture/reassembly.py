"""IP fragment reassembly and TCP stream reassembly for SIP, both with hard limits.

Limits exist because a capture is untrusted input: a flood of never-completed
fragments or a stream that never carries a full SIP message must not grow memory.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

from voxops.capture import sip as sipmod

MAX_PENDING_DATAGRAMS = 4096
MAX_DATAGRAM = 65535 + 8
MAX_PENDING_BYTES = 64 * 1024 * 1024  # fragment bytes held for all pending datagrams
MAX_FRAGMENTS = 1024  # frames remembered per datagram (a real one has at most ~45)
MAX_STREAMS = 4096
MAX_STREAM_BUFFER = 2 * sipmod.MAX_MESSAGE
MAX_OUT_OF_ORDER = 64
SNIFF_BYTES = 16 * 1024  # a stream with no SIP start line in its first 16 kB is not SIP


@dataclass(slots=True)
class _Pending:
    parts: dict[int, bytes] = field(default_factory=dict)
    frames: list[int] = field(default_factory=list)
    total: int | None = None  # known once the last fragment arrived
    size: int = 0


class Defragmenter:
    """Collects IPv4/IPv6 fragments; returns the payload when a datagram completes.

    Bounded: MAX_PENDING_DATAGRAMS datagrams, MAX_PENDING_BYTES bytes for all of them
    (oldest dropped first), and a datagram whose overlapping fragments add up to more
    than twice the largest datagram is dropped.
    """

    def __init__(self) -> None:
        self.pending: OrderedDict[tuple, _Pending] = OrderedDict()
        self.dropped = 0
        self.held = 0

    def _drop(self, key: tuple) -> None:
        entry = self.pending.pop(key, None)
        if entry is not None:
            self.held -= entry.size
            self.dropped += 1

    def add(self, key: tuple, offset: int, more: bool, data: bytes, frame: int = 0) -> bytes | None:
        entry = self.pending.get(key)
        if entry is None:
            if len(self.pending) >= MAX_PENDING_DATAGRAMS:
                self._drop(next(iter(self.pending)))
            entry = self.pending[key] = _Pending()
        if offset + len(data) > MAX_DATAGRAM:
            self._drop(key)
            return None
        if len(entry.frames) < MAX_FRAGMENTS:
            entry.frames.append(frame)
        if offset not in entry.parts:
            entry.parts[offset] = data
            entry.size += len(data)
            self.held += len(data)
            if entry.size > 2 * MAX_DATAGRAM:  # overlapping fragments without end
                self._drop(key)
                return None
            while self.held > MAX_PENDING_BYTES:
                self._drop(next(iter(self.pending)))
            if key not in self.pending:
                return None
        if not more:
            entry.total = offset + len(data)
        if entry.total is None or entry.size < entry.total:
            return None
        out = bytearray(entry.total)
        covered = 0
        for off in sorted(entry.parts):
            chunk = entry.parts[off]
            if off > covered:
                return None  # a hole (overlaps made size look complete)
            out[off : off + len(chunk)] = chunk[: max(0, entry.total - off)]
            covered = max(covered, off + len(chunk))
        del self.pending[key]
        self.held -= entry.size
        self.last_frames = tuple(entry.frames)
        return bytes(out[: entry.total])

    last_frames: tuple[int, ...] = ()  # frames of the datagram add() last completed


_START = re.compile(
    rb"(?:SIP/2\.0 \d{3} |[A-Z]{3,16} [^ \r\n]{1,2048} SIP/2\.0\r?\n)"
)
_START_SPAN = 2100  # longest match of _START: a search resumes this far before where it stopped
_HEAD_END = re.compile(rb"\r\n\r\n|\n\n")


def _find_start(buf: bytearray, lo: int, hi: int) -> re.Match[bytes] | None:
    """_START.search(buf, lo, hi), the regex run only where a match can be: every match
    holds `SIP/2.0`, so none starts more than _START_SPAN before its first occurrence."""
    first = buf.find(b"SIP/2.0", lo, hi)
    if first < 0:
        return None
    return _START.search(buf, max(lo, first - _START_SPAN), hi)
MAX_OOO_STREAM = 1024 * 1024  # out-of-order bytes held for one direction of a connection
MAX_HELD = 64 * 1024 * 1024  # bytes held for all streams (in order and out of order)
IDLE_S = 600.0  # a stream silent this long (capture time) is forgotten


@dataclass(slots=True)
class _Stream:
    next_seq: int | None = None
    buf: bytearray = field(default_factory=bytearray)
    ooo: dict[int, bytes] = field(default_factory=dict)
    ooo_bytes: int = 0
    frames: list[int] = field(default_factory=list)  # frames whose bytes are in buf
    transport: str = "tcp"
    is_sip: bool | None = None  # decided by the first bytes of the stream
    ws_head_done: bool = False
    last_ts: float = 0.0
    # where framing stopped: each byte is searched a bounded number of times
    start_from: int = 0  # no start line begins before this offset of buf
    head_from: int = 0  # no blank line ends before this offset of buf
    aligned: bool = False  # buf begins with a start line
    need: int | None = None  # length of the message at the front, once its head is complete

    def held(self) -> int:
        return len(self.buf) + self.ooo_bytes

    def reset(self) -> None:
        self.buf.clear()
        self.ooo.clear()
        self.ooo_bytes = 0
        self.cut()

    def cut(self) -> None:
        """Framing starts again at the front of buf."""
        self.start_from = self.head_from = 0
        self.aligned, self.need = False, None


class TcpReassembler:
    """Orders each direction's bytes and cuts them into SIP messages (Content-Length).

    Work is linear in the bytes reassembled: a framing search resumes where the last
    one stopped. Memory is bounded: MAX_OOO_STREAM out-of-order bytes per stream,
    MAX_HELD bytes for all streams (the least recently active streams are dropped
    first), streams idle for IDLE_S of capture time are forgotten. What was dropped
    is counted (`dropped_bytes`, `dropped_segments`) for a warning.
    """

    def __init__(self) -> None:
        self.streams: OrderedDict[tuple, _Stream] = OrderedDict()
        self.tls_streams = 0
        self.held = 0
        self.dropped_bytes = 0
        self.dropped_segments = 0

    def add(self, key: tuple, seq: int, syn: bool, fin_or_rst: bool, data: bytes,
            frame: int = 0, ts: float = 0.0) -> list[tuple[bytes, str, tuple[int, ...]]]:
        """Feed one segment; return the SIP messages it completed: (raw, transport, frames)."""
        self._expire(ts)
        st = self.streams.get(key)
        if st is None:
            if not data and not syn:
                return []
            if len(self.streams) >= MAX_STREAMS:
                self._forget(next(iter(self.streams)))
            st = self.streams[key] = _Stream()
        else:
            self.streams.move_to_end(key)
        st.last_ts = ts
        before = st.held()
        try:
            return self._segment(key, st, seq, syn, fin_or_rst, data, frame)
        finally:
            if key in self.streams:
                self.held += st.held() - before
                while self.held > MAX_HELD and self.streams:
                    self._forget(next(iter(self.streams)), dropped=True)

    def _segment(self, key: tuple, st: _Stream, seq: int, syn: bool, fin_or_rst: bool,
                 data: bytes, frame: int) -> list[tuple[bytes, str, tuple[int, ...]]]:
        if syn:
            st.next_seq = (seq + 1) & 0xFFFFFFFF
            st.reset()
            st.is_sip, st.transport, st.ws_head_done = None, "tcp", False  # a new connection
            seq = st.next_seq  # data on a SYN (TCP fast open) follows the SYN's sequence number
        if st.is_sip is False:  # not SIP (or TLS): keep no bytes of it
            if fin_or_rst:
                self._forget(key)
            return []
        if data:
            if st.next_seq is None:
                st.next_seq = seq
            self._place(st, seq, data)
            st.frames.append(frame)
        out = self._messages(st) if st.is_sip is not False else []
        if out:
            frames = tuple(st.frames)
            # bytes left over came with the last segment: it starts the next message
            st.frames = st.frames[-1:] if st.buf else []
            return [(raw, transport, frames) for raw, transport in out]
        if fin_or_rst:
            self._forget(key)
        if len(st.frames) > 256:
            del st.frames[:-256]
        return []

    def _forget(self, key: tuple, *, dropped: bool = False) -> None:
        st = self.streams.pop(key, None)
        if st is None:
            return
        self.held -= st.held()
        if dropped and st.held():
            self.dropped_bytes += st.held()
            self.dropped_segments += len(st.ooo) + 1

    def _expire(self, ts: float) -> None:
        while self.streams:
            key, oldest = next(iter(self.streams.items()))
            if ts - oldest.last_ts <= IDLE_S:
                return
            self._forget(key)

    def _place(self, st: _Stream, seq: int, data: bytes) -> None:
        assert st.next_seq is not None
        rel = (seq - st.next_seq) & 0xFFFFFFFF
        if rel >= 0x80000000:  # starts before what we have: retransmission or overlap
            behind = 0x100000000 - rel
            if behind >= len(data):
                return
            data = data[behind:]
            rel = 0
        if rel > 0:
            if seq in st.ooo:
                return  # a retransmission of a segment already held
            if len(st.ooo) < MAX_OUT_OF_ORDER and st.ooo_bytes + len(data) <= MAX_OOO_STREAM:
                st.ooo[seq] = data
                st.ooo_bytes += len(data)
            else:
                # too much missing: give up on the hole and resynchronise after it
                self.dropped_bytes += st.held()
                self.dropped_segments += len(st.ooo)
                st.reset()
                st.next_seq = (seq + len(data)) & 0xFFFFFFFF
                st.buf += data
            return
        st.buf += data
        st.next_seq = (st.next_seq + len(data)) & 0xFFFFFFFF
        while st.ooo:
            hit = None
            for s in st.ooo:
                r = (s - st.next_seq) & 0xFFFFFFFF
                if r == 0 or r >= 0x80000000:
                    hit = s
                    break
            if hit is None:
                break
            chunk = st.ooo.pop(hit)
            st.ooo_bytes -= len(chunk)
            behind = (st.next_seq - hit) & 0xFFFFFFFF
            if behind < len(chunk):
                st.buf += chunk[behind:]
                st.next_seq = (st.next_seq + len(chunk) - behind) & 0xFFFFFFFF
        if len(st.buf) > MAX_STREAM_BUFFER:
            del st.buf[: len(st.buf) - sipmod.MAX_MESSAGE]
            st.cut()

    def _sniff(self, st: _Stream) -> bool:
        """Decide whether the stream carries SIP; False while undecided (or not SIP)."""
        if len(st.buf) < 8:
            return False
        head = bytes(st.buf[:16])
        if head.startswith(b"GET ") and b"\r\n\r\n" not in st.buf[:8192] and len(st.buf) < 8192:
            return False
        if head.startswith(b"GET ") or head.startswith(b"HTTP/1.1 101"):
            st.is_sip, st.transport = True, "ws"
        elif head[:1] in (b"\x16", b"\x17", b"\x14", b"\x15") and head[1:2] == b"\x03":
            st.is_sip = False  # TLS: only the tshark engine can decrypt it
            self.tls_streams += 1
        elif st.buf[:2] == b"\r\n" or _find_start(st.buf, st.start_from, SNIFF_BYTES):
            st.is_sip = True  # a start line anywhere: streams joined mid-message count too
            st.start_from = 0
        elif len(st.buf) >= SNIFF_BYTES:
            st.is_sip = False  # another protocol: stop buffering it
            st.buf.clear()
        else:
            st.start_from = max(0, len(st.buf) - _START_SPAN)
        return bool(st.is_sip)

    def _messages(self, st: _Stream) -> list[tuple[bytes, str]]:
        out: list[tuple[bytes, str]] = []
        if st.is_sip is None and not self._sniff(st):
            return out
        if st.transport == "ws":
            return _ws_messages(st)
        while st.buf:
            if st.need is None:
                if not self._frame(st):
                    break
                assert st.need is not None
            if len(st.buf) < st.need:
                break
            out.append((bytes(st.buf[: st.need]), st.transport))
            del st.buf[: st.need]
            st.cut()
        return out

    @staticmethod
    def _frame(st: _Stream) -> bool:
        """Find the length of the message at the front of buf; False when more is needed."""
        while not st.aligned:
            if st.buf[:2] == b"\r\n":  # keep-alive CRLFs between messages (RFC 5626)
                del st.buf[:2]
                st.start_from = max(0, st.start_from - 2)
                continue
            if _START.match(st.buf, 0, _START_SPAN):
                st.aligned = True
                break
            m = _find_start(st.buf, st.start_from, sipmod.MAX_MESSAGE)
            if m is None:
                if len(st.buf) > sipmod.MAX_MESSAGE:
                    st.buf.clear()
                    st.cut()
                else:
                    st.start_from = max(0, len(st.buf) - _START_SPAN)
                return False
            del st.buf[: m.start()]
            st.cut()
        end = _HEAD_END.search(st.buf, st.head_from, sipmod.MAX_MESSAGE + 4)
        if end is None:
            st.head_from = max(0, min(len(st.buf), sipmod.MAX_MESSAGE + 4) - 3)
            return False
        st.need = end.end() + min(sipmod.head_content_length(st.buf, end.start()),
                                  sipmod.MAX_MESSAGE)
        return True


def _ws_messages(st: _Stream) -> list[tuple[bytes, str]]:
    """SIP over WebSocket (RFC 7118): skip the HTTP upgrade, unwrap text/binary frames."""
    out: list[tuple[bytes, str]] = []
    if not st.ws_head_done:
        end = st.buf.find(b"\r\n\r\n", st.head_from)
        if end < 0:
            st.head_from = max(0, len(st.buf) - 3)
            return out
        del st.buf[: end + 4]
        st.ws_head_done = True
        st.head_from = 0
    while len(st.buf) >= 2:
        b1 = st.buf[1]
        length = b1 & 0x7F
        pos = 2
        if length == 126:
            if len(st.buf) < 4:
                break
            length = int.from_bytes(st.buf[2:4], "big")
            pos = 4
        elif length == 127:
            if len(st.buf) < 10:
                break
            length = int.from_bytes(st.buf[2:10], "big")
            pos = 10
        mask = b""
        if b1 & 0x80:
            if len(st.buf) < pos + 4:
                break
            mask = bytes(st.buf[pos : pos + 4])
            pos += 4
        if length > sipmod.MAX_MESSAGE:
            st.buf.clear()
            break
        if len(st.buf) < pos + length:
            break
        payload = bytes(st.buf[pos : pos + length])
        opcode = st.buf[0] & 0x0F
        del st.buf[: pos + length]
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        if opcode in (1, 2) and payload:
            out.append((payload, "ws"))
    return out
