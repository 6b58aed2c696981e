"""The Bedrock recordings, a plain reading of what each says, and AWS's wire pieces for tests.

`expected(ex)` reads a recorded Converse answer (JSON, or every event-stream frame at once via
botocore's own buffer) naively, apart from the gateway's decoder. `frame()` encodes one
event-stream message by the documented format (AWS "Event stream encoding": prelude of total
length, headers length and CRC32; headers as name length, name, type 7 = string, value length,
value; payload; message CRC32; all big-endian; spec §10.5), since botocore only decodes them.
`verify_sigv4()` recomputes a received request's signature with botocore, as AWS would.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer

from tests.support.fixtures import Exchange, exchanges
from tests.support.upstream import Received, Reply

# Static test credentials, given to the gateway through the standard AWS variables.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIDGATEWAYTEST0001",
    "AWS_SECRET_ACCESS_KEY": "gateway-test-secret-access-key-0123456789",
    "AWS_SESSION_TOKEN": "gateway-test-session-token-abcdef",
    "AWS_BEARER_TOKEN_BEDROCK": "",  # the `bedrock` block signs; `bedrock_key` has its own key
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
BEDROCK_TOKEN = "bedrock-api-key-test-token-0123456789"
REGION = "us-east-1"
STOP_REASONS = {"end_turn": "end_turn", "tool_use": "tool_use", "max_tokens": "max_tokens"}


def converse_exchanges() -> list[Exchange]:
    return [ex for ex in exchanges("bedrock") if "/converse" in ex.url and ex.status == 200]


def is_stream(ex: Exchange) -> bool:
    return ex.url.endswith("/converse-stream")


def recorded_model(ex: Exchange) -> str:
    """The model id of the recorded URL, as a client names it through the gateway: Claude ids
    with `converse/` so that they take the Converse path the recording was made on."""
    from urllib.parse import unquote

    model = unquote(ex.url.split("/model/", 1)[1].rsplit("/", 1)[0])
    return f"bedrock/converse/{model}" if "anthropic." in model else f"bedrock/{model}"


def reply(ex: Exchange, chunk_size: int = 41) -> Reply:
    return Reply(
        status=ex.status,
        body=ex.response_bytes(),
        headers={"content-type": ex.content_type},
        chunk_size=chunk_size if is_stream(ex) else None,
    )


@dataclass
class Expected:
    text: str = ""
    reasoning: list[tuple[str, str]] = field(default_factory=list)  # (text, signature)
    redacted: list[str] = field(default_factory=list)  # base64 as Bedrock sent it
    tools: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    stop_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)


def expected(ex: Exchange) -> Expected:
    if is_stream(ex):
        return _from_frames(ex.response_bytes())
    body = json.loads(ex.response_bytes())
    want = Expected(stop_reason=body["stopReason"], usage=body["usage"])
    for block in body["output"]["message"]["content"]:
        if "text" in block:
            want.text += block["text"]
        elif "reasoningContent" in block:
            r = block["reasoningContent"]
            if "redactedContent" in r:
                want.redacted.append(r["redactedContent"])
            else:
                want.reasoning.append((r["reasoningText"]["text"], r["reasoningText"].get("signature", "")))
        elif "toolUse" in block:
            t = block["toolUse"]
            want.tools.append((t["toolUseId"], t["name"], t["input"]))
    return want


def events(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    buffer = EventStreamBuffer()
    buffer.add_data(raw)
    return [(m.headers[":event-type"], json.loads(m.payload)) for m in buffer]


def _from_frames(raw: bytes) -> Expected:
    want = Expected()
    reasoning: dict[int, list[str]] = {}
    tools: dict[int, list[Any]] = {}
    for name, payload in events(raw):
        index = payload.get("contentBlockIndex")
        if name == "contentBlockStart" and "toolUse" in payload["start"]:
            tools[index] = [payload["start"]["toolUse"]["toolUseId"], payload["start"]["toolUse"]["name"], ""]
        elif name == "contentBlockDelta":
            delta = payload["delta"]
            if "text" in delta:
                want.text += delta["text"]
            elif "toolUse" in delta:
                tools[index][2] += delta["toolUse"]["input"]
            elif "reasoningContent" in delta:
                r = reasoning.setdefault(index, ["", ""])
                r[0] += delta["reasoningContent"].get("text", "")
                r[1] += delta["reasoningContent"].get("signature", "")
        elif name == "messageStop":
            want.stop_reason = payload["stopReason"]
        elif name == "metadata":
            want.usage = payload["usage"]
    want.reasoning = [(r[0], r[1]) for _, r in sorted(reasoning.items())]
    want.tools = [(t[0], t[1], json.loads(t[2] or "{}")) for _, t in sorted(tools.items())]
    return want


def anthropic_usage(usage: dict[str, Any]) -> dict[str, int]:
    """Hand-written from spec §10.5: Bedrock's inputTokens already excludes the cache buckets."""
    return {
        "input_tokens": usage["inputTokens"],
        "output_tokens": usage["outputTokens"],
        "cache_read_input_tokens": usage.get("cacheReadInputTokens", 0),
        "cache_creation_input_tokens": usage.get("cacheWriteInputTokens", 0),
    }


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    encoded = b"".join(
        bytes([len(k)]) + k.encode() + b"\x07" + struct.pack(">H", len(v.encode())) + v.encode()
        for k, v in headers.items()
    )
    prelude = struct.pack(">II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def chunk_frame(event_json: bytes) -> bytes:
    """One InvokeModelWithResponseStream `chunk`: the Anthropic event's JSON, base64."""
    payload = json.dumps({"bytes": base64.b64encode(event_json).decode(), "p": "abcdefgh"}).encode()
    return frame({":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}, payload)


def exception_frame(name: str, message: str) -> bytes:
    headers = {":exception-type": name, ":content-type": "application/json", ":message-type": "exception"}
    return frame(headers, json.dumps({"message": message}).encode())


_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[^,]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


def verify_sigv4(got: Received, region: str = REGION) -> set[str]:
    """Recomputes the signature of a received request with botocore and the test credentials;
    returns the names of the signed headers."""
    headers = {k.lower(): v for k, v in got.headers.items()}
    m = _AUTH.match(headers["authorization"])
    assert m, headers["authorization"]
    assert m["key"] == AWS_ENV["AWS_ACCESS_KEY_ID"] and m["region"] == region and m["service"] == "bedrock"
    signed = m["signed"].split(";")
    request = AWSRequest(
        method=got.method,
        url=f"http://{headers['host']}{got.raw_path}",
        data=got.body,
        headers={name: headers[name] for name in signed},
    )
    request.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(
        Credentials(AWS_ENV["AWS_ACCESS_KEY_ID"], AWS_ENV["AWS_SECRET_ACCESS_KEY"], AWS_ENV["AWS_SESSION_TOKEN"]),
        "bedrock",
        region,
    )
    assert signer.signed_headers(signer.headers_to_sign(request)) == m["signed"]
    string_to_sign = signer.string_to_sign(request, signer.canonical_request(request))
    assert signer.signature(string_to_sign, request) == m["signature"], "the signature does not verify"
    return set(signed)
