"""Reading the Responses door's answers in tests: raw streams through the grammar validator,
and a plain reading of a Response object."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from openai.types.responses import Response

from tests.support.responses_grammar import validate_responses_stream


@dataclass
class Read:
    text: str = ""
    summary: str = ""
    calls: list[tuple[str, str, Any]] = field(default_factory=list)  # (call_id, name, arguments or input)
    encrypted: list[str] = field(default_factory=list)


def read(response: Response | dict[str, Any]) -> Read:
    body = response.model_dump() if isinstance(response, Response) else response
    r = Read()
    for item in body["output"]:
        if item["type"] == "message":
            r.text += "".join(p["text"] for p in item["content"] if p["type"] == "output_text")
        elif item["type"] == "reasoning":
            r.summary += "".join(s["text"] for s in item["summary"])
            r.encrypted += [item["encrypted_content"]] if item.get("encrypted_content") else []
        elif item["type"] == "function_call":
            r.calls.append((item["call_id"], item["name"], json.loads(item["arguments"])))
        elif item["type"] == "custom_tool_call":
            r.calls.append((item["call_id"], item["name"], item["input"]))
    return r


def post(url: str, key: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(url + "/v1/responses", json=body, headers={"authorization": f"Bearer {key}"}, timeout=30)


def stream(url: str, key: str, body: dict[str, Any]) -> tuple[list[dict[str, Any]], httpx.Response]:
    """A streamed answer's events, each checked by the grammar validator."""
    resp = post(url, key, {**body, "stream": True})
    assert resp.status_code == 200, resp.text
    return validate_responses_stream(resp.content), resp


def final(events: list[dict[str, Any]]) -> Response:
    return Response.model_validate(events[-1]["response"])
