"""Go values for templates: how ``fmt`` prints them, truth, and the template functions
(Go's builtins and docker's additions: json, join, split, upper, lower, title, pad,
truncate)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any


class _Missing:
    """Go's invalid reflect.Value: what a missing map key yields; prints ``<no value>``."""

    def __repr__(self) -> str:
        return "<no value>"


MISSING: Any = _Missing()


class NilList(list[Any]):
    """A nil Go slice: ranges and prints as ``[]``, but ``json`` gives ``null``."""


class NilMap(dict[str, Any]):
    """A nil Go map: prints as ``map[]``, but ``json`` gives ``null``."""


class CallError(Exception):
    """A function failed; the evaluator prefixes ``error calling NAME:``."""


def go_float(number: float) -> str:
    """Go's ``%v`` of a float64 (strconv 'g', shortest: exponent form below -4 or from 6)."""
    if math.isnan(number):
        return "NaN"
    if number in (float("inf"), float("-inf")):
        return "+Inf" if number > 0 else "-Inf"
    if number == 0:
        return "-0" if str(number).startswith("-") else "0"
    sign, digits, exponent = Decimal(repr(number)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    exp = len(text) + exponent - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp < 0:
        return f"{prefix}0.{'0' * (-exp - 1)}{text}"
    if exp + 1 >= len(text):
        return prefix + text + "0" * (exp + 1 - len(text))
    return f"{prefix}{text[: exp + 1]}.{text[exp + 1 :]}"


def go_value(value: Any, top: bool = True) -> str:
    """``fmt.Sprint`` of a JSON value as Go holds it (``[a b]``, ``map[k:v]``, ``true``)."""
    if value is MISSING:
        return "<no value>"
    if value is None:
        return "<no value>" if top else "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, list):
        return "[" + " ".join(go_value(v, False) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_value(value[k], False)}" for k in sorted(value)) + "]"
    return str(value)


def go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return "<nil>"


def truth(value: Any) -> bool:
    """Go template truth: false, 0, nil and empty strings, slices and maps are false."""
    if value is None or value is MISSING:
        return False
    return bool(value)


def go_quote(text: str) -> str:
    """strconv.Quote."""
    escapes = {
        "\a": "\\a",
        "\b": "\\b",
        "\f": "\\f",
        "\n": "\\n",
        "\r": "\\r",
        "\t": "\\t",
        "\v": "\\v",
        "\\": "\\\\",
        '"': '\\"',
    }
    out = []
    for ch in text:
        if ch in escapes:
            out.append(escapes[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


_VERB_RE = re.compile(r"%([-+# 0]*)(\d+)?(?:\.(\d+))?(.)?", re.DOTALL)


def _bad(verb: str, arg: Any) -> str:
    return f"%!{verb}(<nil>)" if arg is None else f"%!{verb}({go_type(arg)}={go_value(arg)})"


def _verb(verb: str, arg: Any, precision: str | None) -> str:
    is_int = isinstance(arg, int) and not isinstance(arg, bool)
    if verb == "v":
        return "<nil>" if arg is None else go_value(arg)
    if verb == "s" and isinstance(arg, (str, list)):
        return arg if isinstance(arg, str) else go_value(arg)
    if verb == "q" and isinstance(arg, str):
        return go_quote(arg)
    if verb == "d" and is_int:
        return str(arg)
    if verb == "t" and isinstance(arg, bool):
        return go_value(arg)
    if verb in "xX" and (is_int or isinstance(arg, str)):
        text = format(arg, "x") if is_int else arg.encode().hex()
        return text.upper() if verb == "X" else text
    if verb in "feg" and isinstance(arg, float):
        return format(arg, f".{precision or 6}{verb}")
    return _bad(verb, arg)


def printf(fmt: str, *args: Any) -> str:
    """fmt.Sprintf for the verbs templates use: %v %s %q %d %t %x %f %e %g and %%."""
    queue = list(args)
    used = 0

    def one(match: re.Match[str]) -> str:
        nonlocal used
        flags, width, precision, verb = match.groups()
        if verb is None:
            return "%!(NOVERB)"
        if verb == "%":
            return "%"
        if used >= len(queue):
            return f"%!{verb}(MISSING)"
        text = _verb(verb, queue[used], precision)
        used += 1
        if width and len(text) < int(width):
            pad = int(width) - len(text)
            if "-" in flags:
                return text + " " * pad
            return ("0" if "0" in flags else " ") * pad + text
        return text

    out = _VERB_RE.sub(one, fmt)
    if used < len(queue):
        out += "%!(EXTRA " + ", ".join(f"{go_type(a)}={go_value(a)}" for a in queue[used:]) + ")"
    return out


def _sprint(*args: Any) -> str:
    out = ""
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out += " "
        out += go_value(arg, False)
    return out


def _json(value: Any) -> str:
    if isinstance(value, (NilList, NilMap)) or value is MISSING:
        value = None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _index(item: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(item, list) and isinstance(key, int) and not isinstance(key, bool):
            if not 0 <= key < len(item):
                raise CallError(f"index out of range: {key}")
            item = item[key]
        elif isinstance(item, dict) and isinstance(key, str):
            if key in item:
                item = item[key]
            else:
                strings = all(isinstance(v, str) for v in item.values())
                item = "" if strings else MISSING
        elif item is None or item is MISSING:
            raise CallError("index of untyped nil")
        else:
            raise CallError(f"can't index item of type {go_type(item)}")
    return item


def _len(item: Any) -> int:
    if isinstance(item, (str, list, dict)):
        return len(item)
    raise CallError(f"len of type {go_type(item)}" if item is not None else "len of nil pointer")


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise CallError(f"wrong type for value; expected string; got {go_type(value)}")
    return value


def _title(text: Any) -> str:
    out, previous = [], " "
    for ch in _string(text):
        separator = not (previous.isalnum() or previous == "_")
        out.append(ch.upper() if separator else ch)
        previous = ch
    return "".join(out)


def _compare(op: Callable[[Any, Any], bool]) -> Callable[..., bool]:
    def compare(left: Any, *rights: Any) -> bool:
        try:
            return all(op(left, right) for right in rights) if rights else op(left, left)
        except TypeError as exc:
            raise CallError("incompatible types for comparison") from exc

    return compare


def _and(*args: Any) -> Any:
    return next((a for a in args if not truth(a)), args[-1])


def _or(*args: Any) -> Any:
    return next((a for a in args if truth(a)), args[-1])


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "json": _json,
    "len": _len,
    "index": _index,
    "join": lambda items, sep: _string(sep).join(go_value(i, False) for i in items or []),
    "split": lambda text, sep: _string(text).split(_string(sep)) if sep else list(text),
    "upper": lambda text: _string(text).upper(),
    "lower": lambda text: _string(text).lower(),
    "title": _title,
    "pad": lambda text, left, right: " " * left + _string(text) + " " * right,
    "truncate": lambda text, length: _string(text)[:length],
    "printf": printf,
    "print": _sprint,
    "println": lambda *args: " ".join(go_value(a, False) for a in args) + "\n",
    "not": lambda value: not truth(value),
    "and": _and,
    "or": _or,
    "eq": lambda left, *rights: any(left == r for r in rights),
    "ne": lambda left, right: left != right,
    "lt": _compare(lambda a, b: a < b),
    "le": _compare(lambda a, b: a <= b),
    "gt": _compare(lambda a, b: a > b),
    "ge": _compare(lambda a, b: a >= b),
}
