"""A subset of Go's text/template, as docker's ``--format`` evaluates it: the parser.

``parse`` turns ``gotemplate_lexer``'s tokens into ``gotemplate_nodes``, which
``gotemplate_eval`` executes. Supported: ``{{.A.B}}``, ``{{.}}``, ``$``/``$var``,
pipelines with ``|``, ``(...)`` with field chains, string/number/bool/nil literals,
``{{if}}``/``{{else if}}``/``{{else}}``, ``{{range [$i, $e :=] X}}``, ``{{with X}}``,
``{{$x := X}}``, comments and ``{{-``/``-}}`` trimming, with docker's functions (json,
join, split, upper, lower, title, pad, truncate) and Go's builtins (index, len, printf,
print, println, and, or, not, eq ...).
Values print as Go's ``fmt`` prints them (see ``go_value``). Errors carry Go's text.
"""

from __future__ import annotations

import re

from dockyard.cli.gotemplate_lexer import KEYWORDS, Lexer, Token
from dockyard.cli.gotemplate_nodes import (
    Action,
    Branch,
    Command,
    Dot,
    FieldRef,
    Ident,
    Literal,
    Node,
    Pipe,
    TemplateError,
    Text,
)

# The node types are re-exported: the evaluator and the formatters import them from here.
__all__ = [
    "Action",
    "Branch",
    "Command",
    "Dot",
    "FieldRef",
    "Ident",
    "Literal",
    "Node",
    "Pipe",
    "TemplateError",
    "Text",
    "parse",
]


class _Parser:
    def __init__(self, source: str, functions: frozenset[str]) -> None:
        self.functions = functions
        self.lexer = Lexer(source)
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
            elif head.kind == "ident" and head.value in KEYWORDS:
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
