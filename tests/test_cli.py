from voxops import __version__


def test_version(cli):
    code, out, _ = cli("--version")
    assert code == 0
    assert out.strip() == f"voxops {__version__}"


def test_unknown_command_is_usage_error(cli):
    code, _, err = cli("no-such-command")
    assert code == 2
    assert "No such command" in err
