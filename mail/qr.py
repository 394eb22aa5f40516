"""A QR symbol as a black-and-white PNG, drawn when the mail worker builds a message (`mail.QrCode`).

segno draws the symbol; Pillow scales and encodes it (segno's own PNG writer handles every pixel in Python).
Both are imported on first use: most processes never draw one."""

from __future__ import annotations

import io

SCALE = 8  # pixels per module: about 250 px for a ticket code, easy for a door scanner to read off a phone
BORDER = 4  # modules of light margin, the quiet zone a scanner needs
MAX_BYTES = 1000  # well inside what a QR symbol holds at error level M (2,331 bytes), and still scannable


def qr_png(text: str) -> bytes:
    import segno
    from PIL import Image

    symbol = segno.make(text, error="m", micro=False)
    rows = [bytes(0x00 if dark else 0xFF for dark in row) for row in symbol.matrix_iter(scale=1, border=BORDER)]
    side = len(rows)
    image = Image.frombytes("L", (side, side), b"".join(rows)).convert("1")
    out = io.BytesIO()
    image.resize((side * SCALE, side * SCALE), Image.Resampling.NEAREST).save(out, format="PNG")
    return out.getvalue()
