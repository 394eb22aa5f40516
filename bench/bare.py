"""The yardstick for inbox ingest: a bare Starlette endpoint answering 202, served exactly as `rose-ash serve`
serves a peer (same uvicorn call, same settings), so the ratio isolates what the peer does per request."""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def inbox(request: Request) -> Response:
    await request.body()
    return Response(status_code=202)


app = Starlette(routes=[Route("/inbox", inbox, methods=["POST"]), Route("/actor/inbox", inbox, methods=["POST"])])

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # The same arguments as peer/cli.py `serve`.
    uvicorn.run(app, host="127.0.0.1", port=args.port, access_log=False, log_level="info", timeout_graceful_shutdown=5)
