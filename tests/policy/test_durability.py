"""After SIGKILL, no finished request's ledger row is lost: the spool is replayed on the next start."""

from __future__ import annotations

import signal

import anthropic

from tests.conftest import UPSTREAM_KEY
from tests.support import fixtures
from tests.support.gateway import GatewayProcess
from tests.support.upstream import Reply

PROMPT = [{"role": "user", "content": "Hello"}]


def test_sigkill_loses_no_finished_row(upstream, tmp_path):
    config = f"""
providers:
  anthropic:
    base_url: {upstream.url}
    api_key: ${{TEST_UPSTREAM_KEY}}
listings: {{enabled: false}}  # tests count upstream calls: no background reads of model lists
ledger:
  flush_interval: 3600   # the batched writer never runs before the kill: rows are only in the spool
  batch_size: 100000
"""
    gw = GatewayProcess(config, tmp_path, env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY}).start()
    secret = gw.create_key("durable")
    client = anthropic.Anthropic(base_url=gw.url, api_key=secret, max_retries=0)
    ids = []
    model = "anthropic/claude-sonnet-4"
    for case in ("text-sync", "text-stream", "prompt-cache-sync"):
        upstream.expect(Reply.replay(fixtures.exchange("anthropic", case)))
        if case == "text-stream":
            with client.messages.stream(model=model, max_tokens=64, messages=PROMPT) as s:
                s.get_final_message()
                ids.append(s.response.headers["request-id"])
        else:
            raw = client.messages.with_raw_response.create(
                model="anthropic/claude-sonnet-4", max_tokens=64, messages=PROMPT
            )
            ids.append(raw.headers["request-id"])
    assert gw.ledger_rows() == []  # nothing written to the database yet
    assert gw.proc is not None
    gw.proc.send_signal(signal.SIGKILL)
    gw.proc.wait(10)
    gw._log.close()
    again = GatewayProcess(config, tmp_path, env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY}).start()
    try:
        rows = {r["request_id"]: r for r in again.ledger_rows()}
        assert sorted(rows) == sorted(ids)  # replayed during start-up, before the gateway is healthy
        assert [rows[i]["cost_nanousd"] for i in ids] == [276_000, 276_000, 18_710_250]
    finally:
        again.stop()
