"""Providers' own model lists: each kind's client reads its upstream's listing (a fake upstream on
127.0.0.1), the background reader keeps the last good list and logs a failure once, and a listed
model the catalog does not know is served under its provider's name, priced."""

from __future__ import annotations

import json
import logging

from aigateway.providers.registry import DESCRIPTORS, build_provider
from aigateway.routing.catalog import Catalog, ListedModel
from aigateway.routing.inventory import Sources, inventory
from aigateway.routing.listings import Listings
from aigateway.routing.prices import PriceBook, PriceTable
from tests.support.upstream import Reply

JSON = {"content-type": "application/json"}
ANTHROPIC_PAGE = {
    "data": [
        {"type": "model", "id": "claude-sonnet-5-5", "display_name": "Claude Sonnet 5.5", "max_input_tokens": 1000000}
    ],
    "has_more": True,
    "last_id": "claude-sonnet-5-5",
}
ANTHROPIC_LAST = {"data": [{"type": "model", "id": "claude-haiku-5-5"}], "has_more": False}
GEMINI_PAGE = {
    "models": [
        {
            "name": "models/gemini-3.5-flash",
            "inputTokenLimit": 1048576,
            "supportedGenerationMethods": ["generateContent"],
        },
        {"name": "models/text-embedding-004", "supportedGenerationMethods": ["embedContent"]},
    ]
}
OLLAMA = {
    "object": "list",
    "data": [{"id": "qwen3:8b", "object": "model", "created": 1700000000, "owned_by": "library"}],
}


def _provider(kind: str, base_url: str, key: str | None = "k"):
    return build_provider(kind, kind, DESCRIPTORS[kind].config(base_url=base_url, api_key=key))


def _reply(doc: dict) -> Reply:
    return Reply(body=json.dumps(doc).encode(), headers=JSON)


async def test_anthropic_lists_every_page(upstream):
    upstream.expect(_reply(ANTHROPIC_PAGE), _reply(ANTHROPIC_LAST))
    provider = _provider("anthropic", upstream.url)
    try:
        models = await provider.list_models(5)
    finally:
        await provider.aclose()
    assert [m.id for m in models] == ["claude-sonnet-5-5", "claude-haiku-5-5"]
    assert models[0].context_window == 1_000_000
    first, second = upstream.received
    assert first.path_qs == "/v1/models?limit=1000" and first.headers["x-api-key"] == "k"
    assert second.path_qs == "/v1/models?limit=1000&after_id=claude-sonnet-5-5"


async def test_gemini_lists_the_models_that_generate(upstream):
    upstream.expect(_reply(GEMINI_PAGE))
    provider = _provider("gemini", upstream.url + "/v1beta")
    try:
        models = await provider.list_models(5)
    finally:
        await provider.aclose()
    assert [(m.id, m.context_window) for m in models] == [("gemini-3.5-flash", 1048576)]
    assert upstream.received[0].path_qs == "/v1beta/models?pageSize=1000"


async def test_a_local_ollama_lists_its_pulled_models(upstream):
    upstream.expect(_reply(OLLAMA))
    provider = _provider("ollama", upstream.url + "/v1", key=None)
    try:
        models = await provider.list_models(5)
    finally:
        await provider.aclose()
    assert models == [ListedModel("qwen3:8b", created_at="2023-11-14T22:13:20Z")]
    assert upstream.received[0].path_qs == "/v1/models"


class _Flaky:
    """A provider whose listing answers, then fails, then answers again."""

    def __init__(self) -> None:
        self.answers: list[list[ListedModel] | Exception] = []

    async def list_models(self, timeout: float) -> list[ListedModel]:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_a_failed_read_keeps_the_last_good_list_and_is_logged_once(caplog):
    from aigateway.errors import UpstreamUnavailable

    flaky = _Flaky()
    down = UpstreamUnavailable("Upstream provider 'box' timed out", provider="box", status=504)
    flaky.answers = [[ListedModel("qwen3:8b")], down, down, [ListedModel("qwen3:8b"), ListedModel("llama4")]]
    listings = Listings({"box": flaky}, interval=60, timeout=1)  # type: ignore[dict-item]
    with caplog.at_level(logging.INFO, logger="aigateway"):
        assert await listings.refresh() is True
        assert await listings.refresh() is False
        assert await listings.refresh() is False
        assert [m.id for m in listings.models["box"]] == ["qwen3:8b"]  # the last good list
        assert await listings.refresh() is True
    warnings = [r for r in caplog.records if r.getMessage() == "model list unavailable"]
    assert len(warnings) == 1
    assert [m.id for m in listings.models["box"]] == ["qwen3:8b", "llama4"]
    assert listings.find("box", "LLAMA4") == "llama4"


def test_a_listed_model_the_catalog_does_not_know_is_served_under_its_provider():
    catalog = Catalog.load()
    table = PriceTable.load(
        books={"box": PriceBook("ollama", None, free=True), "anthropic": PriceBook("anthropic", "anthropic")}
    )

    def quote(route):
        model = route.entry.id if route.entry is not None else route.model
        return table.quote(model, route.provider, route.upstream_model)

    listed = {"box": (ListedModel("qwen3:8b", context_window=40960),), "anthropic": (ListedModel("claude-sonnet-5-5"),)}
    served = inventory(
        Sources(catalog, {"box": "ollama", "anthropic": "anthropic"}, quote, table.context_window, listed)
    )
    ids = [s.model.id for s in served]
    assert "box/qwen3:8b" in ids and "anthropic/claude-sonnet-5.5" in ids
    assert "anthropic/claude-sonnet-5-5" not in ids  # the catalog knows it: listed once, under its id
    box = next(s for s in served if s.model.id == "box/qwen3:8b")
    assert box.context_window == 40960 and box.offers[0].quote is not None
    assert box.offers[0].quote.source == "self-hosted"
