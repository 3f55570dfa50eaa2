"""Call records: one JSON object per ended call, logged and kept for `/calls`.

A record holds what the SIP thread knows at the end of a call (Call-ID, mode, codec,
duration, final status) and the conversation summary its bridge port measured.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from typing import Any

from voxops.agent.log import log

KEEP = 200  # records served by /calls, newest last


class CallRecords:
    def __init__(self) -> None:
        self._records: collections.deque[dict[str, Any]] = collections.deque(maxlen=KEEP)
        self._lock = threading.Lock()

    def add(self, call: Any, code: int, conversation: dict[str, object]) -> None:
        record = {
            "call_id": call.sip_call_id,
            "mode": str(call.mode),
            "codec": call.codec,
            "status": code,
            "duration_s": round(time.monotonic() - call.received_at, 2),
            "conversation": conversation,
        }
        with self._lock:
            self._records.append(record)
        log("call record " + json.dumps(record, sort_keys=True))

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._records)
