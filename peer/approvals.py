"""What strangers left waiting for the admin (the kinds' pending queues), grouped by remote actor, with one
answer per actor: approve all of that actor's items in a queue, or refuse them all."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors import audit
from actors.context import Services
from actors.kind import PendingQueue, Waiting
from actors.web import admin_only, checked_form, redirect, services_of, session


@dataclass(frozen=True)
class SenderGroup:
    sender: str
    items: list[Waiting]


@dataclass(frozen=True)
class QueueView:
    name: str
    label: str
    groups: list[SenderGroup]


def queues_of(request: Request) -> Sequence[PendingQueue]:
    return tuple(getattr(request.app.state, "pending_queues", ()))


async def grouped(services: Services, queues: Sequence[PendingQueue]) -> list[QueueView]:
    """Each queue's waiting items by sender, the senders with most waiting first."""
    views: list[QueueView] = []
    async with services.store.read() as session:
        for queue in queues:
            by_sender: dict[str, list[Waiting]] = {}
            for waiting in await queue.waiting(session, services):
                by_sender.setdefault(waiting.sender, []).append(waiting)
            groups = [SenderGroup(sender, items) for sender, items in by_sender.items()]
            groups.sort(key=lambda g: (-len(g.items), g.sender))
            views.append(QueueView(queue.name, queue.label, groups))
    return views


async def answer_sender(
    services: Services, queue: PendingQueue, sender: str, accept: bool, by: Mapping[str, Any] | None = None
) -> int:
    """Answer every item `sender` has waiting in `queue`, in one transaction; how many were answered. `by`: the
    admin's session, for the audit log."""
    answered = 0
    async with services.store.write() as session:
        for waiting in await queue.waiting(session, services):
            if waiting.sender == sender and await queue.decide(session, services, waiting, accept):
                answered += 1
                if by is not None:
                    action = f"{queue.name} {'approved' if accept else 'refused'}"
                    await audit.record(session, by, action, waiting.item, services.clock(), waiting.place)
    return answered


@admin_only
async def decide_for_sender(request: Request) -> Response:
    services = services_of(request)
    form = await checked_form(request, services)
    name, sender, decision = str(form.get("queue", "")), str(form.get("actor", "")), str(form.get("decision", ""))
    queue = next((q for q in queues_of(request) if q.name == name), None)
    if queue is None or decision not in ("approve", "refuse") or not sender:
        message = "Nothing was answered: the form did not name a queue, an actor and approve or refuse."
    else:
        answered = await answer_sender(services, queue, sender, decision == "approve", session(request, services))
        done = "Approved" if decision == "approve" else "Refused"
        message = f"{done} {answered} waiting from {sender}." if answered else f"Nothing from {sender} waits now."
    return redirect(request, services, f"/admin/followers?m={quote(message)}")


ROUTES: tuple[Route, ...] = (Route("/admin/pending/decide", decide_for_sender, methods=["POST"]),)
