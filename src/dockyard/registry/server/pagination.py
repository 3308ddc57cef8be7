"""``n`` / ``last`` pagination and the ``Link: <…>; rel="next"`` header."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from dockyard.registry.server.errors import ApiError


def page_size(request: web.Request, default: int | None, maximum: int | None) -> int | None:
    """The requested ``n`` (clamped to maximum), or the default when absent."""
    text = request.query.get("n")
    if text is None or text == "":
        return default
    try:
        n = int(text)
    except ValueError:
        raise ApiError("PAGINATION_NUMBER_INVALID", {"n": text}) from None
    if n < 0:
        raise ApiError("PAGINATION_NUMBER_INVALID", {"n": n})
    return min(n, maximum) if maximum is not None else n


def paginate(items: list[str], last: str | None, n: int | None) -> tuple[list[str], str | None]:
    """The page after ``last`` (exclusive) and the ``last`` of the next page, if any."""
    if last:
        items = [item for item in items if item > last]
    if n is None or len(items) <= n:
        return items, None
    page = items[:n]
    return page, (page[-1] if page else None)


def next_link(path: str, n: int, last: str) -> str:
    return f'<{path}?n={n}&last={quote(last, safe="")}>; rel="next"'
