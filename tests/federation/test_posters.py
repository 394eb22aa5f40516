"""Event posters against a real events process on both stores: the organiser gives a poster (and its alt text)
with the event form; it goes through the media pipeline (stripped, resized), out to a follower as the Event's
AS2 `image` in `Create(Event)`, onto the event page and the listing with a srcset of its widths; changing its
picture or its description, or removing it, is an `Update(Event)`; a file the pipeline refuses, or a poster
without alt text, comes back as a sentence and changes nothing (store, media folder, deliveries)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from activities.vocab import PUBLIC
from tests.federation.test_rsvp import FORM, document
from tests.hostile.helpers import StoreView, Unchanged, c2s
from tests.media import images
from tests.support.actors import RemoteActor
from tests.support.admin import Admin, eventually
from tests.support.httpserver import FakeServer
from tests.support.processes import PeerProcess

pytestmark = pytest.mark.federation

ALT = "A poster: the band on stage under orange lights"


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def events(peer_process: Callable[..., PeerProcess], media_dir: Path) -> PeerProcess:
    return peer_process("events", env={"ROSE_ASH_MEDIA_DIR": str(media_dir)})


@pytest.fixture
def organiser(events: PeerProcess) -> Iterator[Admin]:
    admin = Admin(events.url, events.admin_token).login()
    try:
        yield admin
    finally:
        admin.close()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def poster_file(data: bytes, name: str = "poster.jpg", media_type: str = "image/jpeg") -> dict[str, Any]:
    return {"poster": (name, data, media_type)}


def schedule(
    events: PeerProcess, admin: Admin, files: dict[str, Any] | None = None, csrf: str | None = None, **change: str
) -> httpx.Response:
    data = {**FORM, "admission": "tickets", "price": "8.00", "name": "Gig night", **change}
    data.update({"calendar": f"{events.url}/calendars/main", "csrf": csrf or admin.csrf("/calendars")})
    return admin.client.post("/calendars/schedule", data=data, files=files or {})


def scheduled(events: PeerProcess, admin: Admin, files: dict[str, Any] | None = None, **change: str) -> str:
    answer = schedule(events, admin, files, **change)
    assert answer.status_code == 303, answer.text[:1000]
    return f"{events.url}/events/{answer.headers['location'].rsplit('#', 1)[1]}"


def edit(admin: Admin, event: str, files: dict[str, Any] | None = None, csrf: str | None = None, **change: str) -> httpx.Response:
    path = f"/events/{event.rsplit('/', 1)[1]}/edit"
    data = {**FORM, "admission": "tickets", "price": "8.00", "name": "Gig night", **change}
    return admin.client.post(path, data={**data, "csrf": csrf or admin.csrf(path)}, files=files or {})


def follower(events: PeerProcess, remote_actor: Callable[..., RemoteActor], server: FakeServer) -> RemoteActor:
    zoe = remote_actor("zoe", server=server)
    with httpx.Client(trust_env=False, timeout=10.0) as http:
        assert zoe.post(http, events.inbox, zoe.activity("Follow", events.actor_id)).status_code == 202
    eventually(lambda: any(r.json().get("type") == "Accept" for r in server.posts()), what="the Accept of zoe's Follow")
    return zoe


def delivered(server: FakeServer, kind: str, event: str) -> list[dict[str, Any]]:
    found = []
    for record in server.posts():
        doc = record.json()
        obj = doc.get("object")
        if doc.get("type") == kind and isinstance(obj, dict) and obj.get("id") == event:
            found.append(obj)
    return found


def test_a_poster_goes_out_as_the_events_image_and_shows_with_its_widths(
    events: PeerProcess, organiser: Admin, remote_actor: Callable[..., RemoteActor],
    fake_server: Callable[[], FakeServer], media_dir: Path,
) -> None:  # fmt: skip
    server = fake_server()
    follower(events, remote_actor, server)
    event = scheduled(events, organiser, poster_file(images.photo("JPEG", (1600, 1000), gps=True)), poster_alt=ALT)

    image = document(event)["image"]
    assert set(image) == {"type", "url", "mediaType", "width", "height", "name"}
    assert (image["type"], image["mediaType"], image["width"], image["height"], image["name"]) == (
        "Image", "image/jpeg", 1600, 1000, ALT,
    )  # fmt: skip
    assert re.fullmatch(rf"{re.escape(events.url)}/media/[0-9a-f]{{32}}-1600\.jpg", image["url"]), image["url"]
    [created] = eventually(lambda: delivered(server, "Create", event), what="the Create(Event) at the follower")
    assert created["image"] == image

    served = httpx.get(image["url"], trust_env=False)
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    decoded = Image.open(io.BytesIO(served.content))
    assert decoded.size == (1600, 1000) and not decoded.getexif().get_ifd(images.GPS_IFD), "EXIF and GPS stripped"
    assert len(_files(media_dir)) == 4  # 320, 640, 1280 and 1600 wide

    digest = image["url"].rsplit("/", 1)[1].split("-", 1)[0]
    srcset = ", ".join(f"{events.url}/media/{digest}-{w}.jpg {w}w" for w in (320, 640, 1280, 1600))
    with httpx.Client(trust_env=False, timeout=10.0, headers={"Accept": "text/html"}) as visitor:
        for page in (visitor.get(event).text, visitor.get(f"{events.url}/calendars").text):
            img = re.search(r'<img class="poster"[^>]*>', page)
            assert img, page[:2000]
            tag = img.group(0)
            for attribute in (f'src="{image["url"]}"', f'srcset="{srcset}"', f'alt="{ALT}"', 'width="1600"', 'height="1000"'):
                assert attribute in tag, (attribute, tag)

    # A client-to-server Update that says nothing of the poster keeps it.
    with httpx.Client(trust_env=False, timeout=10.0) as http:
        update = {"type": "Update", "to": [PUBLIC], "object": {"id": event, "type": "Event", "name": "Gig night, late"}}
        assert c2s(http, events, update).status_code == 201
    [updated] = eventually(lambda: delivered(server, "Update", event), what="the Update(Event) at the follower")
    assert updated["name"] == "Gig night, late" and updated["image"] == image


def test_changing_or_removing_the_poster_sends_update_event(
    events: PeerProcess, organiser: Admin, remote_actor: Callable[..., RemoteActor],
    fake_server: Callable[[], FakeServer],
) -> None:  # fmt: skip
    server = fake_server()
    follower(events, remote_actor, server)
    event = scheduled(events, organiser, poster_file(images.photo("JPEG", (800, 600))), poster_alt=ALT)
    first = document(event)["image"]

    # A new picture: a PNG this time.
    png = poster_file(images.photo("PNG", (400, 300)), "poster.png", "image/png")
    assert edit(organiser, event, png, poster_alt="The new poster").status_code == 303
    [update] = eventually(lambda: delivered(server, "Update", event), what="the Update(Event) with the new poster")
    assert update["updated"] and update["image"]["url"] != first["url"]
    assert (update["image"]["mediaType"], update["image"]["width"], update["image"]["height"]) == ("image/png", 400, 300)
    assert update["image"]["name"] == "The new poster" and document(event)["image"] == update["image"]

    # The description alone: the same picture, described anew.
    assert edit(organiser, event, poster_alt="The new poster, described better").status_code == 303
    updates = eventually(lambda: len(delivered(server, "Update", event)) == 2 and delivered(server, "Update", event))
    assert updates[1]["image"] == {**update["image"], "name": "The new poster, described better"}

    # The edit form shows the poster and its description; an edit without the poster's fields keeps it.
    form = organiser.client.get(f"/events/{event.rsplit('/', 1)[1]}/edit").text
    assert 'value="The new poster, described better"' in form and 'name="poster_remove"' in form
    assert 'enctype="multipart/form-data"' in form

    # Removed.
    assert edit(organiser, event, poster_remove="1", poster_alt="").status_code == 303
    updates = eventually(lambda: len(delivered(server, "Update", event)) == 3 and delivered(server, "Update", event))
    assert "image" not in updates[2] and "image" not in document(event)
    page = httpx.get(event, headers={"Accept": "text/html"}, trust_env=False).text
    assert 'class="poster"' not in page


BAD_POSTERS = [
    (images.png_bomb(), ALT, "more than 40 million pixels"),
    (images.polyglot_zip(), ALT, "carries data besides the image"),
    (images.SVG_WITH_SCRIPT, ALT, "SVG and other formats are not accepted"),
    (images.truncated(), ALT, "incomplete or damaged"),
    (images.photo(), "", "Describe the poster for people who cannot see it"),
]
BAD_IDS = ["bomb", "polyglot", "svg-with-script", "truncated", "no-alt-text"]


@pytest.mark.parametrize(("data", "alt", "sentence"), BAD_POSTERS, ids=BAD_IDS)
def test_a_bad_poster_leaves_the_event_unchanged_with_a_sentence(
    events: PeerProcess, organiser: Admin, remote_actor: Callable[..., RemoteActor],
    fake_server: Callable[[], FakeServer], media_dir: Path, data: bytes, alt: str, sentence: str,
) -> None:  # fmt: skip
    server = fake_server()
    follower(events, remote_actor, server)
    event = scheduled(events, organiser)
    eventually(lambda: delivered(server, "Create", event), what="the Create(Event)")
    before, sent = document(event), len(server.posts())
    view = StoreView(events.database_url)
    try:
        schedule_csrf = organiser.csrf("/calendars")
        edit_csrf = organiser.csrf(f"/events/{event.rsplit('/', 1)[1]}/edit")
        with Unchanged(view):
            refused = schedule(events, organiser, poster_file(data), csrf=schedule_csrf, name="Other gig", poster_alt=alt)
            assert refused.status_code == 400 and sentence in refused.text, refused.text[:2000]
            refused = edit(organiser, event, poster_file(data), csrf=edit_csrf, name="Renamed", poster_alt=alt)
            assert refused.status_code == 400 and sentence in refused.text, refused.text[:2000]
            assert 'class="error"' in refused.text
    finally:
        view.close()
    assert document(event) == before
    assert _files(media_dir) == []
    assert len(server.posts()) == sent, "nothing was sent"


def test_a_poster_over_the_size_limit_is_refused_before_it_is_read(
    peer_process: Callable[..., PeerProcess], media_dir: Path
) -> None:
    events = peer_process("events", env={"ROSE_ASH_MEDIA_DIR": str(media_dir), "ROSE_ASH_MAX_UPLOAD_BYTES": "100000"})
    admin = Admin(events.url, events.admin_token).login()
    try:
        big = images.photo("PNG", (64, 64)) + b"\x00" * 600_000
        refused = schedule(events, admin, poster_file(big, "big.png", "image/png"), poster_alt=ALT)
        assert refused.status_code == 413, refused.text[:1000]
        assert "The poster is too large to upload; choose a smaller image." in refused.text.replace("&#39;", "'")
        assert admin.client.get("/events", headers={"Accept": "application/activity+json"}).json()["totalItems"] == 0
    finally:
        admin.close()
    assert _files(media_dir) == []
