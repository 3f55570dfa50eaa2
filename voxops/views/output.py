"""Output formats and the JSON emitter shared by every command and view."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel


class TextJson(StrEnum):
    text = "text"
    json = "json"


def emit_json(data: Any) -> None:
    """Results go to stdout; JSON is the pydantic model dumped, stable and documented.

    Wire text keeps its value; DEL, C1, bidi and other format characters are written
    as JSON escapes so a terminal showing the JSON is not steered by them.
    """
    from pydantic import BaseModel  # here, not at the top: every command imports this module

    from voxops.text.safe_text import json_output

    if isinstance(data, BaseModel):
        text = data.model_dump_json(indent=2)
    elif isinstance(data, list) and data and isinstance(data[0], BaseModel):
        text = "[\n" + ",\n".join(d.model_dump_json(indent=2) for d in data) + "\n]"
    else:
        text = json.dumps(data, indent=2, default=str)
    sys.stdout.write(json_output(text) + "\n")


def emit_json_rows(rows: Iterable[dict[str, Any]]) -> None:
    """The JSON text `emit_json(list(rows))` writes, written one row at a time so a
    million rows never sit in memory together."""
    from voxops.text.safe_text import json_output

    write = sys.stdout.write
    first = True
    for row in rows:
        item = json.dumps(row, indent=2, default=str).replace("\n", "\n  ")
        write(json_output(("[\n  " if first else ",\n  ") + item))
        first = False
    write("[]\n" if first else "\n]\n")


def emit_json_with_rows(model: BaseModel, field: str, rows: Iterable[BaseModel]) -> None:
    """The text `emit_json(model)` writes when the model's list `field` (left empty in
    `model`) holds `rows`; the rows are written one at a time."""
    from voxops.text.safe_text import json_output

    text = model.model_dump_json(indent=2)
    empty = f'\n  "{field}": []'
    at = text.index(empty)  # a key at the top level: no value in the text holds a bare quote
    write = sys.stdout.write
    write(json_output(text[:at]) + f'\n  "{field}": [')
    first = True
    for row in rows:
        item = row.model_dump_json(indent=2).replace("\n", "\n    ")
        write(json_output(("\n    " if first else ",\n    ") + item))
        first = False
    write(("]" if first else "\n  ]") + json_output(text[at + len(empty):]) + "\n")


def warn(message: str) -> None:
    """Progress, warnings and logs go to stderr so stdout stays parseable."""
    from voxops.text.safe_text import visible

    print(f"voxops: warning: {visible(message)}", file=sys.stderr)
