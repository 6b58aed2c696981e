"""Tokenizers load on first use, off the event loop.

`await ready(upstream_model)` returns at once when the encoding that counts `upstream_model` is
built. Otherwise only the awaiting request waits: the encoding is built in a thread of its own
(encodings.py; one build per encoding, shared by everyone who asks meanwhile), and tiktoken's
model table, on the very first call, is imported in a worker thread. After it, counting for that
model loads nothing.
"""

from __future__ import annotations

import asyncio

from aigateway.tokens.encodings import load_encoding
from aigateway.tokens.family import model_family, table_loaded


async def ready(upstream_model: str) -> None:
    if not table_loaded():
        await asyncio.to_thread(model_family, upstream_model)
    await load_encoding(model_family(upstream_model).encoding)
