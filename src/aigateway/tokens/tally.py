"""A running token tally over one request, in OpenAI's counting recipe (see family.py).

Both request shapes (Anthropic Messages, OpenAI Chat Completions) are walked into the same few
calls: `message(role, content_tokens)`, `tool_call(name, arguments)`, `function(...)`. The tally
also remembers whether any part was guessed rather than tokenized (images of unknown size, PDFs,
nested tool schemas, block types we do not know), which makes the whole count an estimate.

Invariants: no call raises on malformed input (wrong types are counted as their JSON text or
skipped); the tally only grows.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aigateway.tokens.family import Family

if TYPE_CHECKING:
    import tiktoken

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
# Fitted to a recorded gpt-4o exchange (two parallel calls and their two tool messages):
# each call costs its name, its arguments and TOOL_CALL_TOKENS; a tool message costs a message
# plus TOOL_RESULT_TOKENS; the id is not counted.
TOOL_CALL_TOKENS = 11
TOOL_RESULT_TOKENS = 3
PROP_INIT = 3
PROP_KEY = 3
ENUM_INIT = -3
ENUM_ITEM = 3
FUNC_END = 12
_NESTED = ("anyOf", "oneOf", "allOf")


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


class Tally:
    __slots__ = ("_enc", "estimated", "family", "functions", "total")

    def __init__(self, family: Family, enc: tiktoken.Encoding) -> None:
        self.family = family
        self._enc = enc
        self.total = 0
        self.functions = 0
        self.estimated = not family.own

    def text(self, value: object) -> int:
        """Tokens of a string; anything else is counted as its JSON text (and is a guess)."""
        if not isinstance(value, str):
            if value is None:
                return 0
            self.estimated = True
            value = compact_json(value)
        return len(self._enc.encode_ordinary(value)) if value else 0

    def guess(self, tokens: int) -> int:
        self.estimated = True
        return tokens

    def message(self, role: str, content_tokens: int, *, name: object = None) -> None:
        self.total += TOKENS_PER_MESSAGE + self.text(role) + content_tokens
        if isinstance(name, str) and name:
            self.total += self.text(name) + TOKENS_PER_NAME

    def tool_call(self, name: object, arguments: str) -> int:
        return self.text(name) + self.text(arguments) + TOOL_CALL_TOKENS

    def tool_result(self, content_tokens: int) -> None:
        self.message("tool", content_tokens + TOOL_RESULT_TOKENS)

    def function(self, name: object, description: object, parameters: object) -> None:
        """One function definition (the cookbook's recipe; nested schemas are our extension)."""
        desc = description if isinstance(description, str) else ""
        self.functions += self.family.func_init + self.text(f"{name}:{desc.removesuffix('.')}")
        props = parameters.get("properties") if isinstance(parameters, dict) else None
        if isinstance(props, dict) and props:
            self.functions += self._properties(props)

    def opaque_tool(self, tool: object) -> None:
        """A tool without a JSON schema (a server tool): its definition as JSON, a guess."""
        self.estimated = True
        self.functions += self.family.func_init + self.text(compact_json(tool))

    def _properties(self, props: dict[str, Any]) -> int:
        tokens = PROP_INIT
        for key, schema in props.items():
            tokens += PROP_KEY + self._property(str(key), schema if isinstance(schema, dict) else {})
        return tokens

    def _property(self, key: str, schema: dict[str, Any]) -> int:
        tokens = 0
        enum = schema.get("enum")
        if isinstance(enum, list):
            tokens += ENUM_INIT + sum(ENUM_ITEM + self.text(str(item)) for item in enum)
        kind = schema.get("type", "")
        if isinstance(kind, list):
            kind = "|".join(map(str, kind))
        desc = schema.get("description")
        desc = desc.removesuffix(".") if isinstance(desc, str) else ""
        tokens += self.text(f"{key}:{kind}:{desc}")
        return tokens + self._nested(schema)

    def _nested(self, schema: dict[str, Any]) -> int:
        """Sub-schemas the cookbook does not cover: counted with the same rules, marked a guess."""
        tokens = 0
        props = schema.get("properties")
        if isinstance(props, dict) and props:
            tokens += self._properties(props)
        items = schema.get("items")
        if isinstance(items, dict):
            tokens += self._property("items", items)
        for word in _NESTED:
            options = schema.get(word)
            if isinstance(options, list):
                tokens += sum(self._property(word, o) for o in options if isinstance(o, dict))
        if tokens:
            self.estimated = True
        return tokens

    def finish(self) -> int:
        """The whole count: messages, the reply priming, and the tool list with its end marker."""
        functions = self.functions + FUNC_END if self.functions else 0
        return self.total + self.family.reply_priming + functions
