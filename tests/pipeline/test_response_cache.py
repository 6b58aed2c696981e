"""The response cache's key and stores, without a gateway: what the key ignores and what it
keeps apart, the key's hash keyed by the gateway's secret, the in-process store's bounds and
expiry, and the Redis store under its prefix."""

from __future__ import annotations

import asyncio
import json
import os
import uuid

import msgspec
import pytest

from aigateway.pipeline.response_cache import (
    Entry,
    MemoryStore,
    RedisStore,
    ResponseCache,
    build,
    from_members,
    from_values,
)
from aigateway.settings import ResponseCacheConfig, Settings
from tests.policy.conftest import REDIS, drop_prefix

BODY = {"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "hello"}]}
SECRET = os.urandom(32)


def cache_for(config: ResponseCacheConfig | None = None, secret: bytes = SECRET) -> ResponseCache:
    return ResponseCache(config or ResponseCacheConfig(), MemoryStore(10, 10_000), lambda: secret)


def key(
    body: dict,
    *,
    key_id: str = "k1",
    endpoint: str = "messages",
    stream: bool = False,
    shared: bool = False,
    read: str = "members",
    secret: bytes = SECRET,
) -> bytes:
    """`read`: the body's members as bytes (the Messages door), or its decoded values (the OpenAI doors)."""
    cache = cache_for(ResponseCacheConfig(shared=shared), secret)
    data = json.dumps(body).encode()
    if read == "members":
        material = from_members(msgspec.json.decode(data, type=dict[str, msgspec.Raw]))
    else:
        material = from_values(msgspec.json.decode(data))
    return cache.key(key_id, endpoint, "anthropic/claude-sonnet-4.5", stream, material)


READS = pytest.mark.parametrize("read", ["members", "values"])


@READS
def test_the_key_ignores_fields_that_cannot_change_the_answer_and_member_order(read):
    noisy = {
        "metadata": {"user_id": "u-1"},
        "user": "someone",
        "stream": False,
        "providerOptions": {"gateway": {"responseCache": {"ttl": 5}}},
        **{k: BODY[k] for k in reversed(list(BODY))},
    }
    assert key(noisy, read=read) == key(BODY, read=read)


@pytest.mark.parametrize(
    "change",
    [
        {"max_tokens": 65},
        {"messages": [{"role": "user", "content": "hello!"}]},
        {"temperature": 0},
        {"stream_options": {"include_usage": True}},  # it changes the events sent
        {"model": "an-alias"},  # the answer names the model as the client named it
    ],
)
@READS
def test_the_key_changes_with_anything_that_can_change_the_answer(change, read):
    assert key(BODY | change, read=read) != key(BODY, read=read)


@pytest.mark.parametrize(
    "other",
    [
        {**BODY, "messages": [{"role": "user", "content": "hello", "name": None}]},
        {**BODY, "messages": [{"content": "hello", "role": "user"}]},  # nested order is the sender's
        {**BODY, "max_tokens": 64.0},
        {**BODY, "messages": [{"role": "user", "content": ["hello"]}]},
    ],
)
def test_decoded_values_keep_apart_what_json_keeps_apart(other):
    assert key(other, read="values") != key(BODY, read="values")


def test_keys_doors_and_streaming_each_have_their_own_entries():
    assert key(BODY, key_id="k2") != key(BODY)
    assert key(BODY, endpoint="chat/completions") != key(BODY)
    assert key(BODY, stream=True) != key(BODY)


def test_a_shared_cache_gives_every_key_the_same_entry():
    assert key(BODY, key_id="k2", shared=True) == key(BODY, key_id="k1", shared=True)


def test_the_key_is_a_digest_that_holds_nothing_in_clear():
    digest = key(BODY, key_id="secret-key-id")
    assert len(digest) == 20 and b"secret" not in digest and b"hello" not in digest


@READS
def test_the_body_hash_is_keyed_by_the_gateway_secret(read):
    """Without the secret nobody can work out which bodies share a key: another secret, other keys."""
    assert key(BODY, read=read, secret=os.urandom(32)) != key(BODY, read=read)
    assert key(BODY, read=read, secret=bytes(SECRET)) == key(BODY, read=read)


def test_gateways_with_one_admin_key_name_entries_alike_whatever_their_data_directory(tmp_path):
    """Replicas that share Redis (and, as for sealed reasoning, the admin key) share entries."""
    material = from_members(msgspec.json.decode(json.dumps(BODY).encode(), type=dict[str, msgspec.Raw]))

    def key_of(**settings) -> bytes:
        cache = build(Settings(**settings))
        return cache.key("k1", "messages", "m", False, material)

    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    admin = "an-admin-key-of-enough-length"
    assert key_of(admin_key=admin, data_dir=one) == key_of(admin_key=admin, data_dir=two)
    # Without an admin key, each data directory has its own secret, kept there across restarts.
    alone = key_of(data_dir=one)
    assert alone != key_of(admin_key=admin, data_dir=one) and alone != key_of(data_dir=two)
    assert (one / "reasoning-seal.key").read_bytes() != (two / "reasoning-seal.key").read_bytes()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_an_entry_expires_after_its_ttl():
    clock = Clock()
    store = MemoryStore(10, 10_000, clock)
    await store.put(b"a", Entry(b"{}", False), ttl=5)
    clock.now += 4.9
    assert await store.get(b"a") == Entry(b"{}", False)
    clock.now += 0.2
    assert await store.get(b"a") is None
    assert len(store) == 0 and store.bytes == 0


async def test_the_in_process_store_keeps_at_most_its_entries_least_recent_out():
    store = MemoryStore(2, 10_000)
    for name in (b"a", b"b"):
        await store.put(name, Entry(name, False), ttl=60)
    assert await store.get(b"a") is not None  # now b is the least recently used
    await store.put(b"c", Entry(b"c", False), ttl=60)
    assert [await store.get(k) is not None for k in (b"a", b"b", b"c")] == [True, False, True]


async def test_the_in_process_store_keeps_at_most_its_bytes():
    store = MemoryStore(100, 25)
    for i in range(5):
        await store.put(bytes([i]), Entry(b"x" * 10, False), ttl=60)
    assert len(store) == 2 and store.bytes == 20
    await store.put(b"big", Entry(b"x" * 30, False), ttl=60)  # larger than the whole store
    assert len(store) == 0 and store.bytes == 0


async def test_an_answer_larger_than_the_limit_is_not_stored():
    cache = cache_for(ResponseCacheConfig(max_answer_bytes=8))
    await cache.put(b"k", Entry(b"x" * 9, False), ttl=60)
    assert await cache.get(b"k") is None


class Broken:
    async def get(self, key: bytes) -> Entry | None:
        raise ConnectionError("down")

    async def put(self, key: bytes, entry: Entry, ttl: float) -> None:
        raise ConnectionError("down")

    async def aclose(self) -> None:
        pass


async def test_an_unreachable_store_is_a_miss_and_never_a_failure():
    cache = ResponseCache(ResponseCacheConfig(), Broken(), lambda: SECRET)
    await cache.put(b"k", Entry(b"{}", False), ttl=60)
    assert await cache.get(b"k") is None


async def test_the_redis_store_keeps_entries_under_its_prefix_with_an_expiry():
    from redis.asyncio import Redis

    prefix = f"aigw-test-{uuid.uuid4().hex[:12]}:"
    store = RedisStore(REDIS, prefix)
    client = Redis.from_url(REDIS)
    try:
        entry = Entry(b"event: a\n\n", True, None, "end_turn")
        await store.put(b"\x01\x02", entry, ttl=30)
        assert await store.get(b"\x01\x02") == entry
        names = [k async for k in client.scan_iter(match=prefix + "*")]
        assert names == [f"{prefix}rc:0102".encode()]
        assert 0 < await client.pttl(names[0]) <= 30_000
        await store.put(b"\x03", entry, ttl=0.05)
        await asyncio.sleep(0.15)
        assert await store.get(b"\x03") is None  # Redis expired it
    finally:
        await store.aclose()
        await client.aclose()
        await drop_prefix(prefix)
