"""A fast fake Anthropic upstream: POST /v1/messages answered with recorded bytes.

A raw asyncio Protocol with the httptools parser on uvloop (HTTP/1.1, keep-alive, pipelining-safe):
measured well above what the gateway or the load generator can push, so it is never the bottleneck.

- body without `"stream":true` -> text-sync.response.json, whole, with content-length;
- otherwise -> an SSE stream built from text-stream.response.sse: its events in order with the
  content_block_delta events repeated until `--events` events sit between message_start and
  message_stop; chunked transfer encoding, one chunk per event (as the real API sends it).

Usage: python bench/fake_upstream.py --port 9100 [--events 50] [--ttfb-ms 0] [--gap-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
from pathlib import Path

import httptools
import uvloop

_STREAM_FLAG = re.compile(rb'"stream"\s*:\s*true')


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
        self.sse_chunks = [_chunk(e) for e in build_stream((anth / "text-stream.response.sse").read_bytes(), events)]
        self.sse_whole = self.sse_head + b"".join(self.sse_chunks) + b"0\r\n\r\n"
        self.not_found = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"


class FakeUpstream(asyncio.Protocol):
    def __init__(self, res: Responses, ttfb: float, gap: float):
        self.res, self.ttfb, self.gap = res, ttfb, gap
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.body: list[bytes] = []
        self.url = b""
        self.queue: asyncio.Queue[bytes | None] | None = None  # paced mode keeps answers in order

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
        if self.url.split(b"?")[0] != b"/v1/messages" or self.parser.get_method() != b"POST":
            self._answer(b"-")
            return
        self._answer(b"s" if _STREAM_FLAG.search(b"".join(self.body)) else b"j")

    def _answer(self, kind: bytes) -> None:
        paced = kind == b"s" and (self.ttfb or self.gap)
        if self.queue is None and not paced:
            self.transport.write(self._whole(kind))  # type: ignore[union-attr]
            return
        if self.queue is None:  # first paced request on this connection: start its writer
            self.queue = asyncio.Queue()
            asyncio.get_running_loop().create_task(self._writer())
        self.queue.put_nowait(kind)

    def _whole(self, kind: bytes) -> bytes:
        return {b"j": self.res.json, b"s": self.res.sse_whole}.get(kind, self.res.not_found)

    async def _writer(self) -> None:
        while (kind := await self.queue.get()) is not None:  # type: ignore[union-attr]
            if self.transport is None:
                return
            if kind != b"s":
                self.transport.write(self._whole(kind))
                continue
            await asyncio.sleep(self.ttfb)
            for i, chunk in enumerate(self.res.sse_chunks):
                if self.transport is None:
                    return
                if i == 0:
                    self.transport.write(self.res.sse_head + chunk)
                    continue
                if self.gap:
                    await asyncio.sleep(self.gap)
                self.transport.write(chunk)
            if self.transport is not None:
                self.transport.write(b"0\r\n\r\n")


async def serve(port: int, events: int, ttfb_ms: float, gap_ms: float) -> None:
    res = Responses(fixtures_dir(), events)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: FakeUpstream(res, ttfb_ms / 1000, gap_ms / 1000), "127.0.0.1", port, backlog=1024
    )
    print(f"fake upstream listening on 127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=9100)
    p.add_argument("--events", type=int, default=50, help="events between message_start and message_stop")
    p.add_argument("--ttfb-ms", type=float, default=0.0, help="streams: delay before the first byte")
    p.add_argument("--gap-ms", type=float, default=0.0, help="streams: delay between events")
    a = p.parse_args()
    uvloop.run(serve(a.port, a.events, a.ttfb_ms, a.gap_ms))


if __name__ == "__main__":
    main()
