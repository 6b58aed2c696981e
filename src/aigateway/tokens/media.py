"""Token estimates for images and PDFs, from header bytes only (no image or PDF library).

Images follow OpenAI's published vision pricing for `detail: high` (what `auto` picks for
anything larger than a thumbnail): scale to fit 2048x2048, then so the shorter side is at most
768, count 512-pixel tiles; tokens = 85 + 170 * tiles (gpt-4o family). When the size cannot be
read (a URL, an unknown format, a damaged header) we assume a 1024x1024 image: 765 tokens.

PDFs: pages are counted by their `/Type /Page` objects; each page costs PDF_TOKENS_PER_PAGE, a
deliberate over-estimate of a text page plus its page image (a page image alone is 255-765 tokens
by the formula above, text adds a few hundred); unreadable page counts count as one page.

Invariants: never raises on malformed input; every function is pure and bounded in work by the
first IMAGE_HEADER_BYTES of the decoded data for images.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import struct

IMAGE_BASE_TOKENS = 85
IMAGE_TILE_TOKENS = 170
UNKNOWN_IMAGE_TOKENS = 765  # a 1024x1024 image at high detail: 4 tiles
PDF_TOKENS_PER_PAGE = 1500
IMAGE_HEADER_BYTES = 64 * 1024  # enough for any JPEG SOF marker after usual EXIF/ICC segments

_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def b64_prefix(data: str, nbytes: int) -> bytes:
    """Decode only the first `nbytes` (about) of a base64 string."""
    chunk = data[: (nbytes // 3 + 1) * 4]
    chunk = chunk[: len(chunk) - len(chunk) % 4]
    try:
        return base64.b64decode(chunk)
    except (binascii.Error, ValueError):
        return b""


def _png(head: bytes) -> tuple[int, int] | None:
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        w, h = struct.unpack(">II", head[16:24])
        return int(w), int(h)
    return None


def _gif(head: bytes) -> tuple[int, int] | None:
    if head[:6] in (b"GIF87a", b"GIF89a"):
        w, h = struct.unpack("<HH", head[6:10])
        return int(w), int(h)
    return None


def _webp(head: bytes) -> tuple[int, int] | None:
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return None
    kind = head[12:16]
    if kind == b"VP8X":  # 24-bit canvas size minus one
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    if kind == b"VP8 ":
        w, h = struct.unpack("<HH", head[26:30])
        return int(w) & 0x3FFF, int(h) & 0x3FFF
    if kind == b"VP8L":
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _jpeg(head: bytes) -> tuple[int, int] | None:
    if head[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(head):
        if head[i] != 0xFF:
            return None
        marker = head[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        (length,) = struct.unpack(">H", head[i + 2 : i + 4])
        # SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", head[i + 5 : i + 9])
            return int(w), int(h)
        i += 2 + length
    return None


def image_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from the first bytes of a PNG, GIF, WebP or JPEG file, else None."""
    try:
        for sniff in (_png, _gif, _webp, _jpeg):
            size = sniff(head)
            if size is not None:
                return size if size[0] > 0 and size[1] > 0 else None
    except struct.error:
        return None
    return None


def image_tokens_for_size(width: int, height: int) -> int:
    """OpenAI's high-detail formula (gpt-4o family)."""
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    tiles = math.ceil(w / 512) * math.ceil(h / 512)
    return IMAGE_BASE_TOKENS + IMAGE_TILE_TOKENS * tiles


def base64_image_tokens(data: str) -> int | None:
    """Tokens of a base64 image by the formula, or None when its size cannot be read."""
    size = image_size(b64_prefix(data, IMAGE_HEADER_BYTES))
    return image_tokens_for_size(*size) if size else None


def pdf_pages(data: bytes) -> int:
    return max(1, len(_PAGE.findall(data)))


def base64_pdf_tokens(data: str) -> int:
    try:
        raw = base64.b64decode(data)
    except (binascii.Error, ValueError):
        raw = b""
    return PDF_TOKENS_PER_PAGE * pdf_pages(raw)
