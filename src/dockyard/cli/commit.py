"""``commit``, parsed by ``flags`` (no click): its cost counts in a commit's time."""

from __future__ import annotations

from dockyard.cli.flags import Command, Flag

COMMIT = Command(
    "commit",
    "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
    "Create a new image from a container's changes",
    [
        Flag("author", "a", "string", 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")'),
        Flag("change", "c", "list", "Apply Dockerfile instruction to the created image"),
        Flag("message", "m", "string", "Commit message"),
        Flag("pause", "p", "bool", "Pause container during commit", default=True),
        Flag("no-pause", "", "bool", "Disable pausing container during commit"),
    ],
    interspersed=False,
    min_args=1,
    max_args=2,
)


def commit(root: str | None, argv: list[str]) -> int:
    """``dockyard commit``: prints the new image's ID."""
    from pathlib import Path

    from dockyard.engine.commit import commit_container
    from dockyard.store.store import open_store

    if (parsed := COMMIT.parse_or_help(argv)) is None:
        return 0
    flags = parsed.values
    store = open_store(Path(root) if root else None)  # not closed: see run._open_store
    image_id = commit_container(
        store,
        parsed.args[0],
        parsed.args[1] if len(parsed.args) > 1 else None,
        message=flags["message"],
        author=flags["author"],
        changes=flags["change"],
        pause=flags["pause"] and not flags["no_pause"],
    )
    print(image_id)
    return 0
