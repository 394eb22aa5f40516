"""The operator's pages: log in, the delivery record, approvals (followers, and what strangers left waiting,
by remote actor), following someone."""

from __future__ import annotations

import hmac
from urllib.parse import quote

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activities.parse import check_url
from actors import audit, trust
from actors.context import Services
from actors.web import admin_only, checked_form, redirect, render, safe_next, services_of, sign_in
from inbox.errors import FetchError
from peer import approvals, follows, signin
from store.models import Delivery, DeliveryAttempt, Follow, InboxActivity, RelaySubscription
from store.sizes import table_sizes, total_bytes


async def login(request: Request) -> Response:
    services = services_of(request)
    if request.method == "GET":
        return render(
            request, services, "layout/login.html", signin.login_context(services, request.query_params.get("next"))
        )
    form = await checked_form(request, services)
    token = str(form.get("token", ""))
    back = str(form.get("next", ""))
    client = request.client.host if request.client else ""
    if not services.admin_token_login:
        error = "Signing in with the admin token is switched off on this peer: sign in as a member."
        return render(
            request, services, "layout/login.html", {**signin.login_context(services, back), "error": error}, 403
        )
    throttle = services.sessions.throttle
    if not throttle.allows(client):
        error = "Too many wrong tokens were tried. Wait a minute, then try again."
        return render(
            request, services, "layout/login.html", {**signin.login_context(services, back), "error": error}, 429
        )
    if not hmac.compare_digest(token.encode(), services.admin_token.encode()):
        throttle.failed(client)
        error = "That admin token is not right."
        return render(
            request, services, "layout/login.html", {**signin.login_context(services, back), "error": error}, 403
        )
    await sign_in(request, services, {"admin": True})
    return redirect(request, services, safe_next(back))


async def logout(request: Request) -> Response:
    services = services_of(request)
    await checked_form(request, services)
    return await signin.sign_out_everywhere(request, services)


@admin_only
async def deliveries(request: Request) -> Response:
    services = services_of(request)
    async with services.store.read() as db:
        rows = list(await db.scalars(select(Delivery).order_by(Delivery.id.desc()).limit(200)))
        counts = dict((await db.execute(select(Delivery.state, func.count()).group_by(Delivery.state))).all())
        attempts = list(await db.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id.desc()).limit(100)))
        inbox = list(await db.scalars(select(InboxActivity).order_by(InboxActivity.received_at.desc()).limit(50)))
    return render(
        request,
        services,
        "layout/deliveries.html",
        {"deliveries": rows, "counts": counts, "attempts": attempts, "inbox": inbox},
    )


@admin_only
async def followers(request: Request) -> Response:
    services = services_of(request)
    async with services.store.read() as db:
        relay_follows = select(RelaySubscription.follow_id)  # shown and undone on /admin/relays
        rows = list(
            await db.scalars(
                select(Follow).where(Follow.id.not_in(relay_follows)).order_by(Follow.created_at.desc()).limit(500)
            )
        )
        trusted = await trust.trusted(db, services.actor)
    waiting = await approvals.grouped(services, approvals.queues_of(request))
    context = {
        "follows": rows,
        "message": request.query_params.get("m"),
        "waiting": waiting,
        "trusted": trusted,
        "follower_trust": getattr(request.app.state, "follower_trust", ""),
    }
    return render(request, services, "layout/followers.html", context)


@admin_only
async def trust_follower(request: Request) -> Response:
    """Mark a follower trusted, or clear the mark (what it does is the kind's: `follower_trust`)."""
    services = services_of(request)
    form = await checked_form(request, services)
    follower, trusting = str(form.get("actor", "")), form.get("trust") == "yes"
    if not getattr(request.app.state, "follower_trust", ""):
        message = "Followers are not marked trusted on this peer."
    else:
        async with services.store.write() as db:
            done = await trust.mark(db, services.actor, follower, trusting, services.clock())
            if done:
                await audit.record_for(db, request, "follower trusted" if trusting else "follower untrusted", follower)
        if not done:
            message = f"{follower} does not follow us, so it cannot be trusted."
        else:
            message = f"{follower} is trusted now." if trusting else f"{follower} is no longer trusted."
    return redirect(request, services, f"/admin/followers?m={quote(message)}")


@admin_only
async def decide(request: Request) -> Response:
    services = services_of(request)
    form = await checked_form(request, services)
    follow_id, decision = str(form.get("follow", "")), str(form.get("decision", ""))
    async with services.store.write() as db:
        if await follows.decide(db, services, follow_id, accept=decision == "accept"):
            action = "follower approved" if decision == "accept" else "follower refused"
            await audit.record_for(db, request, action, follow_id)
    return redirect(request, services, "/admin/followers")


@admin_only
async def follow_someone(request: Request) -> Response:
    services = services_of(request)
    form = await checked_form(request, services)
    target = str(form.get("actor", "")).strip()
    try:
        actor_id = await resolve_handle(services, target)
        await follows.follow(services, actor_id)
        message = f"Follow sent to {actor_id}"
    except (FetchError, ValueError) as exc:
        message = f"Could not follow {target}: {exc}"
    return redirect(request, services, f"/admin/followers?m={quote(message)}")


@admin_only
async def unfollow(request: Request) -> Response:
    services = services_of(request)
    form = await checked_form(request, services)
    await follows.unfollow(services, str(form.get("unfollow", "")))
    return redirect(request, services, "/admin/followers")


@admin_only
async def store_sizes(request: Request) -> Response:
    services = services_of(request)
    context = {"tables": await table_sizes(services.store), "total": await total_bytes(services.store)}
    return render(request, services, "layout/store.html", context)


ROUTES: tuple[Route, ...] = (
    Route("/admin/store", store_sizes),
    Route("/admin/unfollow", unfollow, methods=["POST"]),
    Route("/login", login, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/admin/deliveries", deliveries),
    Route("/admin/followers", followers),
    Route("/admin/followers/decide", decide, methods=["POST"]),
    Route("/admin/followers/trust", trust_follower, methods=["POST"]),
    Route("/admin/follow", follow_someone, methods=["POST"]),
    *approvals.ROUTES,
)


async def resolve_handle(services: Services, target: str) -> str:
    """An actor id from `user@host[:port]` (WebFinger) or from an actor URL."""
    if target.startswith(("http://", "https://")):
        return check_url(target, "actor")
    user, _, host = target.lstrip("@").partition("@")
    if not user or not host:
        raise ValueError("give an actor URL or user@host")
    scheme = "http" if services.fetcher.guard.allow_private else "https"
    doc = await services.fetcher.get_json(
        f"{scheme}://{host}/.well-known/webfinger?resource=acct:{user}@{host}", signed=False
    )
    for link in doc.get("links", []) if isinstance(doc.get("links"), list) else []:
        if isinstance(link, dict) and link.get("rel") == "self" and isinstance(link.get("href"), str):
            return check_url(link["href"], "actor")
    raise ValueError("the WebFinger answer has no self link")
