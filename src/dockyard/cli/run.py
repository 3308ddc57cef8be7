"""Commands that start processes: run, create, start, exec, attach.

Failures of run/create/start exit 125 (see ``main``); a container's own exit code
(126/127 for a command that cannot run) is passed through as docker does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import click

from dockyard.cli.common import for_each, get_lite_store
from dockyard.engine.containers import CreateOptions
from dockyard.errors import ConfigError, DockyardError, OCIRuntimeFailed
from dockyard.store.containers import ContainerRecord
from dockyard.store.lite import StoreView

_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([bkmgtp]?)b?\Z", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_NO_HELP_SHORTCUT = {"help_option_names": ["--help"], "allow_interspersed_args": False}


def parse_memory(text: str | None) -> int | None:
    """docker's RAMInBytes: ``512m``, ``1g``, ``1024`` (binary units)."""
    if not text:
        return None
    match = _SIZE_RE.match(text.strip())
    if match is None:
        raise ConfigError(f"invalid size: '{text}'")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def create_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The flags ``run`` and ``create`` share."""
    options = [
        click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open."),
        click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY."),
        click.option("--name", help="Assign a name to the container."),
        click.option("-e", "--env", multiple=True, help="Set environment variables."),
        click.option("--env-file", multiple=True, help="Read in a file of environment variables."),
        click.option("-w", "--workdir", help="Working directory inside the container."),
        click.option("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>])."),
        click.option("--entrypoint", help="Overwrite the default ENTRYPOINT of the image."),
        click.option("-h", "--hostname", help="Container host name."),
        click.option("--privileged", is_flag=True, help="Give extended privileges."),
        click.option("--network", "--net", default="none", help="Connect to a network."),
        click.option("-p", "--publish", multiple=True, help="Publish a container's port(s)."),
        click.option("-m", "--memory", help="Memory limit."),
        click.option("--cpus", type=float, help="Number of CPUs."),
        click.option("--pids-limit", type=int, help="Tune container pids limit."),
        click.option("--init", is_flag=True, help="Run an init inside the container."),
        click.option("--rm", "auto_remove", is_flag=True, help="Remove the container on exit."),
        click.option("--read-only", is_flag=True, help="Mount the root filesystem read only."),
        click.option("--runtime", help="Runtime to use for this container."),
        click.option("--cap-add", multiple=True, help="Add Linux capabilities."),
        click.option("--cap-drop", multiple=True, help="Drop Linux capabilities."),
        click.option("-l", "--label", multiple=True, help="Set meta data on a container."),
        click.option("-v", "--volume", multiple=True, help="Bind mount a volume."),
        click.option("--mount", multiple=True, help="Attach a filesystem mount to the container."),
        click.option("--volumes-from", multiple=True, help="Mount volumes from a container."),
        click.argument("image"),
        click.argument("args", nargs=-1, type=click.UNPROCESSED),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _check_published_ports(params: dict[str, Any]) -> None:
    """-p needs a bridge network, which dockyard does not have yet; with --network host a
    container's ports are the host's already, and docker itself discards -p then."""
    if not params["publish"]:
        return
    if params["network"] == "host":
        click.echo("WARNING: Published ports are discarded when using host network mode", err=True)
        return
    raise ConfigError(
        "publishing ports (-p) needs a bridge network, which dockyard does not have yet: "
        "use --network host, where the container's ports are the host's"
    )


def _build(params: dict[str, Any], detach: bool) -> CreateOptions:
    _check_published_ports(params)
    labels = dict(item.partition("=")[::2] for item in params["label"])
    return CreateOptions(
        image=params["image"],
        args=list(params["args"]),
        name=params["name"],
        entrypoint=params["entrypoint"],
        env=list(params["env"]),
        env_files=list(params["env_file"]),
        workdir=params["workdir"],
        user=params["user"],
        hostname=params["hostname"],
        tty=params["tty"],
        interactive=params["interactive"],
        detach=detach,
        privileged=params["privileged"],
        network="none" if params["network"] in ("default", "bridge") else params["network"],
        memory=parse_memory(params["memory"]),
        cpus=params["cpus"],
        pids_limit=params["pids_limit"],
        init=params["init"],
        auto_remove=params["auto_remove"],
        read_only=params["read_only"],
        runtime=params["runtime"],
        cap_add=list(params["cap_add"]),
        cap_drop=list(params["cap_drop"]),
        labels=labels,
        binds=list(params["volume"]),
        mounts=_mount_objects(params["mount"]),
        volumes_from=list(params["volumes_from"]),
    )


def _check_input_is_terminal(tty: bool, interactive: bool, detach: bool) -> None:
    """docker's CheckTty, before anything is created: ``-it`` needs a terminal on stdin."""
    if tty and interactive and not detach and not os.isatty(0):
        click.echo("the input device is not a TTY", err=True)
        raise click.exceptions.Exit(1)


