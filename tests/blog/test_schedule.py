"""Scheduled publication: a draft publishes and federates at its time, once, and a restart in between
loses nothing. The task's own loop is driven with explicit times; on both stores."""

from __future__ import annotations

import asyncio
import time

from actors.blog.schedule import next_due, publish_due
from tests.blog.test_writing import AS2, emitted
from tests.media.helpers import sign_in
from tests.support.app import running_app


async def test_a_scheduled_draft_publishes_once_at_its_time_even_across_a_restart(database_url: str) -> None:
    soon = time.time() + 3600
    async with running_app(database_url, "blog") as app:
        csrf = await sign_in(app.client)
        local = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(soon))
        answer = await app.client.post(
            "/posts",
            data={
                "csrf": csrf,
                "title": "Later",
                "body": "At its time.",
                "action": "schedule",
                "publish_at": local,
                "tz_offset": "0",
            },
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/posts/later/edit?saved=schedule"
        page = (await app.client.get("/posts/later/edit")).text
        assert "Scheduled to publish at" in page
        due = await next_due(app.services)
        assert due is not None and abs(due - soon) < 60
        assert await publish_due(app.services, due - 1) == []
        assert await emitted(app, "Create") == []

    async with running_app(database_url, "blog") as restarted:  # the schedule is in the store, not in memory
        assert await publish_due(restarted.services, due + 1) == ["http://peer.test/posts/later"]
        assert await publish_due(restarted.services, due + 2) == []  # once
        [create] = await emitted(restarted, "Create")
        assert create["object"]["id"] == "http://peer.test/posts/later" and create["to"] == [
            "https://www.w3.org/ns/activitystreams#Public"
        ]
        doc = (await restarted.client.get("/posts/later", headers=AS2)).json()
        assert doc["published"] and (await restarted.client.get("/posts", headers=AS2)).json()["totalItems"] == 1
        assert await next_due(restarted.services) is None


async def test_saving_a_scheduled_post_as_a_draft_cancels_its_schedule(database_url: str) -> None:
    async with running_app(database_url, "blog") as app:
        csrf = await sign_in(app.client)
        local = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() + 7200))
        await app.client.post(
            "/posts", data={"csrf": csrf, "title": "Maybe", "body": "x", "action": "schedule", "publish_at": local}
        )
        assert await next_due(app.services) is not None
        await app.client.post(
            "/posts/maybe/edit", data={"csrf": csrf, "title": "Maybe", "body": "x", "action": "draft"}
        )
        assert await next_due(app.services) is None
        assert await publish_due(app.services, time.time() + 10_000) == []


async def test_the_running_peer_publishes_a_due_post_by_itself(database_url: str) -> None:
    """The peer's task, not the test, publishes: a post due in two seconds is public soon after (the task
    sleeps for a minute between looks, so it was woken by the schedule, then slept until the post's time).
    It runs beside the in-process workers, as under `rose-ash up`."""
    async with running_app(database_url, "blog", inprocess_worker=True) as app:
        csrf = await sign_in(app.client)
        local = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 2))
        answer = await app.client.post(
            "/posts", data={"csrf": csrf, "title": "Soon", "body": "x", "action": "schedule", "publish_at": local}
        )
        assert answer.status_code == 303, answer.text[:300]
        deadline = time.monotonic() + 10
        while not await emitted(app, "Create"):
            assert time.monotonic() < deadline, "the scheduled post was not published"
            await asyncio.sleep(0.2)
