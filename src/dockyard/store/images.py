"""Image, tag and repo-digest records in the metadata database."""

from __future__ import annotations

import re
import sqlite3
import time
from typing import NamedTuple

from dockyard.digest import Digest
from dockyard.errors import Conflict, ImageNotFound, InvalidDigest, InvalidReference
from dockyard.reference import Reference, parse_reference

_SHORT_ID_RE = re.compile(r"^(?:sha256:)?([a-f0-9]{1,64})\Z")


class ImageRecord(NamedTuple):
    id: Digest
    config: bytes
    created: str | None
    size: int
    parent: str | None
    added: float


class LayerRef(NamedTuple):
    diff_id: Digest
    blob: Digest


class NewImage(NamedTuple):
    """Everything recorded about an image when it enters the store."""

    config: bytes
    created: str | None
    layers: list[LayerRef]
    size: int
    parent: str | None = None
    manifests: tuple[tuple[Digest, str, bytes], ...] = ()  # digest, media type, raw


class BlobRow(NamedTuple):
    """One stored blob of a layer (a layer may have several: as loaded, compressed for a push)."""

    digest: Digest
    size: int
    media_type: str


def layer_blobs(
    conn: sqlite3.Connection, diff_id: Digest, prefer: Digest | None = None
) -> list[BlobRow]:
    """The blobs the store holds for a layer, ``prefer`` first when it is one of them."""
    rows = conn.execute(
        "SELECT digest, size, media_type FROM blobs WHERE diff_id=? ORDER BY digest = ? DESC, "
        "digest = diff_id DESC, digest",
        (str(diff_id), str(prefer) if prefer else ""),
    ).fetchall()
    return [BlobRow(Digest.parse(d), int(size), media) for d, size, media in rows]


def all_tags(conn: sqlite3.Connection) -> list[Reference]:
    return [parse_reference(r[0]) for r in conn.execute("SELECT name FROM tags ORDER BY name")]


def _record(row: sqlite3.Row | tuple[object, ...]) -> ImageRecord:
    id_, config, created, size, parent, added = row
    assert isinstance(id_, str) and isinstance(config, bytes)
    return ImageRecord(
        Digest.parse(id_),
        config,
        created if isinstance(created, str) else None,
        int(str(size)),
        parent if isinstance(parent, str) else None,
        float(str(added)),
    )


_COLUMNS = "id, config, created, size, parent, added"


def insert_image(conn: sqlite3.Connection, image: NewImage) -> tuple[Digest, bool]:
    """Record an image (inside the caller's transaction); returns its ID and whether it is new."""
    image_id = Digest.of_bytes(image.config)
    existed = conn.execute("SELECT 1 FROM images WHERE id=?", (str(image_id),)).fetchone()
    if not existed:
        conn.execute(
            f"INSERT INTO images ({_COLUMNS}) VALUES (?,?,?,?,?,?)",
            (str(image_id), image.config, image.created, image.size, image.parent, time.time()),
        )
        conn.executemany(
            "INSERT INTO image_layers (image_id, position, diff_id, blob) VALUES (?,?,?,?)",
            [
                (str(image_id), i, str(layer.diff_id), str(layer.blob))
                for i, layer in enumerate(image.layers)
            ],
        )
    conn.executemany(
        "INSERT OR IGNORE INTO manifests (digest, image_id, media_type, raw) VALUES (?,?,?,?)",
        [(str(d), str(image_id), mt, raw) for d, mt, raw in image.manifests],
    )
    return image_id, not existed


def set_tag(conn: sqlite3.Connection, ref: Reference, image_id: Digest) -> Digest | None:
    """Point a tag at an image; returns the image it pointed at before, if another."""
    row = conn.execute("SELECT image_id FROM tags WHERE name=?", (str(ref),)).fetchone()
    conn.execute(
        "INSERT INTO tags (name, image_id) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET image_id=excluded.image_id",
        (str(ref), str(image_id)),
    )
    if row and row[0] != str(image_id):
        return Digest.parse(row[0])
    return None


def add_repo_digest(conn: sqlite3.Connection, repo: str, digest: Digest, image_id: Digest) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO repo_digests (name, digest, image_id) VALUES (?,?,?)",
        (repo, str(digest), str(image_id)),
    )


def get_image(conn: sqlite3.Connection, image_id: Digest) -> ImageRecord:
    row = conn.execute(f"SELECT {_COLUMNS} FROM images WHERE id=?", (str(image_id),)).fetchone()
    if row is None:
        raise ImageNotFound(f"No such image: {image_id}")
    return _record(row)


def all_images(conn: sqlite3.Connection) -> list[ImageRecord]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM images ORDER BY added DESC").fetchall()
    return [_record(r) for r in rows]


def image_layers(conn: sqlite3.Connection, image_id: Digest) -> list[LayerRef]:
    rows = conn.execute(
        "SELECT diff_id, blob FROM image_layers WHERE image_id=? ORDER BY position",
        (str(image_id),),
    ).fetchall()
    return [LayerRef(Digest.parse(d), Digest.parse(b)) for d, b in rows]


