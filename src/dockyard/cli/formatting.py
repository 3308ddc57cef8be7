"""Output helpers: docker-style tables and a subset of Go templates for ``--format``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import click

_ACTION_RE = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Columns padded like docker's tabwriter (three spaces between columns)."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    for row in [list(headers), *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        click.echo("   ".join([*cells, row[-1]]).rstrip())


def _lookup(value: Any, path: str) -> Any:
    if path in ("", "."):
        return value
    for part in path.lstrip(".").split("."):
        value = value.get(part) if isinstance(value, Mapping) else getattr(value, part, None)
    return value


def _show(value: Any) -> str:
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = " ".join(f"{k}:{_show(v)}" for k, v in sorted(value.items()))
        return f"map[{inner}]"
    return str(value)


def _evaluate(action: str, data: Any) -> str:
    words = action.split()
    if not words:
        return ""
    if words[0] == "json" and len(words) == 2:
        return json.dumps(_lookup(data, words[1]), separators=(",", ":"))
    if words[0] == "index" and len(words) == 3:
        container = _lookup(data, words[1])
        key: Any = words[2].strip('"')
        if isinstance(container, list):
            key = int(key)
            return _show(container[key] if key < len(container) else None)
        return _show(container.get(key) if isinstance(container, Mapping) else None)
    if words[0] in ("upper", "lower") and len(words) == 2:
        text = _show(_lookup(data, words[1]))
        return text.upper() if words[0] == "upper" else text.lower()
    if len(words) == 1 and words[0].startswith("."):
        return _show(_lookup(data, words[0]))
    raise click.UsageError(f"template: unsupported action {{{{{action}}}}}")


def render_template(template: str, data: Any) -> str:
    """Render ``{{.Field}}``, ``{{.A.B}}``, ``{{json .X}}``, ``{{index .M "k"}}``."""
    text = template.replace("\\t", "\t").replace("\\n", "\n")
    return _ACTION_RE.sub(lambda m: _evaluate(m.group(1), data), text)


def print_formatted(
    fmt: str, items: Sequence[Mapping[str, Any]], headers: Mapping[str, str]
) -> None:
    """``--format``: ``json`` (a JSON object per line), ``table [TEMPLATE]``, or a template."""
    if fmt == "json":
        for item in items:
            click.echo(json.dumps(item, separators=(",", ":")))
        return
    if fmt.startswith("table"):
        template = fmt[len("table") :].strip()
        if not template:
            keys = list(headers)
            rows = [[_show(item.get(k)) for k in keys] for item in items]
            print_table([headers[k] for k in keys], rows)
            return
        fields = _ACTION_RE.findall(template)
        header_row = [headers.get(f.lstrip("."), f.lstrip(".").upper()) for f in fields]
        rows = [render_template(template, item).split("\t") for item in items]
        print_table(
            header_row if "\t" in template.replace("\\t", "\t") else ["  ".join(header_row)], rows
        )
        return
    for item in items:
        click.echo(render_template(fmt, item))
