"""Which Claude models take structured outputs and run web searches, by upstream id
(providers/anthropic/models.py)."""

from __future__ import annotations

import pytest

from aigateway.providers.anthropic.models import has_structured_outputs, has_web_search


@pytest.mark.parametrize(
    "model, supported",
    [
        ("claude-sonnet-4-5", True),
        ("claude-sonnet-4-5-20250929", True),
        ("claude-haiku-4-5", True),
        ("claude-opus-4-6", True),
        ("claude-sonnet-5", True),
        ("a-custom-deployment", True),
        ("claude-sonnet-4-0", False),
        ("claude-sonnet-4-20250514", False),
        ("claude-opus-4-1-20250805", False),
        ("claude-3-5-sonnet-20241022", False),
        ("claude-3-7-sonnet-latest", False),
    ],
)
def test_structured_outputs_from_claude_4_5_on(model, supported):
    assert has_structured_outputs(model) is supported


@pytest.mark.parametrize(
    "model, supported",
    [
        ("claude-sonnet-4-5-20250929", True),
        ("claude-opus-4-1-20250805", True),
        ("claude-sonnet-4-20250514", True),
        ("claude-haiku-4-5", True),
        ("claude-3-7-sonnet-latest", True),
        ("claude-3-5-haiku-20241022", True),
        ("a-custom-deployment", True),
        ("claude-3-haiku-20240307", False),
        ("claude-3-opus-20240229", False),
        ("claude-2.1", False),
    ],
)
def test_web_search_from_claude_3_5_on(model, supported):
    assert has_web_search(model) is supported
