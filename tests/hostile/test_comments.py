"""Replies, likes and shares of the blog's posts from signed remote actors, against the real blog peer: a reply
waits for the editor (a trusted follower's does not), is shown sanitized with its author's name, avatar and link,
and changes only at its author's word; likes and shares count once per actor and are undone only by that actor."""

from __future__ import annotations

import html
import io
import secrets
from typing import Any

from PIL import Image

from activities.vocab import PUBLIC
from tests.hostile.conftest import KEYS, World
from tests.hostile.helpers import AS2, Unchanged, Visitor, assert_refused, c2s, total_items
from tests.support.actors import RemoteActor, key_pair
from tests.support.httpserver import FakeServer, Reply


class Author(RemoteActor):
    """A remote account with a display name and an avatar (a PNG its server serves)."""

    def __init__(self, server: FakeServer, name: str, display: str, picture: bytes | None = None) -> None:
        self.display = display
        self.avatar = server.url(f"/avatars/{name}.png")
        if picture is None:
            png = io.BytesIO()
            Image.new("RGB", (200, 200), (200, 40, 40)).save(png, "PNG")
            picture = png.getvalue()
        server.serve(f"/avatars/{name}.png", Reply(200, {"content-type": "image/png"}, picture))
        super().__init__(server, name, key_pair(next(KEYS)))

    def document(self) -> dict[str, Any]:
        return {
            **super().document(),
            "name": self.display,
            "url": self.server.url(f"/@{self.name}"),
            "icon": {"type": "Image", "url": self.avatar},
        }

    def reply(self, post: str, content: str, **extra: Any) -> dict[str, Any]:
        note = {
            "id": self.server.url(f"/notes/{secrets.token_hex(6)}"),
            "type": "Note",
            "attributedTo": self.id,
            "inReplyTo": post,
            "content": content,
            "published": "2026-12-02T17:00:00Z",
            "to": [PUBLIC],
            **extra,
        }
        return self.activity("Create", note, to=[PUBLIC])


def author(world: World, name: str, display: str, picture: bytes | None = None) -> Author:
    return Author(world.remote, f"{name}-{secrets.token_hex(3)}", display, picture)


def new_post(world: World, title: str) -> str:
    answer = c2s(world.http, world.blog, {"type": "Create", "object": {"type": "Article", "name": title, "content": "Hi."}})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["object"])


def accepted(actor: RemoteActor, world: World, doc: dict[str, Any], status: str = "processed") -> None:
    response = actor.post(world.http, world.blog.inbox, doc)
    assert response.status_code == 202 and response.json()["status"] == status, response.text


def page_of(world: World, post: str) -> str:
    return html.unescape(world.http.get(post, headers={"accept": "text/html"}).text)


def replies(world: World, post: str) -> list[dict[str, Any]]:
    page = world.http.get(f"{post}/replies?page=true", headers={"accept": AS2})
    assert page.status_code == 200, page.text
    return list(page.json()["orderedItems"])


def test_a_reply_shows_after_approval_sanitized_with_its_author(world: World) -> None:
    post = new_post(world, "Replies wait")
    ada = author(world, "ada", "Ada <b>L</b>")
    create = ada.reply(post, '<p>Lovely post!<script>alert(1)</script><img src="https://x.example/t.png"></p>')
    accepted(ada, world, create)
    note = create["object"]["id"]
    assert note not in page_of(world, post) and "Lovely post" not in page_of(world, post), "shown before approval"
    assert total_items(world.http, f"{post}/replies") == 0

    admin = Visitor(world.blog, "/login").login()
    try:
        waiting = html.unescape(admin.get("/admin/followers").text)
        assert "Replies to our posts" in waiting and f"{ada.id}</a>: 1 waiting" in waiting
        assert "Lovely post!" in html.unescape(admin.get(post.removeprefix(world.blog.url)).text), "the editor sees it waiting on the post"
        answer = admin.post("/admin/pending/decide", queue="replies", actor=ada.id, decision="approve")
        assert answer.status_code == 303 and "Approved%201" in answer.headers["location"], answer.headers
    finally:
        admin.close()

    page = page_of(world, post)
    assert "Lovely post!" in page and "alert(1)" not in page and "x.example" not in page
    assert ">Ada L</a>" in page and f'href="{ada.server.url(f"/@{ada.name}")}"' in page
    avatar = page.split('class="avatar" src="', 1)[1].split('"', 1)[0]
    assert avatar.startswith(f"{world.blog.url}/media/"), "the avatar is served from the blog's own origin"
    image = world.http.get(avatar)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).width == 96
    [listed] = replies(world, post)
    assert listed["id"] == note and listed["type"] == "Note" and listed["inReplyTo"] == post
    assert listed["attributedTo"] == ada.id and "<script" not in listed["content"]
    article = world.http.get(post, headers={"accept": AS2}).json()
    assert article["replies"] == f"{post}/replies" and article["likes"] == f"{post}/likes"
    assert article["shares"] == f"{post}/shares"


