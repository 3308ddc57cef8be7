"""Splitting a Go template into text and actions, and each action into tokens, with
Go's ``{{-``/``-}}`` trimming and comments; the parser (``gotemplate``) reads the result."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockyard.cli.gotemplate_nodes import TemplateError

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
KEYWORDS = frozenset({"if", "else", "end", "range", "with", "define", "template", "block"})
_TRIM = (" ", "\t", "\r", "\n")


@dataclass
class Token:
    kind: str
    value: str
    pos: int


class Lexer:
    """Tokenizes one template source; ``error`` places a parse error on its line."""

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
