"""Output formats and the JSON emitter shared by every command and view."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Any


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


def warn(message: str) -> None:
    """Progress, warnings and logs go to stderr so stdout stays parseable."""
    from voxops.text.safe_text import visible

    print(f"voxops: warning: {visible(message)}", file=sys.stderr)
