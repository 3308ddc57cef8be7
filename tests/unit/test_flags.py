"""docker's flag syntax (pflag) for run, create, exec and commit."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.cli.commit import COMMIT
from dockyard.cli.run import EXEC, RUN
from dockyard.errors import UsageError


def run_flags(*args: str) -> tuple[dict[str, Any], list[str]]:
    parsed = RUN.parse(list(args))
    return parsed.values, parsed.args


@pytest.mark.parametrize(
    ("args", "privileged", "remove", "detach"),
    [
        (["--privileged=true", "img"], True, False, False),
        (["--privileged=false", "img"], False, False, False),
        (["--rm=true", "-d=false", "img"], False, True, False),
        (["--privileged=1", "--rm=T", "-d", "img"], True, True, True),
        (["--rm", "--rm=False", "img"], False, False, False),
    ],
)
def test_boolean_flags_take_docker_true_false_values(
    args: list[str], privileged: bool, remove: bool, detach: bool
) -> None:
    values, positional = run_flags(*args)
    assert (values["privileged"], values["auto_remove"], values["detach"]) == (
        privileged,
        remove,
        detach,
    )
    assert positional == ["img"]


def test_flags_stop_at_the_image_the_rest_is_the_command() -> None:
    values, positional = run_flags("-e", "A=1", "img", "echo", "--privileged=true", "-it")
    assert positional == ["img", "echo", "--privileged=true", "-it"]
    assert values["privileged"] is False and values["tty"] is False
    assert values["env"] == ["A=1"]


def test_short_clusters_and_attached_values() -> None:
    values, positional = run_flags("-itv", "/h:/c", "-eA=1", "-e=B=2", "-e", "C", "img", "sh")
    assert values["interactive"] and values["tty"]
    assert values["volume"] == ["/h:/c"]
    assert values["env"] == ["A=1", "B=2", "C"]
    assert positional == ["img", "sh"]


def test_a_value_is_taken_whole_even_when_it_looks_like_a_flag() -> None:
    values, positional = run_flags("--name", "--privileged=true", "--network=none", "img")
    assert values["name"] == "--privileged=true"
    assert values["network"] == "none"
    assert positional == ["img"]


def test_an_empty_attached_value_is_the_equals_sign_as_in_pflag() -> None:
    values, _ = run_flags("-e=", "-w=/x", "img")
    assert values["env"] == ["="] and values["workdir"] == "/x"


def test_typed_values_and_defaults() -> None:
    values, _ = run_flags("--cpus", "1.5", "--pids-limit=0x10", "-h", "box", "img")
    assert values["cpus"] == 1.5 and values["pids_limit"] == 16
    assert values["hostname"] == "box"  # -h is --hostname for run, as in docker
    assert values["network"] == "default" and values["env"] == [] and values["name"] is None


@pytest.mark.parametrize(
    ("text", "limit"), [("010", 8), ("-010", -8), ("0_10", 8), ("0o10", 8), ("0b11", 3),
                        ("1_000", 1000), ("0", 0), ("-1", -1)],
)  # fmt: skip
def test_integers_read_as_gos_parse_int_with_base_0(text: str, limit: int) -> None:
    values, _ = run_flags("--pids-limit", text, "img")
    assert values["pids_limit"] == limit


@pytest.mark.parametrize(("text", "cpus"), [("1/2", 0.5), ("1.5", 1.5), ("3e-1", 0.3)])
def test_cpus_is_a_rational_as_dockers(text: str, cpus: float) -> None:
    values, _ = run_flags("--cpus", text, "img")
    assert values["cpus"] == cpus


def test_help_false_is_no_help() -> None:
    assert not RUN.parse(["--help=false", "img"]).help
    assert RUN.parse(["--help=true", "img"]).help


def test_double_dash_ends_the_flags() -> None:
    values, positional = run_flags("--rm", "--", "img", "--rm")
    assert values["auto_remove"] is True
    assert positional == ["img", "--rm"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--foo", "img"], "unknown flag: --foo"),
        (["-z", "img"], "unknown shorthand flag: 'z' in -z"),
        (["-itz", "img"], "unknown shorthand flag: 'z' in -z"),  # pflag names what is left
        (["-ie"], "flag needs an argument: 'e' in -e"),
        (["-i=", "img"], "unknown shorthand flag: '=' in -="),
        (["--name"], "flag needs an argument: --name"),
        (["-e"], "flag needs an argument: 'e' in -e"),
        (
            ["--privileged=maybe", "img"],
            'invalid argument "maybe" for "--privileged" flag: strconv.ParseBool: '
            'parsing "maybe": invalid syntax',
        ),
        (
            ["--cpus", "x", "img"],
            'invalid argument "x" for "--cpus" flag: failed to parse x as a rational number',
        ),
        (
            ["--cpus", "nan", "img"],
            'invalid argument "nan" for "--cpus" flag: failed to parse nan as a rational number',
        ),
        (
            ["--cpus=0.0000000001", "img"],
            'invalid argument "0.0000000001" for "--cpus" flag: value is too precise',
        ),
        (
            ["--pids-limit", "08", "img"],
            'invalid argument "08" for "--pids-limit" flag: strconv.ParseInt: '
            'parsing "08": invalid syntax',
        ),
        (
            ["--pids-limit", " 8", "img"],
            'invalid argument " 8" for "--pids-limit" flag: strconv.ParseInt: '
            'parsing " 8": invalid syntax',
        ),
        (
            ["--pids-limit", "9223372036854775808", "img"],
            'invalid argument "9223372036854775808" for "--pids-limit" flag: '
            'strconv.ParseInt: parsing "9223372036854775808": value out of range',
        ),
        (["---rm", "img"], "bad flag syntax: ---rm"),
        (["--=x", "img"], "bad flag syntax: --=x"),
    ],
)
def test_flag_errors_read_as_docker_and_exit_125(args: list[str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        RUN.parse(args)
    assert str(caught.value) == f"{message}\nSee 'dockyard run --help'."
    assert caught.value.exit_code == 125


def test_a_missing_argument_exits_1_with_the_usage() -> None:
    with pytest.raises(UsageError) as caught:
        RUN.parse(["--rm"])
    assert caught.value.exit_code == 1
    assert str(caught.value).startswith('"dockyard run" requires at least 1 argument.\n')
    assert "Usage:  dockyard run [OPTIONS] IMAGE [COMMAND] [ARG...]" in str(caught.value)
    with pytest.raises(UsageError, match="requires at least 2 arguments"):
        EXEC.parse(["ctr"])
    with pytest.raises(UsageError, match="requires at least 1 and at most 2 arguments"):
        COMMIT.parse(["ctr", "repo", "extra"])


def test_help_is_asked_with_help_only_where_h_is_a_flag() -> None:
    assert RUN.parse(["--help", "--rm"]).help
    assert not RUN.parse(["-h", "box", "img"]).help
    assert COMMIT.parse(["-h"]).help
    assert EXEC.parse(["-ih", "ctr"]).help  # cobra's -h, in a cluster too
    with pytest.raises(UsageError, match="unknown flag: --bogus"):
        RUN.parse(["--help", "--bogus"])  # cobra parses every flag before it helps
    text = RUN.help_text()
    assert "Usage:  dockyard run [OPTIONS] IMAGE [COMMAND] [ARG...]" in text
    assert "  -e, --env list" in text and "      --rm " in text
    assert "  -h, --help" not in text  # -h is --hostname
    assert "  -h, --help" in COMMIT.help_text()


def test_commit_flags_strip_the_equals_sign_and_stop_at_the_container() -> None:
    # The walkthrough's `commit -m="add vim" -a="mhk" ID mhk/busybox:1.3`, as the shell
    # passes it; like docker's, commit's flags end at its first argument.
    parsed = COMMIT.parse(["-m=add vim", "-a=mhk", "-p=false", "abc", "mhk/busybox:1.3"])
    assert parsed.args == ["abc", "mhk/busybox:1.3"]
    assert parsed.values["message"] == "add vim" and parsed.values["author"] == "mhk"
    assert parsed.values["pause"] is False
    assert COMMIT.parse(["abc"]).values["pause"] is True
    assert COMMIT.parse(["--no-pause", "abc"]).values["no_pause"] is True
    with pytest.raises(UsageError, match="at most 2 arguments"):
        COMMIT.parse(["abc", "repo", "-m", "late"])
    assert COMMIT.parse(["-c", "ENV A=1", "--change=CMD sh", "abc"]).values["change"] == [
        "ENV A=1",
        "CMD sh",
    ]
