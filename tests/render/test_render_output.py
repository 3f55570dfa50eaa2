"""Where `voxops render` writes: regular files only, never through a link, all or nothing.

Hostile trees are built here: links planted at a target, at the old fixed temporary
name and in place of a folder, all pointing at a file another user owns, and FIFOs.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.conftest import need_root
from tests.support.specs import spec, write_spec

PASSWORD = "s3cret-pw"
NOBODY = 65534


@pytest.fixture
def creds_spec(tmp_path: Path, monkeypatch) -> Path:
    data = spec()
    data["carriers"][0]["trunks"][0]["credentials"] = {"username": "acme", "password": {"env": "VOXOPS_TEST_PW"}}
    monkeypatch.setenv("VOXOPS_TEST_PW", PASSWORD)
    return write_spec(data, tmp_path / "topology.yaml")


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file of another user that a link planted in the output tree points at."""
    path = tmp_path / "victim" / "authorized_keys"
    path.parent.mkdir()
    path.write_text("ssh-ed25519 AAAA... someone\n")
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)
    return path


def _tree(root: Path) -> dict[str, str]:
    """Every entry under root: a file's sha256, a link's target, a FIFO's kind."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_symlink():
            out[str(p.relative_to(root))] = f"-> {os.readlink(p)}"
        elif p.is_file():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
        elif not p.is_dir():
            out[str(p.relative_to(root))] = "special"
    return out


def test_a_link_planted_at_the_temporary_name_is_not_followed(cli, creds_spec, victim, tmp_path):
    need_root()
    out = tmp_path / "out"
    etc = out / "sbc-1" / "etc"
    etc.mkdir(parents=True)
    (etc / ".credentials.cfg.tmp").symlink_to(victim)
    before = victim.read_bytes()
    code, _, err = cli("render", creds_spec, "-o", out)
    assert code == 0, err
    assert victim.read_bytes() == before
    assert victim.stat().st_uid == NOBODY
    creds = etc / "credentials.cfg"
    assert not creds.is_symlink() and PASSWORD in creds.read_text()
    assert creds.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("name", ["credentials.cfg", "kamailio.cfg"])
def test_a_link_at_a_target_is_refused_and_nothing_is_written(cli, creds_spec, victim, tmp_path, name):
    out = tmp_path / "out"
    code, _, err = cli("render", creds_spec, "-o", out)
    assert code == 0, err
    link = out / "sbc-2" / "etc" / name
    link.unlink()
    link.symlink_to(victim)
    (out / "sbc-1" / "etc" / "kamailio.cfg").write_text("an edit a failed render must not undo\n")
    before, victim_before = _tree(out), victim.read_bytes()
    code, out_text, err = cli("render", creds_spec, "-o", out)
    assert code == 2, err
    assert "symbolic link" in err and str(link) in err
    assert _tree(out) == before  # not even the files before the link were replaced
    assert victim.read_bytes() == victim_before


def test_a_link_in_place_of_a_folder_is_refused(cli, creds_spec, tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "sbc-1").mkdir(parents=True)
    (out / "sbc-1" / "etc").symlink_to(elsewhere)
    code, _, err = cli("render", creds_spec, "-o", out)
    assert code == 2, err
    assert "symbolic link" in err
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("kind", ["fifo", "socket", "chardev"])
def test_a_special_file_at_a_target_is_refused(cli, creds_spec, tmp_path, kind):
    out = tmp_path / "out"
    target = out / "sbc-1" / "etc" / "dispatcher.list"
    target.parent.mkdir(parents=True)
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "socket":
        import socket

        with socket.socket(socket.AF_UNIX) as s:
            s.bind(str(target))
    else:
        need_root()
        os.mknod(target, 0o666 | 0o020000, os.makedev(1, 3))  # a twin of /dev/null
    code, _, err = cli("render", creds_spec, "-o", out)
    assert code == 2, err
    assert "not a regular file" in err
    assert not target.is_file() and not target.is_symlink()
    assert sorted(p.name for p in target.parent.iterdir()) == ["dispatcher.list"]


def test_no_temporary_files_are_left(cli, creds_spec, tmp_path):
    out = tmp_path / "out"
    assert cli("render", creds_spec, "-o", out)[0] == 0
    assert cli("render", creds_spec, "-o", out)[0] == 0
    assert not [p for p in out.rglob(".*")]


@pytest.mark.parametrize("folder", ['out"x', "out\nloadmodule", "out x", "out$x", "out#x"])
def test_an_output_folder_that_cannot_be_a_config_path_is_refused(cli, creds_spec, tmp_path, folder):
    code, _, err = cli("render", creds_spec, "-o", tmp_path / folder)
    assert code == 2, err
    assert "prefix" in err and "\n" not in err.strip().splitlines()[0]
    assert not (tmp_path / folder).exists()


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "large", "not-utf8", "newline-inside"])
def test_a_password_file_that_is_not_a_password_is_refused(cli, tmp_path, kind):
    data = spec()
    data["carriers"][0]["trunks"][0]["credentials"] = {"username": "acme", "password": {"file": "pw"}}
    spec_path = write_spec(data, tmp_path / "topology.yaml")
    pw = tmp_path / "pw"
    if kind == "fifo":
        os.mkfifo(pw)  # nobody writes: reading it would hang
    elif kind == "dev-zero":
        pw.symlink_to("/dev/zero")
    elif kind == "large":
        pw.write_text("a" * 100_000)
    elif kind == "not-utf8":
        pw.write_bytes(b"\xff\xfe")
    else:
        pw.write_text('pw")\nloadmodule "exec.so"\n')
    code, _, err = cli("render", spec_path, "-o", tmp_path / "out")
    assert code == 2, err
    assert "password" in err and "exec.so" not in err
    assert not (tmp_path / "out" / "sbc-1" / "etc" / "credentials.cfg").exists()
