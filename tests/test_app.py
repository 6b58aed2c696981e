"""What a gateway loads is what its configuration needs: provider SDKs, the tokenizers and the
other dialect's SQL are imported only when a request uses them (they cost start-up time and
MiBs each)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from aigateway.providers.registry import DESCRIPTORS

# Never loaded by starting a gateway with a SQLite store at head, whatever its providers.
LAZY = (
    "google.auth",  # Vertex: on its first request
    "botocore.session",  # Bedrock SigV4: the credential chain on its first signed request
    "botocore.auth",
    "tiktoken",  # the first count a translated request needs
    "cryptography",  # the Responses door's reasoning seal and the response cache's key, on first use
    "sqlalchemy.dialects.postgresql",
    "opentelemetry",  # only with OTEL_EXPORTER_OTLP_ENDPOINT set
    "aiohttp",  # not at all: upstreams are called with providers/http.py (a test dependency only)
)
ANTHROPIC_ONLY = "providers:\n  anthropic: {base_url: 'http://127.0.0.1:9', api_key: k}\n"
_URL = "base_url: 'http://127.0.0.1:9'"
KEYED = ("anthropic", "openai", "deepseek", "groq", "xai", "mistral", "together", "fireworks", "cerebras")
KEYED += ("openrouter", "gemini")
LOCAL = ("ollama", "vllm", "lmstudio", "openai_compatible")
OWN_FIELDS = {
    "azure": "api_key: k, api_version: '2024-10-21'",
    "vertex": "project: p, location: us-east5, credentials_file: /nonexistent.json",
    "bedrock": "region: us-east-1",  # no API key: SigV4 by the AWS credential chain
}
EVERY_KIND = (
    "providers:\n"
    + "".join(f"  {kind}: {{{_URL}, api_key: k}}\n" for kind in KEYED)
    + "".join(f"  {kind}: {{{_URL}}}\n" for kind in LOCAL)
    + "".join(f"  {kind}: {{{_URL}, {fields}}}\n" for kind, fields in OWN_FIELDS.items())
    + "listings: {enabled: false}\n"
)

MIGRATE = """
import asyncio, sys
from aigateway.store.sql import open_store
async def main():
    await (await open_store(f"sqlite+aiosqlite:///{sys.argv[1]}")).dispose()
asyncio.run(main())
"""
CHECK = """
import asyncio, os, subprocess, sys, tempfile
from pathlib import Path
from aigateway.app import start_gateway
from aigateway.config import load_settings
os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
os.environ.pop("AWS_BEARER_TOKEN_BEDROCK", None)
data = Path(tempfile.mkdtemp())
(data / "config.yaml").write_text(sys.argv[1])
subprocess.run([sys.executable, "-c", sys.argv[3], str(data / "aigateway.db")], check=True)  # a store at head
async def main():
    settings = load_settings(data / "config.yaml", data)
    gw = await start_gateway(settings)
    await asyncio.sleep(0.2)
    await gw.aclose()
asyncio.run(main())
loaded = lambda m: any(k == m or k.startswith(m + ".") for k in sys.modules)
print(",".join(m for m in [*sys.argv[2].split(","), "alembic"] if loaded(m)))  # at head: no migration
"""


@pytest.mark.parametrize("config", [ANTHROPIC_ONLY, EVERY_KIND], ids=["anthropic-only", "every-provider-kind"])
def test_starting_a_gateway_loads_no_sdk_tokenizer_or_other_dialect(config: str) -> None:
    assert {*KEYED, *LOCAL, *OWN_FIELDS} == set(DESCRIPTORS)  # every kind the build knows
    argv = [sys.executable, "-c", CHECK, config, ",".join(LAZY), MIGRATE]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
