"""The count cache: identical requests are counted once, the LRU stays bounded."""

from __future__ import annotations

import asyncio
import json

import pytest

from aigateway.tokens import TokenCountCache, count_request_tokens
from tests.support import fixtures


def body(text: str) -> bytes:
    return json.dumps({"model": "openai/gpt-5", "messages": [{"role": "user", "content": text}]}).encode()


def test_identical_bodies_are_counted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import aigateway.tokens.cache as cache_module

    calls: list[str] = []

    def counting(parsed: dict, model: str):
        calls.append(model)
        return count_request_tokens(parsed, model)

    monkeypatch.setattr(cache_module, "count_request_tokens", counting)
    cache = TokenCountCache()
    raw = json.dumps(fixtures.claude_code_request("claude-code-unknown-model-first-turn")["body"]).encode()
    first = cache.count(raw, "gpt-5")
    assert all(cache.count(raw, "gpt-5") == first for _ in range(40))
    assert calls == ["gpt-5"] and (cache.hits, cache.misses) == (40, 1)
    cache.count(raw, "deepseek-chat")  # same body, other model: its own entry
    assert calls == ["gpt-5", "deepseek-chat"] and len(cache) == 2


def test_least_recently_used_is_evicted() -> None:
    cache = TokenCountCache(maxsize=2)
    a, b, c = body("a"), body("b"), body("c")
    cache.count(a, "gpt-4o")
    cache.count(b, "gpt-4o")
    cache.count(a, "gpt-4o")  # a is now the most recent
    cache.count(c, "gpt-4o")  # evicts b
    assert len(cache) == 2
    assert cache.get(cache.key(a, "gpt-4o")) is not None
    assert cache.get(cache.key(b, "gpt-4o")) is None
    assert cache.get(cache.key(c, "gpt-4o")) is not None


async def test_a_burst_of_concurrent_requests_counts_once() -> None:
    """Claude Code's start-up burst: dozens of identical count_tokens requests at once."""
    cache = TokenCountCache()
    raw = body("x" * 5000)

    async def one() -> int:
        await asyncio.sleep(0)
        return cache.count(raw, "gpt-4o").input_tokens

    results = await asyncio.gather(*(one() for _ in range(50)))
    assert len(set(results)) == 1 and cache.misses == 1 and cache.hits == 49


def test_parsed_body_is_used_when_given() -> None:
    cache = TokenCountCache()
    raw = body("hello")
    assert cache.count(raw, "gpt-4o", parsed=json.loads(raw)) == count_request_tokens(raw, "gpt-4o")


def test_maxsize_must_be_positive() -> None:
    with pytest.raises(ValueError):
        TokenCountCache(maxsize=0)
