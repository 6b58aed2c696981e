"""A real OTLP/HTTP trace receiver for tests: an aiohttp server in a thread that decodes the
protobuf export requests (opentelemetry-proto) and keeps the spans it received."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.support.gateway import free_port


@dataclass
class Span:
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str
    start_ns: int
    end_ns: int
    status_code: int
    attributes: dict[str, Any]
    service: str


def _value(v: Any) -> Any:
    which = v.WhichOneof("value")
    if which == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, which) if which else None


class OtlpReceiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.spans: list[Span] = []
        self.content_types: list[str] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OtlpReceiver:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_post("/v1/traces", self._traces)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _traces(self, request: web.Request) -> web.Response:
        self.content_types.append(request.headers.get("content-type", ""))
        export = ExportTraceServiceRequest()
        export.ParseFromString(await request.read())
        got = []
        for rs in export.resource_spans:
            resource = {a.key: _value(a.value) for a in rs.resource.attributes}
            for ss in rs.scope_spans:
                for s in ss.spans:
                    got.append(
                        Span(
                            name=s.name,
                            kind=s.kind,
                            trace_id=s.trace_id.hex(),
                            span_id=s.span_id.hex(),
                            parent_span_id=s.parent_span_id.hex(),
                            start_ns=s.start_time_unix_nano,
                            end_ns=s.end_time_unix_nano,
                            status_code=s.status.code,
                            attributes={a.key: _value(a.value) for a in s.attributes},
                            service=str(resource.get("service.name")),
                        )
                    )
        with self._lock:
            self.spans.extend(got)
        body = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=body, content_type="application/x-protobuf")

    def wait_for(self, request_id: str, count: int, timeout: float = 10.0) -> list[Span]:
        """The spans of one request (the request span and its attempts), once `count` have arrived."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                root = [s for s in self.spans if s.attributes.get("aigateway.request_id") == request_id]
                spans = [s for s in self.spans if root and s.trace_id == root[0].trace_id]
            if len(spans) >= count or time.monotonic() > deadline:
                assert len(spans) >= count, f"{len(spans)} spans for {request_id}, wanted {count}"
                return spans
            time.sleep(0.05)
