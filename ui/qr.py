"""A QR code for a room's link, drawn locally (segno, pure Python: no network, no image library)."""
from __future__ import annotations

import io


def qr_png(text: str, scale: int = 6) -> bytes:
    """A PNG of the QR code for `text` (error correction M, quiet zone included)."""
    import segno

    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()
