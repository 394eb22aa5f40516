"""Importing a Ghost 5 export (tests/blog/fixtures/ghost-export.json) through /admin/import and the CLI: posts,
drafts, a scheduled post, a page, tags, dates and images land right without announcing anything; a broken file
changes nothing; a second import duplicates nothing. On both stores."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from actors.blog import newsletter
from store.models import MailMessage, MediaFile, ScheduledPublication, StoredObject
from tests.blog.test_writing import AS2, emitted
from tests.media import images
from tests.media.helpers import sign_in
from tests.support.app import BASE, App, row_counts, running_app
from tests.support.httpserver import FakeServer, Reply

ROOT = Path(__file__).resolve().parents[2]
EXPORT = Path(__file__).parent / "fixtures" / "ghost-export.json"


def serve_images(server: FakeServer) -> None:
    """The old Ghost site's images; gone.jpg is no longer there."""
    server.serve("/content/images/2024/03/poster.jpg", Reply(200, {"content-type": "image/jpeg"}, images.photo()))
    hall = images.photo("PNG", (900, 600))
    server.serve("/content/images/2024/03/hall.png", Reply(200, {"content-type": "image/png"}, hall))


async def upload(app: App, csrf: str, raw: bytes, old_site: str = "") -> Any:
    return await app.client.post(
        "/admin/import",
        data={"csrf": csrf, "old_site": old_site},
        files={"file": ("ghost-export.json", raw, "application/json")},
    )


async def _count(app: App, model: Any) -> int:
    async with app.store.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_an_export_lands_as_posts_drafts_pages_and_tags_without_announcing(
    database_url: str, tmp_path: Path, fake_server: Callable[[], FakeServer]
) -> None:
    old = fake_server()
    serve_images(old)
    async with running_app(database_url, "blog", media_dir=str(tmp_path / "media")) as app:
        csrf = await sign_in(app.client)
        async with app.store.write() as session:  # a confirmed subscriber, who gets each post announced
            token = await newsletter.ask(session, app.services, "reader@example.org")
            assert token is not None and await newsletter.confirm(session, app.services, token)
        made = await app.client.post(
            "/posts", data={"csrf": csrf, "title": "Welcome", "body": "Our new blog.", "action": "publish"}
        )
        assert made.status_code == 303
        creates, mails = len(await emitted(app, "Create")), await _count(app, MailMessage)
        assert creates == 1 and mails == 1  # the new post was announced and emailed
        assert (await app.client.get("/admin/import")).status_code == 200

        answer = await upload(app, csrf, EXPORT.read_bytes(), old.base_url)
        assert answer.status_code == 200, answer.text[:500]
        page = answer.text
        assert (
            "Imported 2 published posts, 1 draft, 1 scheduled post, 1 page, 2 tags and 2 images; "
            "0 imported before; 1 skipped; 1 image missing." in page
        )
        assert "“Members news”: it is for Ghost&#39;s members only, and the blog has no members-only posts." in page
        assert "“Welcome”: the address /posts/welcome was taken, so it is at /posts/welcome-2." in page
        assert f"{old.base_url}/content/images/2024/03/gone.jpg</code>: the old site answered HTTP 404." in page

        recap = (await app.client.get("/posts/summer-gig-recap", headers=AS2)).json()
        assert recap["published"] == "2024-03-10T18:30:00Z" and recap["name"] == "Summer Gig Recap"
        html = recap["content"]
        for part in (
            "<strong>three bands</strong>",
            "<em>one hall</em>",
            '<a href="https://example.org/bands"',
            "<h2>The set</h2>",
            "<li>Opening with the choir</li>",
            "<blockquote>",
            "<code",
            'print("encore")',
        ):
            assert part in html, part
        assert "alert" not in html and "iframe" not in html and "__GHOST_URL__" not in html
        gone = f"{old.base_url}/content/images/2024/03/gone.jpg"
        assert f'<a href="{gone}"' in html and f"[Lost photo]({gone})" in recap["source"]["content"]  # a link now
        pictures = recap["attachment"]
        assert [p["name"] for p in pictures] == ["The summer gig poster", "The hall, full"]
        assert all(p["url"].startswith(f"{BASE}/media/") for p in pictures) and html.count("<img") == 2
        image = await app.client.get(pictures[1]["url"].removeprefix(BASE))
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert [t["name"] for t in recap["tag"]] == ["#LiveMusic", "#Summer"]  # Ghost's order; #import-2024 is internal

        moved = (await app.client.get("/posts/welcome-2", headers=AS2)).json()
        assert moved["published"] == "2023-01-05T09:00:00Z" and "<em>old</em>" in moved["content"]
        about = (await app.client.get("/pages/about", headers=AS2)).json()
        assert about["type"] == "Page" and "<strong>cooperative</strong>" in about["content"]
        assert about["published"] == "2022-06-01T12:00:00Z"
        tagged = (await app.client.get("/tags/livemusic")).text
        assert "Summer Gig Recap" in tagged and "Winter Programme" not in tagged  # a scheduled post is not out yet

        # nothing was announced: no Create for the imported posts, no newsletter email
        assert len(await emitted(app, "Create")) == creates and await _count(app, MailMessage) == mails
        async with app.store.read() as session:
            draft = await session.get(StoredObject, f"{BASE}/posts/plans-for-autumn")
            winter = await session.get(StoredObject, f"{BASE}/posts/winter-programme")
            plan = await session.get(ScheduledPublication, f"{BASE}/posts/winter-programme")
        assert draft is not None and not draft.public and "published" not in draft.data
        assert winter is not None and not winter.public and [t["name"] for t in winter.data["tag"]] == ["#LiveMusic"]
        assert plan is not None and plan.due_at == 1894698000.0  # 2030-01-15T09:00:00Z, Ghost's time
        assert "Plans for autumn" in (await app.client.get("/drafts")).text
        home = (await app.client.get("/")).text
        assert (
            home.index('/posts/welcome"') < home.index("/posts/summer-gig-recap") < home.index("/posts/welcome-2")
        )  # by date
        async with running_app(database_url, "blog", media_dir=str(tmp_path / "media")) as visitor:
            assert (await visitor.client.get("/posts/plans-for-autumn")).status_code == 404
            assert (await visitor.client.get("/posts/members-news")).status_code == 404
            assert (await visitor.client.get("/imports/ghost")).status_code == 404  # what was imported is ours
            assert "Summer Gig Recap" in (await visitor.client.get("/posts.atom")).text

        # a second import adds nothing and fetches nothing again
        before, fetched = await row_counts(app.store), len(old.gets())
        again = await upload(app, csrf, EXPORT.read_bytes(), old.base_url)
        assert again.status_code == 200
        assert "Imported 0 published posts, 0 drafts, 0 scheduled posts, 0 pages, 0 tags and 0 images; " in again.text
        assert "5 imported before; 1 skipped" in again.text
        assert await row_counts(app.store) == before and len(old.gets()) == fetched


