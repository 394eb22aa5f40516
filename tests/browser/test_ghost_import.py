"""Moving from Ghost in a real browser against a real blog process: the editor uploads the export at
/admin/import, reads the report, and the imported post shows its images, fetched from the old site."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.blog.test_ghost_import import EXPORT, serve_images
from tests.browser.test_story import OUTPUT, playwright_api
from tests.support.httpserver import FakeServer
from tests.support.processes import ADMIN_TOKEN, PeerProcess

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"


def test_import_a_ghost_export_from_the_admin_page(
    database_url: str, tmp_path: Path, fake_server: Callable[[], FakeServer]
) -> None:
    old = fake_server()
    serve_images(old)
    blog = PeerProcess(
        "blog", database_url=database_url, log_path=tmp_path / "blog.log", env={"ROSE_ASH_GHOST_URL": old.base_url}
    ).start()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    try:
        with playwright_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
            page.set_default_timeout(30_000)
            expect = playwright_api.expect
            page.goto(f"{blog.url}/login?next=/")
            page.fill("input[name=token]", ADMIN_TOKEN)
            page.click("button:has-text('Log in')")
            page.click("a:has-text('Import from Ghost')")
            page.wait_for_url(f"{blog.url}/admin/import")
            expect(page.locator("input[name=old_site]")).to_have_value(old.base_url)  # ROSE_ASH_GHOST_URL
            page.set_input_files("input[name=file]", str(EXPORT))
            page.click("button:has-text('Import')")
            summary = page.locator(".import-summary")
            expect(summary).to_contain_text("Imported 2 published posts, 1 draft, 1 scheduled post, 1 page")
            expect(summary).to_contain_text("2 images; 0 imported before; 1 skipped; 1 image missing.")
            expect(page.locator(".import-report")).to_contain_text("was taken, so it is at /posts/welcome-2")
            page.screenshot(path=str(OUTPUT / "ghost-01-report.png"), full_page=True)

            page.goto(f"{blog.url}/posts/summer-gig-recap")
            expect(page.locator("h1")).to_have_text("Summer Gig Recap")
            hall = page.locator(".post-body img[alt='The hall, full']")
            expect(hall).to_be_visible()
            assert page.evaluate("(img) => img.naturalWidth", hall.element_handle()) == 900
            expect(page.locator(".post-body h2")).to_have_text("The set")
            page.screenshot(path=str(OUTPUT / "ghost-02-imported-post.png"), full_page=True)
            browser.close()
    finally:
        blog.stop()
