"""`thinking` and `output_config.effort` to Gemini's `generationConfig.thinkingConfig`.

Gemini 3 models take a level (`thinkingLevel`), Gemini 2.5 models a token budget
(`thinkingBudget`: -1 lets the model decide, 0 turns thinking off where the model allows it);
older models (1.5, 2.0) and Gemma take neither. `includeThoughts: true` asks for thought
summaries, which become thinking blocks; it is set whenever the client turned thinking on,
unless it asked for `display: omitted` (Claude Code does: it shows no thinking, and Anthropic
then sends thinking blocks without their text).

| Anthropic                               | Gemini 3 (`thinkingLevel`) | Gemini 2.5 (`thinkingBudget`)          |
|-----------------------------------------|----------------------------|----------------------------------------|
| `thinking: enabled, budget_tokens: B`   | B <= 4096: low, else high  | B, at most the model's maximum         |
| `thinking: adaptive`                    | (model default)            | -1 (dynamic)                           |
| `thinking: disabled`                    | low (it cannot be off)     | 0; Pro cannot turn it off: its minimum |
| `output_config.effort` low/medium/high  | low / medium / high        | 1024 / 8192 / the model's maximum      |
| `output_config.effort` max/xhigh        | high                       | the model's maximum                    |

`output_config.effort` wins over a budget, as it does at Anthropic. Budgets: Gemini 2.5 Pro takes
128..32768 and cannot turn thinking off; Flash and Flash-Lite take 0..24576.
"""

from __future__ import annotations

import re
from typing import Any

from aigateway.ir.messages import MessagesRequest

_LEVELS = {"low": "low", "medium": "medium", "high": "high", "max": "high", "xhigh": "high"}
_EFFORT_BUDGET = {"low": 1024, "medium": 8192}
_GEMINI_3 = re.compile(r"gemini-(?:[3-9]|\d\d)")
_GEMINI_25 = re.compile(r"gemini-2\.5")


def thinking_config(req: MessagesRequest, model: str) -> tuple[dict[str, Any] | None, list[str]]:
    """(thinkingConfig or None, names of what could not be carried)."""
    thinking, effort = req.thinking, req.output_config.effort if req.output_config else None
    if thinking is None and effort is None:
        return None, []
    asked = ["thinking"] if thinking is not None else []
    asked += ["output_config.effort"] if effort is not None else []
    if effort is not None and effort not in _LEVELS:
        return None, asked
    show = thinking is not None and thinking.type != "disabled" and thinking.display != "omitted"
    config: dict[str, Any] = {"includeThoughts": True} if show else {}
    if _GEMINI_3.search(model):
        level = _level(req, effort)
        if level:
            config["thinkingLevel"] = level
    elif _GEMINI_25.search(model):
        config["thinkingBudget"] = _budget(req, effort, model)
    else:
        return None, asked
    return config, []


def _level(req: MessagesRequest, effort: str | None) -> str | None:
    if effort is not None:
        return _LEVELS[effort]
    thinking = req.thinking
    assert thinking is not None
    if thinking.type == "disabled":
        return "low"
    if thinking.type == "enabled" and thinking.budget_tokens:
        return "low" if thinking.budget_tokens <= 4096 else "high"
    return None


def _budget(req: MessagesRequest, effort: str | None, model: str) -> int:
    pro = "pro" in model
    maximum, minimum = (32768, 128) if pro else (24576, 0)
    if effort is not None:
        return _EFFORT_BUDGET.get(effort, maximum)
    thinking = req.thinking
    assert thinking is not None
    if thinking.type == "disabled":
        return minimum
    if thinking.type == "enabled" and thinking.budget_tokens:
        return max(minimum, min(thinking.budget_tokens, maximum))
    return -1
