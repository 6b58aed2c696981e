"""A fast fake upstream: Anthropic and OpenAI-shaped answers built from recorded bytes.

A raw asyncio Protocol with the httptools parser on uvloop (HTTP/1.1, keep-alive, pipelining-safe):
measured well above what the gateway or the load generator can push, so it is never the bottleneck.

The path says what to answer, so one process serves every benchmark scenario:

- `[/MODE]/v1/messages`: Anthropic. A body without `"stream":true` gets text-sync.response.json,
  whole, with content-length; otherwise an SSE stream built from text-stream.response.sse (its
  events in order, content_block_delta repeated until `--events` events sit between message_start
  and message_stop); chunked, one HTTP chunk per event, as the real API sends it.
- `[/MODE]/openai/chat/completions`: OpenAI Chat Completions, streaming, replaying the recorded
  tools-stream.1.response.sse (parallel tool calls whose arguments arrive in fragments); its
  argument-fragment chunks of the last call are cycled until `--events` chunks precede the
  finish/usage chunks (the arguments then stop being valid JSON; nothing on the path parses them).
- MODE `paced`: `--ttfb-ms` before the first byte, `--gap-ms` between events (default 10 and 10);
  `slow`: `--slow-gap-ms` between events (default 100); `fail`: 529 overloaded_error at once;
  no MODE: the whole answer in one write.

Recordings are read at start from ../shared/fixtures (or AIGATEWAY_FIXTURES), never copied.

With `--tls-cert` and `--tls-key` it serves HTTPS instead (client_compare.py --tls).

Usage: python bench/fake_upstream.py --port 9100 [--events 50] [--ttfb-ms 10] [--gap-ms 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import ssl
from pathlib import Path

import httptools
import uvloop

_STREAM_FLAG = re.compile(rb'"stream"\s*:\s*true')
_OVERLOADED = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'


def fixtures_dir() -> Path:
    """Recorded traffic lives beside the repo (../shared/fixtures); AIGATEWAY_FIXTURES overrides."""
    env = os.environ.get("AIGATEWAY_FIXTURES")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "fixtures"


def split_events(raw: bytes) -> list[bytes]:
    """The recording's events, each with its exact framing (blank-line terminator included)."""
    return [part + b"\n\n" for part in raw.split(b"\n\n") if part.strip()]


def build_stream(raw: bytes, between: int) -> list[bytes]:
    """Recorded events with content_block_delta repeated so `between` events sit inside start/stop."""
    events = split_events(raw)
    first, inner, last = events[0], events[1:-1], events[-1]
    assert first.startswith(b"event: message_start") and last.startswith(b"event: message_stop")
    deltas = [e for e in inner if e.startswith(b"event: content_block_delta")]
    extra = max(0, between - len(inner))
    out: list[bytes] = []
    for e in inner:
        out.append(e)
        if e is deltas[-1]:  # extra deltas go after the last recorded one, cycling through them
            out.extend(deltas[i % len(deltas)] for i in range(extra))
    return [first, *out, last]


