"""Image upload and serving, for any kind whose editor adds pictures (blog posts, event posters)."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actors.roles import requires_kind_role
from actors.web import checked_form, services_of
from media.errors import MediaError
from media.library import attachment, media_type_of

FOREVER = "public, max-age=31536000, immutable"  # a file's name is its content's digest: it never changes
FORM_OVERHEAD = 64 * 1024  # the multipart envelope, the alt text and the CSRF token around the file


@requires_kind_role()
async def upload(request: Request) -> Response:
    """`file` and `alt` in a multipart form; answers the stored image as an AS2 `Image`, or the refusal."""
    services = services_of(request)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > services.media.limits.max_bytes + FORM_OVERHEAD:
        return _refused(MediaError("The file is too large to upload."), 413)
    form = await checked_form(request, services, max_files=1)
    file = form.get("file")
    if not isinstance(file, UploadFile):
        return _refused(MediaError("Choose an image file to upload."), 400)
    data = await file.read(services.media.limits.max_bytes + 1)
    await file.close()
    try:
        async with services.store.write() as session:
            row = await services.media.upload(
                session, services.actor.name, data, str(form.get("alt", "")), services.clock()
            )
            image = attachment(row, services.actor.base_url)
    except MediaError as exc:
        return _refused(exc, 413 if len(data) > services.media.limits.max_bytes else 400)
    return JSONResponse({"id": row.id, **image}, status_code=201, headers={"Cache-Control": "no-store"})


def _refused(error: MediaError, status: int) -> Response:
    return JSONResponse({"error": error.reason}, status_code=status, headers={"Cache-Control": "no-store"})


async def serve(request: Request) -> Response:
    services = services_of(request)
    name = request.path_params["name"]
    media_type = media_type_of(name)
    data = services.media.read(name) if media_type else None
    if data is None or media_type is None:
        raise HTTPException(404, "There is no such image.")
    return Response(
        data,
        media_type=media_type,
        headers={
            "Cache-Control": FOREVER,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


ROUTES: tuple[Route, ...] = (
    Route("/media", upload, methods=["POST"]),
    Route("/media/{name}", serve, methods=["GET", "HEAD"]),
)
