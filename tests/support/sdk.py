"""Calls the official `anthropic` SDK with a recorded request body, as a client would."""

from __future__ import annotations

import inspect
from typing import Any

import anthropic


def _kwargs(fn: Any, body: dict[str, Any], model: str) -> dict[str, Any]:
    params = set(inspect.signature(fn).parameters)
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for k, v in body.items():
        if k in ("stream", "model"):
            continue
        (kwargs if k in params else extra)[k] = v
    kwargs["model"] = model
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


def call_with_headers(
    client: anthropic.Anthropic, body: dict[str, Any], *, model: str, beta: bool = False, stream: bool = False
) -> tuple[Any, Any]:
    """(final message, response headers)."""
    surface = client.beta.messages if beta else client.messages
    if stream:
        with surface.stream(**_kwargs(surface.stream, body, model)) as s:
            return s.get_final_message(), s.response.headers
    raw = surface.with_raw_response.create(**_kwargs(surface.create, body, model))
    return raw.parse(), raw.headers


def call(
    client: anthropic.Anthropic, body: dict[str, Any], *, model: str, beta: bool = False, stream: bool = False
) -> Any:
    return call_with_headers(client, body, model=model, beta=beta, stream=stream)[0]
