"""The README's first command, as a new user runs it, serves the seed example end to end."""

from __future__ import annotations

import json
import re
import signal

import anthropic

from tests.support import fixtures
from tests.support.gateway import REPO, GatewayProcess, free_port
from tests.support.upstream import Reply


def readme_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", (REPO / "README.md").read_text(), re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]


def test_readme_starts_with_two_commands_and_ci_runs_the_second():
    serve, test = readme_commands()
    assert serve == "./dev.sh serve" and test == "./dev.sh test"
    assert test in (REPO / ".ci" / "run").read_text()


def test_first_command_serves_the_seed_example_and_flushes_on_shutdown(upstream, tmp_path):
    port = free_port()
    config = f"""
server:
  port: {port}
providers:
  anthropic:
    base_url: {upstream.url}
    api_key: sk-ant-test
listings: {{enabled: false}}  # tests count upstream calls: no background reads of model lists
ledger:
  flush_interval: 3600   # only the shutdown flush can write the row
"""
    serve = readme_commands()[0].split()
    gw = GatewayProcess(config, tmp_path, command=[str(REPO / serve[0]), *serve[1:]])
    gw.port = port
    gw.env["AIGATEWAY_CONFIG"] = str(gw.config)  # configured the documented way: environment
    gw.env["AIGATEWAY_DATA_DIR"] = str(gw.data_dir)
    gw.start(use_flags=False)
    try:
        key = gw.create_key("readme")
        ex = fixtures.exchange("anthropic", "text-sync")
        upstream.expect(Reply.replay(ex))
        client = anthropic.Anthropic(api_key=key, base_url=gw.url, max_retries=0)
        raw = client.messages.with_raw_response.create(
            model="anthropic/claude-sonnet-5.5",
            max_tokens=150,
            extra_body={"temperature": 0.7},
            messages=[{"role": "user", "content": "Write a one-sentence bedtime story about a unicorn."}],
        )
        message = raw.parse()
        assert message.content[0].text == json.loads(ex.response_bytes())["content"][0]["text"]
        assert json.loads(upstream.received[0].body)["model"] == "claude-sonnet-5-5"
        assert gw.ledger_rows() == []
    finally:
        # uvicorn re-raises SIGTERM after its graceful shutdown, hence that exit status
        assert gw.stop() in (0, -signal.SIGTERM)
    (row,) = gw.ledger_rows()
    assert row["request_id"] == raw.headers["request-id"]
    assert row["output_tokens"] == message.usage.output_tokens
