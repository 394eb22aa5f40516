"""The admin sees the store's size per table (what strangers' traffic grows); nobody else does."""

from __future__ import annotations

import re

from tests.support.app import running_app
from tests.support.processes import ADMIN_TOKEN

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def test_the_admin_sees_every_table_with_its_rows(database_url: str) -> None:
    async with running_app(database_url, "blog") as app:
        visitor = await app.client.get("/admin/store", headers={"accept": "text/html"})
        assert visitor.status_code == 303 and visitor.headers["location"] == "/login?next=/admin/store"
        login = await app.client.get("/login")
        csrf = CSRF.search(login.text)
        assert csrf
        signed_in = await app.client.post("/login", data={"csrf": csrf.group(1), "token": ADMIN_TOKEN, "next": "/"})
        assert signed_in.status_code == 303
        page = await app.client.get("/admin/store")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        for table in ("inbox_activities", "remote_actors", "collection_items", "deliveries", "web_sessions"):
            assert f"<td>{table}</td>" in page.text, table
        assert re.search(r"<td>web_sessions</td><td>1</td>", page.text)  # the admin's own session
        assert re.search(r"The whole database: [\d,]+ KiB", page.text)
