"""Static pages and the site navigation the editor orders; on both stores."""

from __future__ import annotations

import re

from tests.blog.test_writing import AS2, emitted
from tests.media.helpers import sign_in
from tests.support.app import BASE, row_counts, running_app


async def test_pages_are_public_unfederated_and_in_the_navigation_in_the_editors_order(database_url: str) -> None:
    async with running_app(database_url, "blog") as app:
        csrf = await sign_in(app.client)
        for title in ("About us", "Contact", "Hidden"):
            made = await app.client.post(
                "/pages/new", data={"csrf": csrf, "title": title, "body": f"## {title}\n\n**Hello**"}
            )
            assert made.status_code == 303, made.text[:300]
        assert (await app.client.get("/pages/new")).status_code == 200
        editor = await app.client.get("/pages/about-us/edit")
        assert editor.status_code == 200 and "## About us" in editor.text
        doc = (await app.client.get("/pages/about-us", headers=AS2)).json()
        assert doc["type"] == "Page" and "<strong>Hello</strong>" in doc["content"]
        assert await emitted(app, "Create") == []  # a page is not announced
        ordered = await app.client.post(
            "/pages",
            data={
                "csrf": csrf,
                "nav:contact": "on",
                "position:contact": "1",
                "nav:about-us": "on",
                "position:about-us": "2",
            },
        )
        assert ordered.status_code == 303
        async with running_app(database_url, "blog") as visitor:
            home = (await visitor.client.get("/")).text
            links = re.findall(r'<nav class="site-pages".*?</nav>', home, re.S)
            assert links and re.findall(r">([^<]+)</a>", links[0]) == ["Contact", "About us"]
            page = (await visitor.client.get("/pages/hidden")).text
            assert "<h2>Hidden</h2>" in page and f'href="{BASE}/pages/contact"' in page
        await app.client.post("/pages", data={"csrf": csrf, "nav:about-us": "on", "position:about-us": "1"})
        home = (await app.client.get("/")).text
        assert re.findall(r'<nav class="site-pages".*?</nav>', home, re.S)[0].count("<li>") == 1


async def test_a_bad_navigation_changes_nothing(database_url: str) -> None:
    async with running_app(database_url, "blog") as app:
        csrf = await sign_in(app.client)
        await app.client.post("/pages/new", data={"csrf": csrf, "title": "About", "body": "x"})
        await app.client.post("/pages", data={"csrf": csrf, "nav:about": "on"})
        before = await row_counts(app.store)
        answer = await app.client.post("/pages", data={"csrf": csrf, "nav:about": "on", "position:about": "first"})
        assert answer.status_code == 400 and "A position is a whole number from 1 to 1000." in answer.text
        untitled = await app.client.post("/pages/new", data={"csrf": csrf, "title": "", "body": "x"})
        assert untitled.status_code == 400 and "Give the page a title." in untitled.text
        assert await row_counts(app.store) == before
