"""The inbox endpoint: size and type checks, signature, trust rules, dedupe, dispatch.

Each refusal is a typed InboxError mapped to its status once; a 202 means the activity is stored."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic

from starlette.requests import Request

from activities.errors import ActivityError
from activities.identity import LocalActor
from activities.parse import Activity, load_json, parse_activity
from activities.vocab import JSON_MEDIA_TYPES
from inbox import ledger
from inbox.batch import Coalescer
from inbox.directory import Directory
from inbox.dispatch import (
    ANSWER_TYPES,
    DuplicateActivity,
    InboxContext,
    ListenerKey,
    Listeners,
    Outcome,
    S,
    inbox_row,
    record,
)
from inbox.errors import InboxError, Malformed, TooLarge, WrongMediaType
from inbox.signatures import SignedRequest, Verified, verify
from inbox.trust import answered_id, check_answer, check_object_owner, check_sender
from store import objects
from store.db import Store
from store.inbox_states import RecordState
from store.models import InboxActivity

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
REMEMBERED_IDS = 4096


@dataclass(frozen=True)
class Received:
    outcome: Outcome
    activity: Activity
    verified: Verified


@dataclass
class Inbox(Generic[S]):
    store: Store
    directory: Directory
    listeners: Listeners[S]
    actor: LocalActor
    clock: Callable[[], float]
    services: S
    max_body: int = MAX_BODY
    # Concurrent requests share the look-up of their ids and, when a listener writes nothing else, the one
    # transaction that records them (group commit): each request still answers only after its row is committed.
    _seen: Coalescer[str, bool] = field(init=False, repr=False)
    _records: Coalescer[tuple[Activity, str | None, RecordState, float], bool] = field(init=False, repr=False)
    # Ids known to be recorded (committed: ids are kept for ever), so that a replay needs no look-up.
    _recorded: OrderedDict[str, None] = field(init=False, repr=False, default_factory=OrderedDict)

    def __post_init__(self) -> None:
        self._seen = Coalescer(self._known)
        self._records = Coalescer(self._record_many)

    async def receive(self, request: Request, recipient: str | None) -> Received:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in JSON_MEDIA_TYPES:
            raise WrongMediaType("the body must be application/activity+json")
        body = await read_capped(request, self.max_body)
        path, query = request.scope["path"], request.scope["query_string"].decode("latin-1")
        signed = SignedRequest(
            method="POST",
            url=self.actor.base_url + path + (f"?{query}" if query else ""),
            path=path,
            query=query,
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]},
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
        if await self._seen.submit(activity.id):
            return Outcome.DUPLICATE
        ctx = InboxContext(activity, verified, recipient, self.store, self.services, now)
        try:
            listener = self.listeners.get(await self._key(ctx))
            if listener is None:
                await self._record_alone(ctx, RecordState.IGNORED)
                return Outcome.IGNORED
            outcome = await listener(ctx)
            if not ctx.recorded:
                await self._record_alone(ctx, RecordState(outcome.value))
        except DuplicateActivity:
            return Outcome.DUPLICATE
        except InboxError:
            raise
        except ActivityError as exc:  # a listener found a field malformed: a refusal (its transaction rolled back)
            raise Malformed(exc.reason) from None
        except Exception as exc:
            log.exception("listener for %s %s failed", activity.type, activity.id)
            await self._keep_failed(activity, recipient, now, exc)
            return Outcome.PROCESSED  # accepted and kept: the sender must not retry what we failed to handle
        return outcome

    async def _key(self, ctx: InboxContext[S]) -> ListenerKey:
        """The listener's key; for an Accept/Reject, after the trust rule on answers, with the answered type."""
        activity = ctx.activity
        if activity.type == "Undo":
            return ListenerKey("Undo", undoing=await self._undone_type(activity))
        if activity.type not in ANSWER_TYPES:
            return ListenerKey(activity.type)
        answered = answered_id(activity)
        async with self.store.read() as session:
            row = await objects.get(session, answered)
        sent = row.data if row is not None and row.actor == self.actor.name else None
        answering = check_answer(activity, sent, self.actor.id)
        ctx.answered = sent
        return ListenerKey(activity.type, answering=answering)

    async def _undone_type(self, undo: Activity) -> str | None:
        """The type of what an Undo undoes: the embedded activity's, else that of the one we received under
        that id (a sender may name it by id alone); None when neither says."""
        kind = (undo.object_doc or {}).get("type")
        if isinstance(kind, str):
            return kind
        try:
            undone_id = undo.object_id
        except ActivityError:
            return None
        async with self.store.read() as session:
            row = await session.get(InboxActivity, undone_id)
        return row.type if row is not None else None

    async def _record_alone(self, ctx: InboxContext[S], state: RecordState) -> None:
        """Record an activity that changed nothing else, in a transaction shared with concurrent ones."""
        if not await self._records.submit((ctx.activity, ctx.recipient, state, ctx.now)):
            raise DuplicateActivity(ctx.activity.id)

    async def _known(self, ids: list[str]) -> list[bool]:
        unknown = [activity_id for activity_id in ids if activity_id not in self._recorded]
        found = await ledger.known(self.store, unknown) if unknown else set()
        self._remember(found)
        return [activity_id in found or activity_id in self._recorded for activity_id in ids]

    def _remember(self, ids: Iterable[str]) -> None:
        for activity_id in ids:
            self._recorded[activity_id] = None
            self._recorded.move_to_end(activity_id)
        while len(self._recorded) > REMEMBERED_IDS:
            self._recorded.popitem(last=False)

    async def _record_many(self, items: list[tuple[Activity, str | None, RecordState, float]]) -> list[bool]:
        """Insert the rows (ON CONFLICT DO NOTHING) in one statement; True for each row this call inserted.
        The same id twice in one batch: the first is inserted, the second is a duplicate, as if in sequence."""
        rows: dict[str, dict[str, Any]] = {}
        for activity, recipient, state, now in items:
            rows.setdefault(activity.id, inbox_row(activity, recipient, state, now))
        inserted = await ledger.record(self.store, list(rows.values()))
        self._remember(rows)  # inserted now, or found there by the conflict: committed either way
        answers = []
        for activity, *_ in items:
            answers.append(activity.id in inserted)
            inserted.discard(activity.id)
        return answers

    async def _keep_failed(self, activity: Activity, recipient: str | None, now: float, exc: Exception) -> None:
        """A bug in a listener must not lose what the sender handed us: keep it for the admin."""
        try:
            async with self.store.write() as session:
                await record(session, activity, recipient, RecordState.FAILED, now)
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
