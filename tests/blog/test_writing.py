"""Writing on the blog through its pages: Markdown with an image and tags, drafts that stay private, slugs
that move with a redirect, and refusals that leave the store as it was. On both stores."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

from store.models import StoredObject
from tests.media import images
from tests.media.helpers import sign_in
from tests.support.app import BASE, App, row_counts, running_app

AS2 = {"Accept": "application/activity+json"}


async def emitted(app: App, kind: str) -> list[dict[str, Any]]:
    async with app.store.read() as session:
        rows = await session.scalars(select(StoredObject).where(StoredObject.type == kind))
        return [dict(r.data) for r in rows]


async def upload(app: App, csrf: str) -> dict[str, Any]:
    answer = await app.client.post(
        "/media",
        data={"csrf": csrf, "alt": "The hall, lit"},
        files={"file": ("hall.png", images.photo("PNG", (900, 600)), "image/png")},
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


BODY = (
    "## Doors at seven\n\nBring **friends** and _snacks_.\n\n- one\n- two\n\n> quoted\n\n<script>alert(1)</script>\n\n"
)


async def test_a_formatted_post_with_an_image_and_tags_federates_them(database_url: str, tmp_path: Path) -> None:
    async with running_app(database_url, "blog", media_dir=str(tmp_path / "media")) as app:
        csrf = await sign_in(app.client)
        image = await upload(app, csrf)
        body = BODY + f"![The hall, lit]({image['url']})\n"
        answer = await app.client.post(
            "/posts",
            data={
                "csrf": csrf,
                "title": "Summer notes",
                "body": body,
                "tags": "summer, live music",
                "action": "publish",
            },
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/posts/summer-notes"
        doc = (await app.client.get("/posts/summer-notes", headers=AS2)).json()
        assert doc["attachment"] == [
            {
                "type": "Image",
                "mediaType": "image/png",
                "url": image["url"],
                "width": 900,
                "height": 600,
                "name": "The hall, lit",
            }
        ]
        assert doc["tag"] == [
            {"type": "Hashtag", "href": f"{BASE}/tags/summer", "name": "#summer"},
            {"type": "Hashtag", "href": f"{BASE}/tags/livemusic", "name": "#liveMusic"},
        ]
        assert "<h2>Doors at seven</h2>" in doc["content"] and "<strong>friends</strong>" in doc["content"]
        assert "<script" not in doc["content"] and f'<img src="{image["url"]}" alt="The hall, lit">' in doc["content"]
        assert doc["source"] == {"content": body, "mediaType": "text/markdown"}
        create = next(c for c in await emitted(app, "Create") if c["object"]["id"] == doc["id"])
        assert create["object"]["attachment"] == doc["attachment"] and create["object"]["tag"] == doc["tag"]
        again = f"![The same hall, empty]({image['url']})"  # one picture, described by each post its own way
        await app.client.post("/posts", data={"csrf": csrf, "title": "Winter", "body": again, "action": "publish"})
        winter = (await app.client.get("/posts/winter", headers=AS2)).json()
        assert [a["name"] for a in winter["attachment"]] == ["The same hall, empty"]
        tag_page = await app.client.get("/tags/summer")
        assert tag_page.status_code == 200 and "Summer notes" in tag_page.text


async def test_a_draft_is_neither_public_nor_federated_until_published(database_url: str) -> None:
    async with running_app(database_url, "blog") as app:
        csrf = await sign_in(app.client)
        answer = await app.client.post(
            "/posts", data={"csrf": csrf, "title": "Secret plans", "body": "Not yet.", "action": "draft"}
        )
        assert answer.headers["location"] == "/posts/secret-plans/edit?saved=draft"
        assert "Secret plans" in (await app.client.get("/drafts")).text
        async with running_app(database_url, "blog") as stranger:
            assert (await stranger.client.get("/posts/secret-plans", headers=AS2)).status_code == 404
            assert (await stranger.client.get("/posts/secret-plans")).status_code == 404
            assert "Secret plans" not in (await stranger.client.get("/")).text
            posts = (await stranger.client.get("/posts", headers=AS2)).json()
            assert posts["totalItems"] == 0
        assert await emitted(app, "Create") == []
        edit = await app.client.post(
            "/posts/secret-plans/edit",
            data={"csrf": csrf, "title": "Secret plans", "body": "Now.", "action": "publish"},
        )
        assert edit.status_code == 303 and edit.headers["location"] == "/posts/secret-plans"
        [create] = await emitted(app, "Create")
        assert create["object"]["content"] == "<p>Now.</p>\n" and "published" in create["object"]
        assert (await app.client.get("/posts", headers=AS2)).json()["totalItems"] == 1


async def test_autosave_makes_a_draft_then_keeps_it_current(database_url: str) -> None:
    async with running_app(database_url, "blog") as app:
        csrf = await sign_in(app.client)
        first = (
            await app.client.post(
                "/posts/autosave", data={"csrf": csrf, "post": "", "title": "Half done", "body": "One"}
            )
        ).json()
        assert first == {"saved": True, "post": "half-done", "edit": "/posts/half-done/edit"}
        again = await app.client.post(
            "/posts/autosave", data={"csrf": csrf, "post": "half-done", "title": "Half done", "body": "One two"}
        )
        assert again.json()["post"] == "half-done"
        doc = (await app.client.get("/posts/half-done", headers=AS2)).json()
        assert doc["source"]["content"] == "One two" and "published" not in doc
        assert await emitted(app, "Create") == [] and await emitted(app, "Update") == []


async def test_a_changed_slug_answers_301_from_the_old_address(database_url: str) -> None:
    async with running_app(database_url, "blog") as app:
        csrf = await sign_in(app.client)
        await app.client.post("/posts", data={"csrf": csrf, "title": "Old name", "body": "Text", "action": "publish"})
        moved = await app.client.post(
            "/posts/old-name/edit",
            data={"csrf": csrf, "title": "New name", "body": "Text", "slug": "new-name", "action": "update"},
        )
        assert moved.headers["location"] == "/posts/new-name"
        for headers in ({}, AS2):
            old = await app.client.get("/posts/old-name", headers=headers)
            assert old.status_code == 301 and old.headers["location"] == f"{BASE}/posts/new-name"
        doc = (await app.client.get("/posts/new-name", headers=AS2)).json()
        assert doc["id"] == doc["url"] == f"{BASE}/posts/new-name" and doc["name"] == "New name"
        again = await app.client.post(
            "/posts/new-name/edit",
            data={"csrf": csrf, "title": "New name", "body": "Text", "slug": "newest", "action": "update"},
        )
        assert again.headers["location"] == "/posts/newest"
        assert (await app.client.get("/posts/old-name")).headers["location"] == f"{BASE}/posts/newest"
        assert (await app.client.get("/posts", headers=AS2)).json()["totalItems"] == 1


async def test_the_preview_is_sanitized(database_url: str) -> None:
    async with running_app(database_url, "blog") as app:
        csrf = await sign_in(app.client)
        body = "**hi** <img src=x onerror=alert(1)> [x](javascript:alert(1)) ![t](http://evil.example/t.png)"
        html = (await app.client.post("/posts/preview", data={"csrf": csrf, "body": body})).json()["html"]
        assert "<strong>hi</strong>" in html
        assert not re.search(r"<[^>]*onerror", html) and 'href="javascript' not in html  # escaped text, not tags
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
        assert "evil.example" not in html


async def test_bad_input_is_refused_with_a_sentence_and_changes_nothing(database_url: str) -> None:
    async with running_app(database_url, "blog") as app:
        csrf = await sign_in(app.client)
        cases = [
            ({"title": "", "body": "x", "action": "draft"}, "Give the post a title."),
            (
                {"title": "T", "body": "x", "action": "schedule", "publish_at": "2001-01-01T10:00"},
                "Choose a time in the future",
            ),
            ({"title": "T", "body": "x", "action": "schedule", "publish_at": "soon"}, "Give the date and time"),
            (
                {"title": "T", "body": "x", "tags": ",".join(f"t{i}" for i in range(11)), "action": "draft"},
                "at most 10 tags",
            ),
            ({"title": "T", "body": "x", "action": "shout"}, "Choose to publish, schedule or save the draft."),
        ]
        for fields, sentence in cases:
            before = await row_counts(app.store)
            answer = await app.client.post("/posts", data={"csrf": csrf, **fields})
            assert answer.status_code == 400 and sentence in answer.text, (fields, answer.text[:300])
            assert await row_counts(app.store) == before, fields
