"""Claude Code itself (`claude -p`), pointed at the gateway the way the README says."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from tests.support import fixtures, openai_recordings
from tests.support.upstream import Reply

WRAPPER = Path(__file__).parents[2] / "node" / "node_modules" / "@anthropic-ai" / "claude-code" / "cli-wrapper.cjs"


def claude(gateway, api_key: str, tmp_path: Path, model: str, small_model: str) -> subprocess.CompletedProcess[str]:
    """`claude -p` with the environment the README gives, in an empty home."""
    node = shutil.which("node")
    assert node and WRAPPER.exists(), "run the suite with ./dev.sh test, which installs Claude Code"
    (tmp_path / "home").mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "ANTHROPIC_BASE_URL": gateway.url,
        "ANTHROPIC_AUTH_TOKEN": api_key,
        "ANTHROPIC_MODEL": model,
        "ANTHROPIC_SMALL_FAST_MODEL": small_model,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": small_model,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
    }
    proc = subprocess.run(
        [node, str(WRAPPER), "-p", "What is 4200 + 42?"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def test_claude_code_prints_the_answer_and_its_request_reaches_anthropic_intact(gateway, api_key, upstream, tmp_path):
    ex = fixtures.exchange("anthropic", "text-stream")  # answers "4200 + 42 = 4242"
    upstream.expect(*[Reply.replay(ex) for _ in range(5)])
    proc = claude(gateway, api_key, tmp_path, "anthropic/claude-sonnet-5.5", "anthropic/claude-haiku-4.5")
    assert proc.stdout.strip() == "4200 + 42 = 4242"

    inference = [r for r in upstream.received if r.path_qs.startswith("/v1/messages?")]
    assert inference, [r.path_qs for r in upstream.received]
    got = inference[0]
    body = json.loads(got.body)
    assert got.path_qs == "/v1/messages?beta=true"
    assert body["model"] == "claude-sonnet-5-5" and body["stream"] is True
    assert body["tools"] and body["system"]  # Claude Code's own request, not a toy one
    assert "claude-code-20250219" in got.headers["anthropic-beta"]
    assert got.headers["x-api-key"] != api_key and api_key not in json.dumps(got.headers)


def test_claude_code_on_an_openai_model(gateway, api_key, upstream, tmp_path):
    """The README's recipe for OpenAI models: Claude Code's own request, translated both ways."""
    ex = fixtures.exchange("openai-chat", "text-stream")  # gpt-4o answering "What is 4200 + 42?"
    upstream.expect(*[Reply.replay(ex) for _ in range(5)])
    proc = claude(gateway, api_key, tmp_path, "openai/gpt-4o", "openai/gpt-4o-mini")
    assert (
        proc.stdout.strip() == openai_recordings.expected(openai_recordings.recording("openai-chat/text-stream#1")).text
    )

    sent = [r for r in upstream.received if r.path_qs == "/openai/v1/chat/completions"]
    assert sent, [r.path_qs for r in upstream.received]
    body = json.loads(sent[0].body)
    assert body["model"] == "gpt-4o" and body["stream"] is True
    assert body["messages"][0]["role"] == "system" and body["tools"]  # Claude Code's prompt and tools
    assert sent[0].headers["Authorization"] != "Bearer " + api_key


def test_claude_code_on_claude_through_bedrock(gateway, api_key, upstream, tmp_path):
    """Claude Code on Bedrock's Claude: its request goes to InvokeModel signed, with its beta
    flags in the body, and Bedrock's event stream comes back as the SSE Claude Code reads."""
    from tests.support.bedrock import chunk_frame, verify_sigv4
    from tests.support.stream_grammar import parse_events

    sse = (fixtures.ROOT / "anthropic" / "text-stream.response.sse").read_bytes()  # "4200 + 42 = 4242"
    stream = b"".join(chunk_frame(e.data.encode()) for e in parse_events(sse))
    reply = Reply(body=stream, headers={"content-type": "application/vnd.amazon.eventstream"}, chunk_size=61)
    upstream.expect(*[reply for _ in range(5)])
    model = "bedrock/global.anthropic.claude-sonnet-5-5"
    proc = claude(gateway, api_key, tmp_path, model, "bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0")
    assert proc.stdout.strip() == "4200 + 42 = 4242"

    inference = [r for r in upstream.received if r.raw_path.endswith("/invoke-with-response-stream")]
    assert inference, [r.raw_path for r in upstream.received]
    body = json.loads(inference[0].body)
    assert "model" not in body and "stream" not in body and body["anthropic_version"] == "bedrock-2023-05-31"
    assert "claude-code-20250219" in body["anthropic_beta"] and body["tools"] and body["system"]
    for got in inference:
        verify_sigv4(got)
