"""Responses shared by the peer's endpoints."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from activities.vocab import AS2_MEDIA_TYPE, wants_activity_json


class ActivityJSONResponse(JSONResponse):
    media_type = AS2_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def wants_json(request: Request) -> bool:
    return wants_activity_json(request.headers.get("accept", ""))


def error(status: int, reason: str, **headers: str) -> Response:
    return JSONResponse({"error": reason}, status_code=status, headers=headers or None)
