"""The inbox endpoint: size and type checks, signature, trust rules, dedupe, dispatch.

Each refusal is a typed InboxError mapped to its status once; a 202 means the activity is stored."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from starlette.requests import Request

from activities.errors import ActivityError
from activities.parse import Activity, load_json, parse_activity
from inbox.directory import Directory
from inbox.dispatch import DuplicateActivity, InboxContext, Listeners, Outcome, record
from inbox.errors import InboxError, Malformed, TooLarge, WrongMediaType
from inbox.signatures import SignedRequest, Verified, verify
from inbox.trust import check_object_owner, check_sender
from store.db import Store
from store.models import InboxActivity

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
ACCEPTED_TYPES = ("application/activity+json", "application/ld+json", "application/json")


@dataclass(frozen=True)
class Received:
    outcome: Outcome
    activity: Activity
    verified: Verified


@dataclass
class Inbox:
    store: Store
    directory: Directory
    listeners: Listeners
    base_url: str
    clock: Callable[[], float]
    services: Any = None
    max_body: int = MAX_BODY

    async def receive(self, request: Request, recipient: str | None) -> Received:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in ACCEPTED_TYPES:
            raise WrongMediaType("the body must be application/activity+json")
        body = await read_capped(request, self.max_body)
        signed = SignedRequest(
            method="POST",
            url=self.base_url + request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            path=request.url.path,
            query=request.url.query,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )
        now = self.clock()
        verified = await verify(signed, self.directory.key, now)
        try:
            activity = parse_activity(load_json(body))
        except ActivityError as exc:
            raise Malformed(exc.reason) from None
        check_sender(activity, verified)
        check_object_owner(activity)
        return Received(await self.dispatch(activity, verified, recipient, now), activity, verified)

    async def dispatch(self, activity: Activity, verified: Verified, recipient: str | None, now: float) -> Outcome:
        async with self.store.read() as session:
            if await session.scalar(select(InboxActivity.id).where(InboxActivity.id == activity.id)):
                return Outcome.DUPLICATE
        listener = self.listeners.get(activity.type)
        ctx = InboxContext(activity, verified, recipient, self.store, self.services, now)
        try:
            if listener is None:
                ctx.state = Outcome.IGNORED.value
                async with ctx.transaction():
                    pass
                return Outcome.IGNORED
            await listener(ctx)
            if not ctx.recorded:
                async with ctx.transaction():
                    pass
        except DuplicateActivity:
            return Outcome.DUPLICATE
        except InboxError:
            raise
        except Exception as exc:
            log.exception("listener for %s %s failed", activity.type, activity.id)
            await self._keep_failed(activity, recipient, now, exc)
        return Outcome.PROCESSED if ctx.state == Outcome.PROCESSED.value else Outcome.IGNORED

    async def _keep_failed(self, activity: Activity, recipient: str | None, now: float, exc: Exception) -> None:
        """A bug in a listener must not lose what the sender handed us: keep it for the admin."""
        try:
            async with self.store.write() as session:
                await record(session, activity, recipient, "failed", now)
                row = await session.get(InboxActivity, activity.id)
                if row is not None:
                    row.error = f"{type(exc).__name__}: {exc}"[:2000]
        except DuplicateActivity:
            pass


async def read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Malformed("Content-Length is not a number")
        if int(declared) > limit:
            raise TooLarge(f"the body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
