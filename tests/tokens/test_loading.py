"""Tokenizers load on first use, in a thread: one build per encoding, never on the event loop."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from aigateway.tokens import TokenCountCache, count_request_tokens, encodings, load_encoding, ready
from aigateway.tokens import cache as cache_module
from tests.support.held_tokenizer import HeldBuild


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldBuild]:
    build = HeldBuild(monkeypatch)
    yield build
    build.release.set()


def _body(text: str) -> bytes:
    return json.dumps({"model": "x", "messages": [{"role": "user", "content": text}]}).encode()


async def test_the_loop_keeps_running_while_a_tokenizer_is_built(held: HeldBuild) -> None:
    counts = TokenCountCache()
    waiting = asyncio.create_task(counts.count_async(_body("hello world"), "gpt-4o"))
    await held.until_started()
    ticks = 0
    for _ in range(20):  # the loop turns while the build is held
        await asyncio.sleep(0.001)
        ticks += 1
    assert ticks == 20 and not waiting.done()
    assert held.builds[0][1] != threading.get_ident()  # built in another thread
    held.release.set()
    counted = await asyncio.wait_for(waiting, 30)
    assert counted == count_request_tokens(_body("hello world"), "gpt-4o")


async def test_everyone_waiting_for_one_encoding_shares_one_build(held: HeldBuild) -> None:
    waiters = [asyncio.create_task(load_encoding("cl100k_base")) for _ in range(20)]
    await held.until_started()
    held.release.set()
    built = await asyncio.wait_for(asyncio.gather(*waiters), 30)
    assert [name for name, _ in held.builds] == ["cl100k_base"]
    assert all(enc is built[0] for enc in built)
    assert encodings.built("cl100k_base") is built[0]
    assert await load_encoding("cl100k_base") is built[0]  # at once now: no second build
    assert len(held.builds) == 1


async def test_a_waiter_that_leaves_does_not_stop_the_build(held: HeldBuild) -> None:
    first = asyncio.create_task(ready("gpt-4o"))
    await held.until_started()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    second = asyncio.create_task(ready("gpt-4o"))
    held.release.set()
    await asyncio.wait_for(second, 30)
    assert [name for name, _ in held.builds] == ["o200k_base"] and encodings.built("o200k_base") is not None


async def test_a_failed_build_reaches_its_waiters_and_the_next_request_tries_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(encodings, "_built", {})
    attempts: list[str] = []
    real = encodings._constructor_args

    def failing_once(name: str) -> dict[str, Any]:
        attempts.append(name)
        if len(attempts) == 1:
            raise encodings.EncodingUnavailable("vocabulary unreadable")
        return real(name)

    monkeypatch.setattr(encodings, "_constructor_args", failing_once)
    with pytest.raises(encodings.EncodingUnavailable, match="unreadable"):
        await load_encoding("cl100k_base")
    assert (await load_encoding("cl100k_base")).encode("hello world") == [15339, 1917]
    assert attempts == ["cl100k_base", "cl100k_base"]


async def test_a_large_body_is_counted_in_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []

    def counting(body: Any, model: str) -> Any:
        threads.append(threading.get_ident())
        return count_request_tokens(body, model)

    monkeypatch.setattr(cache_module, "count_request_tokens", counting)
    counts = TokenCountCache()
    await ready("gpt-4o")
    small, large = _body("hi"), _body("word " * (cache_module.INLINE_BYTES // 4))
    assert len(small) <= cache_module.INLINE_BYTES < len(large)
    await counts.count_async(small, "gpt-4o")
    counted = await counts.count_async(large, "gpt-4o")
    assert threads[0] == threading.get_ident() and threads[1] != threading.get_ident()
    assert counted == count_request_tokens(large, "gpt-4o")
    assert await counts.count_async(large, "gpt-4o") is counted and len(threads) == 2  # cached


async def test_tasks_that_waited_for_the_tokenizer_count_the_same_body_once(
    held: HeldBuild, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted: list[str] = []

    def counting(body: Any, model: str) -> Any:
        counted.append(model)
        return count_request_tokens(body, model)

    monkeypatch.setattr(cache_module, "count_request_tokens", counting)
    counts = TokenCountCache()
    burst = [asyncio.create_task(counts.count_async(_body("same"), "gpt-4o")) for _ in range(30)]
    await held.until_started()
    held.release.set()
    results = await asyncio.wait_for(asyncio.gather(*burst), 30)
    assert len(set(results)) == 1 and counted == ["gpt-4o"]


async def test_a_built_encoding_keeps_no_python_copy_of_its_vocabulary(monkeypatch: pytest.MonkeyPatch) -> None:
    """tiktoken's Python dict of ranks (27 MiB for o200k_base) is only for pickling; counts come
    from its Rust core, which keeps its own copy."""
    monkeypatch.setattr(encodings, "_built", {})
    enc = await load_encoding("cl100k_base")
    assert enc._mergeable_ranks == {}
    assert enc.encode("hello world") == [15339, 1917] and enc.decode([15339, 1917]) == "hello world"
