"""`GET /actor/inbox`: the activities this peer received (ActivityPub §5.2), for its admin only.

An OrderedCollection paged newest first like the others (`?page=true`, `?before=`, `?after=`); the cursors are
receipt times in whole microseconds. Anyone without the admin's bearer token or session gets 401 (no
credentials) or 403 (the wrong ones)."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activities.build import ordered_collection, ordered_collection_page, public_view
from actors.web import has_admin_bearer, is_admin, services_of
from peer.respond import ActivityJSONResponse, error
from peer.serving import PAGE_SIZE, parse_cursor
from store.models import InboxActivity


def _micros(received_at: float) -> int:
    return math.floor(received_at * 1_000_000)


async def _page(
    session: AsyncSession, *, before: int | None, after: int | None, size: int
) -> tuple[list[InboxActivity], int | None, int | None]:
    """Rows newest first, and the cursors of the older and the newer page (None at either end). A page never
    ends between two activities received in the same microsecond, so a cursor skips nothing."""
    query = select(InboxActivity)
    if after is not None:
        query = query.where(InboxActivity.received_at >= (after + 1) / 1_000_000)
        query = query.order_by(InboxActivity.received_at.asc(), InboxActivity.id.asc())
    else:
        if before is not None:
            query = query.where(InboxActivity.received_at < before / 1_000_000)
        query = query.order_by(InboxActivity.received_at.desc(), InboxActivity.id.desc())
    rows = list(await session.scalars(query.limit(size + 1)))
    more = len(rows) > size
    if more:
        edge = _micros(rows[size].received_at)
        kept = [row for row in rows[:size] if _micros(row.received_at) != edge]
        rows = kept or rows[:size]
    if after is not None:
        rows.reverse()
    if not rows:
        return [], None, None
    newest, oldest = _micros(rows[0].received_at), _micros(rows[-1].received_at)
    older = more if after is None else await _any(session, InboxActivity.received_at < oldest / 1_000_000)
    newer = (
        more
        if after is not None
        else before is not None and await _any(session, InboxActivity.received_at >= (newest + 1) / 1_000_000)
    )
    return rows, oldest if older else None, newest if newer else None


async def _any(session: AsyncSession, condition: Any) -> bool:
    return await session.scalar(select(InboxActivity.id).where(condition).limit(1)) is not None


async def list_inbox(request: Request) -> Response:
    services = services_of(request)
    if not (has_admin_bearer(request, services) or is_admin(request, services)):
        if "authorization" in request.headers:
            return error(403, "only this peer's admin may read its inbox")
        return error(
            401, "the inbox is listed only to this peer's admin", **{"WWW-Authenticate": 'Bearer realm="inbox"'}
        )
    params = request.query_params
    try:
        before, after = parse_cursor(params.get("before")), parse_cursor(params.get("after"))
    except ValueError:
        return error(400, "before/after must be whole numbers from 0 to 2^63 - 1")
    inbox = services.actor.inbox
    async with services.store.read() as session:
        total = int(await session.scalar(select(func.count()).select_from(InboxActivity)) or 0)
        if "page" not in params and before is None and after is None:
            doc = ordered_collection(inbox, total, f"{inbox}?page=true")
        else:
            rows, older, newer = await _page(session, before=before, after=after, size=PAGE_SIZE)
            page_id = f"{inbox}?" + (
                f"before={before}" if before is not None else f"after={after}" if after is not None else "page=true"
            )
            doc = ordered_collection_page(
                page_id,
                inbox,
                [public_view(row.data) if row.data.get("id") == row.id else row.id for row in rows],
                total=total,
                next_page=f"{inbox}?before={older}" if older is not None else None,
                prev_page=f"{inbox}?after={newer}" if newer is not None else None,
            )
    return ActivityJSONResponse(doc, headers={"Cache-Control": "no-store", "Vary": "Accept, Authorization"})


ROUTES = [Route("/actor/inbox", list_inbox, methods=["GET", "HEAD"], name="inbox_listing")]
