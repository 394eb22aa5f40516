"""A kind's due work runs where the workers run. With the web process's in-process workers off (as in the
docker-compose deployment), a post scheduled on the editor's page is published and federated by
`rose-ash worker`, and the web process itself publishes nothing."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.support.admin import Admin, eventually
from tests.support.databases import Databases
from tests.support.processes import PeerProcess


@pytest.mark.faults
def test_a_scheduled_post_is_published_by_the_worker_process(
    databases: Databases, processes: Callable[..., PeerProcess]
) -> None:
    url = databases.new("blog")
    web = processes("blog", database_url=url, env={"ROSE_ASH_INPROCESS_WORKER": "0"})
    editor = Admin(web.url, web.admin_token).login()
    try:
        due = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 3))
        fields = {"csrf": editor.csrf("/posts/new"), "title": "At nine", "body": "On time.", "action": "schedule"}
        answer = editor.client.post("/posts", data={**fields, "publish_at": due})
        assert answer.status_code == 303, answer.text[:300]
        post = f"{web.url}/posts/at-nine"

        time.sleep(5)  # past its time: without a worker nobody publishes it
        assert httpx.get(post, headers={"accept": "text/html"}).status_code == 404

        worker = processes(
            "blog", database_url=url, command="worker", base_url=web.url, env={"ROSE_ASH_DUE_CHECK_SECONDS": "1"}
        )
        eventually(
            lambda: httpx.get(post, headers={"accept": "text/html"}).status_code == 200,
            timeout=30,
            what="the worker to publish the scheduled post",
        )
        assert worker.running, worker.log_tail()
        outbox = httpx.get(f"{web.url}/actor/outbox?page=true", headers={"accept": "application/activity+json"})
        creates = [a for a in outbox.json()["orderedItems"] if a["type"] == "Create"]
        published = [c["object"] if isinstance(c["object"], str) else c["object"]["id"] for c in creates]
        assert published.count(post) == 1, published  # once, beside the seeded welcome post
    finally:
        editor.close()
