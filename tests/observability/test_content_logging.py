"""`logging.content: true` adds prompts and completions to the request lines; BYOK keys stay out."""

from __future__ import annotations

import json

import anthropic
import pytest

from tests.conftest import ADMIN_KEY, UPSTREAM_KEY
from tests.support import fixtures
from tests.support.config import gateway_config
from tests.support.gateway import ISSUED_KEYS, GatewayProcess
from tests.support.upstream import Reply

CANARY = "content-canary-51c2"
BYOK = "sk-byok-kept-out-of-content-logs-0123456789"


@pytest.fixture(scope="module")
def talkative(upstream, tmp_path_factory):
    config = gateway_config(upstream.url, logging={"content": True})
    env = {"TEST_UPSTREAM_KEY": UPSTREAM_KEY, "TEST_ADMIN_KEY": ADMIN_KEY, "TEST_BEDROCK_TOKEN": "unused"}
    gw = GatewayProcess(config, tmp_path_factory.mktemp("content"), env=env).start()
    yield gw
    gw.stop()
    log = gw.log_text()
    for secret in (UPSTREAM_KEY, ADMIN_KEY, BYOK, *ISSUED_KEYS):
        assert secret not in log


def request_lines(gw: GatewayProcess) -> dict[str, dict]:
    lines = [json.loads(line) for line in gw.log_text().splitlines() if '"msg":"request"' in line]
    return {line["request_id"]: line for line in lines}


def test_prompt_and_completion_are_logged_when_asked(talkative, upstream):
    client = anthropic.Anthropic(base_url=talkative.url, api_key=talkative.create_key("content"), max_retries=0)
    sync, stream = fixtures.exchange("anthropic", "text-sync"), fixtures.exchange("anthropic", "text-stream")
    upstream.expect(Reply.replay(sync), Reply.replay(stream))
    prompt = [{"role": "user", "content": f"Add these. {CANARY}"}]
    byok = {"providerOptions": {"gateway": {"byok": {"anthropic": [{"apiKey": BYOK}]}}}}
    raw = client.messages.with_raw_response.create(
        model="anthropic/claude-sonnet-4", max_tokens=64, system="Be exact.", messages=prompt, extra_body=byok
    )
    message = raw.parse()
    with client.messages.stream(model="anthropic/claude-sonnet-4", max_tokens=64, messages=prompt) as s:
        final = s.get_final_message()
        stream_id = s.response.headers["request-id"]
    talkative.ledger_row(stream_id)  # the line is written with the row
    lines = request_lines(talkative)
    whole = lines[raw.headers["request-id"]]
    assert whole["prompt"] == {"system": "Be exact.", "messages": prompt}
    assert whole["completion"] == [b.model_dump(exclude_none=True) for b in message.content]
    streamed = lines[stream_id]
    assert streamed["prompt"] == {"messages": prompt}
    text = "".join(b.text for b in final.content if b.type == "text")
    assert streamed["completion"] == [{"type": "text", "text": text}]


def test_content_is_off_by_default(gateway, client, upstream):
    upstream.expect(Reply.replay(fixtures.exchange("anthropic", "text-sync")))
    prompt = [{"role": "user", "content": f"Add these. {CANARY}"}]
    raw = client.messages.with_raw_response.create(model="anthropic/claude-sonnet-4", max_tokens=64, messages=prompt)
    gateway.ledger_row(raw.headers["request-id"])
    line = request_lines(gateway)[raw.headers["request-id"]]
    assert "prompt" not in line and "completion" not in line
    assert CANARY not in gateway.log_text()
