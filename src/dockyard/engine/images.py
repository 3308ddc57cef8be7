"""Image operations on the local store: list, tag, remove, history."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass

from dockyard.digest import Digest, chain_ids
from dockyard.errors import ConfigError, Conflict, ImageNotFound, InvalidReference
from dockyard.image.config import decode_config
from dockyard.reference import Reference, parse_reference, parse_tagged
from dockyard.store import images as records
from dockyard.store.store import Store


@dataclass(frozen=True)
class ImageRow:
    """One line of ``images``: an image under one of its tags (or none)."""

    id: Digest
    repository: str
    tag: str
    digest: str
    created: str | None
    size: int


def list_images(store: Store, show_all: bool = False) -> list[ImageRow]:
    """Every tag of every image, untagged images as <none>, newest first."""
    rows: list[ImageRow] = []
    conn = store.conn
    for image in records.all_images(conn):
        tags = records.tags_of(conn, image.id)
        digests = {r.name: str(r.digest) for r in records.repo_digests_of(conn, image.id)}
        if not tags and not show_all and records.children_of(conn, image.id) and not digests:
            continue  # an intermediate parent, shown with -a only
        if not tags and digests:
            for name, digest in digests.items():
                repo = parse_reference(name).familiar_name
                rows.append(ImageRow(image.id, repo, "<none>", digest, image.created, image.size))
            continue
        if not tags:
            rows.append(ImageRow(image.id, "<none>", "<none>", "<none>", image.created, image.size))
        for ref in tags:
            digest = digests.get(ref.name, "<none>")
            rows.append(
                ImageRow(
                    image.id, ref.familiar_name, ref.tag or "", digest, image.created, image.size
                )
            )
    return rows


def tag_image(store: Store, source: str, target: str) -> None:
    with store.commit() as conn:
        image_id = records.resolve_image(conn, source)
        records.set_tag(conn, parse_tagged(target), image_id)


def remove_image(store: Store, name: str, force: bool = False) -> list[str]:
    """Untag or delete as ``docker rmi`` does; returns its report lines."""
    lines: list[str] = []
    with store.commit() as conn:
        image_id = records.resolve_image(conn, name)
        tags = records.tags_of(conn, image_id)
        by_reference = _names_a_tag(name, tags)
        users = _container_users(store, conn, image_id)
        if by_reference is not None and len(tags) == 1 and users and not force:
            raise Conflict(
                f'conflict: unable to remove repository reference "{name}" (must force) - '
                f"container {users[0][0][:12]} is using its referenced image {image_id.short}"
            )
        if by_reference is None and users:
            _refuse_by_id(image_id, users, force)
        if by_reference is not None:
            records.untag(conn, by_reference)
            lines.append(f"Untagged: {by_reference.familiar}")
            if records.tags_of(conn, image_id):
                return lines
        elif len(tags) > 1 and not force:
            raise Conflict(
                f"conflict: unable to delete {image_id.short} (must be forced) - "
                "image is referenced in multiple repositories"
            )
        else:
            for ref in tags:
                records.untag(conn, ref)
                lines.append(f"Untagged: {ref.familiar}")
        for ref in records.repo_digests_of(conn, image_id):
            lines.append(f"Untagged: {ref.familiar}")
        if any(running for _, running in users):
            return lines  # untagged only: a running container keeps its image (docker)
        if records.children_of(conn, image_id):
            if by_reference is not None:
                return lines
            raise Conflict(
                f"conflict: unable to delete {image_id.short} (cannot be forced) - "
                "image has dependent child images"
            )
        lines.extend(_delete(store, conn, image_id))
    return lines


def _container_users(
    store: Store, conn: sqlite3.Connection, image_id: Digest
) -> list[tuple[str, bool]]:
    """(container id, running?) of each container made from the image."""
    from dockyard.runtime.state import current_status
    from dockyard.store.containers import containers_of_image

    return [
        (cid, current_status(store.layout.containers / cid).running)
        for cid in containers_of_image(conn, image_id)
    ]


def _refuse_by_id(image_id: Digest, users: list[tuple[str, bool]], force: bool) -> None:
    """Docker's conflicts for ``rmi <id>``: a running container always, a stopped one
    unless forced (its layers stay for the container, see ``container_layers``)."""
    for cid, running in users:
        if running:
            raise Conflict(
                f"conflict: unable to delete {image_id.short} (cannot be forced) - "
                f"image is being used by running container {cid[:12]}"
            )
    if not force:
        raise Conflict(
            f"conflict: unable to delete {image_id.short} (must be forced) - "
            f"image is being used by stopped container {users[0][0][:12]}"
        )


def _names_a_tag(name: str, tags: list[Reference]) -> Reference | None:
    """The tag ``name`` spells, if it spells one of the image's tags rather than an ID."""
    try:
        ref = parse_reference(name).with_default_tag()
    except InvalidReference:
        return None
    return ref if ref in tags else None


