"""Go text/template subset: expected outputs and errors taken from docker 20.10 (CLI 28)
on the same data (``docker image inspect -f``, ``docker container inspect -f``)."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.cli.gotemplate_eval import render
from dockyard.cli.gotemplate_funcs import go_float
from dockyard.cli.gotemplate_nodes import TemplateError
from dockyard.engine.container_list import command_line, ellipsis, go_quote
from dockyard.runtime.logs import fixed_nano

IMAGE: dict[str, Any] = {
    "Id": "sha256:1196b677",
    "RepoTags": ["busybox:cmpfmt"],
    "RepoDigests": [],
    "Size": 1984241,
    "Config": {"Env": None, "Cmd": None, "Volumes": None, "Labels": None, "Tty": False},
    "RootFS": {"Type": "layers", "Layers": ["sha256:7a13"]},
}
CONTAINER: dict[str, Any] = {
    "Name": "/fmtc5",
    "Args": [],
    "State": {"Status": "exited", "Running": False, "ExitCode": 0},
    "Mounts": [{"Type": "volume", "Name": "fmtvol", "Source": "/v/_data", "RW": True}],
    "Config": {"Labels": {"a": "b"}, "Cmd": ["true"], "ExposedPorts": None},
    "HostConfig": {"Binds": ["fmtvol:/data"], "Dns": None},
}

CASES = [
    (IMAGE, "{{.Config.Labels}}", "map[]"),
    (IMAGE, "{{.Config.Env}}", "[]"),
    (IMAGE, "{{.Config.Volumes}}", "map[]"),
    (IMAGE, "{{json .Config.Labels}}", "null"),
    (IMAGE, "{{.Size}}", "1984241"),
    (IMAGE, "{{.Config.Tty}}", "false"),
    (IMAGE, "{{len .RootFS.Layers}}", "1"),
    (IMAGE, "{{range .RepoTags}}[{{.}}]{{end}}", "[busybox:cmpfmt]"),
    (IMAGE, "{{ .Id | upper }}", "SHA256:1196B677"),
    (IMAGE, '{{title "hello world"}}', "Hello World"),
    (IMAGE, '{{title "hello-world foo_bar"}}', "Hello-World Foo_bar"),
    (IMAGE, '{{split "a,b" ","}}', "[a b]"),
    (IMAGE, '{{println "x"}}', "x\n"),
    (IMAGE, '{{.Config.Labels.zz}}|{{index .Config.Labels "zz"}}', "<no value>|"),
    (
        IMAGE,
        '{{printf "%d|%s|%v|%q|%t|%5s|%-4d|" 3 "x" 1.5 "a\\"b" true "ab" 7}}'
        '{{printf "%d" "s"}}{{printf "%s"}}{{printf "%s" 1 2}}',
        '3|x|1.5|"a\\"b"|true|   ab|7   |%!d(string=s)%!s(MISSING)%!s(int=1)%!(EXTRA int=2)',
    ),
    (
        IMAGE,
        '{{print 1 2 "a" "b" 3}}|{{1.0}} {{1e6}} {{0.00001}} {{123456.0}} {{1234567.5}} {{3.25}}',
        "1 2ab3|1 1e+06 1e-05 123456 1.2345675e+06 3.25",
    ),
    (IMAGE, '{{ 3 }}|{{-3}}|{{"a"}}  {{- "b" -}}  x', "3|-3|abx"),
    (CONTAINER, "{{(index .Mounts 0).Source}}", "/v/_data"),
    (CONTAINER, "{{.HostConfig.Binds}}", "[fmtvol:/data]"),
    (CONTAINER, "{{.HostConfig.Dns}}", "[]"),
    (CONTAINER, "{{.Config.Labels}}", "map[a:b]"),
    (CONTAINER, "{{.Config.ExposedPorts}}", "map[]"),
    (CONTAINER, "{{.Config.Cmd}}", "[true]"),
    (CONTAINER, "{{.Args}}", "[]"),
    (CONTAINER, '{{index .Config.Labels "zz"}}|{{index .Config.Labels "a"}}', "|b"),
    (CONTAINER, "{{.Config.Labels.a}}|{{.Config.Labels.zz}}", "b|<no value>"),
    (CONTAINER, "{{.Mounts}}", "[map[Name:fmtvol RW:true Source:/v/_data Type:volume]]"),
    # Go semantics beyond what was compared above
    (CONTAINER, '{{if eq .State.Status "exited"}}down{{else}}up{{end}}', "down"),
    (CONTAINER, "{{if .State.Running}}up{{else if .Args}}args{{else}}none{{end}}", "none"),
    (CONTAINER, "{{with .Mounts}}{{len .}}{{end}}{{with .Args}}x{{else}}-{{end}}", "1-"),
    (
        CONTAINER,
        "{{range $i, $m := .Mounts}}{{$i}}:{{$m.Name}} {{$.Name}}{{end}}",
        "0:fmtvol /fmtc5",
    ),
    (CONTAINER, "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", "a=b;"),
    (CONTAINER, "{{range .Args}}x{{else}}empty{{end}}", "empty"),
    (CONTAINER, "{{$n := .Name}}{{$n | lower}}", "/fmtc5"),
    (CONTAINER, '{{join .HostConfig.Binds ", "}}', "fmtvol:/data"),
    (CONTAINER, "{{json .State}}", '{"Status":"exited","Running":false,"ExitCode":0}'),
    (CONTAINER, "{{/* a comment */}}x{{.State.ExitCode}}", "x0"),
    (CONTAINER, "a\n  {{- .Name -}}\n  b", "a/fmtc5b"),
    (
        CONTAINER,
        "{{.}}",
        "map[Args:[] Config:map[Cmd:[true] ExposedPorts:<nil> Labels:map[a:b]] "
        "HostConfig:map[Binds:[fmtvol:/data] Dns:<nil>] Mounts:[map[Name:fmtvol RW:true "
        "Source:/v/_data Type:volume]] Name:/fmtc5 State:map[ExitCode:0 Running:false "
        "Status:exited]]",
    ),
    (
        CONTAINER,
        "{{not .State.Running}} {{and 1 0}} {{or 0 2}} {{lt 1 2}} {{ne 1 1}}",
        "true 0 2 true false",
    ),
    (CONTAINER, '{{pad "a" 1 2}}|{{truncate "abcdef" 3}}', " a  |abc"),
]


@pytest.mark.parametrize(("data", "template", "expected"), CASES)
def test_render(data: dict[str, Any], template: str, expected: str) -> None:
    assert render(template, data) == expected


ERRORS = [
    (
        "{{.Nope}}",
        'template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"',
        False,
    ),
    (
        "{{.Config.Nope}}",
        'template: :1:9: executing "" at <.Config.Nope>: map has no entry for key "Nope"',
        False,
    ),
    (
        "{{index .RepoTags 5}}",
        'template: :1:2: executing "" at <index .RepoTags 5>: '
        "error calling index: index out of range: 5",
        False,
    ),
    (
        "{{.Id.Foo}}",
        'template: :1:5: executing "" at <.Id.Foo>: can\'t evaluate field Foo in type string',
        False,
    ),
    ("{{.Unclosed", "template: :1: unclosed action", True),
    ("{{.", 'template: :1: illegal number syntax: "."', True),
    ("{{end}}", "template: :1: unexpected {{end}}", True),
    ("{{if}}x{{end}}", "template: :1: missing value for if", True),
    ("{{range .RepoTags}}", "template: :1: unexpected EOF", True),
    ("{{nofunc .Id}}", 'template: :1: function "nofunc" not defined', True),
    (
        "x\n{{.Nope}}",
        'template: :2:2: executing "" at <.Nope>: map has no entry for key "Nope"',
        False,
    ),
]


@pytest.mark.parametrize(("template", "message", "is_parse"), ERRORS)
def test_errors(template: str, message: str, is_parse: bool) -> None:
    with pytest.raises(TemplateError) as caught:
        render(template, IMAGE)
    assert str(caught.value) == message
    assert caught.value.parse is is_parse


def test_struct_type_name_for_formatter_contexts() -> None:
    with pytest.raises(TemplateError) as caught:
        render("{{.Nope}}", {"ID": "x"}, "*formatter.ContainerContext")
    assert str(caught.value) == (
        'template: :1:2: executing "" at <.Nope>: '
        "can't evaluate field Nope in type *formatter.ContainerContext"
    )


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1.0, "1"),
        (1e6, "1e+06"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (123456.0, "123456"),
        (1234567.5, "1.2345675e+06"),
        (3.25, "3.25"),
        (-2.5, "-2.5"),
        (1e21, "1e+21"),
    ],
)
def test_go_float(number: float, text: str) -> None:
    assert go_float(number) == text


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["sh", "-c", "exit 3"], "\"sh -c 'exit 3'\""),
        (["echo", "hello world this is long"], '"echo \'hello world t…"'),
        (["echo", "it's", "", "a\tb", 'x"y'], '"echo it\'s  a\\tb x\\"y"'),
        (["sh", "-c", 'echo "a b"'], '"sh -c \'echo \\"a b\\"\'"'),
    ],
)
def test_ps_command_as_docker(argv: list[str], shown: str) -> None:
    assert go_quote(ellipsis(command_line(argv), 20)) == shown


@pytest.mark.parametrize(
    ("stamp", "fixed"),
    [
        ("2026-11-28T01:02:03.01234567Z", "2026-11-28T01:02:03.012345670Z"),
        ("2026-11-28T01:02:03Z", "2026-11-28T01:02:03.000000000Z"),
        ("2026-11-28T01:02:03.328084182Z", "2026-11-28T01:02:03.328084182Z"),
    ],
)
def test_logs_timestamps_have_nine_digits(stamp: str, fixed: str) -> None:
    assert fixed_nano(stamp) == fixed
