"""Prices from the genai-prices package: every provider kind maps to the package's provider id,
self-hosted kinds cost nothing, config wins entry by entry, prices follow the date, tiers nest,
and nothing is fetched."""

from __future__ import annotations

from datetime import UTC, datetime

import genai_prices
import pytest
from genai_prices import data_snapshot

from aigateway.config import load_settings
from aigateway.ir.usage import Usage
from aigateway.providers.registry import DESCRIPTORS, price_books
from aigateway.routing import price_source
from aigateway.routing.prices import ZERO, PriceBook, PriceTable

SOURCE = f"genai-prices {genai_prices.__version__}"
SELF_HOSTED = {"ollama", "vllm", "lmstudio"}
UNPRICED = {"openai_compatible"}  # any server: neither the package nor zero knows its price


def test_every_kind_maps_to_a_provider_the_package_knows_or_is_self_hosted():
    known = {p.id for p in data_snapshot.get_snapshot().providers}
    for kind, d in DESCRIPTORS.items():
        if kind in SELF_HOSTED:
            assert d.self_hosted and d.prices_id is None, kind
        elif kind in UNPRICED:
            assert d.prices_id is None and not d.self_hosted
        else:
            assert d.prices_id in known, kind


# (kind, upstream id) -> USD per million input / output in the package's data
@pytest.mark.parametrize(
    ("kind", "model_id", "rates"),
    [
        ("openai", "gpt-5", ("1.25", "10")),
        ("gemini", "gemini-2.5-pro", ("1.25", "10")),
        ("vertex", "claude-opus-4-5@20251101", ("5", "25")),
        ("bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", ("3", "15")),
        ("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", ("3.3", "16.5")),  # regional: +10%
        ("bedrock", "eu.anthropic.claude-sonnet-4-5-20250929-v1:0", ("3.3", "16.5")),
        ("groq", "openai/gpt-oss-120b", None),
        ("deepseek", "deepseek-chat", None),
        ("xai", "grok-4", ("3", "15")),
        ("mistral", "mistral-large-latest", None),
        ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", None),
        ("fireworks", "accounts/fireworks/models/gpt-oss-120b", None),
        ("cerebras", "gpt-oss-120b", None),
        ("openrouter", "anthropic/claude-sonnet-4.5", None),
        ("anthropic", "claude-sonnet-5-5", ("2", "10")),
    ],
)
def test_a_kinds_models_are_priced_from_the_package(kind, model_id, rates):
    d = DESCRIPTORS[kind]
    table = PriceTable.load(books={"p": PriceBook(kind, d.prices_id)})
    quote = table.quote(f"{kind}/{model_id}", "p", model_id)
    assert quote is not None and quote.source == SOURCE
    view = quote.price.per_million_view()
    if rates is not None:
        assert (view["input"], view["output"]) == rates
    assert quote.price.input > 0 and quote.price.output > 0


def test_self_hosted_kinds_cost_zero_unless_config_prices_them():
    books = {"box": PriceBook("ollama", None, free=True)}
    table = PriceTable.load(books=books)
    quote = table.quote("box/qwen3", "box", "qwen3")
    assert quote is not None and (quote.price, quote.source) == (ZERO, "self-hosted")
    raw = {"model": "box/qwen3", "provider": "box", "input": "0.1", "output": "0.2"}
    priced = PriceTable.load([{**raw, "cache_write_5m": "0.1", "cache_write_1h": "0.1", "cache_read": "0.1"}], books)
    quote = priced.quote("box/qwen3", "box", "qwen3")
    assert quote is not None and quote.source == "config" and quote.price.output == 200_000


def test_an_unknown_server_is_unpriced():
    assert PriceTable.load(books={"x": PriceBook("openai_compatible")}).quote("x/m", "x", "m") is None


def test_config_wins_for_its_entry_only():
    books = {"openai": PriceBook("openai", "openai")}
    raw = {"model": "openai/gpt-5", "provider": "openai", "input": "1", "output": "8"}
    table = PriceTable.load([{**raw, "cache_write_5m": "1", "cache_write_1h": "1", "cache_read": "0.1"}], books)
    contract = table.quote("openai/gpt-5", "openai", "gpt-5")
    listed = table.quote("openai/gpt-5-mini", "openai", "gpt-5-mini")
    assert contract is not None and contract.source == "config" and contract.price.output == 8_000_000
    assert listed is not None and listed.source == SOURCE


def test_an_azure_deployment_is_priced_as_the_model_it_serves(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "providers:\n  azure:\n    base_url: https://r.openai.azure.com\n    api_key: k\n    api_version: 2024-10-21\n"
        "    deployments:\n      prod-chat: {model: gpt-5}\n"
    )
    books = price_books(load_settings(config, tmp_path))
    table = PriceTable.load(books=books)
    quote = table.quote("azure/prod-chat", "azure", "prod-chat")
    assert quote is not None and quote.price.per_million_view()["output"] == "10"
    assert table.quote("azure/other", "azure", "some-deployment") is None  # no `model:`: unknown


def test_a_price_follows_the_date_of_the_request():
    # gemini-4-argon: the package's data doubles its price from 2026-12-01.
    table = PriceTable.load(books={"gemini": PriceBook("gemini", "google")})
    before = table.quote("google/gemini-4-argon", "gemini", "gemini-4-argon", datetime(2026, 11, 30, tzinfo=UTC))
    after = table.quote("google/gemini-4-argon", "gemini", "gemini-4-argon", datetime(2026, 12, 1, tzinfo=UTC))
    assert before is not None and after is not None
    assert (before.price.per_million_view()["input"], after.price.per_million_view()["input"]) == ("2", "4")


def test_tiers_nest_and_the_highest_crossed_wins():
    # qwen/qwen3.7-flash at OpenRouter: input 0.03, above 32K 0.1, above 256K 0.2 per million.
    table = PriceTable.load(books={"or": PriceBook("openrouter", "openrouter")})
    quote = table.quote("or/qwen/qwen3.7-flash", "or", "qwen/qwen3.7-flash")
    assert quote is not None
    price = quote.price
    assert price.cost(Usage(input_tokens=1_000)) == 30_000  # 1_000 * 30 nano-dollars
    assert price.cost(Usage(input_tokens=100_000)) == 10_000_000
    assert price.cost(Usage(input_tokens=300_000)) == 60_000_000


def test_web_searches_are_billed_per_search():
    table = PriceTable.load(books={"anthropic": PriceBook("anthropic", "anthropic")})
    quote = table.quote("anthropic/claude-sonnet-4.5", "anthropic", "claude-sonnet-4-5")
    assert quote is not None and quote.price.per_million_view()["web_search_per_1000"] == "10"
    plain, searched = Usage(10, 20), Usage(10, 20, web_search_requests=3)
    assert quote.price.cost(searched) - quote.price.cost(plain) == 30_000_000  # 3 x $0.01


def test_nothing_is_fetched_and_the_updater_stays_off():
    from genai_prices import update_prices

    table = PriceTable.load(books={"openai": PriceBook("openai", "openai")})
    assert table.quote("openai/gpt-5", "openai", "gpt-5") is not None
    assert update_prices._shared_updater.thread is None
    assert data_snapshot.get_snapshot().from_auto_update is False
    assert price_source.label() == SOURCE
