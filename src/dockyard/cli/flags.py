"""docker's flag syntax (spf13/pflag, as its cobra commands use it) for the commands on
the hot path: ``run``, ``create``, ``exec`` and ``commit``.

click cannot say some of what pflag says (``--privileged=true``, ``-m="msg"`` as
``msg``, ``-p=false``), and importing it costs a ``run`` about 30 ms of its ~125 ms.
These commands are parsed here alone and never import click; their errors read as
docker's and exit 125, their ``--help`` is docker's layout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from dockyard.errors import UsageError

Values = dict[str, Any]
_HELP = "\0help"  # not a dest any flag can have
# "rational": docker's --cpus (opts.NanoCPUs: a big.Rat, so "0.5" or "1/2").
Kind = Literal["bool", "string", "list", "int", "float", "rational"]
# What pflag prints after a flag's name in --help, by kind.
_TYPE_NAMES = {"bool": "", "string": "string", "list": "list", "int": "int", "float": "decimal",
               "rational": "decimal"}  # fmt: skip
_INT64 = 1 << 63
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})  # strconv.ParseBool
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


class Flag:
    """One flag: ``--long`` (and aliases), maybe ``-s``, and what value it takes."""

    __slots__ = ("aliases", "default", "dest", "help", "kind", "long", "short", "type_name")

    def __init__(
        self,
        long: str,
        short: str = "",
        kind: Kind = "string",
        help: str = "",
        *,
        dest: str = "",
        default: object = None,
        aliases: tuple[str, ...] = (),
        type_name: str = "",
    ) -> None:
        self.long = long
        self.short = short
        self.kind = kind
        self.help = help
        self.dest = dest or long.replace("-", "_")
        self.default = default
        self.aliases = aliases
        self.type_name = type_name or _TYPE_NAMES[kind]

    def initial(self) -> object:
        if self.kind == "list":
            return []
        if self.kind == "bool":
            return bool(self.default)
        return self.default

    def names(self) -> str:
        """``-s, --long`` as pflag names a flag in its messages."""
        return f"-{self.short}, --{self.long}" if self.short else f"--{self.long}"


class Command:
    """A command's flags, usage line and summary; parses its arguments as pflag does."""

    __slots__ = (
        "_long",
        "_short",
        "flags",
        "interspersed",
        "max_args",
        "min_args",
        "name",
        "summary",
        "usage",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        usage: str,
        summary: str,
        flags: Sequence[Flag],
        *,
        interspersed: bool = True,
        min_args: int = 0,
        max_args: int | None = None,
    ) -> None:
        self.name = name
        self.usage = usage
        self.summary = summary
        self.flags = list(flags)
        # docker's `run IMAGE CMD --x` gives --x to CMD: flags stop at the first argument.
        self.interspersed = interspersed
        self.min_args = min_args
        self.max_args = max_args
        self._long = {name: flag for flag in flags for name in (flag.long, *flag.aliases)}
        self._short = {flag.short: flag for flag in flags if flag.short}

    def parse(self, args: Sequence[str]) -> Parsed:
        """The flag values (by ``dest``) and the arguments; raises UsageError."""
        values: dict[str, Any] = {flag.dest: flag.initial() for flag in self.flags}
        positional: list[str] = []
        index = 0
        while index < len(args):
            arg = args[index]
            index += 1
            if arg == "--":
                positional.extend(args[index:])
                break
            if arg == "--help" or arg.startswith("--help="):
                # As cobra: the other flags are still parsed first; --help=false is none.
                values[_HELP] = self._convert(_HELP_FLAG, arg[7:] or "true")
                continue
            if not arg.startswith("-") or arg == "-":
                positional.append(arg)
                if not self.interspersed:
                    positional.extend(args[index:])
                    break
                continue
            if arg.startswith("--"):
                index = self._long_flag(arg, args, index, values)
            else:
                index = self._short_flags(arg, args, index, values)
        if values.pop(_HELP, False):
            return Parsed(values, positional, help=True)
        self._check_count(positional)
        return Parsed(values, positional)

    def parse_or_help(self, args: Sequence[str]) -> Parsed | None:
        """``parse``; None once ``--help`` is printed (the command then exits 0)."""
        parsed = self.parse(args)
        if parsed.help:
            print(self.help_text())
            return None
        return parsed

    def _long_flag(self, arg: str, args: Sequence[str], index: int, values: Values) -> int:
        if arg[2] in "-=":
            raise self._error(f"bad flag syntax: {arg}")
        name, eq, value = arg[2:].partition("=")
        flag = self._long.get(name)
        if flag is None:
            raise self._error(f"unknown flag: --{name}")
        if flag.kind == "bool" and not eq:
            value = "true"
        elif not eq:
            if index >= len(args):
                raise self._error(f"flag needs an argument: --{name}")
            value = args[index]
            index += 1
        self._set(flag, value, values)
        return index

    def _short_flags(self, arg: str, args: Sequence[str], index: int, values: Values) -> int:
        """A cluster such as ``-it``, ``-ePATH=/x``, ``-e=X`` or ``-p=false``."""
        letters = arg[1:]
        position = 0
        while position < len(letters):
            letter = letters[position]
            flag = self._short.get(letter)
            # pflag names the shorthands left, not the whole argument: -itz -> "in -z"
            left = f"-{letters[position:]}"
            if flag is None:
                if letter == "h":  # cobra's own -h, where no flag takes the letter
                    values[_HELP] = True
                    position += 1
                    continue
                raise self._error(f"unknown shorthand flag: {letter!r} in {left}")
            rest = letters[position + 1 :]
            if rest.startswith("=") and len(rest) > 1:  # pflag: -e= is "=", -e=x is "x"
                self._set(flag, rest[1:], values)
                return index
            if flag.kind == "bool":
                self._set(flag, "true", values)
                position += 1
                continue
            if rest:
                self._set(flag, rest, values)
            elif index < len(args):
                self._set(flag, args[index], values)
                index += 1
            else:
                raise self._error(f"flag needs an argument: {letter!r} in {left}")
            return index
        return index

    def _set(self, flag: Flag, text: str, values: dict[str, Any]) -> None:
        if flag.kind == "list":
            values[flag.dest].append(text)
        elif flag.kind == "string":
            values[flag.dest] = text
        else:
            values[flag.dest] = self._convert(flag, text)

    def _convert(self, flag: Flag, text: str) -> object:
        try:
            if flag.kind == "bool":
                if text in _TRUE or text in _FALSE:
                    return text in _TRUE
                raise ValueError("strconv.ParseBool")
            if flag.kind == "int":
                number = _go_int(text)
                if not -_INT64 <= number < _INT64:
                    raise self._error(
                        f'invalid argument "{text}" for "{flag.names()}" flag: '
                        f'strconv.ParseInt: parsing "{text}": value out of range'
                    )
                return number
            if flag.kind == "rational":
                return _rational(text, self._error, flag)
            return float(text)
        except ValueError:
            what = {"bool": "ParseBool", "int": "ParseInt", "float": "ParseFloat"}[flag.kind]
            raise self._error(
                f'invalid argument "{text}" for "{flag.names()}" flag: '
                f'strconv.{what}: parsing "{text}": invalid syntax'
            ) from None

    def _check_count(self, positional: list[str]) -> None:
        count, low, high = len(positional), self.min_args, self.max_args
        if count >= low and (high is None or count <= high):
            return
        # docker/cli's RequiresMinArgs, ExactArgs and RequiresRangeArgs
        if high is None:
            wanted = f"at least {low} argument{'s' if low != 1 else ''}"
        elif high == low:
            wanted = f"exactly {low} argument{'s' if low != 1 else ''}"
        else:
            wanted = f"at least {low} and at most {high} argument{'s' if high != 1 else ''}"
        raise UsageError(
            f'"dockyard {self.name}" requires {wanted}.\n'
            f"See 'dockyard {self.name} --help'.\n\n"
            f"Usage:  dockyard {self.name} {self.usage}\n\n{self.summary}",
            exit_code=1,  # docker's argument checks exit 1; its flag errors 125
        )

    def _error(self, message: str) -> UsageError:
        return UsageError(f"{message}\nSee 'dockyard {self.name} --help'.")

    def help_text(self) -> str:
        """docker's ``--help``: usage, summary, then the flags in a column."""
        rows = []
        for flag in sorted(self.flags, key=lambda f: f.long):
            names = f"-{flag.short}, --{flag.long}" if flag.short else f"    --{flag.long}"
            rows.append((f"  {names} {flag.type_name}".rstrip(), flag.help))
        if "h" not in self._short:
            rows.append(("  -h, --help", "Print usage"))
        width = max(len(left) for left, _ in rows) + 3
        lines = [f"{left.ljust(width)}{text}" for left, text in rows]
        return (f"\nUsage:  dockyard {self.name} {self.usage}\n\n{self.summary}\n\nOptions:\n"
                + "\n".join(lines) + "\n")  # fmt: skip


