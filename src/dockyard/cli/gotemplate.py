"""A subset of Go's text/template, as docker's ``--format`` evaluates it: the parser.

``parse`` turns a template into nodes; ``gotemplate_eval`` executes them. Supported:
``{{.A.B}}``, ``{{.}}``, ``$``/``$var``, pipelines with ``|``, ``(...)`` with field
chains, string/number/bool/nil literals, ``{{if}}``/``{{else if}}``/``{{else}}``,
``{{range [$i, $e :=] X}}``, ``{{with X}}``, ``{{$x := X}}``, comments and ``{{-``/``-}}``
trimming, with docker's functions (json, join, split, upper, lower, title, pad,
truncate) and Go's builtins (index, len, printf, print, println, and, or, not, eq ...).
Values print as Go's ``fmt`` prints them (see ``go_value``). Errors carry Go's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


class TemplateError(Exception):
    """Go's error text (``template: :1:2: executing ...``); ``parse`` for a parse error."""

    def __init__(self, message: str, *, parse: bool = False) -> None:
        super().__init__(message)
        self.parse = parse


# ---------------------------------------------------------------- nodes


@dataclass
class Node:
    pos: int


@dataclass
class Text(Node):
    text: str


@dataclass
class Literal(Node):
    value: object
    source: str

    def __str__(self) -> str:
        return self.source


@dataclass
class Dot(Node):
    def __str__(self) -> str:
        return "."


@dataclass
class FieldRef(Node):
    """``.A.B`` (``base`` None: from dot), ``$x.A`` or ``(pipe).A``."""

    names: list[str]
    base: Node | None = None
    variable: str | None = None

    def __str__(self) -> str:
        head = self.variable or (f"({self.base})" if self.base is not None else "")
        return head + "".join("." + n for n in self.names)


@dataclass
class Ident(Node):
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass
class Command(Node):
    args: list[Node]

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, Pipe) else str(a) for a in self.args)


@dataclass
class Pipe(Node):
    commands: list[Command]
    decl: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        head = ", ".join(self.decl) + " := " if self.decl else ""
        return head + " | ".join(str(c) for c in self.commands)


@dataclass
class Action(Node):
    pipe: Pipe


@dataclass
class Branch(Node):
    """``if``, ``with`` or ``range``."""

    kind: str
    pipe: Pipe
    body: list[Node]
    otherwise: list[Node]


# ---------------------------------------------------------------- lexer

_TOKEN_RE = re.compile(
    r"""(?P<space>\s+)
    |(?P<string>"(?:[^"\\\n]|\\.)*")
    |(?P<raw>`[^`]*`)
    |(?P<char>'(?:[^'\\\n]|\\.)*')
    |(?P<number>[+-]?(?:0[xX][0-9a-fA-F_]+|(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))
    |(?P<field>\.[A-Za-z_]\w*)
    |(?P<var>\$\w*)
    |(?P<ident>[A-Za-z_]\w*)
    |(?P<punct>:=|=|\(|\)|\||,|\.)
    """,
    re.VERBOSE,
)
_KEYWORDS = frozenset({"if", "else", "end", "range", "with", "define", "template", "block"})
_TRIM = (" ", "\t", "\r", "\n")


@dataclass
class Token:
    kind: str
    value: str
    pos: int


