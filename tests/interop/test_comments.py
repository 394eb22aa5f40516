"""Fedify as a reader of the blog: it parses a post with its image and tags (and its replies, likes and shares
collections), replies to it and the reply shows once the editor approves it, then edits and deletes it; its
`Like` raises the count and its `Undo` lowers it, as do an `Announce` and its `Undo`. On a blog of each store."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.hostile.helpers import Visitor
from tests.interop.conftest import wait_until
from tests.interop.fedify import FedifyPeer
from tests.media import images
from tests.support.databases import Databases, postgres_or_skip
from tests.support.processes import PeerProcess

pytestmark = pytest.mark.interop

AS2 = "application/activity+json"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKENDS)
def blog_process(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeerProcess]:
    backend = str(request.param)
    server_url = postgres_or_skip() if backend == "postgres" else ""
    tmp = tmp_path_factory.mktemp(f"comments-{backend}")
    dbs = Databases(backend, tmp, server_url)
    peer = PeerProcess("blog", database_url=dbs.new("blog"), log_path=tmp / "blog.log")
    try:
        peer.start(60.0)
        yield peer
    finally:
        peer.stop()
        dbs.cleanup()


@pytest.fixture
def blog(blog_process: PeerProcess, peer_logs: list[Path]) -> PeerProcess:
    peer_logs.append(blog_process.log_path)
    return blog_process


def total(url: str) -> int:
    response = httpx.get(url, headers={"accept": AS2}, trust_env=False)
    assert response.status_code == 200, response.text
    return int(response.json()["totalItems"])


def write_post(admin: Visitor) -> str:
    uploaded = admin.http.post(
        admin.peer.url + "/media",
        data={"csrf": admin.csrf, "alt": "The hall, lit"},
        files={"file": ("hall.jpg", images.photo("JPEG", (800, 600)), "image/jpeg")},
    )
    assert uploaded.status_code == 201, uploaded.text
    written = admin.post(
        "/posts",
        title="Talk to us",
        body=f"Reply from anywhere.\n\n![The hall, lit]({uploaded.json()['url']})",
        tags="interop",
        action="publish",
    )
    assert written.status_code == 303, written.text[:300]
    return admin.peer.url + written.headers["location"]


def test_fedify_replies_likes_and_shares(fedify: FedifyPeer, blog: PeerProcess) -> None:
    admin = Visitor(blog, "/login").login()
    try:
        post = write_post(admin)
        got = fedify.lookup(post)
        assert got["ok"], got.get("error")
        assert got["dropped"] == [], got["dropped"]
        node = got["json_ld"]
        assert node["attachment"]["type"] == "Image" and node["tag"]["type"] == "Hashtag", node
        assert (node["replies"], node["likes"], node["shares"]) == (f"{post}/replies", f"{post}/likes", f"{post}/shares")
        for name in ("replies", "likes", "shares"):
            collection = fedify.lookup(f"{post}/{name}")
            assert collection["ok"] and collection["json_ld"]["totalItems"] == 0, collection

        sent = fedify.interact("reply", post, blog.actor_id, "<p>Lovely, says Fedify<script>x()</script></p>")
        assert sent["ok"], sent
        note = sent["object_id"]
        waiting = html.unescape(admin.get("/admin/followers").text)
        assert f"{fedify.actor_id}</a>: 1 waiting" in waiting, "the reply waits for the editor"
        assert "Lovely, says Fedify" not in httpx.get(post, trust_env=False).text
        answer = admin.post("/admin/pending/decide", queue="replies", actor=fedify.actor_id, decision="approve")
        assert answer.status_code == 303 and "Approved%201" in answer.headers["location"], answer.headers
        page = httpx.get(post, trust_env=False).text
        assert "Lovely, says Fedify" in page and "x()" not in page
        replies = fedify.lookup(f"{post}/replies?page=true")
        assert replies["ok"], replies.get("error")
        items = replies["json_ld"]["orderedItems"]
        first = items[0] if isinstance(items, list) else items
        assert first["id"] == note and first["inReplyTo"] == post, first

        edited = fedify.interact("update", note, blog.actor_id, "<p>Lovely, says Fedify, edited</p>")
        assert edited["ok"], edited
        assert "Lovely, says Fedify, edited" in httpx.get(post, trust_env=False).text

        like = fedify.interact("like", post, blog.actor_id)
        assert like["ok"], like
        assert total(f"{post}/likes") == 1
        assert fedify.lookup(f"{post}/likes")["json_ld"]["totalItems"] == 1
        assert fedify.interact("undo", like["id"], blog.actor_id)["ok"]
        wait_until(lambda: total(f"{post}/likes") == 0 or None, what="the like undone")

        share = fedify.interact("announce", post, blog.actor_id)
        assert share["ok"], share
        assert total(f"{post}/shares") == 1 and "1 share" in httpx.get(post, trust_env=False).text
        assert fedify.interact("undo", share["id"], blog.actor_id)["ok"]
        assert total(f"{post}/shares") == 0

        gone = fedify.interact("delete", note, blog.actor_id)
        assert gone["ok"], gone
        assert "Lovely, says Fedify" not in httpx.get(post, trust_env=False).text and total(f"{post}/replies") == 0
    finally:
        admin.close()
