"""Entry point: builds the typer app and maps every error to its documented exit code."""

from __future__ import annotations

import importlib
import os
import sys

import typer

try:  # newer typer vendors its own click (and raises only its own exceptions)
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - typer before the vendoring: click proper
    from click import ClickException  # type: ignore[assignment,no-redef]

from voxops import __version__
from voxops.errors import ExitCode, VoxopsError
from voxops.output_file import output_error

# Every command module of this package, in the order of the README's "Commands" table
# (typer lists command groups after single commands). Each has register(app); a module
# not listed here adds no command (tests/cli/test_commands.py checks the list).
COMMAND_MODULES = (
    "spec",  # validate, schema, init
    "calls",
    "ladder",
    "export",
    "audio",
    "rtp",
    "diagnose",
    "stats",
    "watch",
    "render",
    "deploy",
    "agent",
    "probe",
    "dns",
    "certs",
    "audit",
    "runbook",
    "lab",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"voxops {__version__}")
        raise typer.Exit(0)


def build_app(modules: tuple[str, ...] = COMMAND_MODULES) -> typer.Typer:
    from voxops.cli.help_style import install

    install()
    app = typer.Typer(
        name="voxops",
        help="Declarative config-and-runbook toolkit for SIP voice-agent telephony.",
        rich_markup_mode="rich",
        no_args_is_help=True,
        context_settings={"help_option_names": ["-h", "--help"]},
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ) -> None:
        """voxops: one topology spec, rendered configs, live checks and call diagnostics."""

    for name in modules:
        module = importlib.import_module(f"voxops.cli.{name}")
        register = getattr(module, "register", None)
        if not callable(register):
            raise ImportError(f"voxops.cli.{name} is listed as a command module but has no register(app)")
        register(app)
    return app


app = build_app()


def _report_unexpected(exc: BaseException) -> int:
    import tempfile
    import traceback

    fd, path = tempfile.mkstemp(prefix="voxops-crash-", suffix=".log")
    with os.fdopen(fd, "w") as fh:
        traceback.print_exception(exc, file=fh)
    from voxops.text.safe_text import visible

    print(f"voxops: unexpected error: {type(exc).__name__}: {visible(exc)} (details in {path})", file=sys.stderr)
    return ExitCode.INTERNAL


def _report_error(exc: VoxopsError) -> int:
    from voxops.text.fit import fit_line, terminal_width
    from voxops.text.safe_text import visible

    # messages may quote a capture, a peer's reply or a file name: never raw control characters
    lines = [f"voxops: error: {visible(exc)}", *(visible(line) for line in exc.details)]
    if exc.hint:
        lines.append(f"  hint: {visible(exc.hint)}")
    if sys.stderr.isatty():  # a terminal: wrapped at spaces here, not mid-word by the terminal
        width = terminal_width(stream=sys.stderr)
        lines = [part for line in lines for part in fit_line(line, width)]
    print("\n".join(lines), file=sys.stderr)
    return int(exc.exit_code)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI in-process and return the exit code (tests call this directly)."""
    try:
        rv = app(args=argv, prog_name="voxops", standalone_mode=False)
    except VoxopsError as exc:
        return _report_error(exc)
    except (KeyboardInterrupt, typer.Abort):
        print("voxops: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except typer.Exit as exc:
        return int(exc.exit_code)
    except ClickException as exc:
        exc.show()
        return ExitCode.INVALID_INPUT
    except BrokenPipeError:
        return ExitCode.OK
    except OSError as exc:
        if exc.filename is None:
            return _report_unexpected(exc)
        # a file the command did not expect to fail on: still the user's path or machine
        return _report_error(output_error(exc.filename, exc, "cannot use"))
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback for users
        return _report_unexpected(exc)
    return int(rv) if isinstance(rv, int) else ExitCode.OK


def run() -> None:
    sys.exit(main())