class _Lexer:
    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, pos: int, message: str) -> TemplateError:
        line = self.source.count("\n", 0, pos) + 1
        return TemplateError(f"template: :{line}: {message}", parse=True)

    def actions(self) -> list[tuple[str, int, list[Token]] | str]:
        """Text pieces (str) and actions (raw text, position, tokens), trimmed as Go trims."""
        out: list[tuple[str, int, list[Token]] | str] = []
        src, pos, trim_next = self.source, 0, False
        while True:
            start = src.find("{{", pos)
            text = src[pos:] if start < 0 else src[pos:start]
            if trim_next:
                text = text.lstrip(" \t\r\n")
            if (
                start >= 0
                and src[start + 2 : start + 3] == "-"
                and src[start + 3 : start + 4] in _TRIM
            ):
                text = text.rstrip(" \t\r\n")
            if text:
                out.append(text)
            if start < 0:
                return out
            inner_start = start + 2
            if (
                src[inner_start : inner_start + 1] == "-"
                and src[inner_start + 1 : inner_start + 2] in _TRIM
            ):
                inner_start += 2
            tokens, end, trim_next = self._tokens(inner_start, start)
            out.append((src[inner_start:end], start, tokens))
            pos = end + len(" -}}") if trim_next else end + 2

    def _tokens(self, pos: int, action_start: int) -> tuple[list[Token], int, bool]:
        src = self.source
        stripped = src[pos:].lstrip()
        if stripped.startswith("/*"):
            close = src.find("*/", pos)
            end = src.find("}}", close) if close >= 0 else -1
            if end < 0:
                raise self.error(action_start, "unclosed comment")
            trim = src[end - 2 : end] == " -"
            return [], end - 2 if trim else end, trim
        tokens: list[Token] = []
        while True:
            if src.startswith(" -}}", pos) or src.startswith("\t-}}", pos):
                return tokens, pos, True
            if src.startswith("}}", pos):
                return tokens, pos, False
            if pos >= len(src):
                raise self.error(action_start, "unclosed action")
            match = _TOKEN_RE.match(src, pos)
            if match is None or (
                match.lastgroup == "punct" and match.group() == "." and pos + 1 >= len(src)
            ):
                raise self.error(
                    pos, f"illegal number syntax: {src[pos : pos + 1]!r}".replace("'", '"')
                )
            kind = match.lastgroup or ""
            if kind != "space":
                tokens.append(Token(kind, match.group(), pos))
            pos = match.end()


# ---------------------------------------------------------------- parser


