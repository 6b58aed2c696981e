"""A small bounded LRU of token counts, keyed by (sha256 of the request body, upstream model).

Claude Code sends dozens of identical count_tokens requests at start-up; counting a large body
once and answering the rest from memory keeps those cheap.

On the event loop, `await count_async(...)`: a hit answers at once; a miss first waits for the
model's tokenizer if it is not loaded yet (ready.py: only this request waits), then counts, on the
loop for a body up to INLINE_BYTES, in a worker thread for a larger one (tens of milliseconds of
CPU for a megabyte: the other requests keep being served meanwhile).

Invariants: at most `maxsize` entries, least recently used evicted first; the lock is held only
around dictionary work (never while counting), so it is safe from threads and from asyncio tasks
(no await inside); two callers racing on one new key may both count, and both get the same value;
tasks that waited for the same tokenizer find the first one's count in the cache.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections import OrderedDict
from typing import Any

from aigateway.tokens.count import TokenCount, count_request_tokens, parse_body
from aigateway.tokens.ready import ready

CacheKey = tuple[bytes, str]
INLINE_BYTES = 32 * 1024  # bodies up to this are counted on the event loop (about a millisecond)


class TokenCountCache:
    def __init__(self, maxsize: int = 256) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[CacheKey, TokenCount] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(body: bytes, upstream_model: str) -> CacheKey:
        return hashlib.sha256(body).digest(), upstream_model

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CacheKey) -> TokenCount | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def _peek(self, key: CacheKey) -> TokenCount | None:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: CacheKey, count: TokenCount) -> None:
        with self._lock:
            self._entries[key] = count
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def count(self, body: bytes, upstream_model: str, parsed: dict[str, Any] | None = None) -> TokenCount:
        """The cached count for these exact body bytes, computing it on a miss.

        `parsed` may pass the already decoded body to save a second JSON parse."""
        key = self.key(body, upstream_model)
        found = self.get(key)
        if found is None:
            found = count_request_tokens(parsed if parsed is not None else parse_body(body), upstream_model)
            self.put(key, found)
        return found

    async def count_async(self, body: bytes, upstream_model: str, parsed: dict[str, Any] | None = None) -> TokenCount:
        """`count` for the event loop: loading a tokenizer and counting a large body never block it."""
        key = self.key(body, upstream_model)
        found = self.get(key)
        if found is not None:
            return found
        await ready(upstream_model)
        found = self._peek(key)  # counted by another request while this one waited
        if found is None:
            source = parsed if parsed is not None else body
            if len(body) <= INLINE_BYTES:
                found = count_request_tokens(source, upstream_model)
            else:
                found = await asyncio.to_thread(count_request_tokens, source, upstream_model)
            self.put(key, found)
        return found
