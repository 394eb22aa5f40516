"""Uploading through the peer: the admin's upload is stored clean and served with long caching; hostile
files are refused with a sentence and leave the store and the media folder as they were."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.media import images
from tests.media.helpers import sign_in
from tests.support.app import App, row_counts, running_app


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def _upload(app: App, csrf: str, data: bytes, alt: str = "A test card in orange and blue") -> tuple[int, dict]:
    answer = await app.client.post(
        "/media", data={"csrf": csrf, "alt": alt}, files={"file": ("picture.jpg", data, "image/jpeg")}
    )
    return answer.status_code, answer.json()


async def test_an_upload_is_stored_stripped_and_served_immutable(database_url: str, tmp_path: Path) -> None:
    async with running_app(database_url, "blog", media_dir=str(tmp_path / "media")) as app:
        csrf = await sign_in(app.client)
        status, image = await _upload(app, csrf, images.photo("JPEG", (1600, 1000), gps=True))
        assert status == 201, image
        assert image["type"] == "Image" and image["mediaType"] == "image/jpeg"
        assert (image["width"], image["height"], image["name"]) == (1600, 1000, "A test card in orange and blue")
        served = await app.client.get(image["url"].removeprefix("http://peer.test"))
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/jpeg"
        assert served.headers["x-content-type-options"] == "nosniff"
        assert "immutable" in served.headers["cache-control"] and "max-age=31536000" in served.headers["cache-control"]
        decoded = Image.open(io.BytesIO(served.content))
        assert decoded.size == (1600, 1000) and not decoded.getexif().get_ifd(images.GPS_IFD)
        assert len(_files(tmp_path / "media")) == 4  # 320, 640, 1280 and the full width


async def test_only_the_admin_uploads(database_url: str, tmp_path: Path) -> None:
    async with running_app(database_url, "blog", media_dir=str(tmp_path / "media")) as app:
        answer = await app.client.post("/media", files={"file": ("a.jpg", images.photo(), "image/jpeg")})
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
        assert _files(tmp_path / "media") == []


@pytest.mark.parametrize(
    ("data", "alt", "sentence"),
    [
        (images.png_bomb(), "a bomb", "more than 40 million pixels"),
        (images.polyglot_zip(), "a polyglot", "carries data besides the image"),
        (images.SVG_WITH_SCRIPT, "an svg", "SVG and other formats are not accepted"),
        (images.truncated(), "half a picture", "incomplete or damaged"),
        (images.photo(), "", "Describe the image"),
    ],
    ids=["bomb", "polyglot", "svg-with-script", "truncated", "no-alt-text"],
)
async def test_hostile_uploads_change_nothing(
    database_url: str, tmp_path: Path, data: bytes, alt: str, sentence: str
) -> None:
    async with running_app(database_url, "blog", media_dir=str(tmp_path / "media")) as app:
        csrf = await sign_in(app.client)
        before = await row_counts(app.store)
        status, answer = await _upload(app, csrf, data, alt)
        assert status == 400 and sentence in answer["error"]
        assert await row_counts(app.store) == before
        assert _files(tmp_path / "media") == []


async def test_an_upload_over_the_size_limit_is_refused_before_it_is_read(database_url: str, tmp_path: Path) -> None:
    async with running_app(database_url, "blog", media_dir=str(tmp_path / "media"), max_upload_bytes=100_000) as app:
        csrf = await sign_in(app.client)
        status, answer = await _upload(app, csrf, images.photo("PNG", (64, 64)) + b"\x00" * 300_000)
        assert status == 413 and "too large" in answer["error"]
        assert _files(tmp_path / "media") == []


async def test_a_name_we_never_made_is_not_served(database_url: str, tmp_path: Path) -> None:
    async with running_app(database_url, "blog", media_dir=str(tmp_path / "media")) as app:
        for name in ("../../etc/passwd", "0" * 32 + "-320.svg", "0" * 32 + "-320.jpg"):
            assert (await app.client.get(f"/media/{name}")).status_code == 404
