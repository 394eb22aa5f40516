"""Script and HTML injection, typed by the admin, a buyer or a remote actor, into post content, event names,
locations and buyer names: inert in every page that shows it and in every object that goes out."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from activities.vocab import PUBLIC
from tests.hostile.conftest import World
from tests.hostile.helpers import (
    AS2,
    Visitor,
    c2s,
    event_activity,
    offer,
    serve_event,
    serve_post,
    slug_of,
    wait_until,
)
from tests.support.httpserver import FakeServer

# Each payload, raw and entity-encoded (decoding a "plain text" field must not turn it into markup).
SCRIPT = "<script>alert('xss')</script>"
IMG = "<img src=x onerror=alert('xss')>"
ENCODED = "&lt;img src=x onerror=alert('xss')&gt;"
NUMERIC = "&#60;script&#62;alert('xss')&#60;/script&#62;"
TITLE = f"{SCRIPT}Hello {ENCODED} {NUMERIC}"
CONTENT = (
    f"<p onclick=\"alert('xss')\">Hi</p>{SCRIPT}{IMG}<a href=\"javascript:alert('xss')\">link</a>"
    '<iframe src="https://evil.example/"></iframe><svg onload="alert(1)"></svg>'
    '<a href="https://ok.example/" onmouseover="alert(1)">ok</a><style>body{display:none}</style>'
)
BAD_URL = "javascript:alert('xss')"
TAG = re.compile(r"<\s*[a-zA-Z/!?]")
UNSAFE_SCHEMES = ("javascript:", "vbscript:", "data:text")


class _Inspector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("iframe", "object", "embed", "svg", "style", "base", "form") and not self._allowed(tag, attrs):
            self.problems.append(f"<{tag}>")
        names = dict(attrs)
        if tag == "script":
            src = names.get("src") or ""
            if not src.startswith("/static/"):
                self.problems.append(f"<script src={src!r}>")
            self._in_script = True
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if name.lower() in ("href", "src", "action", "formaction", "xlink:href") and value:
                if value.strip().lower().replace("\t", "").replace("\n", "").startswith(UNSAFE_SCHEMES):
                    self.problems.append(f"<{tag} {name}={value!r}>")

    @staticmethod
    def _allowed(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        """The pages' own forms post to their own paths."""
        action = dict(attrs).get("action") or ""
        return tag == "form" and action.startswith("/") and not action.startswith("//")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"inline script {data[:40]!r}")


def assert_inert_html(html: str, where: str) -> None:
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    assert not inspector.problems, f"{where}: {inspector.problems}"


def assert_page(world: World, url: str, *, must_show: str | None = None, visitor: Visitor | None = None) -> str:
    http = visitor.http if visitor else world.http
    response = http.get(url, headers={"accept": "text/html"})
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    assert_inert_html(response.text, url)
    if must_show:
        assert must_show in response.text, f"{url} does not show {must_show!r}"
    return response.text


PLAIN_FIELDS = ("name", "preferredUsername", "orderNumber", "email")
HTML_FIELDS = ("content", "summary")
URL_FIELDS = ("id", "url", "href", "orderedItem", "attributedTo", "actor", "context", "inbox", "sold")


