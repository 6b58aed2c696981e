"""One classification of upstream failures (errors.classify), read by retries, fallbacks, breakers
and the client's x-should-retry header alike."""

from __future__ import annotations

import pytest

from aigateway.errors import UpstreamError, UpstreamUnavailable, classify, is_retryable_status


def failed(status: int, **kw) -> UpstreamError:
    return UpstreamError("x", provider="p", status=status, **kw)


@pytest.mark.parametrize(
    ("status", "more", "action", "fault"),
    [
        (429, True, "next", True),  # another credential or provider may have room
        (429, False, "retry", True),  # the only one left: it passes with time
        (404, True, "next", False),  # the model may exist elsewhere; the upstream is fine
        (404, False, "next", False),
        (408, True, "retry", True),
        (409, True, "retry", False),
        (500, True, "retry", True),
        (503, False, "retry", True),
        (529, True, "retry", True),
        (400, True, "stop", False),  # the request is wrong everywhere
        (413, True, "stop", False),
        (422, True, "stop", False),
    ],
)
def test_an_upstream_status_decides_retry_next_or_stop_and_the_breaker(status, more, action, fault):
    verdict = classify(failed(status), more_attempts=more)
    assert (verdict.action, verdict.upstream_fault) == (action, fault)


def test_a_refused_gateway_credential_moves_on_and_counts_against_it():
    refused = failed(502, upstream_status=401, credential_refused=True)
    verdict = classify(refused, more_attempts=False)
    assert (verdict.action, verdict.upstream_fault) == ("next", True)


def test_no_answer_is_retried_unless_nothing_listens_and_another_attempt_exists():
    reset = UpstreamUnavailable("x", provider="p")
    refused = UpstreamUnavailable("x", provider="p", move_on=True)
    assert classify(reset, more_attempts=True).action == "retry"
    assert classify(refused, more_attempts=True).action == "next"
    assert classify(refused, more_attempts=False).action == "retry"
    assert classify(reset, more_attempts=True).upstream_fault


def test_the_status_the_client_hears_follows_the_same_rule():
    # The Anthropic SDKs' own rule (spec §6.3): 408, 409, 429 and 5xx pass with time.
    assert [s for s in range(400, 600) if is_retryable_status(s)] == [408, 409, 429, *range(500, 600)]
    assert all(failed(s).retryable == is_retryable_status(s) for s in (400, 404, 429, 503))
