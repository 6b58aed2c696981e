"""Which tokenizer and which overhead constants count a given upstream model.

OpenAI models are resolved by tiktoken's own model table (`tiktoken.model`, a plain dict, no
download): gpt-4o, gpt-4.1, gpt-4.5, gpt-5, o1/o3/o4 use o200k_base, gpt-4 and gpt-3.5 use
cl100k_base; for those the count uses the model's own tokenizer. Every other family (llama,
deepseek, mistral, qwen, grok, gemma, gpt-oss, ...) is counted with o200k_base and marked as an
estimate: their vocabularies are of similar size, so counts land within roughly 10-20%.

Overheads, from OpenAI's cookbook "How to count tokens with tiktoken" (messages and function
definitions), checked against recorded `usage.prompt_tokens`:
- every message costs 3 tokens plus its role and content, a `name` 1 more;
- the reply is primed with 3 tokens; the o-series and gpt-5 reasoning models were recorded one
  token lower (o3-mini: "hello" = 7, gpt-5-mini = gpt-4o's count - 1), so they prime with 2;
- a function definition starts with 7 tokens (10 for the cl100k generation), the list of
  properties with 3, each property with 3, an enum adjusts by -3 and each item costs 3, and the
  whole tool list ends with 12.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

ESTIMATE_ENCODING = "o200k_base"


@dataclass(frozen=True, slots=True)
class Family:
    encoding: str
    own: bool  # the model's own tokenizer (else an estimate with a neighbour's)
    func_init: int
    reply_priming: int


def _bare(model: str) -> str:
    # "openai/gpt-4o" (OpenRouter style), "azure/gpt-4o", or "gpt-4o": the last segment names it.
    return model.rsplit("/", 1)[-1].strip().lower()


def _reasoning(name: str) -> bool:
    return name.startswith(("o1", "o3", "o4", "gpt-5")) and not name.startswith("gpt-5-chat")


def table_loaded() -> bool:
    """Whether `model_family` answers without importing tiktoken (its first call imports it)."""
    return "tiktoken.model" in sys.modules


def model_family(upstream_model: str) -> Family:
    import tiktoken.model

    name = _bare(upstream_model)
    try:
        encoding = tiktoken.model.encoding_name_for_model(name)
    except KeyError:
        encoding = ""
    if encoding not in ("o200k_base", "cl100k_base"):
        # Unknown to tiktoken, or gpt-oss (o200k_harmony: same vocabulary, different chat format).
        return Family(ESTIMATE_ENCODING, own=False, func_init=7, reply_priming=3)
    func_init = 10 if encoding == "cl100k_base" else 7
    return Family(encoding, own=True, func_init=func_init, reply_priming=2 if _reasoning(name) else 3)
