"""The ``dockyard`` entry point.

``run``, ``create``, ``exec`` and ``commit`` are parsed by ``flags`` and never import
click, which would cost a ``run`` about a quarter of its time; every other command goes
through the click group (``group``).
"""

from __future__ import annotations

import importlib
import os
import sys

from dockyard.errors import DockyardError, UsageError

# The commands ``flags`` parses: (module, handler, its ``flags.Command``).
FLAG_COMMANDS = {
    "run": ("dockyard.cli.run", "run", "RUN"),
    "create": ("dockyard.cli.run", "create", "CREATE"),
    "exec": ("dockyard.cli.run", "exec_", "EXEC"),
    "commit": ("dockyard.cli.commit", "commit", "COMMIT"),
}
# docker run exits 125 when the daemon fails (the container's own code otherwise);
# create, start and the rest exit 1.
DAEMON_EXIT_COMMANDS = frozenset({"run"})
DAEMON_FAILED = 125


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


def _flags_invocation(argv: list[str]) -> tuple[str | None, str, list[str]] | None:
    """(root, command, its arguments) when ``argv`` runs a ``flags`` command: ``[--root
    DIR] [container] COMMAND ARGS``, the forms the click group would accept."""
    root = os.environ.get("DOCKYARD_ROOT") or None  # as click reads its envvar
    index = 0
    while index < len(argv):
        if argv[index] == "--root" and index + 1 < len(argv):
            root = argv[index + 1]
            index += 2
        elif argv[index].startswith("--root="):
            root = argv[index].partition("=")[2]
            index += 1
        else:
            break
    if argv[index : index + 1] == ["container"]:
        index += 1
    if index >= len(argv) or argv[index] not in FLAG_COMMANDS:
        return None
    if root is not None and os.path.exists(root) and not os.path.isdir(root):
        # What the click group says of such a root, for the other commands.
        raise UsageError(f"Error: Invalid value for '--root': Directory '{root}' is a file.")
    return root, argv[index], argv[index + 1 :]


def _exit_code(exc: DockyardError, command: str | None) -> int:
    """docker's codes: run's own failures are 125 (create's only for a bad flag value,
    which docker's CLI refuses itself: ``FlagValueError``); the rest keep their own."""
    if exc.exit_code != 1 or isinstance(exc, UsageError):
        return exc.exit_code
    return DAEMON_FAILED if command in DAEMON_EXIT_COMMANDS else 1


def _run(argv: list[str]) -> int:
    invocation = _flags_invocation(argv)
    if invocation is None:
        from dockyard.cli.group import run_group

        return run_group(argv)
    root, command, args = invocation
    module, function, _ = FLAG_COMMANDS[command]
    code: int = getattr(importlib.import_module(module), function)(root, args)
    # These commands close what they open (logs, sockets; helper threads and processes
    # are joined) but their store, whose SQLite connection is left open on purpose (see
    # run._open_store): the interpreter's teardown, about 5 ms of a `run`, is skipped.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a DockyardError becomes ``Error: …`` on stderr and docker's exit code.

    The process's entry point only: ``run``, ``create``, ``exec`` and ``commit`` end it
    with ``os._exit``.
    """
    args = sys.argv[1:] if argv is None else argv
    try:
        code = _run(args)
        sys.stdout.flush()
    except UsageError as exc:
        print(exc, file=sys.stderr)  # docker prints these without "Error:"
        sys.exit(exc.exit_code)
    except DockyardError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(_exit_code(exc, _command_name(args)))
    except KeyboardInterrupt:
        print("\nAborted!", file=sys.stderr)  # as click says it
        sys.exit(130)
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: exit quietly as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)
    sys.exit(code)
