"""The pipeline on its own: what it accepts comes out clean and resized; everything hostile is refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from media.errors import MediaError
from media.images import Limits, process
from tests.media import images


@pytest.mark.parametrize(
    ("fmt", "media_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"), ("GIF", "image/gif")]
)
def test_each_format_is_decoded_and_resized_to_the_widths(fmt: str, media_type: str) -> None:
    done = process(images.photo(fmt, (1600, 1000)))
    assert done.media_type == media_type
    assert [(v.width, v.height) for v in done.variants] == [(320, 200), (640, 400), (1280, 800), (1600, 1000)]
    for variant in done.variants:
        decoded = Image.open(io.BytesIO(variant.data))
        assert decoded.format == fmt and decoded.size == (variant.width, variant.height)


def test_exif_and_gps_are_stripped() -> None:
    upload = images.photo("JPEG", (900, 600), gps=True)
    assert Image.open(io.BytesIO(upload)).getexif().get_ifd(images.GPS_IFD)  # the upload does carry a location
    for variant in process(upload).variants:
        exif = Image.open(io.BytesIO(variant.data)).getexif()
        assert not exif.get_ifd(images.GPS_IFD) and images.MAKE not in exif
        assert b"Test Camera Co" not in variant.data


def test_a_wide_image_is_capped_at_the_widest_variant() -> None:
    done = process(images.photo("PNG", (3000, 300)), Limits())
    assert done.full.width == 2048 and done.full.height == 205


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    bomb = images.png_bomb()
    assert len(bomb) < 50_000
    with pytest.raises(MediaError, match="more than 40 million pixels"):
        process(bomb)


def test_the_pixel_limit_is_a_setting() -> None:
    with pytest.raises(MediaError, match="more than 1 million pixels"):
        process(images.photo("PNG", (1200, 1000)), Limits(max_pixels=1_000_000))


def test_a_file_over_the_size_limit_is_refused_unread() -> None:
    with pytest.raises(MediaError, match="larger than 1 MB"):
        process(b"\xff\xd8" + b"\x00" * (1024 * 1024 + 1), Limits(max_bytes=1024 * 1024))


@pytest.mark.parametrize(
    ("data", "sentence"),
    [
        (images.SVG_WITH_SCRIPT, "not a JPEG, PNG, WebP or GIF image"),
        (b"<html><body><script>alert(1)</script></body></html>", "not a JPEG, PNG, WebP or GIF image"),
        (b"%PDF-1.7\n", "not a JPEG, PNG, WebP or GIF image"),
        (images.polyglot_zip(), "carries data besides the image"),
        (images.gif_with_script(), "carries data besides the image"),
        (images.truncated(), "incomplete or damaged"),
        (b"", "empty"),
    ],
    ids=["svg-with-script", "html", "pdf", "jpeg-zip-polyglot", "gif-script-comment", "truncated", "empty"],
)
def test_hostile_files_are_refused_with_a_sentence(data: bytes, sentence: str) -> None:
    with pytest.raises(MediaError, match=sentence) as refused:
        process(data)
    assert refused.value.reason.endswith(".")
