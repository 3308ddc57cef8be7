"""The click group: every command but those ``flags`` parses (``main.FLAG_COMMANDS``), which
it only lists and hands their arguments untouched. A command's module is imported only
when that command runs."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

import click

from dockyard.cli.flags import Command
from dockyard.cli.main import FLAG_COMMANDS

# command name -> "module:attribute"; modules are imported only when the command runs.
COMMANDS: dict[str, str] = {
    "images": "dockyard.cli.images:images",
    "image": "dockyard.cli.images:image_group",
    "import": "dockyard.cli.images:import_",
    "tag": "dockyard.cli.images:tag",
    "rmi": "dockyard.cli.images:rmi",
    "history": "dockyard.cli.images:history",
    "inspect": "dockyard.cli.inspect:inspect",
    "save": "dockyard.cli.archive:save",
    "load": "dockyard.cli.archive:load",
    "system": "dockyard.cli.system:system",
    "registry": "dockyard.cli.registry:registry",
    "pull": "dockyard.cli.distribution:pull",
    "push": "dockyard.cli.distribution:push",
    "login": "dockyard.cli.distribution:login",
    "logout": "dockyard.cli.distribution:logout",
    "start": "dockyard.cli.start:start",
    "attach": "dockyard.cli.start:attach",
    "ps": "dockyard.cli.containers:ps",
    "stop": "dockyard.cli.containers:stop",
    "kill": "dockyard.cli.containers:kill",
    "restart": "dockyard.cli.containers:restart",
    "rm": "dockyard.cli.containers:rm",
    "logs": "dockyard.cli.containers:logs",
    "wait": "dockyard.cli.containers:wait",
    "rename": "dockyard.cli.containers:rename",
    "port": "dockyard.cli.containers:port",
    "pause": "dockyard.cli.containers:pause",
    "unpause": "dockyard.cli.containers:unpause",
    "top": "dockyard.cli.containers:top",
    "container": "dockyard.cli.containers:container_group",
    "diff": "dockyard.cli.filesystem:diff",
    "export": "dockyard.cli.filesystem:export",
    "cp": "dockyard.cli.filesystem:cp",
    "volume": "dockyard.cli.volumes:volume",
}

FlagHandler = Callable[[str | None, list[str]], int]


def load(target: str) -> Any:
    """The attribute a ``module:attribute`` string names, its module imported."""
    module_name, attribute = target.split(":")
    return getattr(importlib.import_module(module_name), attribute)


class FlagsCommand(click.Command):
    """A ``flags`` command as the group sees it: listed in its help, and given its
    arguments untouched (``--`` included) when reached through click."""

    def __init__(self, name: str, handler: FlagHandler, spec: Command) -> None:
        super().__init__(name, help=spec.summary, add_help_option=False)
        self.handler = handler

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.args = list(args)
        return []

    def invoke(self, ctx: click.Context) -> Any:
        root_obj = ctx.find_root().obj
        root = root_obj.get("root") if isinstance(root_obj, dict) else None
        raise click.exceptions.Exit(self.handler(root, list(ctx.args)))


def flags_command(name: str) -> FlagsCommand:
    module, handler, spec = FLAG_COMMANDS[name]
    return FlagsCommand(name, load(f"{module}:{handler}"), load(f"{module}:{spec}"))


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*COMMANDS, *FLAG_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in FLAG_COMMANDS:
            return flags_command(cmd_name)
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        command = load(target)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--root",
    envvar="DOCKYARD_ROOT",
    type=click.Path(file_okay=False),
    help="Root of the local store (default /var/lib/dockyard for root).",
)
@click.version_option(package_name="dockyard")
@click.pass_context
def cli(ctx: click.Context, root: str | None) -> None:
    """A Docker-compatible container engine and OCI registry."""
    ctx.obj = {"root": root}


def run_group(argv: list[str]) -> int:
    """Run ``argv`` through the group; click's own failures become docker's exit codes."""
    try:
        code = cli.main(args=argv, prog_name="dockyard", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return 125
    except click.Abort:
        click.echo("Aborted!", err=True)
        return 130
    finally:
        sys.stdout.flush()
