"""Image sizes read from header bytes, and the token formulas built on them."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigateway.tokens import media
from tests.support import fixtures


def png(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


def gif(w: int, h: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", w, h) + b"\x00\x00\x00"


def webp_vp8x(w: int, h: int) -> bytes:
    payload = b"\x00\x00\x00\x00" + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + 8 + len(payload)) + b"WEBP" + b"VP8X" + struct.pack("<I", 10) + payload


def webp_lossless(w: int, h: int) -> bytes:
    bits = (w - 1) | ((h - 1) << 14)
    return b"RIFF\x00\x00\x00\x00WEBPVP8L\x00\x00\x00\x00\x2f" + bits.to_bytes(4, "little")


def jpeg(w: int, h: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    dht = b"\xff\xc4" + struct.pack(">H", 5) + b"\x00\x00\x00"  # in the SOF range, must be skipped
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, h, w, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + dht + sof + b"\xff\xda"


SIDE = st.integers(min_value=1, max_value=16383)


@given(w=SIDE, h=SIDE, make=st.sampled_from([png, gif, webp_vp8x, webp_lossless, jpeg]))
def test_image_size_is_read_from_the_header(w: int, h: int, make) -> None:
    assert media.image_size(make(w, h)) == (w, h)
    data = base64.b64encode(make(w, h) + bytes(100)).decode()
    assert media.base64_image_tokens(data) == media.image_tokens_for_size(w, h)


@given(junk=st.binary(max_size=64))
def test_junk_is_no_size(junk: bytes) -> None:
    size = media.image_size(junk)
    assert size is None or min(size) > 0


@pytest.mark.parametrize(
    ("w", "h", "tokens"),
    [
        (100, 100, 85 + 170),  # one tile
        (1024, 1024, 85 + 170 * 4),  # scaled to 768x768: 2x2 tiles
        (2048, 4096, 85 + 170 * 6),  # OpenAI's worked example: 1024x2048 -> 768x1536, 2x3 tiles
        (4000, 100, 85 + 170 * 4),  # a strip: only the long side is scaled
    ],
)
def test_openai_tile_formula(w: int, h: int, tokens: int) -> None:
    assert media.image_tokens_for_size(w, h) == tokens


def test_recorded_png_and_pdf() -> None:
    body = fixtures.exchange("anthropic", "image-input-sync").request_json()
    image = next(b for b in body["messages"][0]["content"] if b["type"] == "image")
    assert media.image_size(base64.b64decode(image["source"]["data"])[:64]) == (100, 100)
    body = fixtures.exchange("anthropic", "pdf-input-sync").request_json()
    doc = next(b for b in body["messages"][0]["content"] if b["type"] == "document")
    assert media.pdf_pages(base64.b64decode(doc["source"]["data"])) == 1
    assert media.base64_pdf_tokens("not base64 at all!") == media.PDF_TOKENS_PER_PAGE
