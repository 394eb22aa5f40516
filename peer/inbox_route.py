"""POST /inbox and /actor/inbox, answered before the rest of the application: a signed activity needs no browser
session, no route table and no exception middleware, and those cost a busy inbox a fifth of its CPU per request.
Everything else, and any other method on those paths, goes on to the application."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from inbox.errors import InboxError
from inbox.receive import Inbox
from store.outage import RETRY_AFTER_SECONDS, out_of_reach

log = logging.getLogger(__name__)

INBOX_PATHS = {"/inbox": None, "/actor/inbox": "actor"}  # path: the recipient it names


class InboxRoute:
    """Outermost middleware of the peer's app (inside Starlette's error middleware, which still turns a crash
    into a 500); finds the Inbox on `app.state.inbox`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] != "POST" or path not in INBOX_PATHS:
            await self.app(scope, receive, send)
            return
        status, body, extra = await answer(Request(scope, receive))
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        headers += [(name.encode(), value.encode()) for name, value in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def inbox_endpoint(request: Request) -> Response:
    """The same as a route: only reached when the app runs without the middleware (the route table keeps the
    paths, so that other methods get their 405)."""
    status, body, extra = await answer(request)
    return Response(body, status_code=status, media_type="application/json", headers=extra)


async def answer(request: Request) -> tuple[int, bytes, dict[str, str]]:
    """The status, the JSON body and any headers beyond the content's own."""
    inbox: Inbox[Any] = request.app.state.inbox
    try:
        received = await inbox.receive(request, INBOX_PATHS[request.scope["path"]])
    except InboxError as exc:
        return exc.status, _json({"error": exc.reason}), {}
    except HTTPException as exc:  # a body that did not arrive in time (peer/slow_clients.py): 408, as the app says
        return exc.status_code, _json({"error": str(exc.detail)}), {}
    except Exception as exc:
        if (detail := out_of_reach(exc)) is None:
            raise
        log.warning("POST %s: %s", request.scope["path"], exc.__class__.__name__)  # the sender delivers again
        return 503, _json({"error": detail}), {"retry-after": str(RETRY_AFTER_SECONDS)}
    outcome = {"status": received.outcome.value, "id": received.activity.id}
    return 202, _json({**outcome, "signature": received.verified.scheme.value}), {}


# Built once: json.dumps with any argument of its own builds a new encoder for every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _json(content: dict[str, Any]) -> bytes:
    return _ENCODER.encode(content).encode()
