"""`run.py --peers`: LiteLLM proxy and Portkey's gateway against the same fake upstream and load.

Each peer is installed on first use under bench/.peers/ (git-ignored): LiteLLM proxy from PyPI
in a venv of its own (`litellm[proxy]`, pinned below), Portkey's gateway from npm
(`@portkey-ai/gateway`, pinned below, run with node). Each runs pinned to CPU 0 like our gateway,
one process, with its defaults otherwise and no database (LiteLLM without a database keeps no
keys, budgets or spend logs; Portkey's open-source gateway has none): they do less per request
than our gateway, which runs with every feature on.

Both are sent Anthropic Messages at /v1/messages: LiteLLM routes model `claude-sonnet-4-5` to
`anthropic/claude-sonnet-4-5` at the fake upstream's base URL; Portkey gets the provider and the
upstream in its `x-portkey-provider` / `x-portkey-custom-host` headers. Non-streaming at c=1 and
c=32 and unpaced streams at c=32, each against direct in the same run.

LiteLLM is started with LITELLM_LOCAL_MODEL_COST_MAP=True and telemetry off, so it does not try
to download its model price map at start-up (there is no network beyond the loopback here), and
with a random master key (it refuses to start without one), sent by the load as its API key.

Portkey 1.15.2 on Node 20 answers every Anthropic stream at /v1/messages with a 500 ("TypeError:
immutable" in its response-header update, Portkey-AI/gateway issues 1389 and 1550, open when
this was written; pinning @hono/node-server to 1.14.2, the workaround given in 1389, does not help
this path): its streaming rows show those errors instead of numbers.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from load import ANTHROPIC_HEADERS, Target, request_body
from procs import BENCH, MODEL, Bench, accepts, free_port, on_cpu, stop, wait_until
from scenarios import Spec, run_spec

PEERS = BENCH / ".peers"
LITELLM = "litellm[proxy]==1.106.12"  # 1.110's proxy extra needs `litellm-proxy`, not installable then
PORTKEY = "@portkey-ai/gateway@1.15.2"


def install_litellm() -> Path:
    venv = PEERS / "litellm-venv"
    exe = venv / "bin" / "litellm"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", LITELLM], check=True)
    return exe


def install_portkey() -> Path:
    root = PEERS / "portkey"
    js = root / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"
    if not js.exists():
        if not shutil.which("npm"):
            raise RuntimeError("npm is not installed")
        root.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--no-package-lock", PORTKEY],
            cwd=root,
            check=True,
        )
    return js


class _Peer:
    """Just what run_spec needs of a Bench: the upstream's pid and the 'gateway' (the peer) pid."""

    def __init__(self, up: subprocess.Popen, proc: subprocess.Popen):  # type: ignore[type-arg]
        self.up, self.gw = up, proc


def _specs(b: Bench, url: str, headers: dict[str, str], model: str, scale: float) -> list[Spec]:
    hd = {**ANTHROPIC_HEADERS, "x-api-key": "anything"}
    out = []
    for c, n, stream in ((1, 500, False), (32, 2000, False), (32, 1000, True)):
        d = Target(b.up_url + "/v1/messages", hd, request_body(MODEL, stream), stream)
        g = Target(url + "/v1/messages", headers, request_body(model, stream), stream)
        label = "stream 50 ev, unpaced" if stream else "non-streaming 1 KB"
        out.append(Spec("peer", label, c, max(int(n * scale), 2 * c, 20), d, g))
    return out


def _measure(
    name: str, b: Bench, argv: list[str], env: dict[str, str], port: int, headers: dict[str, str], model: str, args: Any
) -> list[dict[str, Any]]:
    log = b.work / f"{name}.log"
    proc = subprocess.Popen(
        on_cpu("0", argv), stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    rows = []
    try:
        wait_until(lambda: accepts(port), name, proc, log, timeout=120)
        for spec in _specs(b, f"http://127.0.0.1:{port}", headers, model, args.scale):
            r = run_spec(spec, _Peer(b.up, proc), args.repeats)  # type: ignore[arg-type]
            r["name"] = f"{name}: {r['name']}"
            rows.append(r)
    finally:
        stop(proc, signal.SIGTERM)
    return rows


def run(b: Bench, args: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    port = free_port()
    try:
        exe = install_litellm()
        cfg = b.work / "litellm.yaml"
        cfg.write_text(
            "model_list:\n"
            f"  - model_name: {MODEL}\n"
            f"    litellm_params: {{model: anthropic/{MODEL}, api_base: '{b.up_url}', api_key: anything}}\n"
        )
        master = "sk-" + secrets.token_hex(32)
        env = {
            **os.environ,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_TELEMETRY": "False",
            "LITELLM_MASTER_KEY": master,
        }
        argv = [str(exe), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
        hdr = {**ANTHROPIC_HEADERS, "x-api-key": master, "authorization": "Bearer " + master}
        rows += _measure("LiteLLM", b, argv, env, port, hdr, MODEL, args)
    except (RuntimeError, subprocess.CalledProcessError, SystemExit) as exc:
        print(f"LiteLLM could not run: {exc}", flush=True)
    port = free_port()
    try:
        js = install_portkey()
        hdr = {
            **ANTHROPIC_HEADERS,
            "x-api-key": "anything",
            "x-portkey-provider": "anthropic",
            "x-portkey-custom-host": b.up_url + "/v1",
        }
        env = {**os.environ, "NODE_ENV": "production"}
        argv = ["node", str(js), f"--port={port}", "--headless"]
        rows += _measure("Portkey", b, argv, env, port, hdr, MODEL, args)
    except (RuntimeError, subprocess.CalledProcessError, SystemExit) as exc:
        print(f"Portkey could not run: {exc}", flush=True)
    return rows
