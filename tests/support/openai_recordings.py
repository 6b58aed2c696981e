"""The OpenAI-family recordings, and a plain reading of what each one says.

`expected(rec)` is deliberately naive and written apart from the gateway's decoder: it reads a
whole recorded answer (JSON, or every SSE chunk at once) and says which reasoning, text, tool
calls, finish reason and usage it holds. Tests compare what the gateway produced against it.
vercel/ai `.chunks.txt` fixtures keep only the data payloads; they are replayed framed as
`data:` lines, which is all the framing those streams had (no event names).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.support.fixtures import ROOT, exchanges, need_recordings

# fixture directory -> provider kind (and config block name) in the gateway
KINDS = {
    "openai-chat": "openai",
    "deepseek": "deepseek",
    "groq": "groq",
    "mistral": "mistral",
    "xai": "xai",
    "openrouter": "openrouter",
    "ollama": "ollama",
    "together": "together",
}
THINK_TAG_KINDS = {"groq", "deepseek", "together", "ollama", "openrouter", "xai", "mistral"}


@dataclass(frozen=True)
class Recording:
    directory: str
    name: str
    status: int
    stream: bool
    body: bytes
    model: str

    @property
    def kind(self) -> str:
        return KINDS[self.directory]

    def __str__(self) -> str:
        return f"{self.directory}/{self.name}"


def recordings() -> list[Recording]:
    found = []
    for directory in KINDS:
        for ex in exchanges(directory):
            if ex.response_file is None or not ex.url.endswith(("/chat/completions", "#stream")):
                continue
            try:
                model = ex.request_json().get("model", "model")
            except (AssertionError, ValueError):
                model = "model"
            found.append(
                Recording(directory, f"{ex.case}#{ex.number}", ex.status, ex.stream, ex.response_bytes(), model)
            )
        for path in sorted((ROOT / directory).glob("*.chunks.txt")):
            lines = [line for line in path.read_text().splitlines() if line.strip()]
            body = "".join(f"data: {line}\n\n" for line in lines).encode()
            model = json.loads(lines[0]).get("model", "model")
            found.append(Recording(directory, path.name.removesuffix(".chunks.txt"), 200, True, body, model))
        for path in sorted((ROOT / directory).glob("*.response.json")):
            if not any(path.name.startswith(ex.case + ".") for ex in exchanges(directory)):
                body = path.read_bytes()  # a response recorded without its exchange (vercel/ai)
                model = json.loads(body).get("model", "model")
                found.append(Recording(directory, path.name.removesuffix(".response.json"), 200, False, body, model))
    return found


def recording(name: str) -> Recording:
    need_recordings()
    return next(r for r in recordings() if str(r) == name)


@dataclass
class Expected:
    reasoning: str
    text: str
    tool_calls: list[tuple[str, str, dict[str, Any]]]  # (id, name, arguments)
    finish_reason: str | None
    usage: dict[str, Any] | None
    error: str | None = None
    encrypted: list[dict[str, Any]] | None = None  # reasoning_details of type reasoning.encrypted


def expected(rec: Recording) -> Expected:
    if rec.stream:
        return _from_stream(rec)
    body = json.loads(rec.body)
    choice = body["choices"][0]
    message = choice["message"]
    reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
    text, reasoning = _content(message.get("content"), reasoning)
    calls = [
        (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"] or "{}"))
        for c in message.get("tool_calls") or []
    ]
    text, reasoning = _think_tags(rec, text, reasoning)
    encrypted = [d for d in message.get("reasoning_details") or [] if d.get("type") == "reasoning.encrypted"]
    return Expected(reasoning, text, calls, choice.get("finish_reason"), body.get("usage"), None, encrypted)


def _content(content: Any, reasoning: str) -> tuple[str, str]:
    if isinstance(content, list):
        text = ""
        for part in content:
            if part.get("type") == "thinking":
                reasoning += "".join(p["text"] for p in part["thinking"])
            else:
                text += part.get("text", "")
        return text, reasoning
    return content or "", reasoning


def _think_tags(rec: Recording, text: str, reasoning: str) -> tuple[str, str]:
    if rec.kind in THINK_TAG_KINDS and not reasoning and text.lstrip().startswith("<think>"):
        inner, _, rest = text.lstrip()[len("<think>") :].partition("</think>")
        return rest.lstrip("\n"), inner
    return text, reasoning


def _from_stream(rec: Recording) -> Expected:
    reasoning, text, finish, usage, error = "", "", None, None, None
    calls: dict[int, list[Any]] = {}
    encrypted: list[dict[str, Any]] = []
    for line in rec.body.decode().splitlines():
        if not line.startswith("data:") or line[5:].strip() == "[DONE]":
            continue
        chunk = json.loads(line[5:])
        if "error" in chunk:
            error = chunk["error"]
            break
        usage = chunk.get("usage") or (chunk.get("x_groq") or {}).get("usage") or usage
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            reasoning += delta.get("reasoning_content") or delta.get("reasoning") or ""
            encrypted += [d for d in delta.get("reasoning_details") or [] if d.get("type") == "reasoning.encrypted"]
            text, reasoning = _add_content(text, reasoning, delta.get("content"))
            for call in delta.get("tool_calls") or []:
                entry = calls.setdefault(call.get("index", 0), [None, None, ""])
                entry[0] = entry[0] or call.get("id")
                entry[1] = entry[1] or (call.get("function") or {}).get("name")
                entry[2] += (call.get("function") or {}).get("arguments") or ""
            finish = choice.get("finish_reason") or finish
    text, reasoning = _think_tags(rec, text, reasoning)
    tool_calls = [(c[0], c[1], json.loads(c[2] or "{}")) for _, c in sorted(calls.items())]
    return Expected(reasoning, text, tool_calls, finish, usage, json.dumps(error) if error else None, encrypted)


def _add_content(text: str, reasoning: str, content: Any) -> tuple[str, str]:
    more_text, reasoning = _content(content, reasoning)
    return text + more_text, reasoning


def anthropic_usage(usage: dict[str, Any]) -> dict[str, int]:
    """Hand-written from spec §10.2: cached prompt tokens leave `input_tokens`."""
    details = usage.get("prompt_tokens_details") or {}
    cached = details.get("cached_tokens") or usage.get("prompt_cache_hit_tokens") or 0
    output = usage["completion_tokens"]
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    if reasoning and usage.get("total_tokens") == usage["prompt_tokens"] + output + reasoning:
        output += reasoning  # xAI counts reasoning outside completion_tokens
    return {"input_tokens": usage["prompt_tokens"] - cached, "cache_read_input_tokens": cached, "output_tokens": output}


STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}
