"""The parsed form of a Go template: the node types ``gotemplate`` builds and
``gotemplate_eval`` executes, and ``TemplateError``, which both raise with Go's text.
Each node's ``str`` is its source as Go prints it in error messages."""

from __future__ import annotations

from dataclasses import dataclass, field


class TemplateError(Exception):
    """Go's error text (``template: :1:2: executing ...``); ``parse`` for a parse error."""

    def __init__(self, message: str, *, parse: bool = False) -> None:
        super().__init__(message)
        self.parse = parse


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
