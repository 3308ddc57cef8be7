"""Output helpers: docker-style tables and a subset of Go templates for ``--format``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import click

from dockyard.cli.gotemplate import TemplateError
from dockyard.cli.gotemplate_eval import Template

# docker's messages for a template that fails to parse / to execute (``ps`` has its own)
TEMPLATE_ERRORS = ("template parsing error", "template parsing error")
PS_TEMPLATE_ERRORS = ("failed to parse template", "failed to execute template")


class TemplateFailed(click.exceptions.Exit):
    """A template failed to parse or execute: the message is on stderr already."""

    def __init__(self, message: str, code: int) -> None:
        click.echo(message, err=True)
        super().__init__(code)


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], min_width: int = 10
) -> None:
    """Columns as docker's tabwriter pads them: widest cell + 3, at least ``min_width``."""
    columns = max(len(row) for row in [headers, *rows])
    widths = [0] * columns
    for row in [headers, *rows]:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell) + 3, min_width)
    for row in [list(headers), *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        click.echo(("".join(cells) + row[-1]).rstrip())


def _show(value: Any) -> str:
    from dockyard.cli.gotemplate_funcs import go_value

    return go_value(value)


def compile_template(
    template: str, type_name: str | None = None, errors: tuple[str, str] = TEMPLATE_ERRORS
) -> Template:
    """Parse a ``--format`` template; a parse error exits 1 as docker's formatters do."""
    try:
        return Template(template, type_name)
    except TemplateError as exc:
        raise TemplateFailed(f"{errors[0]}: {exc}", 1) from exc


def render_template(template: str, data: Any, type_name: str | None = None) -> str:
    """Execute a Go template on ``data`` (see ``gotemplate``); raises TemplateError."""
    return Template(template, type_name).execute(data)


def execute_template(
    template: Template, data: Any, errors: tuple[str, str] = TEMPLATE_ERRORS
) -> str:
    """Execute; a failure exits 1 with docker's message."""
    try:
        return template.execute(data)
    except TemplateError as exc:
        raise TemplateFailed(f"{errors[1]}: {exc}", 1) from exc


def print_formatted(
    fmt: str,
    items: Sequence[Mapping[str, Any]],
    headers: Mapping[str, str],
    type_name: str | None = None,
    errors: tuple[str, str] = TEMPLATE_ERRORS,
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
        compiled = compile_template(_unescape(template), type_name, errors)
        names = {key for item in items for key in item} | set(headers)
        header_data = {key: headers.get(key, key.upper()) for key in names}
        header_row = execute_template(compiled, header_data, errors).split("\t")
        rows = [execute_template(compiled, item, errors).split("\t") for item in items]
        print_table(header_row, rows)
        return
    compiled = compile_template(_unescape(fmt), type_name, errors)
    lines = [execute_template(compiled, item, errors) for item in items]
    for line in lines:
        click.echo(line)


def _unescape(template: str) -> str:
    """docker's formatters read a literal ``\\t`` / ``\\n`` in a format as tab / newline."""
    return template.replace("\\t", "\t").replace("\\n", "\n")
