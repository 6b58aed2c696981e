"""OpenTelemetry traces from a real gateway process to a real OTLP/HTTP receiver; none without OTEL_*."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.observability.otlp import OtlpReceiver
from tests.support import fixtures
from tests.support.upstream import Reply

PROMPT = [{"role": "user", "content": "What is 4200 + 42?"}]
SERVER, CLIENT = 2, 3  # OTLP SpanKind values
ERROR = 2  # OTLP StatusCode


def test_request_and_attempt_spans_follow_the_genai_conventions(traced, tclient, receiver: OtlpReceiver, upstream):
    upstream.expect(Reply(status=529, body=b"{}"), Reply.replay(fixtures.exchange("anthropic", "text-stream")))
    parent_trace, parent_span = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    with tclient.messages.stream(
        model="test/sonnet",
        max_tokens=64,
        messages=PROMPT,
        extra_headers={"traceparent": f"00-{parent_trace}-{parent_span}-01"},
    ) as s:
        final = s.get_final_message()
        request_id = s.response.headers["request-id"]
    spans = receiver.wait_for(request_id, 3)
    assert receiver.content_types and all(c == "application/x-protobuf" for c in receiver.content_types)
    (root,) = [s for s in spans if s.kind == SERVER]
    attempts = sorted((s for s in spans if s.kind == CLIENT), key=lambda s: s.start_ns)
    assert len(attempts) == 2
    # The caller's traceparent is the parent of the request span; attempts are its children.
    assert (root.trace_id, root.parent_span_id) == (parent_trace, parent_span)
    assert all(a.parent_span_id == root.span_id and a.trace_id == parent_trace for a in attempts)
    assert root.service == "aigateway-under-test"
    assert root.name == "chat test/sonnet"
    a = root.attributes
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.request.model"] == "test/sonnet"
    assert a["gen_ai.response.model"] == "claude-sonnet-4-0"
    assert a["gen_ai.provider.name"] == "anthropic" and a["aigateway.provider"] == "primary"
    assert a["gen_ai.usage.input_tokens"] == final.usage.input_tokens
    assert a["gen_ai.usage.output_tokens"] == final.usage.output_tokens
    assert a["gen_ai.response.finish_reasons"] == [final.stop_reason]
    assert a["http.response.status_code"] == 200
    row = traced.ledger_row(request_id)
    assert a["aigateway.key_id"] == row["key_id"]
    assert abs(root.start_ns / 1e9 - row["created_at"]) < 0.002
    assert abs((root.end_ns - root.start_ns) / 1e6 - row["latency_ms"]) < 2
    failed, answered = attempts
    assert failed.attributes["aigateway.attempt.outcome"].startswith("529")
    assert failed.attributes["error.type"] == failed.attributes["aigateway.attempt.outcome"].split()[1]
    assert failed.status_code == ERROR
    assert answered.attributes["aigateway.attempt.outcome"] == "ok" and answered.status_code != ERROR
    assert answered.attributes["gen_ai.request.model"] == "claude-sonnet-4-0"
    assert root.start_ns <= failed.start_ns < failed.end_ns <= answered.start_ns < answered.end_ns <= root.end_ns
    assert "What is 4200" not in repr(spans)  # no prompt in any span


def test_failed_request_span_carries_the_error(traced, tclient, receiver: OtlpReceiver, upstream):
    upstream.expect(*[Reply(status=500, body=b"{}")] * 6)
    raw = tclient.messages.with_raw_response
    try:
        raw.create(model="test/sonnet", max_tokens=64, messages=PROMPT)
    except Exception as exc:  # the SDK raises on the 5xx; its response carries the request id
        request_id = exc.response.headers["request-id"]  # type: ignore[attr-defined]
    else:
        raise AssertionError("expected an error")
    spans = receiver.wait_for(request_id, 2)
    (root,) = [s for s in spans if s.kind == SERVER]
    assert root.status_code == ERROR
    assert root.attributes["http.response.status_code"] >= 500
    assert "error.type" in root.attributes
    assert all(s.status_code == ERROR for s in spans if s.kind == CLIENT)


def test_without_otel_variables_the_sdk_is_never_imported(tmp_path):
    """Zero cost when off: a gateway started without OTEL_* has no tracer and never loads the SDK."""
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from pathlib import Path
        from aigateway.app import start_gateway
        from aigateway.config import load_settings

        async def main():
            gw = await start_gateway(load_settings(None, Path({str(tmp_path)!r})))
            try:
                assert gw.tracer is None
            finally:
                await gw.aclose()
            loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
            assert not loaded, loaded
            print("no-sdk")

        asyncio.run(main())
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "no-sdk"
