"""The OpenAI Agents SDK (`openai-agents`) running an agent with a function tool on Claude
through the Responses door (its default model API)."""

from __future__ import annotations

import asyncio
import json

import openai
from agents import Agent, OpenAIResponsesModel, RunConfig, Runner, function_tool, set_tracing_disabled

from tests.support.anthropic_sse import message_stream
from tests.support.upstream import Reply

SSE = {"content-type": "text/event-stream"}


@function_tool
def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


def test_an_agent_calls_its_function_tool_and_answers_on_claude(gateway, api_key, upstream):
    call = [{"type": "tool_use", "id": "toolu_add1", "name": "add", "input": {"a": 4200, "b": 42}}]
    upstream.expect(
        Reply(body=message_stream(call, "tool_use"), headers=SSE, chunk_size=41),
        Reply(body=message_stream([{"type": "text", "text": "4242"}], "end_turn"), headers=SSE, chunk_size=41),
    )
    set_tracing_disabled(True)  # the SDK would export traces to OpenAI otherwise
    client = openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key=api_key, max_retries=0)
    model = OpenAIResponsesModel(model="anthropic/claude-sonnet-4.5", openai_client=client)
    agent = Agent(name="calculator", instructions="Use the add tool.", tools=[add], model=model)
    result = asyncio.run(Runner.run(agent, "What is 4200 + 42?", run_config=RunConfig(tracing_disabled=True)))
    assert result.final_output == "4242"

    first, second = (json.loads(r.body) for r in upstream.received)
    assert first["system"] == [{"type": "text", "text": "Use the add tool."}]
    assert [t["name"] for t in first["tools"]] == ["add"]
    assert first["tools"][0]["input_schema"]["properties"].keys() == {"a", "b"}
    results = [b for b in second["messages"][-1]["content"] if b["type"] == "tool_result"]
    assert [(r["tool_use_id"], r["content"]) for r in results] == [("toolu_add1", "4242")]
