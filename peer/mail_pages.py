"""The admin's mail pages: every queued email with its state, and each one readable (the built-in catcher)."""

from __future__ import annotations

from sqlalchemy import func, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors.web import admin_only, render, services_of
from mail.queue import raw_of
from mail.reading import read
from store.models import MailMessage


@admin_only
async def mail_list(request: Request) -> Response:
    services = services_of(request)
    async with services.store.read() as db:
        rows = list(await db.scalars(select(MailMessage).order_by(MailMessage.id.desc()).limit(200)))
        counts = dict((await db.execute(select(MailMessage.state, func.count()).group_by(MailMessage.state))).all())
    return render(request, services, "layout/mail.html", {"messages": rows, "counts": counts})


@admin_only
async def mail_message(request: Request) -> Response:
    services = services_of(request)
    raw_id = request.path_params["id"]
    if not raw_id.isdigit():
        raise HTTPException(404, "There is no such email.")
    async with services.store.read() as db:
        row = await db.get(MailMessage, int(raw_id))
    if row is None:
        raise HTTPException(404, "There is no such email.")
    raw = raw_of(row)
    reading = read(raw) if raw is not None else None
    return render(request, services, "layout/mail_message.html", {"message": row, "reading": reading})


ROUTES: tuple[Route, ...] = (
    Route("/admin/mail", mail_list),
    Route("/admin/mail/{id}", mail_message),
)
