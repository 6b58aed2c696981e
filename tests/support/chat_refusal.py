"""A Chat Completions server's refusal (`message.refusal`, `delta.refusal`), written with the
openai SDK's own types: no recording holds one. The stream is chunked as OpenAI's are: a first
chunk with the role and an empty refusal, the refusal in pieces, `finish_reason: stop`, a usage
chunk, `[DONE]`."""

from __future__ import annotations

from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage
from openai.types.chat.chat_completion import Choice
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice
from openai.types.chat.chat_completion_chunk import ChoiceDelta

REFUSAL = "I'm sorry, but I can't help with that request."
USAGE = CompletionUsage(prompt_tokens=21, completion_tokens=11, total_tokens=32)
_HEAD = {"id": "chatcmpl-refusal", "created": 1766084435, "model": "qwen3"}


def completion() -> bytes:
    message = ChatCompletionMessage(role="assistant", content=None, refusal=REFUSAL)
    answer = ChatCompletion(
        **_HEAD,
        object="chat.completion",
        choices=[Choice(index=0, message=message, finish_reason="stop", logprobs=None)],
        usage=USAGE,
    )
    return answer.model_dump_json(exclude_unset=True).encode()


def stream() -> bytes:
    deltas = [ChoiceDelta(role="assistant", content=None, refusal="")]
    deltas += [ChoiceDelta(refusal=REFUSAL[i : i + 9]) for i in range(0, len(REFUSAL), 9)]
    chunks = [_chunk([ChunkChoice(index=0, delta=d, finish_reason=None)]) for d in deltas]
    chunks.append(_chunk([ChunkChoice(index=0, delta=ChoiceDelta(), finish_reason="stop")]))
    chunks.append(_chunk([], usage=USAGE))
    return (
        b"".join(b"data: " + c.model_dump_json(exclude_unset=True).encode() + b"\n\n" for c in chunks)
        + b"data: [DONE]\n\n"
    )


def _chunk(choices: list[ChunkChoice], usage: CompletionUsage | None = None) -> ChatCompletionChunk:
    return ChatCompletionChunk(**_HEAD, object="chat.completion.chunk", choices=choices, usage=usage)
