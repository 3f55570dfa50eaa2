"""`voxops validate`, `voxops schema`, `voxops init`: the topology spec."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from voxops.cli.common import FORMAT_OPTION, TextJson, emit_json
from voxops.errors import ExitCode, InvalidInput


def validate(
    spec: Path = typer.Argument(..., help="Topology spec (YAML file, or a directory holding topology.yaml)."),
    strict: bool = typer.Option(False, "--strict", help="Warnings fail too (exit 1)."),
    check_files: bool = typer.Option(
        False, "--check-files", help="Also require every referenced file (certificates, keys) to exist."
    ),
    fmt: TextJson = FORMAT_OPTION,
) -> int:
    """Check a spec: schema errors with file:line:col, then lint findings (single points of failure, ...)."""
    from voxops.ops.validate import validate_spec
    from voxops.views.findings import print_validation

    report = validate_spec(spec, check_files=check_files)
    if fmt is TextJson.json:
        emit_json(report)
    else:
        print_validation(report)
    if not report.valid:
        return ExitCode.INVALID_INPUT
    return ExitCode.FINDINGS if report.failed(strict) else ExitCode.OK


def schema() -> int:
    """Print the JSON Schema of the spec (point your editor's YAML plugin at it)."""
    from voxops.spec.models import Topology

    sys.stdout.write(json.dumps(Topology.model_json_schema(), indent=2) + "\n")
    return ExitCode.OK


def init(
    path: Path = typer.Argument(Path("topology.yaml"), help="Where to write the example spec ('-': standard output)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> int:
    """Write a commented example spec to start from."""
    from voxops.output_file import check_output, is_stdout, write_atomic
    from voxops.resources import data_dir

    check_output(path)
    if not is_stdout(path) and path.exists() and not force:
        raise InvalidInput(f"{path} exists: pass --force to overwrite it")
    example = (data_dir("templates") / "topology.example.yaml").read_text()
    write_atomic(path, example)
    if not is_stdout(path):
        print(f"wrote {path}: edit it, then run `voxops validate {path}`", file=sys.stderr)
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(schema)
    app.command()(init)
