"""The door's camera in a real Chromium: its camera is a video of a ticket's QR code (Chromium's fake capture
device fed a .y4m file made here from segno's QR of the code), the check-in page's "Scan with the camera" reads
it with the qr-scanner package served by the events peer, and the ticket is admitted; the camera comes back on by
itself and reads the same ticket again, which is now "already used". Real events and shop processes."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import segno
from PIL import Image

from tests.faults.conftest import Market, market  # noqa: F401 (the fixture)
from tests.hostile.helpers import Visitor, schedule_event, slug_of, wait_until

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"
SCANNER = Path(__file__).resolve().parents[2] / "templates" / "static" / "vendor" / "qr-scanner"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


def qr_video(code: str, path: Path, frames: int = 10) -> Path:
    """A still .y4m video (YUV 4:2:0, 640x480) of the code's QR, what Chromium's fake camera plays in a loop."""
    png = io.BytesIO()
    segno.make(code, error="m", micro=False).save(png, kind="png", scale=10, border=4)
    qr = Image.open(io.BytesIO(png.getvalue())).convert("RGB")
    frame = Image.new("RGB", (640, 480), "white")
    qr.thumbnail((440, 440))
    frame.paste(qr, ((640 - qr.width) // 2, (480 - qr.height) // 2))
    y, u, v = frame.convert("YCbCr").split()
    planes = y.tobytes() + u.resize((320, 240)).tobytes() + v.resize((320, 240)).tobytes()
    with path.open("wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(frames):
            out.write(b"FRAME\n" + planes)
    return path


def test_the_door_camera_reads_a_ticket_and_admits_it_once(
    market: Callable[..., Market],  # noqa: F811
    tmp_path: Path,
) -> None:
    assert (SCANNER / "qr-scanner.umd.min.js").is_file(), "scripts/install-scanner.py has not run"
    m = market()
    event = schedule_event(m.http, m.events, name="Door Gig", capacity=10, price="0")
    buyer = Visitor(m.events, "/calendars")
    buyer.buy(event, quantity=1)
    wait_until(lambda: m.settled(1), what="the free ticket confirmed")
    [order] = m.orders()
    [ticket] = order["tickets"]
    video = qr_video(ticket["ticketToken"], tmp_path / "ticket.y4m")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}",
            ],
        )
        try:
            context = browser.new_context(viewport={"width": 412, "height": 915})  # a phone at the door
            context.grant_permissions(["camera"], origin=m.events.url)
            page = context.new_page()
            page.set_default_timeout(20_000)
            door = f"/events/{slug_of(event)}/checkin"
            page.goto(f"{m.events.url}/login?next={door}")
            page.fill("input[name=token]", m.events.admin_token)
            page.click("button:has-text('Log in')")
            page.wait_for_url(f"{m.events.url}{door}")
            page.click("#camera-start")
            verdict = page.locator("#verdict")
            playwright_api.expect(verdict).to_have_attribute("data-verdict", "admitted")
            playwright_api.expect(verdict).to_contain_text(ticket["ticketNumber"])
            page.screenshot(path=str(OUTPUT / "door-01-camera-admitted.png"), full_page=True)
            # The camera is back on by itself and reads the same ticket again: used, not admitted twice.
            playwright_api.expect(verdict).to_have_attribute("data-verdict", "used")
            page.screenshot(path=str(OUTPUT / "door-02-camera-used.png"), full_page=True)
            page.click("#camera-stop")
            playwright_api.expect(page.locator("#camera-start")).to_be_visible()
        finally:
            browser.close()
    assert "1 of 1" in Visitor(m.events, "/calendars").login().get(door).text
    buyer.close()
