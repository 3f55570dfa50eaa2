"""`sbc.media`: the relay's addresses default from the nodes; inconsistent settings are refused."""

from __future__ import annotations

import pytest

from voxops.errors import SpecError
from voxops.spec.loader import load_topology


def _media(prod_data, **changes):
    prod_data["sbc"]["media"].update(changes)
    return prod_data


def test_addresses_default_to_the_node(write_spec, prod_data):
    prod_data["sbc"]["media"]["nodes"] = [{"node": "sbc-2", "public": "192.0.2.12"}]
    topo, _ = load_topology(write_spec(prod_data))
    media = topo.sbc.media
    assert media is not None
    assert media.addresses("sbc-1", "10.0.1.11") == ("10.0.1.11", "10.0.1.11")
    assert media.addresses("sbc-2", "10.0.1.12") == ("192.0.2.12", "10.0.1.12")
    assert media.control_address("10.0.1.11") == "127.0.0.1"
    assert media.control_address("127.0.9.1") == "127.0.9.1"
    assert media.transcode == [] and not media.recording.enabled


@pytest.mark.parametrize(("changes", "message"), [
    ({"port_min": 40000, "port_max": 30000}, "port_min must not exceed port_max"),
    ({"port_min": 80, "port_max": 3000}, "1024 or above"),
    ({"recording": {"enabled": True}}, "recording.dir is not set"),
    ({"recording": {"enabled": True, "dir": "spool/rec"}}, "absolute path"),
    ({"relay": "rtpproxy"}, "rtpengine"),
    ({"nodes": [{"node": "sbc-9"}]}, "no SBC node named 'sbc-9'"),
    ({"nodes": [{"node": "sbc-1"}, {"node": "sbc-1"}]}, "duplicate media node 'sbc-1'"),
    ({"port_min": 9000, "port_max": 9200}, "metrics port 9090 on 10.0.1.11 is inside the relay's RTP range"),
    ({"metrics_port": 9090}, "duplicate listening socket '10.0.1.11:9090/tcp'"),
    ({"transcode": ["PCMU;x"]}, "not a valid codec name"),
], ids=["range", "privileged", "rec-no-dir", "rec-relative", "relay", "unknown-node", "dup-node",
        "range-overlaps-metrics", "metrics-clash", "codec"])
def test_inconsistent_media_is_refused(write_spec, prod_data, changes, message):
    with pytest.raises(SpecError) as exc:
        load_topology(write_spec(_media(prod_data, **changes)))
    assert any(message in p for p in exc.value.problems), exc.value.problems
