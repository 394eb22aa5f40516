"""/admin/import: the editor uploads a Ghost export and reads the import's report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activities.errors import ActivityError
from actors.blog.ghost_export import MAX_EXPORT_BYTES
from actors.roles import EDITOR, requires
from actors.web import checked_form, render, services_of, session

if TYPE_CHECKING:
    from actors.blog.ghost_import import ImportReport

FORM_OVERHEAD = 64 * 1024  # the multipart envelope, the old site's address and the CSRF token
TOO_LARGE = f"The file is larger than {MAX_EXPORT_BYTES // (1024 * 1024)} MB."


def _page(
    request: Request, old_site: str, report: ImportReport | None = None, error: str | None = None, status: int = 200
) -> Response:
    services = services_of(request)
    context = {"report": report, "error": error, "old_site": old_site}
    return render(request, services, "blog/import.html", context, status)


@requires(EDITOR)
async def import_page(request: Request) -> Response:
    services = services_of(request)
    if request.method == "GET":
        return _page(request, services.ghost_url)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_EXPORT_BYTES + FORM_OVERHEAD:
        return _page(request, services.ghost_url, error=TOO_LARGE, status=413)
    form = await checked_form(request, services, max_files=1)
    old_site = str(form.get("old_site", "") or "").strip()
    if old_site and not old_site.startswith(("https://", "http://")):
        return _page(request, old_site, error="The Ghost site's address starts with https:// or http://.", status=400)
    file = form.get("file")
    if not isinstance(file, UploadFile):
        return _page(request, old_site, error="Choose the Ghost export file to import.", status=400)
    raw = await file.read(MAX_EXPORT_BYTES + 1)
    await file.close()
    if len(raw) > MAX_EXPORT_BYTES:
        return _page(request, old_site, error=TOO_LARGE, status=413)
    try:
        # imported on the first import: its HTML reading (bs4, lxml, markdownify) is 7 MiB an idle blog need not hold
        from actors.blog.ghost_import import import_ghost

        report = await import_ghost(services, raw, old_site, session(request, services))
    except ActivityError as exc:
        return _page(request, old_site, error=f"Nothing was imported. {exc.reason}", status=400)
    return _page(request, old_site, report)


ROUTES: tuple[Route, ...] = (Route("/admin/import", import_page, methods=["GET", "POST"]),)