def _delete(store: Store, conn: sqlite3.Connection, image_id: Digest) -> list[str]:
    layers = records.image_layers(conn, image_id)
    records.delete_image(conn, image_id)
    removed = set(records.unreferenced_layers(conn))
    store.collect_garbage(conn)
    lines = [f"Deleted: {image_id}"]
    chains = chain_ids([layer.diff_id for layer in layers])
    for layer, chain in reversed(list(zip(layers, chains, strict=True))):
        if layer.diff_id in removed:
            lines.append(f"Deleted: {chain}")
    return lines


@dataclass(frozen=True)
class HistoryRow:
    image: str  # an image ID or "<missing>"
    created: str | None
    created_by: str
    size: int
    comment: str


def image_history(store: Store, name: str) -> list[HistoryRow]:
    """The config's history, newest first, with layer sizes and known image IDs."""
    conn = store.conn
    image_id = records.resolve_image(conn, name)
    ids_at = _ids_by_history_position(store, image_id)
    config = decode_config(records.get_image(conn, image_id).config).parsed
    layers = records.image_layers(conn, image_id)
    history = config.history or []
    rows: list[HistoryRow] = []
    layer_index = 0
    for position, entry in enumerate(history):
        size = 0
        if not entry.empty_layer:
            if layer_index < len(layers):
                size = store.layer_size(layers[layer_index].diff_id)
            layer_index += 1
        rows.append(
            HistoryRow(
                ids_at.get(position, "<missing>"),
                entry.created,
                entry.created_by or "",
                size,
                entry.comment or "",
            )
        )
    rows.reverse()
    return rows


def _ids_by_history_position(store: Store, image_id: Digest) -> dict[int, str]:
    """Image IDs docker shows in history: the image itself and each local parent."""
    found: dict[int, str] = {}
    current: Digest | None = image_id
    while current is not None:
        try:
            record = records.get_image(store.conn, current)
        except ImageNotFound:
            break
        history = decode_config(record.config).parsed.history or []
        found.setdefault(len(history) - 1, str(current))
        current = Digest.parse(record.parent) if record.parent else None
    return found


_IMAGE_FILTERS = frozenset({"dangling", "reference", "label", "before", "since"})


def parse_image_filters(specs: list[str]) -> dict[str, list[str]]:
    """``images -f KEY=VALUE``: dangling, reference, label, before, since (as docker)."""
    filters: dict[str, list[str]] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep:
            raise ConfigError(f"bad format of filter (expected name=value): {spec}")
        if key not in _IMAGE_FILTERS:
            raise ConfigError(f"Invalid filter '{key}'")
        if key == "dangling" and value.lower() not in ("true", "false", "1", "0"):
            raise ConfigError(f"Invalid filter 'dangling={value}'")
        filters.setdefault(key, []).append(value)
    return filters


def _glob(pattern: str) -> re.Pattern[str]:
    """Go's path.Match: ``*`` and ``?`` stop at ``/``."""
    parts = []
    for piece in re.split(r"(\*|\?|\[[^\]]*\])", pattern):
        if piece == "*":
            parts.append("[^/]*")
        elif piece == "?":
            parts.append("[^/]")
        elif piece.startswith("[") and piece.endswith("]") and len(piece) > 2:
            parts.append("[" + piece[1:-1].replace("^", "\\^", 1).replace("!", "^", 1) + "]")
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts) + r"\Z")


def _reference_matches(row: ImageRow, pattern: str) -> bool:
    """docker's FamiliarMatch: the pattern against ``name`` or ``name:tag``."""
    if row.repository == "<none>":
        return False
    glob = _glob(pattern)
    names = [row.repository]
    if row.tag != "<none>":
        names.append(f"{row.repository}:{row.tag}")
    return any(glob.match(name) for name in names)


def _created(store: Store, name: str) -> float:
    from dockyard.engine.timefmt import parse_rfc3339

    record = records.get_image(store.conn, records.resolve_image(store.conn, name))
    parsed = parse_rfc3339(record.created or "")
    return parsed.timestamp() if parsed else 0.0


def _labels(store: Store, image_id: Digest) -> dict[str, str]:
    config = json.loads(records.get_image(store.conn, image_id).config)
    labels = (config.get("config") or {}).get("Labels") or {}
    return labels if isinstance(labels, dict) else {}


def filter_images(
    store: Store, rows: list[ImageRow], filters: dict[str, list[str]]
) -> list[ImageRow]:
    """The rows every filter key accepts (any of its values for ``reference``)."""
    from dockyard.engine.timefmt import parse_rfc3339

    kept = rows
    for value in filters.get("dangling", []):
        dangling = value.lower() in ("true", "1")
        kept = [r for r in kept if (r.repository == "<none>" and r.tag == "<none>") == dangling]
    if filters.get("reference"):
        kept = [r for r in kept if any(_reference_matches(r, p) for p in filters["reference"])]
    for spec in filters.get("label", []):
        key, sep, value = spec.partition("=")
        kept = [
            r
            for r in kept
            if key in (labels := _labels(store, r.id)) and (not sep or labels[key] == value)
        ]
    for key in ("before", "since"):
        for name in filters.get(key, []):
            cutoff = _created(store, name)
            kept = [
                r
                for r in kept
                if (created := parse_rfc3339(r.created or "")) is not None
                and (created.timestamp() - cutoff) * (1 if key == "since" else -1) > 0
            ]
    return kept
