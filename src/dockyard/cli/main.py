"""The ``dockyard`` entry point: a click group whose commands are imported on first use.

Start-up time matters (``run`` is budgeted at about 130 ms), so only the module of
the command being run is imported.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from dockyard.errors import ConfigError, DockyardError

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
    "run": "dockyard.cli.run:run",
    "create": "dockyard.cli.run:create",
    "start": "dockyard.cli.run:start",
    "exec": "dockyard.cli.run:exec_",
    "attach": "dockyard.cli.run:attach",
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
    "commit": "dockyard.cli.commit:commit",
    "diff": "dockyard.cli.commit:diff",
    "export": "dockyard.cli.commit:export",
    "cp": "dockyard.cli.commit:cp",
    "volume": "dockyard.cli.volumes:volume",
}
# docker run exits 125 when the daemon fails (the container's own code otherwise);
# create, start and the rest exit 1.
DAEMON_EXIT_COMMANDS = frozenset({"run"})
DAEMON_FAILED = 125


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
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


def _command_name(argv: list[str]) -> str | None:
    """The subcommand in ``argv``, past the group's own options (``--root DIR``)."""
    args = iter(argv)
    for arg in args:
        if arg == "--root":
            next(args, None)
        elif arg == "container":
            continue  # `container run` is `run`
        elif not arg.startswith("-"):
            return arg
    return None


def _exit_code(exc: DockyardError, command: str | None) -> int:
    """docker's codes: run's own failures are 125; create's too when a flag value is bad
    (docker rejects those before asking the daemon); everything else keeps its own."""
    if exc.exit_code != 1:
        return exc.exit_code
    if command in DAEMON_EXIT_COMMANDS or (command == "create" and isinstance(exc, ConfigError)):
        return DAEMON_FAILED
    return 1


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a DockyardError becomes ``Error: …`` on stderr and docker's exit code."""
    try:
        code = cli.main(args=argv, prog_name="dockyard", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except DockyardError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(_exit_code(exc, _command_name(sys.argv[1:] if argv is None else argv)))
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(125)
    except click.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(130)
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: exit quietly as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)
