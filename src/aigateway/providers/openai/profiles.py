"""What differs between servers that speak Chat Completions, as data instead of `if` chains.

Every kind in `PROFILES` is served by the same adapter; a profile says where the server lives,
how it wants the key, and which request fields it takes. Sources: each vendor's API reference
for chat completions (fields accepted, auth header), checked against the recordings in the
fixtures where one exists.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Literal

ALL = re.compile("")


@dataclass(frozen=True)
class Profile:
    base_url: str
    key_env: str | None  # the variable that enables this kind in env-only mode
    auth: Literal["bearer", "api-key"] = "bearer"
    max_tokens_field: str = "max_tokens"
    stream_usage: bool = True  # accepts stream_options.include_usage
    user_field: bool = True  # accepts `user`
    top_k: bool = False
    parallel_tool_calls: bool = True
    tool_choice_any: str = "required"
    # Reasoning: how `thinking`/`output_config.effort` is sent, and to which models.
    reasoning: Literal["effort", "openrouter", "none"] = "effort"
    reasoning_models: re.Pattern[str] = ALL
    lowest_effort: str = "low"
    no_sampling_when_reasoning: bool = False  # the model rejects temperature/top_p
    reasoning_history: bool = False  # wants earlier reasoning back as assistant `reasoning_content`
    pdf: bool = False  # takes PDFs as `file` content parts
    prompt_cache_key: bool = False  # takes OpenAI's prompt-cache routing key
    think_tags: bool = True  # reasoning may arrive inline as <think>...</think> in content
    responses: bool = False  # also serves OpenAI's Responses API (`POST /responses`) for every model
    extra_headers: dict[str, str] = field(default_factory=dict)


_OPENAI = Profile(
    "https://api.openai.com/v1",
    "OPENAI_API_KEY",
    max_tokens_field="max_completion_tokens",
    reasoning_models=re.compile(r"^(o\d|gpt-5|codex)"),
    lowest_effort="minimal",
    no_sampling_when_reasoning=True,
    pdf=True,
    think_tags=False,
    responses=True,
    prompt_cache_key=True,
)

PROFILES: dict[str, Profile] = {
    "openai": _OPENAI,
    # Azure OpenAI serves OpenAI's models: the model id is the deployment name (see `client.py`
    # for the URL shape) and base_url is required in config (https://RESOURCE.openai.azure.com).
    "azure": dataclasses.replace(_OPENAI, base_url="", key_env=None, auth="api-key"),
    # deepseek-reasoner always reasons and has no control for it; history carries reasoning_content.
    "deepseek": Profile("https://api.deepseek.com", "DEEPSEEK_API_KEY", reasoning="none", reasoning_history=True),
    "groq": Profile(
        "https://api.groq.com/openai/v1",
        "GROQ_API_KEY",
        max_tokens_field="max_completion_tokens",
        reasoning_models=re.compile(r"gpt-oss|qwen3"),
    ),
    "xai": Profile("https://api.x.ai/v1", "XAI_API_KEY", reasoning_models=re.compile(r"grok-3-mini")),
    "mistral": Profile(
        "https://api.mistral.ai/v1",
        "MISTRAL_API_KEY",
        stream_usage=False,  # Mistral sends usage on the last chunk unasked
        user_field=False,
        tool_choice_any="any",
        reasoning="none",
    ),
    "together": Profile("https://api.together.xyz/v1", "TOGETHER_API_KEY", top_k=True),
    "fireworks": Profile("https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY", top_k=True),
    "cerebras": Profile(
        "https://api.cerebras.ai/v1",
        "CEREBRAS_API_KEY",
        max_tokens_field="max_completion_tokens",
        reasoning_models=re.compile(r"gpt-oss"),
    ),
    "openrouter": Profile(
        "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", top_k=True, reasoning="openrouter", pdf=True
    ),
    "ollama": Profile("http://127.0.0.1:11434/v1", None, top_k=True),
    "vllm": Profile("http://127.0.0.1:8000/v1", None, top_k=True),
    "lmstudio": Profile("http://127.0.0.1:1234/v1", None, top_k=True),
    # Any other server that speaks Chat Completions: the most conservative choices.
    "openai_compatible": Profile("http://127.0.0.1:8000/v1", None),
}
