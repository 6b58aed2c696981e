"""Opt-in logging of prompts and completions (`logging.content: true`; off by default).

Invariants:
- off, it costs the request path one settings check: nothing is captured or parsed;
- on, the prompt is taken from the body as sent upstream, after the gateway's own
  `providerOptions` (which may hold BYOK keys) were removed: only `system` and `messages`;
  the completion is read from the bytes sent to the client (a JSON message, or the SSE events
  folded into text per content block) once the request is over, never per chunk on the way;
- each logged field is cut to `LIMIT` characters, so one request cannot flood the log;
- headers are never captured: keys cannot reach the log this way.
"""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.asgi import Message, Request
from aigateway.wire.sse import SSEDecoder

LIMIT = 100_000


class Capture:
    __slots__ = ("chunks", "prompt", "streamed")

    def __init__(self, prompt: Any, streamed: bool) -> None:
        self.prompt = prompt
        self.streamed = streamed
        self.chunks: list[bytes] = []

    def fields(self) -> dict[str, Any]:
        body = b"".join(self.chunks)
        return {"prompt": _cut(self.prompt), "completion": _cut(_completion(body, self.streamed))}


def capture(req: Request, body: bytes, streamed: bool) -> Capture:
    """Starts capturing this request's prompt and the response bytes it sends."""
    try:
        doc = msgspec.json.decode(body)
    except msgspec.DecodeError:
        doc = None
    prompt = {k: doc[k] for k in ("system", "messages") if k in doc} if isinstance(doc, dict) else None
    cap = Capture(prompt, streamed)
    send = req.send

    async def tee(message: Message) -> None:
        if message["type"] == "http.response.body":
            cap.chunks.append(message.get("body", b""))
        await send(message)

    req.send = tee
    return cap


def _completion(body: bytes, streamed: bool) -> Any:
    if not body:
        return None
    if not streamed:
        try:
            doc = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return None
        return doc.get("content") if isinstance(doc, dict) else None
    _, events = SSEDecoder().feed(body + b"\n\n")
    blocks: dict[int, dict[str, Any]] = {}
    for event in events:
        if event.event not in ("content_block_start", "content_block_delta"):
            continue
        try:
            data = msgspec.json.decode(event.data)
        except msgspec.DecodeError:
            continue
        if event.event == "content_block_start":
            blocks[data.get("index", 0)] = {"type": data.get("content_block", {}).get("type"), "text": ""}
            continue
        delta = data.get("delta", {})
        piece = delta.get("text") or delta.get("partial_json") or delta.get("thinking") or ""
        blocks.setdefault(data.get("index", 0), {"type": None, "text": ""})["text"] += piece
    return [blocks[i] for i in sorted(blocks)]


def _cut(value: Any) -> Any:
    if value is None:
        return None
    text = msgspec.json.encode(value).decode()
    return value if len(text) <= LIMIT else text[:LIMIT] + "…"
