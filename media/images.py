"""Decode an upload to prove it is an image, refuse anything else, and re-encode it clean at a few widths.

Re-encoding from decoded pixels is what strips EXIF, GPS and comments: nothing of the uploaded file's bytes
reaches a reader. Files carrying other data (bytes after the image's end, markup inside it) are refused rather
than cleaned, since a file that is two things at once was made to fool someone."""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from media.errors import MediaError

# Pillow format name → (media type, file extension)
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}
WIDTHS = (320, 640, 1280, 2048)  # the largest is also the cap on what we keep
_MARKUP = re.compile(rb"<\s*(script|svg|html|body|iframe|object|embed|\?xml)|javascript:", re.IGNORECASE)


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000  # ~ a 7,700 x 5,200 photo; decoded at 4 bytes a pixel that is 160 MB
    widths: tuple[int, ...] = WIDTHS


@dataclass(frozen=True)
class Variant:
    width: int
    height: int
    data: bytes


@dataclass(frozen=True)
class Processed:
    media_type: str
    extension: str
    variants: tuple[Variant, ...]  # narrowest first; the last is the full one

    @property
    def full(self) -> Variant:
        return self.variants[-1]


def process(data: bytes, limits: Limits = Limits()) -> Processed:
    """The upload's clean variants, or a MediaError saying why it is not accepted."""
    if not data:
        raise MediaError("The file is empty.")
    if len(data) > limits.max_bytes:
        raise MediaError(f"The file is larger than {limits.max_bytes // (1024 * 1024)} MB; upload a smaller image.")
    image = _open(data, limits)
    fmt = str(image.format)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise MediaError(
            "The image is incomplete or damaged and cannot be read; save it again and upload that."
        ) from None
    _refuse_polyglot(data, fmt)
    media_type, extension = FORMATS[fmt]
    pixels = _pixels_for(upright, fmt)
    widths = sorted({w for w in limits.widths if w < pixels.width} | {min(pixels.width, max(limits.widths))})
    variants = tuple(_encode(_resized(pixels, w), fmt) for w in widths)
    return Processed(media_type, extension, variants)


def _open(data: bytes, limits: Limits) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except UnidentifiedImageError:
        raise MediaError(
            "The file is not a JPEG, PNG, WebP or GIF image (SVG and other formats are not accepted)."
        ) from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise MediaError(_too_many_pixels(limits)) from None
    except (OSError, SyntaxError, ValueError):
        raise MediaError(
            "The image is incomplete or damaged and cannot be read; save it again and upload that."
        ) from None
    if image.width < 1 or image.height < 1:
        raise MediaError("The image has no pixels.")
    if image.width * image.height > limits.max_pixels:
        raise MediaError(_too_many_pixels(limits))
    return image


def _too_many_pixels(limits: Limits) -> str:
    return f"The image has more than {limits.max_pixels // 1_000_000} million pixels; upload a smaller one."


def _refuse_polyglot(data: bytes, fmt: str) -> None:
    if _trailing(data, fmt) or _MARKUP.search(data):
        raise MediaError(
            "The file carries data besides the image (another file or markup hidden inside it); "
            "save it again as a plain image and upload that."
        )


def _trailing(data: bytes, fmt: str) -> bool:
    """Bytes after the image's own end: how a file is made to be an image and an archive or page at once."""
    body = data.rstrip(b"\x00")
    if fmt == "PNG":
        end = data.rfind(b"IEND")
        return end < 0 or len(body) > end + 8
    if fmt == "JPEG":
        return not body.endswith(b"\xff\xd9")
    if fmt == "GIF":
        return not body.endswith(b"\x3b")
    if fmt == "WEBP":
        return int.from_bytes(data[4:8], "little") + 8 != len(data)
    return True


def _pixels_for(image: Image.Image, fmt: str) -> Image.Image:
    """A metadata-free copy in a mode the format saves (the first frame of an animation)."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    mode = "RGBA" if has_alpha and fmt != "JPEG" else "RGB"
    clean = image.convert(mode)
    clean.info.clear()
    return clean


def _resized(image: Image.Image, width: int) -> Image.Image:
    if width >= image.width:
        return image
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def _encode(image: Image.Image, fmt: str) -> Variant:
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    elif fmt == "WEBP":
        image.save(out, "WEBP", quality=85)
    else:
        image.save(out, fmt, optimize=True)
    return Variant(image.width, image.height, out.getvalue())
