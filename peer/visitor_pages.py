"""A kept listing (actors/page_cache.py) answered before the application's middleware and routes, for a GET that
came with no cookie and no credentials: such a request has no session to load and nobody signed in, so the session
loader, the sign-in check, the route table and the response objects would only arrive at the same page. It is the
page `listing_page` gave the last request of the same path, query and Accept, with a visitor session of its own.

Anything else goes on to the application: a request with a cookie (a member never gets a visitor's page), one
the silent sign-in check would send to the account service, a page not kept or due to be rendered again."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from actors.context import Services
from actors.web import visitor_page, visitor_shape
from peer.oidc_client import enabled
from peer.signin import is_first_page


class VisitorPages:
    """Outermost middleware of the peer's app (inside Starlette's error middleware); finds the services on
    `app.state.services`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (shape := visitor_shape(scope)) is not None:
            services: Services = scope["app"].state.services
            pieces = services.pages.kept_for(shape, services.store.generation, services.clock())
            if pieces is not None and not (enabled(services) and is_first_page(Request(scope))):
                body, headers = visitor_page(services, pieces)
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
