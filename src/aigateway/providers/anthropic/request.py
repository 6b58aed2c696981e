"""The core request (ir) back to an Anthropic Messages body, for clients of another protocol.

The core is Anthropic-shaped, so this is an encoding, not a translation: every modelled field
goes out under its own name, a `RawBlock` goes out as the block it was, and unmodelled top-level
fields (`extra`) are forwarded, since they came from an Anthropic-shaped request.
The OpenAI-only knobs have no Anthropic field: `n` above 1 is a 400 (one answer per request),
the others are dropped and named in the warnings. A thinking budget sent to a model that thinks
adaptively (models.py) becomes adaptive thinking with the effort its budget stands for
(`_BUDGET_EFFORT`, the inverse of the Chat Completions door's reasoning_effort budgets).
"""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.errors import InvalidRequest
from aigateway.ir.messages import InputMessage, MessagesRequest, OutputConfig, RawBlock, Thinking
from aigateway.providers.anthropic.models import has_adaptive_thinking

# response_format never gets here from the Chat Completions door (it asks Claude by forced tool use)
_DROPPED_KNOBS = ("seed", "logprobs", "top_logprobs", "frequency_penalty", "presence_penalty", "response_format")
_SAME_NAME = ("stop_sequences", "temperature", "top_p", "top_k")
_to_builtins = msgspec.to_builtins
_BUDGET_EFFORT = ((2048, "low"), (8192, "medium"), (16384, "high"))  # above: "max"


def from_ir(req: MessagesRequest, upstream_model: str) -> tuple[dict[str, Any], list[str]]:
    if req.n is not None and req.n > 1:
        raise InvalidRequest(f"n: Anthropic model '{upstream_model}' returns one choice per request; send n=1")
    body: dict[str, Any] = {"model": upstream_model, "max_tokens": req.max_tokens}
    body["messages"] = [_message(m) for m in req.messages]
    if req.system is not None:
        body["system"] = _to_builtins(req.system)
    for name in _SAME_NAME:
        value = getattr(req, name)
        if value is not None:
            body[name] = value
    tools = _to_builtins(req.tools or []) + list(req.server_tools or [])
    if req.tools is not None or req.server_tools is not None:
        body["tools"] = tools
    thinking, output_config = _thinking(req, upstream_model)
    for name, value in (("tool_choice", req.tool_choice), ("thinking", thinking), ("output_config", output_config)):
        if value is not None:
            body[name] = _to_builtins(value)
    if req.user_id is not None:
        body["metadata"] = {"user_id": req.user_id}
    if req.stream:
        body["stream"] = True
    body.update(req.extra)
    warnings = [name for name in _DROPPED_KNOBS if getattr(req, name) is not None]
    return body, warnings


def _message(msg: InputMessage) -> dict[str, Any]:
    content = [b.data if isinstance(b, RawBlock) else _to_builtins(b) for b in msg.content]
    return {"role": msg.role, "content": content}


def _thinking(req: MessagesRequest, upstream_model: str) -> tuple[Thinking | None, OutputConfig | None]:
    thinking, config = req.thinking, req.output_config
    if thinking is None or thinking.type != "enabled" or not has_adaptive_thinking(upstream_model):
        return thinking, config
    config = config or OutputConfig()
    if config.effort is None:
        budget = thinking.budget_tokens or 0
        effort = next((e for limit, e in _BUDGET_EFFORT if budget <= limit), "max")
        config = msgspec.structs.replace(config, effort=effort)
    return Thinking(type="adaptive", display=thinking.display), config