def ghost(posts: list[dict[str, Any]], **data: Any) -> bytes:
    return json.dumps({"db": [{"meta": {"version": "5.80.0"}, "data": {"posts": posts, **data}}]}).encode()


GOOD = {"id": "1", "uuid": "u-1", "title": "Fine", "slug": "fine", "html": "<p>fine</p>", "status": "published"}
BROKEN: list[tuple[bytes, str]] = [
    (b"\x89PNG\r\n\x1a\n not json", "This is not a Ghost export: choose the .json file"),
    (b'{"posts": []}', "This is not a Ghost export"),
    (json.dumps({"meta": {}, "data": {"tags": []}}).encode(), "This Ghost export has no posts table"),
    (ghost([GOOD, {**GOOD, "id": "2", "uuid": "u-2", "slug": "b", "published_at": "last week"}]), "is not a date"),
    (ghost([GOOD, {**GOOD, "id": "3", "uuid": "u-3", "slug": None}]), "a post has no id or no slug"),
    (ghost([GOOD, {**GOOD, "id": "4", "uuid": "u-4", "slug": "c", "status": "deleted"}]), "is not a post status"),
    (ghost([GOOD], posts_tags="everything"), "The Ghost export&#39;s posts_tags table is broken"),
]


async def test_a_broken_file_changes_nothing(database_url: str, tmp_path: Path) -> None:
    async with running_app(database_url, "blog", media_dir=str(tmp_path / "media")) as app:
        csrf = await sign_in(app.client)
        before = await row_counts(app.store)
        for raw, sentence in BROKEN:
            answer = await upload(app, csrf, raw)
            assert answer.status_code == 400, raw[:80]
            assert "Nothing was imported." in answer.text and sentence in answer.text, (sentence, answer.text[:2000])
        no_file = await app.client.post("/admin/import", data={"csrf": csrf})
        assert no_file.status_code == 400 and "Choose the Ghost export file to import." in no_file.text
        bad_site = await upload(app, csrf, ghost([GOOD]), "file:///etc")
        assert bad_site.status_code == 400 and "starts with https:// or http://" in bad_site.text
        forged = await app.client.post(
            "/admin/import", data={"csrf": "x"}, files={"file": ("e.json", ghost([GOOD]), "application/json")}
        )
        assert forged.status_code == 403
        huge = await app.client.post(
            "/admin/import",
            content=b"x",
            headers={"content-length": str(60 * 1024 * 1024), "content-type": "multipart/form-data; boundary=b"},
        )
        assert huge.status_code == 413 and "The file is larger than 50 MB." in huge.text
        assert await row_counts(app.store) == before
        async with running_app(database_url, "blog") as visitor:
            stranger = await visitor.client.post(
                "/admin/import", files={"file": ("e.json", ghost([GOOD]), "application/json")}
            )
            assert stranger.status_code == 303 and stranger.headers["location"].startswith("/login")
        assert await row_counts(app.store) == before


