"""Capturing the lab's traffic: dumpcap on loopback, filtered to the lab's addresses."""

from __future__ import annotations

from pathlib import Path

from voxops.lab.supervisor import Managed, Supervisor


def capture_filter(addresses: list[str]) -> str:
    """A BPF filter for the lab's addresses only (the loopback carries other people's traffic)."""
    return " or ".join(f"host {a}" for a in sorted(set(addresses)))


def start_capture(sup: Supervisor, name: str, path: Path, addresses: list[str]) -> Managed:
    """dumpcap as root on lo (dumpcap gets no capabilities here); ready once the file has a header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    argv = ["dumpcap", "-q", "-i", "lo", "-f", capture_filter(addresses), "-w", str(path)]
    return sup.start(name, argv, ready=lambda: path.exists() and path.stat().st_size > 0)


def stop_capture(sup: Supervisor, name: str) -> None:
    # SIGTERM lets dumpcap flush and close the pcapng file
    sup.stop(name, grace_s=5.0)
