"""JSON bodies as distribution writes them: compact, one line, newline-terminated."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def dumps(value: Any) -> str:
    """Go's json.Encoder output: no spaces after separators, and a trailing newline."""
    return json.dumps(value, separators=(",", ":")) + "\n"


def json_response(value: Any, **kwargs: Any) -> web.Response:
    return web.json_response(value, dumps=dumps, **kwargs)
