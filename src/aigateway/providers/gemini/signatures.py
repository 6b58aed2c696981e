"""Gemini `thoughtSignature`s carried through Anthropic clients inside thinking-block signatures.

Gemini attaches an opaque `thoughtSignature` to some parts of its answer (the first
`functionCall` of a step, the first text after its thoughts, now and then a thought part) and
wants each one back on the same part next turn; for function calls Gemini 3 refuses the turn
without it (400 "Function call is missing a thought_signature"). An Anthropic client sends back
only what is in the blocks it received, and the one field it keeps verbatim for exactly this
purpose is a thinking block's `signature`. So each signature becomes the signature of a thinking
block, with a prefix naming where it belongs:

- `PREFIX + "t:" + sig` -- the thinking block *is* the signed thought part; it goes back as one
  thought part `{text, thought: true, thoughtSignature}`;
- `PREFIX + "n:" + sig` -- the signature belongs to the *next* part (a function call or text): the
  thinking block just before that block carries it (the open thinking block if there is one,
  else an empty one), and on the way back it is put on the first part built from the next block.

A signature on a part with no content (an empty closing text part, an empty thought) is a
carrier like the `n:` kind; when no part follows it in the turn, it is not sent back (Gemini
validates only function-call signatures, and an empty text part is not a valid part).

A tool_use id was the other candidate; it is echoed too, but a signature on a text part has no
id to ride on, signatures run to several kilobytes, and ids appear twice (tool_use and
tool_result). Thinking blocks without the prefix (Anthropic's own, or unsigned Gemini thoughts)
are not sent to Gemini: thought text is not replayed, only signatures are.
"""

from __future__ import annotations

from typing import Literal

PREFIX = "agw.gemini.v1:"

Kind = Literal["t", "n"]


def encode(kind: Kind, signature: str) -> str:
    return f"{PREFIX}{kind}:{signature}"


def decode(value: str) -> tuple[Kind, str] | None:
    """(kind, Gemini's signature) for a signature this gateway minted, else None."""
    if not value.startswith(PREFIX):
        return None
    rest = value[len(PREFIX) :]
    if rest[:2] == "t:":
        return "t", rest[2:]
    if rest[:2] == "n:":
        return "n", rest[2:]
    return None
