"""docker's ``--flag=true|false`` syntax for boolean flags, which click lacks: a command
class that rewrites such arguments before click parses them."""

from __future__ import annotations

import click


class DockerFlagsCommand(click.Command):
    """Accepts docker's ``--flag=true|false`` for boolean flags (``--privileged=true``).

    Only the options before the first argument (the image) are looked at: what
    follows is the container's command line.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _bool_flag_values(self, args))


_TRUE = {"1", "t", "true", "True", "TRUE"}
_FALSE = {"0", "f", "false", "False", "FALSE"}


def _bool_flag_values(command: click.Command, args: list[str]) -> list[str]:
    options = [p for p in command.params if isinstance(p, click.Option)]
    flags = {name for p in options if p.is_flag for name in p.opts}
    valued = {name for p in options if not p.is_flag for name in p.opts}
    out: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("--", "-") or not arg.startswith("-"):
            break  # the image: the rest is the container's command line
        name, sep, value = arg.partition("=")
        if sep and name in flags and value in _TRUE | _FALSE:
            out.extend([name] if value in _TRUE else [])
        else:
            out.append(arg)
            if _takes_next(arg, valued) and index + 1 < len(args):
                index += 1
                out.append(args[index])
        index += 1
    return out + args[index:]


def _takes_next(arg: str, valued: set[str]) -> bool:
    """Whether the option ``arg`` takes its value from the next argument."""
    if arg.startswith("--"):
        return "=" not in arg and arg in valued
    for position, letter in enumerate(arg[1:], start=1):  # a cluster such as -it or -ePATH
        if f"-{letter}" in valued:
            return position == len(arg) - 1
    return False
