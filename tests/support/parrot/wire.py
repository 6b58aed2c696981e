"""The parrot wire, typed."""

from __future__ import annotations

import msgspec


class Answer(msgspec.Struct):
    text: str = ""
    input: int = 0
    output: int = 0
    done: str | None = None


class Chunk(msgspec.Struct):
    delta: str | None = None
    input: int = 0
    output: int = 0
    done: str | None = None


decode_answer = msgspec.json.Decoder(Answer).decode
decode_chunk = msgspec.json.Decoder(Chunk).decode
