"""Topology specs written by the tests: `spec()` is a two-node SBC on 127.0.5.x to vary one
thing at a time, `write_spec` puts any spec in a file."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml


def write_spec(data: dict[str, Any] | str, path: Path) -> Path:
    """`data` (a mapping, or YAML text as is) written to `path`, keys in the given order."""
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


BASE: dict[str, Any] = {
    "version": 1,
    "name": "render-test",
    "carriers": [
        {"name": "carrier-a", "trunks": [{"name": "carrier-a-main", "weight": 60,
                                          "hosts": [{"address": "127.0.5.11", "port": 5060}]}]},
        {"name": "carrier-b", "trunks": [{"name": "carrier-b-main", "weight": 40,
                                          "hosts": [{"address": "127.0.5.12", "port": 5060}]}]},
    ],
    "sbc": {
        "domain": "sbc.render.test",
        "nodes": [
            {"name": "sbc-1", "address": "127.0.5.1", "listen": [{"transport": "udp", "port": 5060}], "metrics_port": 9091},
            {"name": "sbc-2", "address": "127.0.5.2", "listen": [{"transport": "udp", "port": 5060}], "metrics_port": 9092},
        ],
    },
    "agents": {"instances": [
        {"name": "agent-1", "host": "127.0.5.21", "sip_port": 5070, "health_port": 8081},
        {"name": "agent-2", "host": "127.0.5.22", "sip_port": 5070, "health_port": 8082},
    ]},
}


def spec(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data.update(copy.deepcopy(changes))
    return data


def tls_spec(certs: dict[str, str], mutual: bool) -> dict[str, Any]:
    data = spec()
    for i, node in enumerate(data["sbc"]["nodes"], start=1):
        node["listen"].append({"transport": "tls", "port": 5061, "address": f"127.0.5.{i + 4}"})
    data["sbc"]["tls"] = {**certs, "mutual": mutual, "min_version": "TLSv1.2"}
    trunk = data["carriers"][0]["trunks"][0]
    trunk["hosts"] = [{"address": "127.0.5.11", "port": 5061, "transport": "tls"}]
    trunk["require_tls"] = True
    trunk["credentials"] = {"username": "acme", "password": {"env": "VOXOPS_TEST_TRUNK_PASSWORD"}}
    return data