def test_a_refused_reply_is_never_shown(world: World) -> None:
    post = new_post(world, "Refused")
    bea = author(world, "bea", "Bea")
    accepted(bea, world, bea.reply(post, "<p>Buy my pills</p>"))
    admin = Visitor(world.blog, "/login").login()
    try:
        answer = admin.post("/admin/pending/decide", queue="replies", actor=bea.id, decision="refuse")
        assert "Refused%201" in answer.headers["location"], answer.headers
    finally:
        admin.close()
    assert "Buy my pills" not in page_of(world, post) and total_items(world.http, f"{post}/replies") == 0


def test_a_trusted_followers_reply_is_listed_at_once(world: World) -> None:
    post = new_post(world, "Trusted")
    cy = author(world, "cy", "Cy")
    accepted(cy, world, cy.activity("Follow", world.blog.actor_id))
    visitor = Visitor(world.blog, "/login")  # a browser with a session and its CSRF token, not signed in
    try:
        with Unchanged(world.view(world.blog)):
            answer = visitor.post("/admin/followers/trust", actor=cy.id, trust="yes")
            assert answer.status_code in (303, 401, 403) and "trusted" not in answer.headers.get("location", "")
    finally:
        visitor.close()
    admin = Visitor(world.blog, "/login").login()
    try:
        stranger = author(world, "dee", "Dee")
        with Unchanged(world.view(world.blog)):
            refused = admin.post("/admin/followers/trust", actor=stranger.id, trust="yes")
            assert "does%20not%20follow" in refused.headers["location"], refused.headers
        answer = admin.post("/admin/followers/trust", actor=cy.id, trust="yes")
        assert answer.status_code == 303 and "is%20trusted" in answer.headers["location"], answer.headers
        followers = html.unescape(admin.get("/admin/followers").text)
        row = followers[followers.index(f'<a href="{cy.id}">') :].split("</tr>", 1)[0]
        assert ">trusted</strong>" in row and "Stop trusting" in row
    finally:
        admin.close()
    accepted(cy, world, cy.reply(post, "<p>First!</p>"))
    assert "First!" in page_of(world, post) and total_items(world.http, f"{post}/replies") == 1


def approved_reply(world: World, who: Author, post: str, content: str) -> dict[str, Any]:
    create = who.reply(post, content)
    accepted(who, world, create)
    admin = Visitor(world.blog, "/login").login()
    try:
        slug = post.rsplit("/", 1)[-1]
        answer = admin.post(f"/posts/{slug}/replies/decide", reply=create["object"]["id"], decision="approve")
        assert answer.status_code == 303, answer.text
    finally:
        admin.close()
    return dict(create["object"])


def test_only_the_author_updates_or_deletes_a_reply(world: World) -> None:
    post = new_post(world, "Edits")
    eve = author(world, "eve", "Eve")
    note = approved_reply(world, eve, post, "<p>Version one</p>")
    impostor = RemoteActor(world.remote, eve.name + "-twin", key_pair(next(KEYS)))  # same host, another account
    accepted(impostor, world, impostor.activity("View", world.blog.actor_id), "ignored")  # its key kept before we look
    forged = {**note, "attributedTo": impostor.id, "content": "<p>Forged</p>"}
    with Unchanged(world.view(world.blog)):
        assert_refused(impostor.post(world.http, world.blog.inbox, impostor.activity("Update", forged)), 403, "author")
        assert_refused(impostor.post(world.http, world.blog.inbox, impostor.activity("Delete", note["id"])), 403, "author")
        claimed = impostor.activity("Update", {**note, "content": "<p>Forged</p>"})  # Eve's note, Eve's name on it
        assert_refused(impostor.post(world.http, world.blog.inbox, claimed), 403, "attributed")
    assert "Version one" in page_of(world, post)

    accepted(eve, world, eve.activity("Update", {**note, "content": "<p>Version two</p>", "updated": "2026-12-02T18:00:00Z"}))
    page = page_of(world, post)
    assert "Version two" in page and "Version one" not in page and "edited" in page
    accepted(eve, world, eve.activity("Delete", {"id": note["id"], "type": "Tombstone"}))
    assert "Version two" not in page_of(world, post) and total_items(world.http, f"{post}/replies") == 0


def test_likes_and_shares_count_once_per_actor_and_undo_only_by_their_actor(world: World) -> None:
    post = new_post(world, "Reactions")
    fay, gus = author(world, "fay", "Fay"), author(world, "gus", "Gus")
    like = fay.activity("Like", post)
    accepted(fay, world, like)
    accepted(fay, world, fay.activity("Like", post))  # a second Like by the same actor: counted once
    accepted(gus, world, gus.activity("Like", post))
    assert total_items(world.http, f"{post}/likes") == 2
    assert "2 likes" in page_of(world, post)

    with Unchanged(world.view(world.blog)):
        stolen = gus.activity("Undo", {"id": like["id"], "type": "Like", "actor": fay.id, "object": post})
        assert_refused(gus.post(world.http, world.blog.inbox, stolen), 403, "only the actor")
        by_id = gus.activity("Undo", like["id"])  # named by id alone: we know whose it was
        assert_refused(gus.post(world.http, world.blog.inbox, by_id), 403, "only the actor")
    accepted(fay, world, fay.activity("Undo", {"id": like["id"], "type": "Like", "actor": fay.id, "object": post}))
    assert total_items(world.http, f"{post}/likes") == 1

    share = gus.activity("Announce", post, to=[PUBLIC])
    accepted(gus, world, share)
    assert total_items(world.http, f"{post}/shares") == 1 and "1 share" in page_of(world, post)
    accepted(gus, world, gus.activity("Undo", share["id"]))
    assert total_items(world.http, f"{post}/shares") == 0
    assert total_items(world.http, f"{post}/likes") == 1, "undoing a share leaves the like"


