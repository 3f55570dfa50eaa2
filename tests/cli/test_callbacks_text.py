"""`voxops agent callbacks` prints what callers left: their URI is shown escaped."""

from __future__ import annotations

import json

from tests.support.hostile import BIDI, CLEAR, CLIPBOARD, raw_controls
from voxops.agent.ivr import CallbackStore

CALLER = f"sip:{CLIPBOARD}{CLEAR}{BIDI}@caller.example"


def test_a_hostile_caller_uri_is_listed_escaped(tmp_path, cli):
    db = tmp_path / "callbacks.sqlite3"
    CallbackStore(db).add(agent="agent-1", call_id=f"c{CLEAR}", caller=CALLER, number="5551234",
                          reason="asr down\x9b2J")
    code, out, err = cli("agent", "callbacks", "--db", db)
    assert code == 0, err
    assert raw_controls(out) == [] and raw_controls(err) == []
    assert "sip:\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x1b[2J" in out and "asr down\\x9b2J" in out
    code, out, _ = cli("agent", "callbacks", "--db", db, "--format", "json")
    assert json.loads(out)[0]["caller"] == CALLER and raw_controls(out) == []