class Parsed:
    """What ``Command.parse`` found: flag values by ``dest``, the arguments, and whether
    ``--help`` was asked for (then nothing else was checked)."""

    __slots__ = ("args", "help", "values")

    def __init__(self, values: dict[str, Any], args: list[str], help: bool = False) -> None:
        self.values = values
        self.args = args
        self.help = help


_HELP_FLAG = Flag("help", "h", "bool", "Print usage")


def _go_int(text: str) -> int:
    """``strconv.ParseInt(text, 0, 64)``'s syntax: a sign, then 0x / 0o / 0b, a leading 0
    for octal (``010`` is 8), underscores between digits; no spaces, ASCII only."""
    if not text.isascii() or text != text.strip():
        raise ValueError(text)
    body = text[1:] if text[:1] in "+-" else text
    if len(body) > 1 and body[0] == "0" and body[1] not in "xXoObB":
        number = int(body[1:].removeprefix("_"), 8)  # Go's old-style octal
        return -number if text[0] == "-" else number
    return int(text, 0)


def _rational(text: str, error: Callable[[str], UsageError], flag: Flag) -> float:
    """docker's NanoCPUs: a big.Rat (``1.5``, ``3/2``), in whole billionths of a CPU."""
    from fractions import Fraction

    try:
        value = Fraction(text.strip()) if text == text.strip() and text.isascii() else None
    except (ValueError, ZeroDivisionError):
        value = None
    if value is None:
        raise error(f'invalid argument "{text}" for "{flag.names()}" flag: '
                    f"failed to parse {text} as a rational number")  # fmt: skip
    if (value * 10**9).denominator != 1:
        raise error(f'invalid argument "{text}" for "{flag.names()}" flag: '
                    "value is too precise")  # fmt: skip
    return float(value)
