"""A gateway that stops while a background response runs never leaves it in progress: a clean
shutdown fails it saying so, and a killed gateway's runs are failed when it starts again."""

from __future__ import annotations

import signal

import openai
import pytest

from tests.conftest import ADMIN_KEY, UPSTREAM_KEY
from tests.frontends.responses.test_background import CLAUDE, held_stream, until
from tests.support.bedrock import AWS_ENV, BEDROCK_TOKEN
from tests.support.config import gateway_config
from tests.support.gateway import GatewayProcess


@pytest.mark.recordings
@pytest.mark.parametrize(
    ("stop", "reason"),
    [("kill", "the gateway restarted before this response finished"), ("term", "the gateway shut down")],
)
def test_a_run_cut_by_the_gateway_stopping_is_failed_with_the_reason(stop, reason, upstream, tmp_path):
    env = {"TEST_UPSTREAM_KEY": UPSTREAM_KEY, "TEST_ADMIN_KEY": ADMIN_KEY, "TEST_BEDROCK_TOKEN": BEDROCK_TOKEN}
    gw = GatewayProcess(gateway_config(upstream.url), tmp_path, env={**env, **AWS_ENV}).start()
    restarted = None
    try:
        key = gw.create_key("restart")
        served = held_stream(upstream)
        client = openai.OpenAI(base_url=gw.url + "/v1", api_key=key, max_retries=0)
        created = client.responses.create(model=CLAUDE, input="What is 4200 + 42?", background=True)
        until(client, created.id, "in_progress")
        assert gw.proc is not None
        if stop == "kill":
            gw.proc.send_signal(signal.SIGKILL)
            gw.proc.wait(10)
        else:
            assert gw.stop() in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once done
        assert served.finished.wait(5)
        restarted = GatewayProcess(gw.config.read_text(), gw.workdir, env=gw.env).start()
        again = openai.OpenAI(base_url=restarted.url + "/v1", api_key=key, max_retries=0)
        failed = again.responses.retrieve(created.id)
        assert failed.status == "failed" and failed.error is not None
        assert failed.error.code == "server_error" and reason in failed.error.message
        assert again.responses.cancel(created.id).status == "failed"
    finally:
        for process in (gw, restarted):
            if process is not None and process.proc is not None and process.proc.poll() is None:
                process.stop()
