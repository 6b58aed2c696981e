"""The ledger's cost of recorded usages, against prices copied by hand from public price pages.

Each usage below is read from a real recorded answer by the gateway's own decoder; its cost is
worked out here by hand, from the prices below (USD per million tokens), and compared with what
the gateway records (`Admission.cost`: the price of the route that answered, as the ledger row
gets it). Where the two disagree, either the source's data or a page moved: look before changing
a number.

Price pages (read 2026-12-04):
[A] Anthropic pricing page, https://platform.claude.com/docs/en/about-claude/pricing: Sonnet 4 and
    Sonnet 4.5 $3 input / $15 output, Haiku 4.5 $1 / $5; 5-minute cache writes 1.25x the input
    price, cache reads 0.1x.
[O] OpenAI pricing page, https://developers.openai.com/api/docs/pricing (as tabulated on
    chatgptpricing-akr.pages.dev/api-pricing and deploybase.ai, both citing it): gpt-4o $2.50
    input / $1.25 cached input / $10 output; gpt-5-mini $0.25 input / $2 output.
[G] Gemini API pricing page, https://ai.google.dev/gemini-api/docs/pricing (as quoted by the
    gemini-cost crate's tests): gemini-2.5-pro $1.25 input / $10 output for prompts up to 200K
    tokens; thinking tokens are output.
[B] Amazon Bedrock pricing for Claude (clauder-navi.com/en/bedrock-claude-cost, from the Bedrock
    pricing page): from Sonnet 4.5 and Haiku 4.5 on, regional (`us.`, `eu.`) endpoints cost 10%
    more than global ones, whose prices are Anthropic's [A]; cache writes 1.25x, reads 0.1x.
    So regional Sonnet 4.5: $3.30 / $16.50, write $4.125, read $0.33; Haiku 4.5: $1.10 / $5.50,
    write $1.375, read $0.11.

[O2] OpenAI's o3-mini and gpt-5, as tabulated from OpenAI's pricing page on llmcalc.app/models/o3-mini
    ("official pricing") and modelpedia.dev/openai/o3-mini: o3-mini $1.10 input / $0.55 cached /
    $4.40 output; crazyrouter.com/en/blog/gpt-5-pricing and aipromptshub.co/calc/gpt-5-cost: gpt-5
    $1.25 input / $0.125 cached (10% of input) / $10 output.
[G2] Gemini API pricing page, https://ai.google.dev/gemini-api/docs/pricing, as quoted by
    openrouter.ai/blog/gemini-25-flash-api-pricing-quickstart-provider-comparison and
    deploybase.ai/articles/gemini-2.5-pricing: gemini-2.5-flash $0.30 input / $2.50 output (thinking
    included); aifreeapi.com/en/posts/gemini-3-api-pricing-quota: gemini-3-pro-preview $2 input /
    $12 output for prompts up to 200K tokens.
[N] Amazon Nova on Bedrock (cloudroutehq.com/aws-ai/amazon-nova-pricing, pristren.com, both from the
    Bedrock pricing page): Nova Micro $0.035 input / $0.14 output.

Thirteen (model, provider) pairs over eleven models. Left out, because the public pages read disagree
with each other or with the price source (which may be stale there): DeepSeek (its own page moved
deepseek-reasoner to $0.56 / $1.68 in September 2025), Mistral (`mistral-large-latest` now names a
later model), Together and Groq (pages disagree).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from aigateway.ir.usage import Usage
from aigateway.policy.admission import Admission
from aigateway.policy.counters import LocalCounters
from aigateway.providers.anthropic.tap import read_usage as anthropic_usage
from aigateway.providers.bedrock.usage import usage_to_ir as converse_usage
from aigateway.providers.bedrock.wire import decode_converse
from aigateway.providers.gemini.usage import usage_to_ir as gemini_usage
from aigateway.providers.gemini.wire import CHUNK
from aigateway.providers.openai.responses_tap import read_response_usage as responses_usage
from aigateway.providers.openai.tap import read_usage as openai_usage
from aigateway.routing.catalog import Catalog
from aigateway.routing.plan import candidates
from aigateway.routing.prices import PriceBook, PriceTable, to_nano
from tests.support.fixtures import exchange

KINDS = {"anthropic": "anthropic", "openai": "openai", "gemini": "gemini", "bedrock": "bedrock"}
BOOKS = {
    "anthropic": PriceBook("anthropic", "anthropic"),
    "openai": PriceBook("openai", "openai"),
    "gemini": PriceBook("gemini", "google"),
    "bedrock": PriceBook("bedrock", "aws"),
}


def _gemini_stream(body: bytes) -> Usage | None:
    last = None
    for line in body.split(b"\n"):
        if line.startswith(b"data:"):
            last = CHUNK.decode(line[5:].strip()).usage_metadata or last
    return gemini_usage(last)


def _usage(fixture: str) -> Usage:
    provider, case, number = fixture.split("/")[0], *fixture.split("/")[1].split("#")
    body = exchange(provider, case, int(number)).response_bytes()
    if provider == "anthropic" or case.startswith("invoke"):
        usage = anthropic_usage(body)[0]
    elif provider == "openai-chat":
        usage = openai_usage(body)[0]
    elif provider == "openai-responses":
        usage = responses_usage(body)[0]
    elif provider == "gemini":
        usage = _gemini_stream(body)
    else:
        usage = converse_usage(decode_converse(body).usage)
    assert usage is not None
    return usage


# (recorded answer, model as a client asks for it, per-million prices by hand: input, output,
#  5-minute cache write, cache read; the usage the decoder reads, for the record)
CASES = [
    ("anthropic/text-sync#1", "anthropic/claude-sonnet-4", ("3", "15", "3.75", "0.30")),  # [A]
    ("anthropic/prompt-cache-sync#1", "anthropic/claude-sonnet-4", ("3", "15", "3.75", "0.30")),  # [A]
    ("anthropic/tools-parallel-sync-haiku#1", "anthropic/claude-haiku-4.5", ("1", "5", "1.25", "0.10")),  # [A]
    ("anthropic/thinking-sync-multiturn#2", "anthropic/claude-sonnet-4.5", ("3", "15", "3.75", "0.30")),  # [A]
    ("openai-chat/text-sync#1", "openai/gpt-4o", ("2.50", "10", "2.50", "1.25")),  # [O]
    ("openai-chat/prompt-cache-sync#2", "openai/gpt-4o", ("2.50", "10", "2.50", "1.25")),  # [O], 3584 cached
    ("openai-chat/max-tokens-reasoning-sync#1", "openai/gpt-5-mini", ("0.25", "2", "0.25", "0.25")),  # [O]
    ("gemini/thinking-stream-2.5-pro#1", "google/gemini-2.5-pro", ("1.25", "10", "1.25", "1.25")),  # [G]
    (
        "bedrock/converse-cache-write-read#1",
        "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ("3.30", "16.50", "4.125", "0.33"),
    ),  # [B]
    (
        "bedrock/converse-cache-write-read#2",
        "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ("3.30", "16.50", "4.125", "0.33"),
    ),  # [B]
    (
        "bedrock/invoke-anthropic-messages-cache#2",
        "bedrock/eu.anthropic.claude-haiku-4-5-20251001-v1:0",
        ("1.10", "5.50", "1.375", "0.11"),
    ),  # [B]
    (
        "bedrock/invoke-anthropic-messages-cache#1",
        "bedrock/eu.anthropic.claude-haiku-4-5-20251001-v1:0",
        ("1.10", "5.50", "1.375", "0.11"),
    ),  # [B]
    ("openai-chat/reasoning-usage-sync#1", "openai/o3-mini", ("1.10", "4.40", "1.10", "0.55")),  # [O2]
    ("openai-responses/reasoning-summary-sync#1", "openai/gpt-5", ("1.25", "10", "1.25", "0.125")),  # [O2]
    ("gemini/text-stream#1", "google/gemini-2.5-flash", ("0.30", "2.50", "0.30", "0.30")),  # [G2]
    ("gemini/tool-call-thought-signature-stream#1", "gemini/gemini-3-pro-preview", ("2", "12", "2", "2")),  # [G2]
    ("bedrock/converse-text#1", "bedrock/us.amazon.nova-micro-v1:0", ("0.035", "0.14", "0.035", "0.035")),  # [N]
]


def _by_hand(usage: Usage, prices: tuple[str, str, str, str]) -> int:
    i, o, w, r = (Decimal(p) for p in prices)
    assert usage.cache_creation_1h_input_tokens == 0  # none recorded: no 1 h price needed
    usd = (
        usage.input_tokens * i
        + usage.output_tokens * o
        + usage.cache_creation_input_tokens * w
        + usage.cache_read_input_tokens * r
    ) / 1_000_000
    return to_nano(usd)


@pytest.mark.parametrize(("fixture", "model", "prices"), CASES, ids=[c[0] for c in CASES])
def test_the_ledger_cost_of_a_recorded_usage_is_the_hand_computed_one(fixture, model, prices):
    admission = Admission(LocalCounters(), PriceTable.load(books=BOOKS))
    served_by = {"anthropic": "anthropic", "openai-chat": "openai", "openai-responses": "openai"}
    served_by |= {"gemini": "gemini", "bedrock": "bedrock"}
    (route,) = [r for r in candidates(model, KINDS, Catalog.load()) if r.provider == served_by[fixture.split("/")[0]]]
    usage = _usage(fixture)
    assert usage.input_tokens + usage.output_tokens > 0
    assert admission.cost(route, usage) == _by_hand(usage, prices)