def tags_of(conn: sqlite3.Connection, image_id: Digest) -> list[Reference]:
    rows = conn.execute(
        "SELECT name FROM tags WHERE image_id=? ORDER BY name", (str(image_id),)
    ).fetchall()
    return [parse_reference(r[0]) for r in rows]


def repo_digests_of(conn: sqlite3.Connection, image_id: Digest) -> list[Reference]:
    rows = conn.execute(
        "SELECT name, digest FROM repo_digests WHERE image_id=? ORDER BY name",
        (str(image_id),),
    ).fetchall()
    return [parse_reference(f"{name}@{digest}") for name, digest in rows]


def manifests_of(conn: sqlite3.Connection, image_id: Digest) -> list[tuple[Digest, str, bytes]]:
    rows = conn.execute(
        "SELECT digest, media_type, raw FROM manifests WHERE image_id=?", (str(image_id),)
    ).fetchall()
    return [(Digest.parse(d), mt, raw) for d, mt, raw in rows]


def children_of(conn: sqlite3.Connection, image_id: Digest) -> list[Digest]:
    rows = conn.execute("SELECT id FROM images WHERE parent=?", (str(image_id),)).fetchall()
    return [Digest.parse(r[0]) for r in rows]


def lookup_tag(conn: sqlite3.Connection, ref: Reference) -> Digest | None:
    if ref.digest is not None:
        row = conn.execute(
            "SELECT image_id FROM repo_digests WHERE name=? AND digest=?",
            (ref.name, str(ref.digest)),
        ).fetchone()
        if row is None:
            row = conn.execute(
                "SELECT image_id FROM manifests WHERE digest=?", (str(ref.digest),)
            ).fetchone()
    else:
        row = conn.execute(
            "SELECT image_id FROM tags WHERE name=?", (str(ref.with_default_tag()),)
        ).fetchone()
    return Digest.parse(row[0]) if row else None


def lookup_id_prefix(conn: sqlite3.Connection, text: str) -> Digest | None:
    """An image whose ID starts with ``text`` (with or without ``sha256:``)."""
    match = _SHORT_ID_RE.match(text)
    if match is None:
        return None
    prefix = match.group(1)
    rows = conn.execute(
        "SELECT id FROM images WHERE id >= ? AND id < ? LIMIT 2",
        (f"sha256:{prefix}", f"sha256:{prefix}g"),
    ).fetchall()
    if len(rows) > 1:
        raise Conflict(f"image ID prefix {text!r} is ambiguous")
    return Digest.parse(rows[0][0]) if rows else None


def resolve_image(conn: sqlite3.Connection, text: str) -> Digest:
    """Find an image by reference, full ID or ID prefix, in docker's order."""
    try:
        if text.startswith("sha256:") and len(text) == 71:
            image_id = Digest.parse(text)
            get_image(conn, image_id)
            return image_id
    except InvalidDigest:
        pass
    try:
        ref: Reference | None = parse_reference(text)
    except InvalidReference:
        ref = None
    if ref is not None:
        found = lookup_tag(conn, ref)
        if found is not None:
            return found
    found = lookup_id_prefix(conn, text)
    if found is not None:
        return found
    if ref is None and not _SHORT_ID_RE.match(text):
        raise InvalidReference(f"invalid reference format: {text!r}")
    shown = ref.with_default_tag().familiar if ref is not None else text
    raise ImageNotFound(f"No such image: {shown}")


def untag(conn: sqlite3.Connection, ref: Reference) -> Digest | None:
    row = conn.execute("SELECT image_id FROM tags WHERE name=?", (str(ref),)).fetchone()
    if row is None:
        return None
    conn.execute("DELETE FROM tags WHERE name=?", (str(ref),))
    return Digest.parse(row[0])


def delete_image(conn: sqlite3.Connection, image_id: Digest) -> None:
    """Delete an image row; tags, layers links and manifests go with it (ON DELETE CASCADE)."""
    conn.execute("UPDATE images SET parent=NULL WHERE parent=?", (str(image_id),))
    conn.execute("DELETE FROM images WHERE id=?", (str(image_id),))


# A container keeps its image's layers (and their blobs, for commit) even after rmi -f.
_LAYERS_IN_USE = "SELECT diff_id FROM image_layers UNION SELECT diff_id FROM container_layers"


def unreferenced_layers(conn: sqlite3.Connection) -> list[Digest]:
    rows = conn.execute(
        f"SELECT diff_id FROM layers WHERE diff_id NOT IN ({_LAYERS_IN_USE})"
    ).fetchall()
    return [Digest.parse(r[0]) for r in rows]


def unreferenced_blobs(conn: sqlite3.Connection) -> list[Digest]:
    rows = conn.execute(
        # A layer's other blobs (e.g. compressed for a push) live as long as the layer.
        f"SELECT digest FROM blobs WHERE diff_id NOT IN ({_LAYERS_IN_USE})"
    ).fetchall()
    return [Digest.parse(r[0]) for r in rows]
