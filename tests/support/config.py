"""The one builder of the configs the tests' gateways run with.

Every upstream is the session's fake upstream, each provider at a path of its own. Three setups:

- "session": one of every provider kind, plus a dead one, a slow one and one behind a path
  prefix; one upstream call per request and no breaker, since tests count upstream calls;
- "routing": Anthropic twice (primary, secondary), OpenAI with two weighted keys and a dead
  upstream, a catalog and prices that make failover and ordering observable, and the default
  retry behaviour with short backoffs;
- "vertex": two Vertex providers signing in with the service-account files given, the admin
  key, one upstream call per request and no breaker.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml

from tests.support.gateway import free_port

UPSTREAM_KEY_REF = "${TEST_UPSTREAM_KEY}"
OPENAI_KINDS = ("openai", "deepseek", "groq", "mistral", "xai", "openrouter", "ollama", "together")
OAI_KEYS = ("sk-oai-first-credential-111", "sk-oai-second-credential-222")  # the routing setup's OpenAI keys
ONE_CALL = {"max_attempts": 1, "breaker": {"failures": 1000000}}

Setup = Literal["session", "routing", "vertex"]


def gateway_config(
    upstream_url: str,
    setup: Setup = "session",
    *,
    gemini: bool = False,
    logging: Mapping[str, Any] | None = None,
    breaker_failures: int = 1000000,
    vertex_credentials: Mapping[str, Path] | None = None,
) -> str:
    """The YAML of a setup. `gemini` adds Gemini to the session setup; `logging` is the config's
    `logging` section; `breaker_failures` opens the routing setup's breakers sooner;
    `vertex_credentials` names the vertex setup's providers and their service-account files."""
    config: dict[str, Any]
    if setup == "session":
        providers = {**_anthropic(upstream_url), **_openai_family(upstream_url), **_bedrock(upstream_url)}
        if gemini:
            providers["gemini"] = {"base_url": f"{upstream_url}/gemini/v1beta", "api_key": UPSTREAM_KEY_REF}
        config = {
            "providers": providers,
            "ledger": {"flush_interval": 0.05},
            "admin_key": "${TEST_ADMIN_KEY}",
            # test values for the config path (the shipped table holds Anthropic's published prices only)
            "prices": [
                {"model": "openai/gpt-4o", "provider": "openai", "input": 2.5, "output": 10}
                | {"cache_write_5m": 2.5, "cache_write_1h": 2.5, "cache_read": 1.25}
            ],
            "routing": ONE_CALL,  # tests/routing runs gateways with the default routing settings
            # an operator's redirect (tests/routing/test_catalog_lifecycle.py)
            "models": {"anthropic/claude-opus-4.1": {"redirect": "anthropic/claude-opus-4.8"}},
        }
    elif setup == "routing":
        config = _routing(upstream_url, breaker_failures)
    else:
        config = {
            "providers": {
                name: {"type": "vertex", "base_url": f"{upstream_url}/{name}/v1", "project": "test-project"}
                | {"location": "us-east5", "credentials_file": str(path)}
                for name, path in (vertex_credentials or {}).items()
            },
            "ledger": {"flush_interval": 0.05},
            "admin_key": "${TEST_ADMIN_KEY}",  # also what seals the Responses door's reasoning
            "routing": ONE_CALL,
        }
    if logging is not None:
        config["logging"] = dict(logging)
    config["listings"] = {"enabled": False}  # tests count upstream calls: no background reads of model lists
    return yaml.dump(config, Dumper=_Dumper, sort_keys=False)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # a block used twice is written twice, never as an anchor and alias


def _anthropic(url: str) -> dict[str, dict[str, Any]]:
    return {
        "anthropic": {"base_url": url, "api_key": UPSTREAM_KEY_REF},
        # nothing listens there: connection refused
        "deadend": {"type": "anthropic", "base_url": f"http://127.0.0.1:{free_port()}", "api_key": "unused"},
        # the fake upstream, with a short read timeout
        "slowpoke": {
            "type": "anthropic",
            "base_url": url,
            "api_key": UPSTREAM_KEY_REF,
            "timeouts": {"connect": 2, "read": 0.5},
        },
        # an upstream behind a path prefix, as corporate proxies are
        "proxied": {"type": "anthropic", "base_url": f"{url}/corp/anthropic/", "api_key": UPSTREAM_KEY_REF},
    }


def _openai_family(url: str) -> dict[str, dict[str, Any]]:
    """Each OpenAI-compatible kind at its own path (ollama keyless, as usually run), and Azure."""
    family: dict[str, dict[str, Any]] = {
        kind: {"base_url": f"{url}/{kind}/v1"} | ({} if kind == "ollama" else {"api_key": UPSTREAM_KEY_REF})
        for kind in OPENAI_KINDS
    }
    family["azure"] = {"base_url": f"{url}/azure", "api_key": UPSTREAM_KEY_REF, "api_version": "2024-10-21"}
    return family


def _bedrock(url: str) -> dict[str, dict[str, Any]]:
    """Bedrock signing with the AWS_ENV credentials, and Bedrock with an API key."""
    return {
        "bedrock": {"base_url": f"{url}/bedrock", "region": "us-east-1"},
        "bedrock_key": {
            "type": "bedrock",
            "base_url": f"{url}/bedrock-key",
            "region": "eu-central-1",
            "api_key": "${TEST_BEDROCK_TOKEN}",
        },
    }


def _routing(url: str, breaker_failures: int) -> dict[str, Any]:
    sonnet = {"primary": "claude-sonnet-4-0", "secondary": "claude-sonnet-4-0"}
    price = {"input": 3, "output": 15, "cache_write_5m": 3.75, "cache_write_1h": 6, "cache_read": 0.3}
    cheaper = {"input": 1, "output": 5, "cache_write_5m": 1.25, "cache_write_1h": 2, "cache_read": 0.1}
    return {
        "providers": {
            "primary": {
                "type": "anthropic",
                "base_url": f"{url}/primary",
                "api_key": UPSTREAM_KEY_REF,
                "timeouts": {"first_byte": 1.0, "read": 2.0},
            },
            "secondary": {"type": "anthropic", "base_url": f"{url}/secondary", "api_key": UPSTREAM_KEY_REF},
            "oai": {"type": "openai", "base_url": f"{url}/oai/v1", "api_keys": [{"key": k} for k in OAI_KEYS]},
            "dead": {"type": "anthropic", "base_url": f"http://127.0.0.1:{free_port()}", "api_key": "unused"},
        },
        "catalog": [
            {"id": "test/sonnet", "providers": sonnet},
            {"id": "test/gpt", "providers": {"oai": "gpt-4o"}},
            {"id": "test/everywhere", "providers": {"dead": "claude-sonnet-4-0", **sonnet}},
            {"id": "test/sonnet-secondary-first", "providers": sonnet},
        ],
        "prices": [  # test values: secondary is the cheaper way to serve test/sonnet
            {"model": "test/sonnet", "provider": "primary", **price},
            {"model": "test/sonnet", "provider": "secondary", **cheaper},
        ],
        "routing": {
            "models": {"test/sonnet-secondary-first": {"order": ["secondary"]}},
            "keys": {"prefers-secondary": {"order": ["secondary"]}},
            "backoff_base": 0.01,
            "backoff_max": 0.05,
            "breaker": {"failures": breaker_failures, "cooldown": 1.0},
        },
        "ledger": {"flush_interval": 0.05},
    }
