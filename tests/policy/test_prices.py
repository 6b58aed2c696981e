"""Cost of every recorded Anthropic answer, checked by hand against the prices the gateway uses
(routing/prices.yaml for Sonnet 4, genai-prices for the others).

Rates used below, nano-dollars per token (= USD per million tokens x 1000):
  claude-sonnet-4 and claude-sonnet-4.5: input 3000, output 15000, cache write 5m 3750, 1h 6000, read 300
  claude-haiku-4.5: input 1000, output 5000, cache write 5m 1250, 1h 2000, read 100
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigateway.ir.usage import Usage
from aigateway.policy.admission import estimate_input_tokens
from aigateway.providers.anthropic.tap import AnthropicStreamTap, read_usage
from aigateway.routing.catalog import Catalog
from aigateway.routing.prices import Price, PriceBook, PriceTable, to_nano, usd
from tests.support.anthropic_usage import plain_usage
from tests.support.fixtures import exchange, exchanges

SONNET_4, SONNET_45, HAIKU_45 = "anthropic/claude-sonnet-4", "anthropic/claude-sonnet-4.5", "anthropic/claude-haiku-4.5"

# fixture -> (catalog model of the recorded `model`, cost in nano-dollars worked out by hand)
EXPECTED = {
    "text-sync#1": (SONNET_4, 276_000),  # 17*3000 + 15*15000
    "text-stream#1": (SONNET_4, 276_000),  # same usage, streamed
    "tools-parallel-stream#1": (SONNET_4, 2_883_000),  # 416*3000 + 109*15000
    "tools-parallel-stream#2": (SONNET_4, 2_586_000),  # 602*3000 + 52*15000
    "tools-parallel-sync#1": (SONNET_4, 2_883_000),  # 416*3000 + 109*15000
    "tools-parallel-sync#2": (SONNET_4, 2_391_000),  # 602*3000 + 39*15000
    "tools-parallel-sync-haiku#1": (HAIKU_45, 1_433_000),  # 423*1000 + 202*5000
    "tools-parallel-sync-haiku#2": (HAIKU_45, 1_156_000),  # 771*1000 + 77*5000
    "thinking-stream#1": (SONNET_4, 18_096_000),  # 67*3000 + 1193*15000
    "thinking-stream#2": (SONNET_4, 2_118_000),  # 171*3000 + 107*15000
    "thinking-sync-multiturn#1": (SONNET_45, 4_944_000),  # 43*3000 + 321*15000
    "thinking-sync-multiturn#2": (SONNET_45, 8_937_000),  # 354*3000 + 525*15000
    "thinking-tool-use-sync#1": (SONNET_4, 3_519_000),  # 398*3000 + 155*15000
    "thinking-tool-use-sync#2": (SONNET_4, 3_588_000),  # 566*3000 + 126*15000
    "max-tokens-stream#1": (SONNET_4, 795_000),  # 15*3000 + 50*15000
    "max-tokens-sync#1": (SONNET_4, 795_000),  # 15*3000 + 50*15000
    "forced-tool-stream#1": (SONNET_4, 3_558_000),  # 416*3000 + 154*15000
    # 8 uncached input, 4167 written to the 5-minute cache (charged once, at the write rate):
    # 8*3000 + 4167*3750 + 204*15000 = 24_000 + 15_626_250 + 3_060_000
    "prompt-cache-sync#1": (SONNET_4, 18_710_250),
    # 12 uncached input, 4167 read from the cache (at the read rate, not as input):
    # 12*3000 + 4167*300 + 350*15000 = 36_000 + 1_250_100 + 5_250_000
    "prompt-cache-sync#2": (SONNET_4, 6_536_100),
    "pdf-input-sync#1": (SONNET_4, 5_004_000),  # 1598*3000 + 14*15000
    "image-input-sync#1": (SONNET_4, 642_000),  # 34*3000 + 36*15000
    "image-url-input-sync#1": (SONNET_4, 642_000),  # 34*3000 + 36*15000
    "count-tokens#2": (SONNET_45, 1_212_000),  # 19*3000 + 77*15000
}


ANTHROPIC = {"anthropic": PriceBook("anthropic", "anthropic")}


def _price(model: str, table: PriceTable | None = None) -> Price | None:
    entry = Catalog.load().get(model)
    assert entry is not None
    quote = (table or PriceTable.load(books=ANTHROPIC)).quote(entry.id, "anthropic", entry.providers["anthropic"])
    return quote.price if quote is not None else None


def _usage(ex) -> Usage:
    body = ex.response_bytes()
    if ex.stream:
        tap = AnthropicStreamTap()
        tap.feed(body)
        tap.finish()
        return tap.usage
    return read_usage(body)[0]


@pytest.mark.recordings
def test_every_recorded_answer_is_in_the_table():
    answers = [ex for ex in exchanges("anthropic") if ex.status == 200 and ex.response_file]
    with_usage = {f"{ex.case}#{ex.number}" for ex in answers if b'"usage"' in ex.response_bytes()}
    assert with_usage == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cost_of_recorded_usage(name):
    case, number = name.split("#")
    model, expected = EXPECTED[name]
    price = _price(model)
    assert price is not None
    assert price.cost(_usage(exchange("anthropic", case, int(number)))) == expected


def test_one_hour_cache_writes_cost_more_than_five_minute_ones():
    # Shape from the API reference: cache_creation splits the writes by TTL. Sonnet 4:
    # 10*3000 + 1000*3750 (5m) + 2000*6000 (1h) + 500*300 + 100*15000 = 17_430_000
    usage = plain_usage(
        {
            "input_tokens": 10,
            "cache_creation_input_tokens": 3000,
            "cache_read_input_tokens": 500,
            "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
            "output_tokens": 100,
        }
    )
    price = _price(SONNET_4)
    assert price is not None and price.cost(usage) == 17_430_000
    assert usd(price.cost(usage)) == "0.017430"


def test_every_anthropic_catalog_model_has_a_price():
    for m in Catalog.load().models:
        if "anthropic" in m.providers:
            assert _price(m.id) is not None, f"{m.id} has no price"


def _with_usage(e) -> bool:
    return bool(e.request_file and e.status == 200 and e.response_file and b'"usage"' in e.response_bytes())


@pytest.mark.parametrize("ex", [e for e in exchanges("anthropic") if _with_usage(e)], ids=lambda e: e.name)
def test_the_input_estimate_bounds_every_recorded_request(ex):
    """The reservation estimate never undercounts: input + cache reads + cache writes of the answer."""
    usage = _usage(ex)
    actual = usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
    assert estimate_input_tokens(ex.request_bytes()) >= actual


@given(
    st.lists(st.decimals(min_value=0, max_value=100, places=3, allow_nan=False), min_size=5, max_size=5),
    st.lists(st.integers(min_value=0, max_value=2_000_000), min_size=5, max_size=5),
)
def test_cost_is_exact(prices, tokens):
    names = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
    raw = dict(zip(names, map(str, prices), strict=True))
    price = Price.per_million(raw)
    i, o, w5, w1, r = tokens
    usage = Usage(i, o, r, w5 + w1, w1)
    exact = (i * prices[0] + o * prices[1] + w5 * prices[2] + w1 * prices[3] + r * prices[4]) / Decimal(1_000_000)
    assert price.cost(usage) == to_nano(exact)
    assert Decimal(usd(price.cost(usage))) == exact


def test_prices_with_more_than_six_decimals_are_refused():
    with pytest.raises(ValueError, match="six decimals"):
        Price.per_million(
            {"input": "0.0000001", "output": "1", "cache_write_5m": "1", "cache_write_1h": "1", "cache_read": "1"}
        )


def test_a_sub_nano_rate_is_rounded_up_once_per_request():
    # 0.00875 USD per million tokens (a published cache-read price) is 8.75 nano-dollars a token:
    # 3 tokens cost 26.25 nano-dollars, recorded as 27; never less than the truth.
    price = Price.per_million(
        {"input": "0.00875", "output": "1", "cache_write_5m": "1", "cache_write_1h": "1", "cache_read": "1"}
    )
    assert price.cost(Usage(input_tokens=3)) == 27
    assert price.cost(Usage(input_tokens=4000)) == 35_000


def test_config_overrides_a_price_and_marks_the_version():
    override = {
        "model": SONNET_4,
        "provider": "anthropic",
        "input": Decimal("2.5"),
        "output": 12,
        "cache_write_5m": "3.125",
        "cache_write_1h": 5,
        "cache_read": "0.25",
    }
    table = PriceTable.load([override], ANTHROPIC)
    quote = table.quote(SONNET_4, "anthropic", "claude-sonnet-4-0")
    assert quote is not None and quote.source == "config"
    assert quote.price == Price(2_500_000, 12_000_000, 3_125_000, 5_000_000, 250_000)
    haiku = table.quote(HAIKU_45, "anthropic", "claude-haiku-4-5")
    assert haiku is not None and haiku.source.startswith("genai-prices ") and haiku.price == _price(HAIKU_45)


def test_long_context_tier_bills_the_whole_request():
    price = _price(SONNET_4)
    assert price is not None
    # 150_000 uncached + 60_000 cache reads = 210_000 input tokens > 200_000: every token at the tier,
    # 150_000*6000 + 60_000*600 + 2_000*22500 = 900_000_000 + 36_000_000 + 45_000_000
    assert price.cost(Usage(150_000, 2_000, 60_000, 0, 0)) == 981_000_000
    # exactly at the threshold: the standard rates, 200_000*3000
    assert price.cost(Usage(200_000, 0, 0, 0, 0)) == 600_000_000
    # the reservation follows the tier of the estimate: 250_000*12000 (1 h write) + 1_000*22500
    assert price.worst_case(250_000, 1_000) == 3_022_500_000
    assert price.worst_case(1_000, 1_000) == 1_000 * 6000 + 1_000 * 15000
    haiku = _price(HAIKU_45)
    assert haiku is not None and haiku.long is None and haiku.cost(Usage(300_000, 0, 0, 0, 0)) == 300_000_000