def test_bad_replies_and_reactions_are_refused_and_change_nothing(world: World) -> None:
    post = new_post(world, "Hostile")
    hal = author(world, "hal", "Hal")
    accepted(hal, world, hal.activity("View", world.blog.actor_id), "ignored")  # its key is fetched and kept before we look
    missing = f"{world.blog.url}/posts/no-such-post"
    with Unchanged(world.view(world.blog)):
        assert_refused(hal.post(world.http, world.blog.inbox, hal.reply(missing, "<p>hi</p>")), 422, "no post here")
        huge = hal.reply(post, "<p>" + "a" * 30_000 + "</p>")
        assert_refused(hal.post(world.http, world.blog.inbox, huge), 400, "longer than")
        unsigned_by_author = hal.reply(post, "<p>whose?</p>")
        del unsigned_by_author["object"]["attributedTo"]
        assert_refused(hal.post(world.http, world.blog.inbox, unsigned_by_author), 403, "not attributed")
        someone_elses = hal.reply(post, "<p>in Ivy's name</p>", attributedTo=world.alice.id)
        assert_refused(hal.post(world.http, world.blog.inbox, someone_elses), 403, "not attributed")
        empty = hal.reply(post, "<script>only this</script>")
        assert_refused(hal.post(world.http, world.blog.inbox, empty), 400, "needs content")
    for ignored in (hal.activity("Like", missing), hal.activity("Announce", missing)):  # recorded, counted nowhere
        response = hal.post(world.http, world.blog.inbox, ignored)
        assert response.status_code == 202 and response.json()["status"] == "ignored", response.text
    elsewhere = hal.reply("https://elsewhere.example/notes/1", "<p>not to us</p>")
    response = hal.post(world.http, world.blog.inbox, elsewhere)
    assert response.status_code == 202 and response.json()["status"] == "ignored", response.text
    assert total_items(world.http, f"{post}/replies") == 0
    assert world.http.get(f"{missing}/replies", headers={"accept": AS2}).status_code == 404


def test_a_post_with_reactions_keeps_its_address(world: World) -> None:
    post = new_post(world, "Liked and kept")
    ivy = author(world, "ivy", "Ivy")
    accepted(ivy, world, ivy.activity("Like", post))
    admin = Visitor(world.blog, "/login").login()
    try:
        slug = post.rsplit("/", 1)[-1]
        with Unchanged(world.view(world.blog)):
            moved = admin.post(f"/posts/{slug}/edit", title="Liked and kept", body="Hi.", slug="elsewhere", action="update")
            assert moved.status_code == 400, moved.text[:300]
            assert "replies, likes or shares from the fediverse" in html.unescape(moved.text)
    finally:
        admin.close()
    assert world.http.get(post, headers={"accept": AS2}).status_code == 200


def test_one_actors_waiting_replies_are_bounded(world: World) -> None:
    post = new_post(world, "Flooded")
    jo = author(world, "jo", "Jo")
    for n in range(20):
        accepted(jo, world, jo.reply(post, f"<p>spam {n}</p>"))
    with Unchanged(world.view(world.blog)):
        assert_refused(jo.post(world.http, world.blog.inbox, jo.reply(post, "<p>one more</p>")), 422, "wait for the admin")
    admin = Visitor(world.blog, "/login").login()
    try:
        answer = admin.post("/admin/pending/decide", queue="replies", actor=jo.id, decision="refuse")
        assert "Refused%2020" in answer.headers["location"], answer.headers
    finally:
        admin.close()
    accepted(jo, world, jo.reply(post, "<p>room again</p>"))  # refusing gave the places back


def test_an_avatar_that_is_no_image_is_left_out(world: World) -> None:
    post = new_post(world, "Bad avatar")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    kim = author(world, "kim", "Kim", picture=svg)
    accepted(kim, world, kim.activity("Follow", world.blog.actor_id))
    admin = Visitor(world.blog, "/login").login()
    try:
        assert admin.post("/admin/followers/trust", actor=kim.id, trust="yes").status_code == 303
    finally:
        admin.close()
    accepted(kim, world, kim.reply(post, "<p>Hello from Kim</p>"))
    page = page_of(world, post)
    assert "Hello from Kim" in page and 'class="avatar"' not in page and "alert(1)" not in page
