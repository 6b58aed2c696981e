"""`/v1/models` in both shapes and `/v1/embeddings` passthrough, with the official SDKs."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import httpx
import openai
import pytest
from openai.types import CreateEmbeddingResponse, Embedding
from openai.types.create_embedding_response import Usage as EmbeddingUsage

from tests.conftest import UPSTREAM_KEY
from tests.support.fixtures import exchange
from tests.support.gateway import REPO
from tests.support.upstream import Reply


@pytest.fixture
def oai(gateway, api_key) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=api_key, max_retries=0)


def test_models_in_openai_shape_to_openai_clients(oai, client):
    listed = oai.models.list()
    ids = [m.id for m in listed.data]
    assert ids == [m.id for m in client.models.list(limit=1000).data]  # the same models, both shapes
    first = listed.data[0]
    assert first.object == "model" and first.owned_by == first.id.split("/")[0]
    assert isinstance(first.created, int)
    one = oai.models.retrieve("anthropic/claude-sonnet-4.5")
    assert one.id == "anthropic/claude-sonnet-4.5" and one.object == "model" and one.created > 1_600_000_000
    with pytest.raises(openai.NotFoundError) as caught:
        oai.models.retrieve("anthropic/claude-nope")
    assert caught.value.body["code"] == "model_not_found"


def test_models_shape_is_told_by_anthropic_headers(gateway, api_key):
    bearer = {"authorization": "Bearer " + api_key}
    openai_shape = httpx.get(gateway.url + "/v1/models", headers=bearer).json()
    assert openai_shape["object"] == "list" and "has_more" not in openai_shape
    for extra in ({"anthropic-version": "2023-06-01"}, {"x-api-key": api_key}):
        anthropic_shape = httpx.get(gateway.url + "/v1/models", headers={**bearer, **extra}).json()
        assert anthropic_shape["data"][0]["type"] == "model" and "has_more" in anthropic_shape
    missing = httpx.get(gateway.url + "/v1/models")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"


def _embedding_reply() -> bytes:
    # No recording of an embeddings exchange exists: the body follows the SDK's own response type.
    reply = CreateEmbeddingResponse(
        data=[Embedding(embedding=[0.25, -0.5, 0.125], index=0, object="embedding")],
        model="text-embedding-3-small",
        object="list",
        usage=EmbeddingUsage(prompt_tokens=5, total_tokens=5),
    )
    return reply.model_dump_json().encode()


def test_embeddings_pass_through(oai, gateway, upstream):
    body = _embedding_reply()
    upstream.expect(Reply(body=body, headers={"content-type": "application/json"}))
    raw = oai.embeddings.with_raw_response.create(
        model="openai/text-embedding-3-small", input="hello world", encoding_format="float"
    )
    assert raw.http_response.content == body
    assert raw.parse().data[0].embedding == [0.25, -0.5, 0.125]
    sent = upstream.received[0]
    assert sent.path_qs == "/openai/v1/embeddings"
    assert sent.headers["Authorization"] == "Bearer " + UPSTREAM_KEY
    assert json.loads(sent.body) == {
        "model": "text-embedding-3-small",
        "input": "hello world",
        "encoding_format": "float",
    }
    row = gateway.ledger_row(raw.headers["request-id"])
    assert row["endpoint"] == "embeddings" and row["input_tokens"] == 5 and row["output_tokens"] == 0
    assert row["provider"] == "openai" and row["upstream_model"] == "text-embedding-3-small"


def test_embeddings_to_azure_name_the_deployment(oai, upstream):
    upstream.expect(Reply(body=_embedding_reply(), headers={"content-type": "application/json"}))
    oai.embeddings.create(model="azure/embed-prod", input=["a", "b"])
    assert upstream.received[0].path_qs == "/azure/openai/deployments/embed-prod/embeddings?api-version=2024-10-21"


def test_embeddings_on_gemini_are_translated_both_ways(oai, gateway, upstream):
    # No recording of Gemini embeddings exists: the reply follows BatchEmbedContentsResponse
    # ({"embeddings": [{"values": [...]}]}, in input order) from Google's API reference.
    vectors = [[0.25, -0.5, 0.125], [1.0, 0.0, -2.0]]
    reply = json.dumps({"embeddings": [{"values": v} for v in vectors]}).encode()
    upstream.expect(Reply(body=reply, headers={"content-type": "application/json"}))
    raw = oai.embeddings.with_raw_response.create(
        model="gemini/gemini-embedding-001", input=["hello", "world"], dimensions=3
    )
    result = raw.parse()  # the SDK asks for base64 and unpacks it: our packing must match
    assert [d.embedding for d in result.data] == vectors and [d.index for d in result.data] == [0, 1]
    assert result.model == "gemini/gemini-embedding-001" and result.usage.prompt_tokens == 2
    sent = upstream.received[0]
    assert sent.path_qs == "/gemini/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert json.loads(sent.body) == {
        "requests": [
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": t}]}, "outputDimensionality": 3}
            for t in ("hello", "world")
        ]
    }
    assert raw.headers["x-aigateway-token-count"].startswith("estimate")
    row = gateway.ledger_row(raw.headers["request-id"])
    assert (row["endpoint"], row["provider"], row["input_tokens"]) == ("embeddings", "gemini", 2)

    upstream.expect(Reply(body=reply, headers={"content-type": "application/json"}))
    floats = oai.embeddings.create(
        model="gemini/gemini-embedding-001", input=["hello", "world"], encoding_format="float"
    )
    assert [d.embedding for d in floats.data] == vectors


def test_gemini_embeddings_refuse_token_ids(oai, upstream):
    with pytest.raises(openai.BadRequestError) as caught:
        oai.embeddings.create(model="gemini/gemini-embedding-001", input=[[1, 2, 3]])
    assert "text only" in caught.value.body["message"]
    assert upstream.received == []


def test_embeddings_for_a_provider_without_them_is_a_clear_400(oai, upstream):
    with pytest.raises(openai.BadRequestError) as caught:
        oai.embeddings.create(model="anthropic/claude-sonnet-4-0", input="hi")
    assert "no embeddings" in caught.value.body["message"] and caught.value.body["param"] == "model"
    assert upstream.received == []


def test_readme_openai_example_runs_against_the_gateway(gateway, api_key, upstream, tmp_path):
    """The README's OpenAI SDK example, verbatim but for the port, on recorded Claude answers."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### OpenAI clients") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    script = tmp_path / "example.py"
    script.write_text(code.replace("http://127.0.0.1:8080", gateway.url))
    upstream.expect(
        Reply.replay(exchange("anthropic", "text-sync")), Reply.replay(exchange("anthropic", "text-stream"))
    )
    env = {"AI_GATEWAY_API_KEY": api_key, "PATH": ""}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "CompletionUsage(completion_tokens=15, prompt_tokens=17" in out.stdout
    assert [json.loads(r.body)["model"] for r in upstream.received] == ["claude-sonnet-5-5"] * 2
