"""Executing parsed Go templates (``gotemplate``) on JSON-shaped data, printing as Go.

docker evaluates ``inspect`` templates on its Go structs, so a nil slice prints ``[]``
and a nil map ``map[]`` while ``json`` gives ``null``; our data is plain JSON, so the
field names known to be slices or maps (``_LIST_FIELDS``, ``_MAP_FIELDS``) stand in for
the Go types. A missing key of any other object is docker's raw-fallback error
(``map has no entry for key``), or ``can't evaluate field`` when ``type_name`` names
the formatter's struct (``ps``, ``images``, ``volume inspect`` ...).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dockyard.cli import gotemplate_funcs as funcs
from dockyard.cli.gotemplate import parse
from dockyard.cli.gotemplate_funcs import MISSING, CallError, NilList, NilMap, go_value, truth
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

_LIST_FIELDS = frozenset(
    [
        "Env",
        "Cmd",
        "Entrypoint",
        "OnBuild",
        "Shell",
        "RepoTags",
        "RepoDigests",
        "Layers",
        "Mounts",
        "Binds",
        "Dns",
        "DnsOptions",
        "DnsSearch",
        "ExtraHosts",
        "CapAdd",
        "CapDrop",
        "Args",
        "Links",
        "VolumesFrom",
        "SecurityOpt",
        "GroupAdd",
        "Devices",
        "DeviceRequests",
        "Aliases",
        "Ulimits",
        "ConsoleSize",
        "DeviceCgroupRules",
    ]
)
_MAP_FIELDS = frozenset(
    [
        "Labels",
        "Volumes",
        "ExposedPorts",
        "Options",
        "Status",
        "Ports",
        "Networks",
        "PortBindings",
        "Data",
        "Sysctls",
        "StorageOpt",
        "Tmpfs",
        "DriverOpts",
        "Annotations",
    ]
)
_NO_FINAL = object()


class Template:
    """A parsed template; ``execute`` may be called once per item."""

    def __init__(self, source: str, type_name: str | None = None) -> None:
        self.source = source
        self.type_name = type_name
        self.nodes = parse(source, frozenset(funcs.FUNCTIONS))

    def execute(self, data: Any) -> str:
        state = _State(self, data)
        state.walk(self.nodes, data)
        return "".join(state.out)


def render(source: str, data: Any, type_name: str | None = None) -> str:
    return Template(source, type_name).execute(data)


class _State:
    def __init__(self, template: Template, root: Any) -> None:
        self.template = template
        self.out: list[str] = []
        self.scopes: list[dict[str, Any]] = [{"$": root}]

    def error(self, node: Node, message: str) -> TemplateError:
        source = self.template.source
        line_start = source.rfind("\n", 0, node.pos) + 1
        line = source.count("\n", 0, node.pos) + 1
        shown = f"({node})" if isinstance(node, Pipe) else str(node)
        return TemplateError(
            f'template: :{line}:{node.pos - line_start}: executing "" at <{shown}>: {message}'
        )

    def walk(self, nodes: list[Node], dot: Any) -> None:
        for node in nodes:
            if isinstance(node, Text):
                self.out.append(node.text)
            elif isinstance(node, Action):
                value = self.pipe(node.pipe, dot)
                if not node.pipe.decl:
                    self.out.append(go_value(value))
            elif isinstance(node, Branch):
                self.branch(node, dot)

    def branch(self, node: Branch, dot: Any) -> None:
        self.scopes.append({})
        try:
            if node.kind == "range":
                self.range(node, dot)
                return
            value = self.pipe(node.pipe, dot, declare=node.kind != "range")
            if truth(value):
                self.walk(node.body, value if node.kind == "with" else dot)
            else:
                self.walk(node.otherwise, dot)
        finally:
            self.scopes.pop()

    def range(self, node: Branch, dot: Any) -> None:
        value = self.pipe(node.pipe, dot, declare=False)
        for key, element in self._iterate(node, value):
            names = node.pipe.decl
            if len(names) == 1:
                self.scopes[-1][names[0]] = element
            elif len(names) == 2:
                self.scopes[-1].update({names[0]: key, names[1]: element})
            self.walk(node.body, element)
        if not truth(value):
            self.walk(node.otherwise, dot)

    def _iterate(self, node: Branch, value: Any) -> Iterator[tuple[Any, Any]]:
        if isinstance(value, dict):
            return ((k, value[k]) for k in sorted(value))
        if isinstance(value, list):
            return iter(enumerate(value))
        if isinstance(value, int) and not isinstance(value, bool):
            return ((i, i) for i in range(value))
        if value is None or value is MISSING:
            return iter(())
        raise self.error(node.pipe, f"range can't iterate over {go_value(value)}")

    def pipe(self, pipe: Pipe, dot: Any, declare: bool = True) -> Any:
        value: Any = _NO_FINAL
        for command in pipe.commands:
            value = self.command(command, dot, value)
        if declare and pipe.decl:
            self.scopes[-1][pipe.decl[0]] = value
        return value

    def command(self, command: Command, dot: Any, final: Any) -> Any:
        head, *rest = command.args
        if isinstance(head, Ident):
            args = [self.arg(a, dot) for a in rest]
            if final is not _NO_FINAL:
                args.append(final)
            return self.call(command, head.name, args)
        if rest or final is not _NO_FINAL:
            raise self.error(command, f"can't give argument to non-function {head}")
        return self.arg(head, dot)

    def call(self, command: Command, name: str, args: list[Any]) -> Any:
        try:
            return funcs.FUNCTIONS[name](*args)
        except TypeError as exc:
            raise self.error(command, f"wrong number of args for {name}: {exc}") from exc
        except CallError as exc:
            raise self.error(command, f"error calling {name}: {exc}") from exc

    def arg(self, node: Node, dot: Any) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Dot):
            return dot
        if isinstance(node, Pipe):
            return self.pipe(node, dot, declare=False)
        if isinstance(node, Ident):
            return self.call(Command(node.pos, [node]), node.name, [])
        if isinstance(node, FieldRef):
            return self.field(node, dot)
        raise self.error(node, "unexpected node")

    def field(self, node: FieldRef, dot: Any) -> Any:
        if node.variable is not None:
            value = self.variable(node)
        elif node.base is not None:
            value = self.arg(node.base, dot)
        else:
            value = dot
        parent = ""
        for index, name in enumerate(node.names):
            struct = index == 0 and node.base is None and node.variable in (None, "$")
            value = self.member(node, value, name, parent, struct)
            parent = name
        return value

    def variable(self, node: FieldRef) -> Any:
        for scope in reversed(self.scopes):
            if node.variable in scope:
                return scope[node.variable]
        raise self.error(node, f"undefined variable: {node.variable}")

    def member(self, node: FieldRef, value: Any, name: str, parent: str, struct: bool) -> Any:
        if isinstance(value, dict) and name in value:
            found = value[name]
            if found is None:
                return (
                    NilList() if name in _LIST_FIELDS else NilMap() if name in _MAP_FIELDS else None
                )
            return found
        if parent in _MAP_FIELDS and (isinstance(value, dict) or value is None):
            return MISSING  # a Go map: a missing key is the zero Value
        if isinstance(value, dict):
            type_name = self.template.type_name
            if struct and type_name:
                raise self.error(node, f"can't evaluate field {name} in type {type_name}")
            raise self.error(node, f'map has no entry for key "{name}"')
        if value is None or value is MISSING:
            raise self.error(node, f"nil pointer evaluating interface {{}}.{name}")
        raise self.error(node, f"can't evaluate field {name} in type {funcs.go_type(value)}")
