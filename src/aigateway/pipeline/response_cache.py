"""The opt-in response cache (`providerOptions.gateway.responseCache: {ttl: seconds}`).

Invariants:
- an entry's key is a digest of: the scope (the gateway key's id, or one scope for every key when
  the operator sets `response_cache.shared`), the door (its stored bytes are in that door's
  protocol), the resolved model, whether the answer streams, and the body's top-level members in
  a canonical order (as their bytes, or as the values a door decoded), apart from those that
  cannot change the answer (`_IGNORED`);
- the body's part is GHASH under a key derived from the gateway's secret (secret.py): AES-GCM's
  tag over the members as associated data, with nothing to encrypt. GHASH is a universal hash:
  two different bodies of up to n 16-byte blocks get one digest with probability at most
  (n + 1) / 2^128 over the key, so nobody without the gateway's secret can make one request take
  another's entry, by chance or by design. OpenSSL computes it with carry-less multiplication:
  2.5 µs over 88 KB where BLAKE3 takes 12 to 17. The digest is never shown: the entry's key is
  BLAKE2b over it and the rest, so no key id or body text can be read from a store;
- only complete answers are stored (serve.py decides): a JSON answer with status 200, or a stream
  the relay ended normally, as the exact bytes the client was sent; never an error or a cut stream;
- the in-process store is bounded in entries and bytes, least recently used out, and expires
  entries on read; in Redis, entries expire by themselves (`PX`) under the configured prefix;
- the cache never fails a request: a Redis error is a miss, or an answer left unstored.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from aigateway.secret import gateway_secret
from aigateway.settings import ResponseCacheConfig, Settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from redis.asyncio import Redis

log = logging.getLogger("aigateway.response_cache")

# Members that cannot change the answer: how it is delivered (`stream` is part of the key on its
# own), the client's labels, the gateway's own options. `model` stays: an answer names the model
# as the client named it, so two aliases of one model get answers that differ in that name.
_IGNORED = frozenset({"stream", "metadata", "user", "providerOptions"})
_SHARED = "*"  # the scope of every key when the operator shares entries
_encode = msgspec.json.encode
_pack = msgspec.msgpack.Encoder().encode
_LABEL = b"aigateway response cache\0"
_NONCE = bytes(12)  # one fixed nonce: the tag is a keyed hash here, never sent or stored


class Entry(msgspec.Struct, array_like=True, frozen=True):
    """One stored answer: the bytes the client was sent, and what its ledger row needs."""

    body: bytes
    stream: bool  # replayed as SSE, else sent as JSON with `content_type`
    content_type: bytes | None = None
    stop_reason: str | None = None


class Store(Protocol):
    async def get(self, key: bytes) -> Entry | None: ...
    async def put(self, key: bytes, entry: Entry, ttl: float) -> None: ...
    async def aclose(self) -> None: ...


class MemoryStore:
    """A bounded LRU in this process; `clock` is injectable for tests."""

    def __init__(self, max_entries: int, max_bytes: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: OrderedDict[bytes, tuple[float, Entry]] = OrderedDict()
        self._max_entries, self._max_bytes, self._clock = max_entries, max_bytes, clock
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: bytes) -> Entry | None:
        found = self._entries.get(key)
        if found is None:
            return None
        expires, entry = found
        if expires <= self._clock():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    async def put(self, key: bytes, entry: Entry, ttl: float) -> None:
        if key in self._entries:
            self._drop(key)
        self._entries[key] = (self._clock() + ttl, entry)
        self.bytes += len(entry.body)
        while len(self._entries) > self._max_entries or self.bytes > self._max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: bytes) -> None:
        _, entry = self._entries.pop(key)
        self.bytes -= len(entry.body)

    async def aclose(self) -> None:
        self._entries.clear()
        self.bytes = 0


class RedisStore:
    """Entries in Redis under `prefix`, shared by every process that uses the same Redis."""

    def __init__(self, url: str, prefix: str) -> None:
        from redis.asyncio import Redis  # only deployments with Redis import it

        self._redis: Redis = Redis.from_url(url)
        self._prefix = prefix.encode() + b"rc:"

    async def get(self, key: bytes) -> Entry | None:
        raw = await self._redis.get(self._prefix + key.hex().encode())
        return msgspec.msgpack.decode(raw, type=Entry) if isinstance(raw, bytes) else None

    async def put(self, key: bytes, entry: Entry, ttl: float) -> None:
        await self._redis.set(
            self._prefix + key.hex().encode(), msgspec.msgpack.encode(entry), px=max(1, int(ttl * 1000))
        )

    async def aclose(self) -> None:
        await self._redis.aclose()


def from_members(members: dict[str, msgspec.Raw]) -> bytes:
    """A body's top-level members as their exact bytes, sorted by name (a door that read them).
    NUL separates them: neither a name's JSON nor a raw JSON value holds one."""
    parts: list[bytes | msgspec.Raw] = []
    for name in sorted(members.keys() - _IGNORED):
        parts += (_encode(name), members[name])
    return b"\0".join(parts)


def from_values(raw: dict[str, Any]) -> bytes:
    """A body's top-level members as decoded values, sorted by name, in one msgpack blob: for a
    door that decoded the body into objects, half the CPU of scanning its bytes for the members
    again (41 KB Codex turn: about 6 µs against 15)."""
    return _pack([(name, raw[name]) for name in sorted(raw.keys() - _IGNORED)])


class ResponseCache:
    """The key of a request, and its store, for serve.py. `secret`: gives what the hash's key is
    derived from (the gateway's secret), read by the first request that uses the cache."""

    def __init__(self, config: ResponseCacheConfig, store: Store, secret: Callable[[], bytes]) -> None:
        self.config, self.store = config, store
        self._secret = secret
        self._cipher: AESGCM | None = None

    def key(
        self, key_id: str, endpoint: str, model: str, stream: bool, material: bytes, *, shareable: bool = True
    ) -> bytes:
        """The entry's key: BLAKE2b over GHASH of the request's `material` (`from_members` or
        `from_values`) and the scope. `shareable`: False keeps the entry to `key_id` even in a
        shared cache."""
        if self._cipher is None:  # cryptography is imported by the first request that uses the cache
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._cipher = AESGCM(hashlib.sha256(_LABEL + self._secret()).digest()[:16])
        scope = _SHARED if self.config.shared and shareable else key_id
        named = self._cipher.encrypt(_NONCE, b"", material) + f"{scope}\n{endpoint}\n{model}\n{int(stream)}".encode()
        return hashlib.blake2b(named, digest_size=20).digest()

    async def get(self, key: bytes) -> Entry | None:
        try:
            return await self.store.get(key)
        except Exception:  # an unreachable store is a miss, never a failed request
            log.warning("response cache: lookup failed", exc_info=True)
            return None

    async def put(self, key: bytes, entry: Entry, ttl: float) -> None:
        if len(entry.body) > self.config.max_answer_bytes:
            return
        try:
            await self.store.put(key, entry, ttl)
        except Exception:  # the answer was delivered; only its copy is lost
            log.warning("response cache: store failed", exc_info=True)

    async def aclose(self) -> None:
        await self.store.aclose()


def build(settings: Settings) -> ResponseCache:
    """Redis when `redis_url` is configured, else the bounded in-process store."""
    config = settings.response_cache
    secret = functools.partial(gateway_secret, settings.admin_key, settings.data_dir)
    if settings.redis_url:
        return ResponseCache(config, RedisStore(settings.redis_url, settings.redis_prefix), secret)
    return ResponseCache(config, MemoryStore(config.max_entries, config.max_bytes), secret)
