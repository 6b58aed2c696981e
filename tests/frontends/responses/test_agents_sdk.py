"""The OpenAI Agents SDK (`openai-agents`) running an agent with a function tool through the
Responses door (its default model API): on Claude, and on Gemini and a local model (Ollama) as
the README's example does."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import openai
import pytest
from agents import Agent, OpenAIResponsesModel, RunConfig, Runner, function_tool, set_tracing_disabled
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion, ChatCompletionMessage, ChatCompletionMessageToolCall
from openai.types.chat.chat_completion import Choice
from openai.types.chat.chat_completion_message_tool_call import Function

from tests.support.anthropic_sse import message_stream
from tests.support.gateway import REPO
from tests.support.upstream import Reply

SSE = {"content-type": "text/event-stream"}
CLAUDE = "anthropic/claude-sonnet-5.5"  # the first model of the README's loop


@function_tool
def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


def test_an_agent_calls_its_function_tool_and_answers_on_claude(gateway, api_key, upstream):
    call = [{"type": "tool_use", "id": "toolu_add1", "name": "add", "input": {"a": 4200, "b": 42}}]
    upstream.expect(
        Reply(body=message_stream(call, "tool_use", model="claude-sonnet-5-5"), headers=SSE, chunk_size=41),
        Reply(
            body=message_stream([{"type": "text", "text": "4242"}], "end_turn", model="claude-sonnet-5-5"),
            headers=SSE,
            chunk_size=41,
        ),
    )
    set_tracing_disabled(True)  # the SDK would export traces to OpenAI otherwise
    client = openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key=api_key, max_retries=0)
    model = OpenAIResponsesModel(model=CLAUDE, openai_client=client)
    agent = Agent(name="calculator", instructions="Use the add tool.", tools=[add], model=model)
    result = asyncio.run(Runner.run(agent, "What is 4200 + 42?", run_config=RunConfig(tracing_disabled=True)))
    assert result.final_output == "4242"

    first, second = (json.loads(r.body) for r in upstream.received)
    assert first["model"] == second["model"] == "claude-sonnet-5-5"
    assert first["system"] == [{"type": "text", "text": "Use the add tool."}]
    assert [t["name"] for t in first["tools"]] == ["add"]
    assert first["tools"][0]["input_schema"]["properties"].keys() == {"a", "b"}
    results = [b for b in second["messages"][-1]["content"] if b["type"] == "tool_result"]
    assert [(r["tool_use_id"], r["content"]) for r in results] == [("toolu_add1", "4242")]


def _gemini(part: dict[str, Any]) -> bytes:
    """A generateContent answer in the shape of the recorded ones (gemini/text-sync)."""
    candidate = {"content": {"parts": [part], "role": "model"}, "finishReason": "STOP", "index": 0}
    usage = {"promptTokenCount": 40, "candidatesTokenCount": 12, "totalTokenCount": 52}
    return json.dumps({"candidates": [candidate], "usageMetadata": usage, "modelVersion": "gemini-3.5-flash"}).encode()


def _chat(message: ChatCompletionMessage, finish: str) -> bytes:
    """A Chat Completions answer, written with the openai SDK's types."""
    choice = Choice(index=0, message=message, finish_reason=finish, logprobs=None)
    usage = CompletionUsage(prompt_tokens=40, completion_tokens=12, total_tokens=52)
    answer = ChatCompletion(
        id="chatcmpl-1", object="chat.completion", created=1, model="qwen3-coder", choices=[choice], usage=usage
    )
    return answer.model_dump_json(exclude_unset=True).encode()


CALL = ChatCompletionMessageToolCall(
    id="call_add1", type="function", function=Function(name="add", arguments='{"a": 4200, "b": 42}')
)
OTHERS = {  # the README's other two models: their upstream path, the call, the final answer
    "google/gemini-3.5-flash": (
        "/gemini/v1beta/models/gemini-3.5-flash:generateContent",
        _gemini({"functionCall": {"name": "add", "args": {"a": 4200, "b": 42}}}),
        _gemini({"text": "4242"}),
    ),
    "ollama/qwen3-coder": (
        "/ollama/v1/chat/completions",
        _chat(ChatCompletionMessage(role="assistant", content=None, tool_calls=[CALL]), "tool_calls"),
        _chat(ChatCompletionMessage(role="assistant", content="4242"), "stop"),
    ),
}


def test_the_readmes_loop_names_the_models_run_here():
    loop = re.search(r"for model in \((.*?)\):", (REPO / "README.md").read_text())
    assert loop and re.findall(r'"([^"]+)"', loop.group(1)) == [CLAUDE, *OTHERS]


@pytest.mark.parametrize("model", OTHERS)
def test_the_same_agent_runs_on_gemini_and_a_local_model(model, gateway, api_key, upstream):
    """The README's loop over models: the function tool round trip on Gemini and on Ollama."""
    path, call, answer = OTHERS[model]
    upstream.expect(*(Reply(body=b, headers={"content-type": "application/json"}) for b in (call, answer)))
    set_tracing_disabled(True)
    client = openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key=api_key, max_retries=0)
    agent = Agent(name="calculator", tools=[add], model=OpenAIResponsesModel(model=model, openai_client=client))
    result = asyncio.run(Runner.run(agent, "What is 4200 + 42?", run_config=RunConfig(tracing_disabled=True)))
    assert result.final_output == "4242"
    assert [r.path_qs for r in upstream.received] == [path, path]
    second = json.dumps(json.loads(upstream.received[1].body))
    assert '"4242"' in second  # the tool's output went back up with the history
