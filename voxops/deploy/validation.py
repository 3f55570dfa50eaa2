"""Checking rendered Kamailio configs with the real kamailio (`kamailio -c -f FILE`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from voxops.proc import run, which


class ConfigCheck(BaseModel):
    config: str
    ok: bool
    detail: str


def check_kamailio(config: Path, *, timeout: float = 30) -> ConfigCheck:
    """Parse the config, load every module and run their fixups, without binding a socket."""
    cfg = config.resolve()  # kamailio changes to / before it reads includes and lists
    cp = run([which("kamailio"), "-c", "-f", str(cfg)], timeout=timeout, check=False)
    out = (cp.stderr + cp.stdout).decode(errors="replace")
    errors = [ln.strip() for ln in out.splitlines() if "ERROR" in ln or "CRITICAL" in ln]
    ok = cp.returncode == 0
    detail = "config file ok" if ok else " | ".join(errors[-5:]) or out.strip()[-400:]
    return ConfigCheck(config=str(cfg), ok=ok, detail=detail)


RTPENGINE_SECTION = "rtpengine"
_RTPENGINE_REQUIRED = ("interface", "listen-ng", "port-min", "port-max")


def rtpengine_problems(text: str, section: str = RTPENGINE_SECTION) -> list[str]:
    """What rtpengine's key-file reading (GLib) would take differently from what the file
    seems to say: a key given twice (the last one silently wins), a missing key, a port
    range upside down, an interface that is not NAME/ADDRESS."""
    import ipaddress

    keys: dict[str, str] = {}
    problems: list[str] = []
    current = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            continue
        key, eq, value = line.partition("=")
        if not eq:
            problems.append(f"line {number}: neither a [section] nor key = value")
        elif current == section:
            key = key.strip()
            if key in keys:
                problems.append(f"line {number}: {key} given twice (rtpengine keeps only the last)")
            keys[key] = value.strip()
    problems += [f"no {k} in [{section}]" for k in _RTPENGINE_REQUIRED if k not in keys]
    try:
        low, high = int(keys.get("port-min", "0")), int(keys.get("port-max", "0"))
        if "port-min" in keys and "port-max" in keys and not 1024 <= low <= high <= 65535:
            problems.append(f"port range {low}-{high} is not within 1024-65535 lowest first")
    except ValueError:
        problems.append("port-min and port-max must be integers")
    for spec in filter(None, keys.get("interface", "").split(";")):
        _, _, address = spec.rpartition("/")
        try:
            ipaddress.ip_address(address.split("!")[0])
        except ValueError:
            problems.append(f"interface {spec!r} is not NAME/ADDRESS")
    return problems


def check_rtpengine(config: Path, *, timeout: float = 30) -> ConfigCheck:
    """The relay's config read as rtpengine reads it: the key-file rules above, then
    rtpengine itself parsing every option (`--codecs` loads the config, then exits
    without binding a socket)."""
    cfg = config.resolve()
    try:
        problems = rtpengine_problems(cfg.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        problems = [f"cannot read it: {exc}"]
    if problems:
        return ConfigCheck(config=str(cfg), ok=False, detail=" | ".join(problems[:5]))
    argv = [which("rtpengine"), f"--config-file={cfg}", f"--config-section={RTPENGINE_SECTION}", "--codecs"]
    cp = run(argv, timeout=timeout, check=False)
    if cp.returncode != 0:
        said = cp.stderr.decode(errors="replace").strip()[-300:]
        return ConfigCheck(config=str(cfg), ok=False,
                           detail=f"rtpengine refused its options (exit {cp.returncode}){': ' + said if said else ''}")
    return ConfigCheck(config=str(cfg), ok=True, detail="config file ok")
