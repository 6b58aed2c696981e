"""OpenTelemetry traces, following the GenAI semantic conventions; exported by OTLP over HTTP.

Invariants:
- zero cost when off: `from_env` returns None unless the standard `OTEL_*` variables ask for
  traces (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or
  `OTEL_TRACES_EXPORTER=otlp`), and the OpenTelemetry SDK is imported only then; the request path
  tests `gw.tracer is not None` and nothing else;
- spans are made once per request, where the ledger row is built, from the row and the attempt
  records, with their real start and end times: a server span for the request and a client span
  per upstream attempt. Nothing runs per stream chunk;
- an incoming W3C `traceparent` makes the request span its child;
- span attributes carry ids, models, counts and timings; never prompts, completions or secrets;
- the exporter batches in its own thread; `shutdown` flushes it (called off the event loop).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aigateway.observability.logging import log

if TYPE_CHECKING:
    from aigateway.asgi import Request
    from aigateway.routing.fallback import Tried
    from aigateway.store.rows import LedgerRow

_OPERATIONS = {
    "messages": "chat",
    "chat_completions": "chat",
    "responses": "chat",
    "count_tokens": "count_tokens",
    "responses_input_tokens": "count_tokens",
    "embeddings": "embeddings",
}


def wanted(env: Mapping[str, str]) -> bool:
    """True when the standard variables ask for exported traces."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters == "none":
        return False
    endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return bool(endpoint) or "otlp" in exporters.split(",")


def from_env(names: Mapping[str, str], env: Mapping[str, str] | None = None) -> Tracer | None:
    """`names`: each configured provider's `gen_ai.provider.name` (its descriptor's)."""
    env = os.environ if env is None else env
    return Tracer(names, env) if wanted(env) else None


def _ns(wall_start: float, mono_start: float, mono: float) -> int:
    return int((wall_start + (mono - mono_start)) * 1e9)


class Tracer:
    def __init__(self, names: Mapping[str, str], env: Mapping[str, str]) -> None:
        # Imported here: deployments without OTEL_* never load the SDK.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.propagators.textmap import DefaultGetter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        if protocol and protocol != "http/protobuf":
            log.warning("only OTLP over http/protobuf is supported; exporting with it", extra={"fields": {}})
        attrs = {} if env.get("OTEL_SERVICE_NAME") else {"service.name": "aigateway"}
        self._provider = TracerProvider(resource=Resource.create(attrs))
        self._provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        self._tracer = self._provider.get_tracer("aigateway")
        self._propagator = TraceContextTextMapPropagator()
        self._getter = DefaultGetter()
        self._names = dict(names)
        self._server, self._client = SpanKind.SERVER, SpanKind.CLIENT
        self._error = Status(StatusCode.ERROR)
        self._in_context = set_span_in_context

    def provider_name(self, provider: str) -> str:
        return self._names.get(provider, provider)

    def record(self, req: Request, row: LedgerRow, tried: Sequence[Tried]) -> None:
        """The request's span and one child span per upstream attempt, ended at their real times."""
        parent = None
        traceparent = req.headers.get(b"traceparent")
        if traceparent:
            carrier = {"traceparent": traceparent.decode("latin-1")}
            state = req.headers.get(b"tracestate")
            if state:
                carrier["tracestate"] = state.decode("latin-1")
            parent = self._propagator.extract(carrier, getter=self._getter)
        operation = _OPERATIONS.get(row.endpoint, row.endpoint)
        start = int(row.created_at * 1e9)
        end = start + int(row.latency_ms * 1e6)
        span = self._tracer.start_span(
            f"{operation} {row.model or ''}".strip(),
            context=parent,
            kind=self._server,
            attributes=self._request_attributes(row, operation, req.path),
            start_time=start,
        )
        if row.status >= 500:
            span.set_status(self._error)
        context = self._in_context(span)
        for t in tried:
            self._attempt(t, operation, context, _ns(req.started, req.started_mono, t.started), end, row)
        span.end(end_time=end)

    def _request_attributes(self, row: LedgerRow, operation: str, path: str) -> dict[str, Any]:
        a: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "http.request.method": "POST",
            "url.path": path,
            "http.response.status_code": row.status,
            "aigateway.request_id": row.request_id,
            "aigateway.streamed": row.streamed,
        }
        if row.key_id:
            a["aigateway.key_id"] = row.key_id
        if row.model:
            a["gen_ai.request.model"] = row.model
        if row.provider:
            a["gen_ai.provider.name"] = self.provider_name(row.provider)
            a["aigateway.provider"] = row.provider
        if row.upstream_model:
            a["gen_ai.response.model"] = row.upstream_model
        if row.stop_reason:
            a["gen_ai.response.finish_reasons"] = [row.stop_reason]
        if row.error_type:
            a["error.type"] = row.error_type
        if row.status < 400 or row.input_tokens or row.output_tokens:
            a["gen_ai.usage.input_tokens"] = row.input_tokens
            a["gen_ai.usage.output_tokens"] = row.output_tokens
            a["gen_ai.usage.cache_read.input_tokens"] = row.cache_read_tokens
            a["gen_ai.usage.cache_creation.input_tokens"] = row.cache_write_tokens
        if row.ttft_ms is not None:
            a["aigateway.time_to_first_token_ms"] = row.ttft_ms
        if row.cost_nanousd is not None:
            a["aigateway.cost_usd"] = row.cost_nanousd / 1e9
        return a

    def _attempt(self, t: Tried, operation: str, context: Any, start: int, request_end: int, row: LedgerRow) -> None:
        ok = t.outcome == "ok"
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": self.provider_name(t.provider),
            "gen_ai.request.model": t.upstream_model,
            "aigateway.provider": t.provider,
            "aigateway.credential": t.credential,
            "aigateway.attempt.outcome": t.outcome,
        }
        if ok and row.upstream_model:
            attributes["gen_ai.response.model"] = row.upstream_model
        elif not ok:
            attributes["error.type"] = t.outcome.split(" ", 1)[-1] or t.outcome
        span = self._tracer.start_span(
            f"{operation} {t.upstream_model}",
            context=context,
            kind=self._client,
            attributes=attributes,
            start_time=start,
        )
        if not ok:
            span.set_status(self._error)
        # The answering attempt lasts as long as its answer flows to the client.
        span.end(end_time=request_end if ok else start + int((t.ended - t.started) * 1e9))

    def shutdown(self) -> None:
        self._provider.shutdown()
