"""A Claude answer with a web search, through the Anthropic provider's translated side: the JSON
answer and the stream give the same typed Message (server_tool_use, web_search_tool_result,
citations), the searches reach the usage the ledger reads, and the blocks sent back as history
reach Anthropic as they came. The answer is built from the anthropic SDK's types
(tests/support/anthropic_web_search.py): the recordings hold no web search."""

from __future__ import annotations

import json

import msgspec
import pytest

from aigateway.ir.accumulate import MessageAccumulator, events_of
from aigateway.ir.messages import (
    ServerToolUseBlock,
    TextBlock,
    WebSearchError,
    WebSearchResult,
    WebSearchToolResultBlock,
    parse_request,
)
from aigateway.providers.anthropic.request import from_ir
from aigateway.providers.anthropic.response import to_ir
from aigateway.providers.anthropic.stream import AnthropicStreamDecoder
from tests.support.anthropic_web_search import CALL_ID, PAGES, QUERY, answer


def _decode(stream: bytes, size: int = 23):
    decoder = AnthropicStreamDecoder(provider="anthropic", model="client/m")
    events = [e for i in range(0, len(stream), size) for e in decoder.feed(stream[i : i + size])]
    events += decoder.finish()
    fold = MessageAccumulator()
    for event in events:
        fold.add(event)
    return fold.result(), decoder.usage


def test_the_json_answer_keeps_the_search_its_results_and_citations():
    a = answer()
    message, usage = to_ir(json.dumps(a.message).encode(), model="client/m", provider="anthropic")
    use, result = message.content[1], message.content[2]
    assert use == ServerToolUseBlock(id=CALL_ID, name="web_search", input={"query": QUERY})
    assert isinstance(result, WebSearchToolResultBlock) and result.tool_use_id == CALL_ID
    assert [(r.url, r.title) for r in result.content] == PAGES  # type: ignore[union-attr]
    assert all(isinstance(r, WebSearchResult) and r.encrypted_content for r in result.content)  # type: ignore[union-attr]
    cited = [b for b in message.content if isinstance(b, TextBlock) and b.citations]
    assert [b.citations[0]["url"] for b in cited] == [url for url, _ in PAGES]  # type: ignore[index]
    assert usage.web_search_requests == 1 and usage.input_tokens == 1210


@pytest.mark.parametrize("size", [1, 23, 100_000])
def test_the_stream_gives_the_json_answers_message_and_its_searches(size):
    a = answer(thinking="Search first.")
    whole, whole_usage = to_ir(json.dumps(a.message).encode(), model="client/m", provider="anthropic")
    streamed, usage = _decode(a.stream, size)
    assert streamed.content == whole.content
    assert usage is not None and usage.web_search_requests == 1 == whole_usage.web_search_requests
    assert fold_unfold(whole) == whole


def fold_unfold(message):
    acc = MessageAccumulator()
    for event in events_of(message):
        acc.add(event)
    return acc.result()


def test_a_failed_search_is_its_error_code():
    a = answer(error="max_uses_exceeded")
    message, _ = to_ir(json.dumps(a.message).encode(), model="client/m", provider="anthropic")
    result = message.content[2]
    assert isinstance(result, WebSearchToolResultBlock)
    assert result.content == WebSearchError(error_code="max_uses_exceeded")
    assert _decode(a.stream)[0].content == message.content


def test_another_server_tool_is_left_out_of_the_stream_with_its_result():
    """web_fetch's call and result are not modelled: both go, the blocks after them renumbered."""
    a = answer()
    fetch = (
        'event: content_block_start\ndata: {"type":"content_block_start","index":%d,"content_block":'
        '{"type":"server_tool_use","id":"srvtoolu_f","name":"web_fetch","input":{}}}\n\n'
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,"delta":'
        '{"type":"input_json_delta","partial_json":"{\\"url\\":\\"https://example.com\\"}"}}\n\n'
        'event: content_block_stop\ndata: {"type":"content_block_stop","index":%d}\n\n'
    )
    head, _, rest = a.stream.partition(b"event: content_block_start")
    shifted = rest.replace(b'"index": ', b'"index": 1')  # the answer's blocks 0.. become 10..
    stream = head + (fetch % (0, 0, 0)).encode() + b"event: content_block_start" + shifted
    streamed, _ = _decode(stream)
    assert streamed.content == _decode(a.stream)[0].content


def test_a_history_with_a_search_goes_back_to_anthropic_as_it_came():
    a = answer()
    history = [
        {"role": "user", "content": "When was Python 3.13 released?"},
        {"role": "assistant", "content": a.message["content"]},
        {"role": "user", "content": "Thanks."},
    ]
    tools = [{"type": "web_search_20250305", "name": "web_search"}]
    body = {"model": "m", "max_tokens": 100, "messages": history, "tools": tools}
    sent, dropped = from_ir(parse_request(body), "claude-sonnet-4-5")
    assert msgspec.json.decode(msgspec.json.encode(sent["messages"][1])) == history[1]
    assert sent["tools"] == tools and dropped == []


def test_a_search_count_of_another_shape_keeps_the_token_counts():
    start = '{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"x",'
    start += '"content":[],"stop_reason":null,"usage":{"input_tokens":5,"output_tokens":1}}}'
    delta = '{"type":"message_delta","delta":{"stop_reason":"end_turn"},'
    delta += '"usage":{"output_tokens":7,"server_tool_use":{"web_search_requests":"two"}}}'
    raw = f"event: message_start\ndata: {start}\n\nevent: message_delta\ndata: {delta}\n\n"
    raw += 'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    decoder = AnthropicStreamDecoder(provider="anthropic", model="m")
    decoder.feed(raw.encode())
    assert decoder.usage is not None and decoder.error is None
    assert (decoder.usage.input_tokens, decoder.usage.output_tokens, decoder.usage.web_search_requests) == (5, 7, 0)