class _Parser:
    def __init__(self, source: str, functions: frozenset[str]) -> None:
        self.functions = functions
        self.lexer = _Lexer(source)
        self.items = self.lexer.actions()
        self.index = 0

    def error(self, pos: int, message: str) -> TemplateError:
        return self.lexer.error(pos, message)

    def parse_list(self, stops: tuple[str, ...]) -> tuple[list[Node], str, list[Token], int]:
        nodes: list[Node] = []
        while self.index < len(self.items):
            item = self.items[self.index]
            self.index += 1
            if isinstance(item, str):
                nodes.append(Text(0, item))
                continue
            _, pos, tokens = item
            if not tokens:
                continue  # a comment
            head = tokens[0]
            if head.kind == "ident" and head.value in ("end", "else"):
                if head.value not in stops:
                    raise self.error(pos, f"unexpected {{{{{head.value}}}}}")
                return nodes, head.value, tokens[1:], pos
            if head.kind == "ident" and head.value in ("if", "range", "with"):
                nodes.append(self.parse_branch(head.value, tokens[1:], pos))
            elif head.kind == "ident" and head.value in _KEYWORDS:
                raise self.error(pos, f"{{{{{head.value}}}}} is not supported")
            else:
                nodes.append(Action(pos, self.parse_pipe(tokens, pos, "command")))
        if stops:
            raise self.error(len(self.lexer.source), "unexpected EOF")
        return nodes, "", [], 0

    def parse_branch(self, kind: str, tokens: list[Token], pos: int) -> Branch:
        pipe = self.parse_pipe(tokens, pos, kind)
        body, stop, rest, stop_pos = self.parse_list(("end", "else"))
        otherwise: list[Node] = []
        if stop == "else":
            if rest and rest[0].kind == "ident" and rest[0].value in ("if", "with"):
                otherwise = [self.parse_branch(rest[0].value, rest[1:], stop_pos)]
            else:
                otherwise, _, _, _ = self.parse_list(("end",))
        return Branch(pos, kind, pipe, body, otherwise)

    def parse_pipe(self, tokens: list[Token], pos: int, context: str) -> Pipe:
        decl: list[str] = []
        if tokens and tokens[0].kind == "var":
            names = [
                t
                for t in tokens[
                    : next((i for i, t in enumerate(tokens) if t.value in (":=", "=")), 0)
                ]
            ]
            if names and all(t.kind == "var" or t.value == "," for t in names):
                decl = [t.value for t in names if t.kind == "var"]
                tokens = tokens[len(names) + 1 :]
        commands: list[Command] = []
        stream = iter(_split(tokens, "|"))
        for part in stream:
            if not part:
                raise self.error(pos, f"missing value for {context}")
            commands.append(Command(part[0].pos, self.parse_operands(part)))
        if not commands:
            raise self.error(pos, f"missing value for {context}")
        return Pipe(pos, commands, decl)

    def parse_operands(self, tokens: list[Token]) -> list[Node]:
        nodes: list[Node] = []
        i = 0
        while i < len(tokens):
            node, i = self.parse_operand(tokens, i)
            nodes.append(node)
        return nodes

    def parse_operand(self, tokens: list[Token], i: int) -> tuple[Node, int]:
        token = tokens[i]
        node: Node
        if token.value == "(":
            depth, j = 1, i + 1
            while j < len(tokens) and depth:
                depth += {"(": 1, ")": -1}.get(tokens[j].value, 0)
                j += 1
            if depth:
                raise self.error(token.pos, "unclosed left paren")
            node, i = self.parse_pipe(tokens[i + 1 : j - 1], token.pos, "parenthesized pipeline"), j
        else:
            node, i = self.parse_term(token), i + 1
        names: list[str] = []
        first = i
        while (
            i < len(tokens)
            and tokens[i].kind == "field"
            and tokens[i].pos == tokens[i - 1].pos + len(tokens[i - 1].value)
        ):
            names.append(tokens[i].value[1:])
            i += 1
        if names:
            if isinstance(node, FieldRef):
                node.names.extend(names)
                node.pos = tokens[first].pos  # Go places a chain at its second element
            else:
                node = FieldRef(tokens[first].pos, names, base=node)
        return node, i

    def parse_term(self, token: Token) -> Node:
        kind, value, pos = token.kind, token.value, token.pos
        if kind == "field":
            return FieldRef(pos, [value[1:]])
        if kind == "var":
            return FieldRef(pos, [], variable=value)
        if value == ".":
            return Dot(pos)
        if kind in ("string", "raw"):
            text = value[1:-1] if kind == "raw" else _unquote(value)
            return Literal(pos, text, value)
        if kind == "number":
            return Literal(pos, _number(value), value)
        if kind == "char":
            return Literal(pos, ord(_unquote('"' + value[1:-1] + '"')), value)
        if kind == "ident":
            if value in ("true", "false"):
                return Literal(pos, value == "true", value)
            if value == "nil":
                return Literal(pos, None, value)
            if value not in self.functions:
                raise self.error(pos, f'function "{value}" not defined')
            return Ident(pos, value)
        raise self.error(pos, f"unexpected {value!r} in command".replace("'", '"'))


def _split(tokens: list[Token], separator: str) -> list[list[Token]]:
    parts: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        depth += {"(": 1, ")": -1}.get(token.value, 0)
        if token.value == separator and depth == 0:
            parts.append([])
        else:
            parts[-1].append(token)
    return parts if tokens else []


def _unquote(text: str) -> str:
    escapes = {
        "n": "\n",
        "t": "\t",
        "r": "\r",
        '"': '"',
        "\\": "\\",
        "'": "'",
        "a": "\a",
        "b": "\b",
        "f": "\f",
        "v": "\v",
    }
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(0)), text[1:-1])


def _number(text: str) -> int | float:
    cleaned = text.replace("_", "")
    if cleaned.lower().lstrip("+-").startswith("0x"):
        return int(cleaned, 16)
    if any(c in cleaned for c in ".eE"):
        return float(cleaned)
    return int(cleaned)


def parse(source: str, functions: frozenset[str]) -> list[Node]:
    """Parse ``source``; raises TemplateError (``parse=True``) with Go's message."""
    nodes, _, _, _ = _Parser(source, functions).parse_list(())
    return nodes
