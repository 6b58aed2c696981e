"""What differs between Claude models, by their upstream id, where the request must know it.

Structured outputs (`output_config.format`) are documented for Claude 4.5 models and later
(platform.claude.com, "Structured outputs": Opus 4.5 and 4.6, Sonnet 4.5 and 4.6, Haiku 4.5);
earlier ones (`claude-3-*`, `claude-sonnet-4-0`, `claude-opus-4-1`, ...) answer 400 to it. An id
that does not name a Claude family and version (a custom deployment) is assumed to be current.

Web search (platform.claude.com, "Web search tool"): the server tool runs on Claude 3.5 Haiku,
3.5 and 3.7 Sonnet and every Claude 4 model; the gateway offers `web_search_20250305`, which
returns only `server_tool_use` and `web_search_tool_result` blocks (the core models both). The
newer `web_search_20260209` filters results with code execution blocks the core does not model.
Google documents it on Vertex AI as a Preview (cloud.google.com/vertex-ai/generative-ai/docs/
partner-models/claude/web-search); AWS documents no web search for Claude on Bedrock.

Thinking: from Claude 4.6 on, adaptive thinking paired with `output_config.effort` is the mode
(spec §3.7: the default on 4.6, the only one on Opus 4.7 and later; the SDK warns that
`enabled` with a budget is deprecated there).
"""

from __future__ import annotations

import re

from aigateway.errors import UpstreamError
from aigateway.ir.usage import Usage
from aigateway.providers.anthropic.tap import AnthropicStreamTap, read_usage
from aigateway.providers.base import PassthroughRequest, PromptCache, StreamRelay, TranslatingProvider

_VERSIONED = re.compile(r"claude-(?:opus|sonnet|haiku)-(\d+)(?:-(\d)(?!\d))?")
_LEGACY = re.compile(r"claude-(?:\d|instant)")  # claude-3-5-sonnet-..., claude-2.1, claude-instant-1


WEB_SEARCH_TOOL = "web_search_20250305"
_SEARCHES_BEFORE_4 = re.compile(r"claude-3-[57]-")  # claude-3-5-haiku, claude-3-5-sonnet, claude-3-7-sonnet


def has_web_search(upstream_model: str) -> bool:
    return bool(_SEARCHES_BEFORE_4.search(upstream_model)) or _at_least(upstream_model, (4, 0))


def has_structured_outputs(upstream_model: str) -> bool:
    return _at_least(upstream_model, (4, 5))


def has_adaptive_thinking(upstream_model: str) -> bool:
    return _at_least(upstream_model, (4, 6))


def _at_least(upstream_model: str, version: tuple[int, int]) -> bool:
    if _LEGACY.search(upstream_model):
        return False
    m = _VERSIONED.search(upstream_model)
    if m is None:
        return True
    return (int(m.group(1)), int(m.group(2) or 0)) >= version


class ServesClaude(TranslatingProvider):
    """A provider that serves Claude in Anthropic's protocol (Anthropic, Bedrock, Vertex): its
    passthrough answers are read as Anthropic's, and structured outputs are Claude's to have or
    not, by model."""

    def passthrough_tap(self, request: PassthroughRequest) -> StreamRelay:
        return AnthropicStreamTap()

    def passthrough_usage(self, body: bytes) -> tuple[Usage | None, str | None]:
        read = read_usage(body)
        if read is None:  # never hand a client half an answer; another try may do better
            raise UpstreamError(
                f"Upstream provider '{self.name}' answered 200 with a body that is not JSON",
                provider=self.name,
                status=502,
            )
        return read

    def structured_outputs(self, upstream_model: str) -> bool:
        return self.wire_for(upstream_model) != "anthropic" or has_structured_outputs(upstream_model)

    def prompt_cache(self, upstream_model: str) -> PromptCache | None:
        """Claude takes `cache_control` on blocks wherever it is served (Bedrock's Converse as
        `cachePoint`s); the request's top-level automatic one is Anthropic's API's own."""
        return "blocks" if self.wire_for(upstream_model) == "anthropic" else None
