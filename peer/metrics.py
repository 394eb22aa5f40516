"""GET /metrics: what the operator watches, in Prometheus' text format: the delivery queue (by state, how
many are retrying, how late the most overdue one is), fan-outs waiting to be expanded, followers and the
inbox. It reads the peer's database, so it counts the queue that every worker of the peer shares, on any
machine.

Not public (the queue's depth tells when a peer is struggling): a scraper sends `Authorization: Bearer` with
ROSE_ASH_METRICS_TOKEN, a token that opens nothing else, or the admin token."""

from __future__ import annotations

import hmac

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors.web import has_admin_bearer, services_of
from outbox.states import DeliveryState, FanOutState
from peer.respond import error
from store.follow_states import FollowState
from store.models import Delivery, FanOut, Follow, InboxActivity

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _allowed(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return bool(token) and hmac.compare_digest(given.strip().encode(), token.encode())


async def metrics(request: Request) -> Response:
    services = services_of(request)
    token: str = request.app.state.metrics_token
    if not (_allowed(request, token) or has_admin_bearer(request, services)):
        if "authorization" in request.headers:
            return error(403, "that token does not open this peer's metrics")
        return error(401, "the metrics need a bearer token", **{"WWW-Authenticate": 'Bearer realm="metrics"'})
    now = services.clock()
    try:
        async with services.store.read() as db:
            states = dict((await db.execute(select(Delivery.state, func.count()).group_by(Delivery.state))).all())
            pending = Delivery.state == DeliveryState.PENDING
            retrying = await db.scalar(select(func.count()).where(pending, Delivery.attempts > 0))
            oldest_due = await db.scalar(select(func.min(Delivery.next_attempt_at)).where(pending))
            fanouts = await db.scalar(select(func.count()).where(FanOut.state == FanOutState.PENDING))
            followers = await db.scalar(
                select(func.count()).where(Follow.direction == "in", Follow.state == FollowState.ACCEPTED)
            )
            inbox = await db.scalar(select(func.count()).select_from(InboxActivity))
    except Exception as exc:
        body = f"# database unreachable: {type(exc).__name__}\nrose_ash_database_up 0\n"
        return Response(body, status_code=503, media_type=CONTENT_TYPE)
    kind = services.actor.name
    lines = [
        "# HELP rose_ash_database_up 1 when the peer's database answered this scrape.",
        "# TYPE rose_ash_database_up gauge",
        "rose_ash_database_up 1",
        "# HELP rose_ash_deliveries Outgoing deliveries in the queue, by state.",
        "# TYPE rose_ash_deliveries gauge",
        *(f'rose_ash_deliveries{{kind="{kind}",state="{s.value}"}} {states.get(s.value, 0)}' for s in DeliveryState),
        "# HELP rose_ash_deliveries_retrying Pending deliveries that failed at least once.",
        "# TYPE rose_ash_deliveries_retrying gauge",
        f'rose_ash_deliveries_retrying{{kind="{kind}"}} {retrying or 0}',
        "# HELP rose_ash_delivery_lag_seconds How long the most overdue pending delivery has been due (0: none).",
        "# TYPE rose_ash_delivery_lag_seconds gauge",
        f'rose_ash_delivery_lag_seconds{{kind="{kind}"}} {max(0.0, now - oldest_due) if oldest_due else 0.0:.3f}',
        "# HELP rose_ash_fanouts_pending Activities waiting to be expanded into deliveries.",
        "# TYPE rose_ash_fanouts_pending gauge",
        f'rose_ash_fanouts_pending{{kind="{kind}"}} {fanouts or 0}',
        "# HELP rose_ash_followers Accepted followers of the peer's actor.",
        "# TYPE rose_ash_followers gauge",
        f'rose_ash_followers{{kind="{kind}"}} {followers or 0}',
        "# HELP rose_ash_inbox_activities Activities the inbox accepted (ids kept for ever).",
        "# TYPE rose_ash_inbox_activities gauge",
        f'rose_ash_inbox_activities{{kind="{kind}"}} {inbox or 0}',
    ]
    return Response("\n".join(lines) + "\n", media_type=CONTENT_TYPE, headers={"cache-control": "no-store"})


ROUTES = [Route("/metrics", metrics)]
