"""/admin/audit: the audit log for this peer's admins, newest first, a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors import audit
from actors.web import admin_only, render, services_of

PAGE_SIZE = 100
MAX_ID = 2**63 - 1


def _before(value: str | None) -> int | None:
    """The `before` cursor: an entry id; anything else is the first page."""
    if value is None or not value.isdigit() or not 0 < int(value) <= MAX_ID:
        return None
    return int(value)


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@admin_only
async def audit_page(request: Request) -> Response:
    services = services_of(request)
    before = _before(request.query_params.get("before"))
    async with services.store.read() as db:
        entries = await audit.latest(db, PAGE_SIZE + 1, before)
    older = entries[PAGE_SIZE - 1].id if len(entries) > PAGE_SIZE else None
    context = {"entries": entries[:PAGE_SIZE], "older": older, "paged": before is not None, "when": _when}
    return render(request, services, "layout/audit.html", context, private=True)


ROUTES: tuple[Route, ...] = (Route("/admin/audit", audit_page),)