def build_openai_stream(raw: bytes, before_finish: int) -> list[bytes]:
    """Recorded Chat Completions chunks, the last call's argument fragments cycled to length."""
    events = split_events(raw)
    finish = next(i for i, e in enumerate(events) if b'"finish_reason":"' in e)
    head, tail = events[:finish], events[finish:]
    assert tail[-1].startswith(b"data: [DONE]")
    last_index = max(int(m) for e in head for m in re.findall(rb'"tool_calls":\[\{"index":(\d+)', e))
    marker = b'"tool_calls":[{"index":%d,"function":{"arguments":"' % last_index
    frags = [e for e in head if marker in e and marker + b'"' not in e]
    extra = max(0, before_finish - len(head))
    return head + [frags[i % len(frags)] for i in range(extra)] + tail


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class Responses:
    def __init__(self, fixtures: Path, events: int):
        anth = fixtures / "anthropic"
        body = (anth / "text-sync.response.json").read_bytes()
        self.json = (
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nrequest-id: req_fake\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(body), body)
        )
        self.sse_head = (
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
            b"cache-control: no-cache\r\nrequest-id: req_fake\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        anthropic = build_stream((anth / "text-stream.response.sse").read_bytes(), events)
        openai = build_openai_stream((fixtures / "openai-chat" / "tools-stream.1.response.sse").read_bytes(), events)
        self.chunks = {b"s": [_chunk(e) for e in anthropic], b"o": [_chunk(e) for e in openai]}
        self.whole = {
            b"j": self.json,
            b"s": self.sse_head + b"".join(self.chunks[b"s"]) + b"0\r\n\r\n",
            b"o": self.sse_head + b"".join(self.chunks[b"o"]) + b"0\r\n\r\n",
            b"f": b"HTTP/1.1 529 Overloaded\r\ncontent-type: application/json\r\nrequest-id: req_fake\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(_OVERLOADED), _OVERLOADED),
            b"-": b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
        }


class FakeUpstream(asyncio.Protocol):
    def __init__(self, res: Responses, pacing: dict[bytes, tuple[float, float]]):
        self.res, self.pacing = res, pacing
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.body: list[bytes] = []
        self.url = b""
        self.queue: asyncio.Queue[tuple[bytes, float, float] | None] | None = None  # keeps answers in order

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.queue is not None:
            self.queue.put_nowait(None)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()  # type: ignore[union-attr]

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.body, self.url = [], b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        path = self.url.split(b"?")[0]
        mode = b""
        for prefix in self.pacing:
            if prefix and path.startswith(prefix + b"/"):
                mode, path = prefix, path[len(prefix) :]
                break
        kind = b"-"
        if self.parser.get_method() == b"POST":
            if path == b"/v1/messages":
                kind = b"s" if _STREAM_FLAG.search(b"".join(self.body)) else b"j"
            elif path == b"/openai/chat/completions":
                kind = b"o"
        if mode == b"/fail" and kind != b"-":
            kind = b"f"
        ttfb, gap = self.pacing[mode]
        self._answer(kind, ttfb if kind in (b"s", b"o") else 0.0, gap)

    def _answer(self, kind: bytes, ttfb: float, gap: float) -> None:
        paced = kind in (b"s", b"o") and (ttfb or gap)
        if self.queue is None and not paced:
            self.transport.write(self.res.whole[kind])  # type: ignore[union-attr]
            return
        if self.queue is None:  # first paced request on this connection: start its writer
            self.queue = asyncio.Queue()
            asyncio.get_running_loop().create_task(self._writer())
        self.queue.put_nowait((kind, ttfb, gap))

    async def _writer(self) -> None:
        while (item := await self.queue.get()) is not None:  # type: ignore[union-attr]
            kind, ttfb, gap = item
            if self.transport is None:
                return
            if kind not in (b"s", b"o") or not (ttfb or gap):
                self.transport.write(self.res.whole[kind])
                continue
            if ttfb:
                await asyncio.sleep(ttfb)
            for i, chunk in enumerate(self.res.chunks[kind]):
                if self.transport is None:
                    return
                if i == 0:
                    self.transport.write(self.res.sse_head + chunk)
                    continue
                if gap:
                    await asyncio.sleep(gap)
                self.transport.write(chunk)
            if self.transport is not None:
                self.transport.write(b"0\r\n\r\n")


async def serve(
    port: int, events: int, pacing: dict[bytes, tuple[float, float]], tls: ssl.SSLContext | None = None
) -> None:
    res = Responses(fixtures_dir(), events)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: FakeUpstream(res, pacing), "127.0.0.1", port, backlog=4096, ssl=tls)
    print(f"fake upstream listening on 127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=9100)
    p.add_argument("--events", type=int, default=50, help="events between message_start and message_stop")
    p.add_argument("--ttfb-ms", type=float, default=10.0, help="/paced streams: delay before the first byte")
    p.add_argument("--gap-ms", type=float, default=10.0, help="/paced streams: delay between events")
    p.add_argument("--slow-gap-ms", type=float, default=100.0, help="/slow streams: delay between events")
    p.add_argument("--tls-cert", help="PEM certificate chain: serve HTTPS")
    p.add_argument("--tls-key", help="PEM private key of --tls-cert")
    a = p.parse_args()
    tls = None
    if a.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(a.tls_cert, a.tls_key)
    pacing = {
        b"": (0.0, 0.0),
        b"/paced": (a.ttfb_ms / 1000, a.gap_ms / 1000),
        b"/slow": (0.0, a.slow_gap_ms / 1000),
        b"/fail": (0.0, 0.0),
    }
    uvloop.run(serve(a.port, a.events, pacing, tls))


if __name__ == "__main__":
    main()