def _mount_objects(values: tuple[str, ...]) -> list[dict[str, Any]]:
    if not values:
        return []
    from dockyard.volumes.mountflag import parse_mount_flag

    return [parse_mount_flag(value) for value in values]


class DockerFlagsCommand(click.Command):
    """Accepts docker's ``--flag=true|false`` for boolean flags (``--privileged=true``).

    Only the options before the first argument (the image) are looked at: what
    follows is the container's command line.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _bool_flag_values(self, args))


_TRUE = {"1", "t", "true", "True", "TRUE"}
_FALSE = {"0", "f", "false", "False", "FALSE"}


def _bool_flag_values(command: click.Command, args: list[str]) -> list[str]:
    options = [p for p in command.params if isinstance(p, click.Option)]
    flags = {name for p in options if p.is_flag for name in p.opts}
    valued = {name for p in options if not p.is_flag for name in p.opts}
    out: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("--", "-") or not arg.startswith("-"):
            break  # the image: the rest is the container's command line
        name, sep, value = arg.partition("=")
        if sep and name in flags and value in _TRUE | _FALSE:
            out.extend([name] if value in _TRUE else [])
        else:
            out.append(arg)
            if _takes_next(arg, valued) and index + 1 < len(args):
                index += 1
                out.append(args[index])
        index += 1
    return out + args[index:]


def _takes_next(arg: str, valued: set[str]) -> bool:
    """Whether the option ``arg`` takes its value from the next argument."""
    if arg.startswith("--"):
        return "=" not in arg and arg in valued
    for position, letter in enumerate(arg[1:], start=1):  # a cluster such as -it or -ePATH
        if f"-{letter}" in valued:
            return position == len(arg) - 1
    return False


@click.command("create", cls=DockerFlagsCommand, context_settings=_NO_HELP_SHORTCUT)
@create_options
@click.pass_context
def create(ctx: click.Context, /, **params: Any) -> None:
    """Create a new container."""
    from dockyard.engine.containers import create_container

    record = create_container(get_lite_store(ctx), _build(params, detach=True))
    click.echo(record.id)


@click.command("run", cls=DockerFlagsCommand, context_settings=_NO_HELP_SHORTCUT)
@click.option("-d", "--detach", is_flag=True, help="Run container in background.")
@create_options
@click.pass_context
def run(ctx: click.Context, /, detach: bool, **params: Any) -> None:
    """Create and run a new container from an image."""
    from dockyard.engine import container_start as starter
    from dockyard.engine.containers import create_container

    _check_input_is_terminal(params["tty"], params["interactive"], detach)
    store = get_lite_store(ctx)
    opts = _build(params, detach)
    record = create_container(store, opts)
    try:
        if detach:
            starter.start_detached(store, record)
            click.echo(record.id)
            return
        if opts.tty:
            code = starter.run_on_terminal(store, record, interactive=opts.interactive)
            raise click.exceptions.Exit(code or 0)
        code = starter.run_in_foreground(store, record, interactive=opts.interactive)
    except DockyardError:
        if opts.auto_remove:
            _remove_quietly(store, record)
        raise
    if opts.auto_remove:
        _remove_quietly(store, record)
    raise click.exceptions.Exit(code)


def _remove_quietly(store: StoreView, record: ContainerRecord) -> None:
    from dockyard.engine.container_ops import remove_container

    remove_container(store, record, force=True, remove_volumes=True)


@click.command("start", context_settings={"allow_interspersed_args": True})
@click.argument("containers", nargs=-1, required=True)
@click.option("-a", "--attach", is_flag=True, help="Attach STDOUT/STDERR and forward signals.")
@click.option("-i", "--interactive", is_flag=True, help="Attach container's STDIN.")
@click.pass_context
def start(ctx: click.Context, containers: tuple[str, ...], attach: bool, interactive: bool) -> None:
    """Start one or more stopped containers."""
    from dockyard.engine import container_start as starter
    from dockyard.store.containers import resolve_container

    store = get_lite_store(ctx)
    if attach or interactive:
        if len(containers) > 1:
            raise ConfigError("you cannot start and attach multiple containers at once")
        record = resolve_container(store.conn, containers[0])
        try:
            if record.config.get("Tty"):
                code = starter.run_on_terminal(store, record, interactive=interactive)
            else:
                code = starter.run_in_foreground(store, record, interactive=interactive)
        except OCIRuntimeFailed as exc:  # docker: 1, whatever the container's command
            click.echo(f"Error: {exc}", err=True)
            raise click.exceptions.Exit(1) from exc
        raise click.exceptions.Exit(code or 0)

    def start_one(name: str) -> None:
        starter.start_detached(store, resolve_container(store.conn, name))
        click.echo(name)

    for_each(containers, start_one)


@click.command("exec", cls=DockerFlagsCommand, context_settings={"allow_interspersed_args": False})
@click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY.")
@click.option("-d", "--detach", is_flag=True, help="Detached mode: run in the background.")
@click.option("-e", "--env", multiple=True, help="Set environment variables.")
@click.option("-w", "--workdir", help="Working directory inside the container.")
@click.option("-u", "--user", help="Username or UID.")
@click.option("--privileged", is_flag=True, help="Give extended privileges to the command.")
@click.argument("container")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def exec_(ctx: click.Context, /, container: str, command: tuple[str, ...], **flags: Any) -> None:
    """Execute a command in a running container."""
    from dockyard.engine.container_exec import exec_command

    _check_input_is_terminal(flags["tty"], flags["interactive"], flags["detach"])
    try:
        code = exec_command(get_lite_store(ctx), container, list(command), **flags)
    except OCIRuntimeFailed as exc:
        # docker: one line, 126 whatever the cause (1 with -d, from its daemon)
        message = f"OCI runtime exec failed: {exc.stderr.strip() or exc}: unknown"
        click.echo(f"Error: {message}" if flags["detach"] else message, err=True)
        raise click.exceptions.Exit(1 if flags["detach"] else 126) from exc
    raise click.exceptions.Exit(code)


@click.command("attach")
@click.argument("container")
@click.option("--no-stdin", is_flag=True, help="Do not attach STDIN.")
@click.option("--detach-keys", help="Override the key sequence for detaching a container.")
@click.option("--sig-proxy/--no-sig-proxy", default=True, help="Proxy received signals.")
@click.pass_context
def attach(
    ctx: click.Context, container: str, no_stdin: bool, detach_keys: str | None, sig_proxy: bool
) -> None:
    """Attach local standard input, output, and error streams to a running container."""
    from dockyard.engine.container_exec import attach_container

    code = attach_container(
        get_lite_store(ctx),
        container,
        stdin=not no_stdin,
        detach_keys=detach_keys,
        sig_proxy=sig_proxy,
    )
    raise click.exceptions.Exit(code or 0)