def assert_inert_object(doc: Any, where: str, path: str = "") -> None:
    """Plain-text fields carry no markup, HTML fields only inert markup, URL fields only http(s)."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            here = f"{path}.{key}"
            if isinstance(value, str):
                if key in PLAIN_FIELDS or (key == "name" or path.endswith(("location", "customer"))):
                    assert not TAG.search(value), f"{where}{here} carries markup: {value!r}"
                if key in HTML_FIELDS:
                    assert_inert_html(value, f"{where}{here}")
                if key in URL_FIELDS:
                    assert value.startswith(("http://", "https://")), f"{where}{here} is not http(s): {value!r}"
            else:
                assert_inert_object(value, where, here)
    elif isinstance(doc, list):
        for i, item in enumerate(doc):
            assert_inert_object(item, where, f"{path}[{i}]")


def delivered(server: FakeServer, kind: str, about: str) -> dict[str, Any]:
    """The activity of `kind` whose object is (or has the id) `about`, as it arrived at the server."""

    def find() -> dict[str, Any] | None:
        for record in server.posts():
            doc = record.json()
            obj = doc.get("object")
            if doc.get("type") == kind and (obj == about or (isinstance(obj, dict) and obj.get("id") == about)):
                return doc
        return None

    return wait_until(find, what=f"{kind} of {about} at {server.base_url}")


def followed(world: World) -> None:
    """alice follows the blog and the events actor, so their Creates come to her server."""
    if "followed" not in world.cache:
        for peer in (world.blog, world.events):
            response = world.alice.post(world.http, peer.inbox, world.alice.activity("Follow", peer.actor_id))
            assert response.status_code == 202, response.text
        world.cache["followed"] = True


def test_post_title_and_content_from_the_admin(world: World) -> None:
    followed(world)
    response = c2s(
        world.http, world.blog, {"type": "Create", "object": {"type": "Article", "name": TITLE, "content": CONTENT}}
    )
    assert response.status_code == 201, response.text
    post = response.json()["object"]
    doc = world.http.get(post, headers={"accept": AS2}).json()
    assert doc["name"].startswith("Hello") and "ok.example" in doc["content"]
    assert_inert_object(doc, post)
    assert_page(world, post, must_show="Hello")
    assert_page(world, world.blog.url + "/", must_show="Hello")
    assert_inert_object(delivered(world.remote, "Create", post), "the Create sent to a follower")


def test_event_name_location_and_description_from_the_admin(world: World) -> None:
    followed(world)
    activity = event_activity(name=f"{TITLE} gig", location=f"{IMG}{ENCODED} Hall", content=CONTENT)
    activity["object"]["location"]["address"] = f"{SCRIPT}1 Road {NUMERIC}"
    response = c2s(world.http, world.events, activity)
    assert response.status_code == 201, response.text
    event = response.json()["object"]
    doc = world.http.get(event, headers={"accept": AS2}).json()
    assert "gig" in doc["name"] and "Hall" in doc["location"]["name"]
    assert_inert_object(doc, event)
    assert_page(world, event, must_show="gig")
    assert_page(world, world.events.url + "/calendars", must_show="gig")
    assert_inert_object(delivered(world.remote, "Create", event), "the Create(Event) sent to a follower")


def test_buyer_name_on_the_events_peer(world: World) -> None:
    response = c2s(world.http, world.events, event_activity(name="Buyers gig", capacity=5))
    event = response.json()["object"]
    visitor = Visitor(world.events, f"/events/{slug_of(event)}")
    token = visitor.buy(event, name=f"{SCRIPT}Ada {ENCODED}{NUMERIC}", email="ada@example.org")
    assert_page(world, f"{world.events.url}/tickets/{token}", must_show="Ada")
    offers = wait_until(
        lambda: [
            r.json()
            for r in world.fake_shop.server.posts("/inbox")
            if r.json().get("type") == "Offer" and r.json()["object"]["orderedItem"] == event
        ],
        what="the Offer",
    )
    (the_offer,) = offers
    assert the_offer["object"]["customer"]["name"].startswith("Ada")
    assert_inert_object(the_offer, "the Offer sent to the shop")


def test_buyer_name_on_the_shop(world: World) -> None:
    event = serve_event(world.seller, "injected-buyer", capacity=5, price="3.00")
    activity = offer(world.seller, world.shop, event)
    activity["object"]["customer"]["name"] = f"{SCRIPT}Bea {ENCODED}{NUMERIC}"
    assert world.seller.post(world.http, world.shop.inbox, activity).status_code == 202
    answer = delivered(world.seller.server, "Accept", activity["id"])
    assert_inert_object(answer, "the shop's Accept")
    order = answer["result"]
    assert_page(world, order["url"], must_show="Bea")  # the buyer's capability link
    admin = Visitor(world.shop, "/login").login()
    assert_page(world, world.shop.url + "/orders", must_show="Bea", visitor=admin)
    admin.close()
    assert_page(world, world.shop.url + "/", must_show="Remote gig")


def test_remote_post_allocated_to_a_calendar(world: World) -> None:
    """A trusted peer's post is listed at once on the public calendars page; an untrusted one waits in the
    admin's list. Both render inert, whatever name and url the remote document claims."""
    for actor, slug in ((world.fake_shop, "trusted-post"), (world.alice, "pending-post")):
        post = serve_post(actor, slug, name=f"{SCRIPT}Post {ENCODED}", url=BAD_URL, summary=IMG)
        add = actor.activity("Add", post, target=f"{world.events.url}/calendars/main", to=[world.events.actor_id])
        response = actor.post(world.http, world.events.inbox, add)
        assert response.status_code == 202, response.text
    assert_page(world, world.events.url + "/calendars", must_show="Post")
    admin = Visitor(world.events, "/login").login()
    page = assert_page(world, world.events.url + "/calendars", must_show="Post", visitor=admin)
    admin.close()
    assert page.count("Post &lt;img") >= 2 or page.count("Post") >= 2
    allocated = world.http.get(f"{world.events.url}/calendars/main/allocated?page=true", headers={"accept": AS2})
    assert_inert_object(allocated.json(), "the allocated collection")


def test_remote_event_featuring_a_blog_post(world: World) -> None:
    event = {
        "id": world.bob.server.url("/events/injected"),
        "type": "Event",
        "name": f"{SCRIPT}Bob gig {ENCODED}",
        "attributedTo": world.bob.id,
        "startTime": "2027-08-01T19:00:00+01:00",
        "location": {"type": "Place", "name": f"{IMG}Cellar"},
        "url": BAD_URL,
        "attachment": [{"type": "Link", "rel": "featured", "href": f"{world.blog.url}/posts/welcome"}],
    }
    response = world.bob.post(world.http, world.blog.inbox, world.bob.activity("Create", event, to=[PUBLIC]))
    assert response.status_code == 202, response.text
    editor = Visitor(world.blog, "/login").login()
    assert_page(world, f"{world.blog.url}/posts/welcome", must_show="Bob gig", visitor=editor)  # waiting for her
    listed = editor.post("/posts/welcome/events/decide", event=event["id"], decision="list")
    editor.close()
    assert listed.status_code == 303, listed.text[:300]
    assert_page(world, f"{world.blog.url}/posts/welcome", must_show="Bob gig")
    status = world.http.get(f"{world.blog.url}/posts/welcome/status").json()
    assert_inert_object({"events": status["events"]}, "the post's status")
