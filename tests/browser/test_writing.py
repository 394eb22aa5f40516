"""Writing on the blog in a real browser against `rose-ash up`: a formatted post with an image, written with
the toolbar and shortcuts, autosaved as a draft, scheduled, and published by the peer at its time."""

from __future__ import annotations

import io
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.browser.test_story import OUTPUT, peers, playwright_api  # noqa: F401  (`peers` is a fixture)

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
SCHEDULE_IN = 12.0  # seconds from pressing Schedule to the post's time


def poster(path: Path) -> Path:
    image = Image.new("RGB", (1200, 800), (30, 90, 160))
    image.paste((240, 200, 40), (100, 100, 1100, 700))
    out = io.BytesIO()
    image.save(out, "PNG")
    path.write_bytes(out.getvalue())
    return path


def test_write_a_formatted_post_with_an_image_schedule_it_and_see_it_published(
    peers: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    blog, token = peers["blog"], peers["token"]
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 1200, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(20_000)
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "404" not in m.text else None)
        page.on(
            "response",
            lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 and "favicon" not in r.url else None,
        )

        page.goto(f"{blog}/login?next=/posts/new")
        page.fill("input[name=token]", token)
        page.click("button:has-text('Log in')")
        page.wait_for_url(f"{blog}/posts/new")

        page.fill("input[name=title]", "Autumn gig notes")
        page.fill("input[name=tags]", "autumn, live music")
        body = page.locator("textarea[name=body]")
        body.click()
        page.click("button[data-md=h2]")
        body.press_sequentially("Doors at seven")
        body.press("End")
        body.press("Enter")
        body.press("Enter")
        body.press_sequentially("Bring ")
        body.press("Control+b")  # the shortcut wraps a placeholder in ** and selects it
        body.press_sequentially("friends")
        body.press("Control+End")
        body.press("Enter")
        body.press("Enter")
        page.click("button[data-md=ul]")
        body.press_sequentially("snacks")
        preview = page.locator("#preview")
        playwright_api.expect(preview.locator("h2")).to_have_text("Doors at seven")
        playwright_api.expect(preview.locator("strong")).to_have_text("friends")
        playwright_api.expect(preview.locator("li")).to_have_text("snacks")

        page.set_input_files("input[name=image]", str(poster(tmp_path / "poster.png")))
        page.fill("input[name=image_alt]", "A yellow square on blue")
        page.click("#insert-image")
        playwright_api.expect(page.locator("#upload-state")).to_contain_text("Inserted (1200 \u00d7 800)")
        playwright_api.expect(preview.locator("img[alt='A yellow square on blue']")).to_be_visible()

        # Autosave turns the new post into a draft at its own address.
        playwright_api.expect(page.locator("#autosave-state")).to_contain_text("Draft saved", timeout=15_000)
        assert page.url == f"{blog}/posts/autumn-gig-notes/edit"
        page.screenshot(path=str(OUTPUT / "writing-01-editor.png"), full_page=True)

        stranger = browser.new_context().new_page()
        assert stranger.goto(f"{blog}/posts/autumn-gig-notes").status == 404  # a draft is nobody else's

        when = page.evaluate(
            """(seconds) => { const d = new Date(Date.now() + seconds * 1000);
                 const p = (n) => String(n).padStart(2, "0");
                 return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`; }""",
            SCHEDULE_IN,
        )
        page.fill("input[name=publish_at]", when)
        pressed = time.monotonic()
        page.click("button:has-text('Schedule')")
        page.wait_for_url(f"{blog}/posts/autumn-gig-notes/edit?saved=schedule")
        playwright_api.expect(page.locator("#scheduled-at")).to_be_visible()
        page.screenshot(path=str(OUTPUT / "writing-02-scheduled.png"), full_page=True)
        assert stranger.goto(f"{blog}/posts/autumn-gig-notes").status == 404  # not before its time

        deadline = pressed + SCHEDULE_IN + 20
        while stranger.goto(f"{blog}/posts/autumn-gig-notes").status != 200:
            assert time.monotonic() < deadline, "the scheduled post was not published at its time"
            time.sleep(0.5)
        assert time.monotonic() - pressed >= SCHEDULE_IN - 2  # … and not before it
        playwright_api.expect(stranger.locator("h1")).to_have_text("Autumn gig notes")
        playwright_api.expect(stranger.locator(".post-body h2")).to_have_text("Doors at seven")
        playwright_api.expect(stranger.locator(".post-body strong")).to_have_text("friends")
        image = stranger.locator(".post-body img[alt='A yellow square on blue']")
        playwright_api.expect(image).to_be_visible()
        assert stranger.evaluate("(img) => img.naturalWidth", image.element_handle()) == 1200
        playwright_api.expect(stranger.locator("a.tag").first).to_have_text("#autumn")
        stranger.screenshot(path=str(OUTPUT / "writing-03-published.png"), full_page=True)
        assert problems == [], problems  # no script error, no CSP refusal
        browser.close()

    doc = httpx.get(f"{blog}/posts/autumn-gig-notes", headers={"Accept": "application/activity+json"}).json()
    [attachment] = doc["attachment"]
    assert attachment["type"] == "Image" and attachment["mediaType"] == "image/png"
    assert (attachment["width"], attachment["height"], attachment["name"]) == (1200, 800, "A yellow square on blue")
    assert [t["name"] for t in doc["tag"]] == ["#autumn", "#liveMusic"]
    outbox = httpx.get(f"{blog}/actor/outbox?page=true", headers={"Accept": "application/activity+json"}).json()
    creates = [a for a in outbox["orderedItems"] if a["type"] == "Create" and a["object"]["id"] == doc["id"]]
    assert len(creates) == 1
