"""What a gateway loads is what its configuration needs: provider SDKs and the tokenizers are
imported only when a provider uses them (they cost start-up time and tens of MiB each)."""

from __future__ import annotations

import subprocess
import sys

SDKS = ("botocore", "google.auth", "tiktoken")  # never loaded at all by such a gateway

CHECK = f"""
import asyncio, sys, tempfile
from pathlib import Path
from aigateway.app import start_gateway
from aigateway.config import load_settings
data = Path(tempfile.mkdtemp())
(data / "config.yaml").write_text("providers:\\n  anthropic:\\n    base_url: http://127.0.0.1:9\\n    api_key: k\\n")
async def main():
    from aigateway.store.sql import open_store
    await (await open_store(f"sqlite+aiosqlite:///{{data / 'first.db'}}")).dispose()  # migrate once
    settings = load_settings(data / "config.yaml", data)
    Path(data / "aigateway.db").write_bytes((data / "first.db").read_bytes())
    before = set(sys.modules)
    gw = await start_gateway(settings)
    await asyncio.sleep(0.2)
    await gw.aclose()
    return before
before = asyncio.run(main())
loaded = lambda m, mods: any(k == m or k.startswith(m + ".") for k in mods)
found = [m for m in {SDKS!r} if loaded(m, sys.modules)]
found += ["alembic"] if loaded("alembic", set(sys.modules) - before) else []  # a store at head: no migration
print(",".join(found))
"""


def test_an_anthropic_only_gateway_loads_no_other_sdk():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