def _cli(database_url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "peer.cli", "import-ghost", *args, "--database-url", database_url]
    command += ["--base-url", BASE, "--data-dir", str(data_dir), "--admin-token", "t" * 24]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)


async def _imported(database_url: str) -> tuple[int, int, int]:
    async with running_app(database_url, "blog") as app:
        async with app.store.read() as session:
            articles = await session.scalar(
                select(func.count()).select_from(StoredObject).where(StoredObject.type == "Article")
            )
        return int(articles or 0), await _count(app, MediaFile), len(await emitted(app, "Create"))


def test_the_cli_imports_once_and_lists_the_images_it_could_not_fetch(database_url: str, tmp_path: Path) -> None:
    first = _cli(database_url, tmp_path, str(EXPORT))
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].startswith("Imported 2 published posts, 1 draft, 1 scheduled post, 1 page, 2 tags and 0 images")
    assert (
        "Image missing in “Summer Gig Recap”: __GHOST_URL__/content/images/2024/03/hall.png: "
        "the old Ghost site's address was not given, so the image could not be fetched." in lines
    )
    assert asyncio.run(_imported(database_url)) == (4, 0, 0)
    second = _cli(database_url, tmp_path, str(EXPORT))
    assert second.returncode == 0 and "5 imported before" in second.stdout
    assert asyncio.run(_imported(database_url)) == (4, 0, 0)
    broken = tmp_path / "broken.json"
    broken.write_text('{"db": [{"meta": {}, "data": {"posts": [{"title": "x"}]}}]}')
    refused = _cli(database_url, tmp_path, str(broken))
    assert refused.returncode == 1
    assert "nothing was imported. The Ghost export is broken: a post has no id or no slug." in refused.stderr
    missing = _cli(database_url, tmp_path, str(tmp_path / "nowhere.json"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    env = {k: v for k, v in os.environ.items() if k != "ROSE_ASH_BASE_URL"}
    nameless = subprocess.run(
        [sys.executable, "-m", "peer.cli", "import-ghost", str(EXPORT), "--database-url", database_url],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert nameless.returncode == 2 and "give the blog's public base URL" in nameless.stderr
    assert asyncio.run(_imported(database_url)) == (4, 0, 0)


async def test_images_on_private_addresses_are_refused_and_listed(
    database_url: str, tmp_path: Path, fake_server: Callable[[], FakeServer]
) -> None:
    """The guard stays on for an import: an export naming a loopback site gets no image from it."""
    old = fake_server()
    serve_images(old)
    async with running_app(database_url, "blog", media_dir=str(tmp_path / "media"), allow_private=False) as app:
        answer = await upload(app, await sign_in(app.client), EXPORT.read_bytes(), old.base_url)
        assert answer.status_code == 200, answer.text[:500]
        assert "and 0 images; 0 imported before; 1 skipped; 3 images missing." in answer.text
        assert f"{old.base_url}/content/images/2024/03/hall.png</code>: its address is refused" in answer.text
        assert old.gets() == [] and await _count(app, MediaFile) == 0
