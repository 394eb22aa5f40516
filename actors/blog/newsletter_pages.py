"""The newsletter's pages: subscribe, confirm (the emailed link), unsubscribe (the page and RFC 8058's
one-click POST). Links from an email only show a page with a button on GET: mail scanners follow links, and a
prefetch must neither confirm nor unsubscribe anyone."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors.blog import newsletter
from actors.sessions import Throttle
from actors.web import checked_form, render, services_of
from mail import MailError

TEMPLATE = "blog/newsletter.html"


@dataclass
class NewsletterPages:
    # Each request may send an email to an address the requester names: a few per client a minute, a few per
    # address an hour, so the blog cannot be used to flood someone's inbox.
    per_client: Throttle = field(default_factory=lambda: Throttle(per_client=5, overall=200, window=60.0))
    per_address: Throttle = field(default_factory=lambda: Throttle(per_client=3, overall=10**9, window=3600.0))

    def routes(self) -> list[Route]:
        return [
            Route("/newsletter", self.subscribe, methods=["GET", "POST"]),
            Route("/newsletter/confirm", self.confirm, methods=["GET", "POST"]),
            Route("/newsletter/unsubscribe", self.unsubscribe, methods=["GET", "POST"]),
        ]

    async def subscribe(self, request: Request) -> Response:
        services = services_of(request)
        if request.method == "GET":
            return render(request, services, TEMPLATE, {"view": "form", "address": ""})
        form = await checked_form(request, services)
        given = str(form.get("email", ""))
        try:
            address = newsletter.normalized(given)
        except MailError as exc:
            return render(request, services, TEMPLATE, {"view": "form", "address": given, "error": str(exc)}, 400)
        client = request.client.host if request.client else ""
        if not self.per_client.allows(client) or not self.per_address.allows(address):
            error = "Too many subscription requests came from here or for this address. Try again in an hour."
            return render(request, services, TEMPLATE, {"view": "form", "address": given, "error": error}, 429)
        self.per_client.failed(client)
        self.per_address.failed(address)
        async with services.store.write() as session:
            token = await newsletter.ask(session, services, address)
            if token is not None:
                await newsletter.send_confirmation(session, services, address, token)
        return render(request, services, TEMPLATE, {"view": "asked", "address": address})

    async def confirm(self, request: Request) -> Response:
        services = services_of(request)
        if request.method == "GET":
            token = request.query_params.get("token", "")
            async with services.store.read() as session:
                address = await newsletter.pending_address(session, services, token)
            if address is None:
                return _invalid(request, "confirm")
            return render(request, services, TEMPLATE, {"view": "confirm", "address": address, "token": token})
        form = await checked_form(request, services)
        async with services.store.write() as session:
            address = await newsletter.confirm(session, services, str(form.get("token", "")))
        if address is None:
            return _invalid(request, "confirm")
        return render(request, services, TEMPLATE, {"view": "confirmed", "address": address})

    async def unsubscribe(self, request: Request) -> Response:
        """GET: the page with the button. POST: unsubscribe, with the token in the query (RFC 8058's one-click
        POST from a mail client carries no CSRF token: the unguessable token is the permission) or the form."""
        services = services_of(request)
        token = request.query_params.get("token", "")
        if request.method == "GET":
            async with services.store.read() as session:
                address = await newsletter.subscribed_address(session, services, token)
            if address is None:
                return _invalid(request, "unsubscribe")
            return render(request, services, TEMPLATE, {"view": "unsubscribe", "address": address, "token": token})
        if not token:
            form = await request.form(max_files=0, max_fields=10)
            token = str(form.get("token", ""))
        async with services.store.write() as session:
            address = await newsletter.unsubscribe(session, services, token)
        if address is None:
            return _invalid(request, "unsubscribe")
        return render(request, services, TEMPLATE, {"view": "unsubscribed", "address": address})


def _invalid(request: Request, step: str) -> Response:
    services = services_of(request)
    error = (
        "This confirmation link is not valid: it was used already, has expired, or was copied incompletely. "
        "Subscribe again to get a new one."
        if step == "confirm"
        else "This unsubscribe link is not valid: the address may already be unsubscribed."
    )
    return render(request, services, TEMPLATE, {"view": "invalid", "error": error}, 400)
