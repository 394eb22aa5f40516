"""Discovery: WebFinger, host-meta, NodeInfo, as Mastodon reads them."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actors.web import services_of
from peer.respond import error
from peer.services import VERSION


async def webfinger(request: Request) -> Response:
    actor = services_of(request).actor
    authority = urlsplit(actor.base_url).netloc
    resource = request.query_params.get("resource", "")
    accepted = {f"acct:{actor.name}@{authority}", actor.id, f"{actor.base_url}/@{actor.name}"}
    if not resource:
        return error(400, "the resource parameter is required")
    if resource not in accepted:
        return error(404, f"no such account: {resource}")
    return JSONResponse(
        {
            "subject": f"acct:{actor.name}@{authority}",
            "aliases": [actor.id],
            "links": [
                {"rel": "self", "type": "application/activity+json", "href": actor.id},
                {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": f"{actor.base_url}/"},
            ],
        },
        media_type="application/jrd+json",
        headers={"Access-Control-Allow-Origin": "*"},
    )


async def host_meta(request: Request) -> Response:
    actor = services_of(request).actor
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{actor.base_url}/.well-known/webfinger?resource={{uri}}"/>\n'
        "</XRD>\n"
    )
    return Response(xml, media_type="application/xrd+xml")


async def nodeinfo_links(request: Request) -> Response:
    actor = services_of(request).actor
    return JSONResponse(
        {
            "links": [
                {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": f"{actor.base_url}/nodeinfo/2.1"}
            ]
        }
    )


async def nodeinfo(request: Request) -> Response:
    services = services_of(request)
    kind_name = services.site.kind_name
    return JSONResponse(
        {
            "version": "2.1",
            "software": {"name": "rose-ash", "version": VERSION, "homepage": f"{services.actor.base_url}/"},
            "protocols": ["activitypub"],
            "services": {"inbound": [], "outbound": []},
            "openRegistrations": False,
            "usage": {"users": {"total": 1, "activeMonth": 1, "activeHalfyear": 1}},
            "metadata": {"nodeName": f"Rose Ash {kind_name}", "kind": kind_name},
        },
        media_type='application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"',
    )


ROUTES: tuple[Route, ...] = (
    Route("/.well-known/webfinger", webfinger),
    Route("/.well-known/host-meta", host_meta),
    Route("/.well-known/nodeinfo", nodeinfo_links),
    Route("/nodeinfo/2.1", nodeinfo),
)
