"""Images made for the tests: honest ones in each format, and the hostile kinds an upload form meets."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

GPS_IFD = 0x8825
MAKE = 0x010F


def photo(fmt: str = "JPEG", size: tuple[int, int] = (1600, 1000), *, gps: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 120, 40))
    for x in range(0, size[0], 50):  # some detail, so resizing has something to do
        image.paste((20, 60, 200), (x, 0, x + 10, size[1]))
    out = io.BytesIO()
    options: dict[str, object] = {}
    if gps:
        exif = Image.Exif()
        exif[MAKE] = "Test Camera Co"
        exif[GPS_IFD] = {1: "N", 2: (51.0, 30.0, 26.0), 3: "W", 4: (0.0, 7.0, 39.0)}
        options["exif"] = exif.tobytes()
    image.save(out, fmt, **options)
    return out.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A small PNG whose header claims ten billion pixels (a row of zeros, compressed, is almost nothing)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    rows = zlib.compress(b"\x00" * (1 + width // 8), 9)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", rows) + _chunk(b"IEND", b"")


def polyglot_zip() -> bytes:
    """A JPEG with an archive after its end: an image to one program, a ZIP (or a page) to another."""
    archive = b"PK\x03\x04" + b"\x00" * 26 + b"evil.html<html><script>alert(1)</script></html>"
    return photo("JPEG", (64, 64)) + archive


def gif_with_script() -> bytes:
    """A GIF whose comment block is a script: served as HTML it would run."""
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (0, 0, 0)).save(out, "GIF", comment=b"<script>alert(document.cookie)</script>")
    return out.getvalue()


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)


def truncated() -> bytes:
    data = photo("PNG", (800, 600))
    return data[: len(data) // 2]
