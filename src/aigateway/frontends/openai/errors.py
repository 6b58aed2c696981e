"""Renders the error tree into OpenAI's envelope on the Chat Completions door (the envelope
itself is shared with the Responses door: frontends/envelope_openai.py).

Once a stream has started, a failure is one `data: {"error": ...}` chunk, which the SDK raises.
"""

from __future__ import annotations

from aigateway.errors import GatewayError
from aigateway.frontends.envelope_openai import error_body, openai_error, send_error

__all__ = ["error_body", "openai_error", "send_error", "stream_error_chunk"]


def stream_error_chunk(exc: GatewayError) -> bytes:
    """An error after the stream started: one `data: {"error": ...}` line, which the SDK raises."""
    return b"data: " + openai_error(exc)[1] + b"\n\n"
