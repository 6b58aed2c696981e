"""Processes of a benchmark run: the fake upstream, the gateway (one or N workers), its config.

The gateway gets every feature of the request path switched on: a key with RPM and TPM limits
and a budget (all set far above what a run uses, so they are checked but never trip), the
embedded SQLite store, the ledger with its spool, and JSON logs at the default level. Extra
providers point at the fake upstream's paced, slow, failing and OpenAI-shaped paths (see
fake_upstream.py); retries are off and the breaker never opens, so every failover request first
meets the failing provider.

CPU pinning: when `taskset` exists and there are 2+ CPUs, the gateway runs on CPU 0 alone and the
fake upstream and the load generator share CPU 1 (gateway with several workers: both CPUs).

The gateway runs from `src` (default: this checkout's src/) on PYTHONPATH, whatever the venv has
installed, so `run.py --compare REF` can run a second checkout beside it; two Bench objects may
share one fake upstream (`upstream=`).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SRC = BENCH.parent / "src"
PINNED = bool(shutil.which("taskset")) and (os.cpu_count() or 1) >= 2
MODEL = "claude-sonnet-4-5"
CONFIG = """\
server:
  max_body_bytes: 33554432
providers:
  anthropic: {{base_url: "{up}", api_key: anything}}
  paced: {{type: anthropic, base_url: "{up}/paced", api_key: anything}}
  slow: {{type: anthropic, base_url: "{up}/slow", api_key: anything}}
  broken: {{type: anthropic, base_url: "{up}/fail", api_key: anything}}
{translated}routing:
  retries: 0
  breaker: {{failures: 1000000000, cooldown: 1}}
  models:
    "broken/{model}": {{models: ["anthropic/{model}"]}}
ledger:
  spool: true
logging:
  level: {log_level}
prices:
{prices}
"""
# OpenAI-shaped upstreams: with one configured, start-up also builds the tokenizers (in a thread).
TRANSLATED = """\
  oai: {{type: openai_compatible, base_url: "{up}/openai", api_key: anything}}
  oaipaced: {{type: openai_compatible, base_url: "{up}/paced/openai", api_key: anything}}
"""
# Every provider kind, for the idle-RSS measurement: none is called, all are built.
_EVERY_KIND = """\
providers:
{providers}listings: {{enabled: false}}
ledger: {{spool: true}}
logging: {{level: {log_level}}}
"""
_KIND_FIELDS = {
    "anthropic": "api_key: k",
    **dict.fromkeys(
        ("openai", "deepseek", "groq", "xai", "mistral", "together", "fireworks", "cerebras", "openrouter", "gemini"),
        "api_key: k",
    ),
    **dict.fromkeys(("ollama", "vllm", "lmstudio", "openai_compatible"), ""),
    "azure": "api_key: k, api_version: '2024-10-21'",
    "vertex": "project: p, location: us-east5, credentials_file: /nonexistent.json",
    "bedrock": "region: us-east-1",  # SigV4 by the AWS credential chain
}
_PRICE = (
    "  - {{model: {model}, provider: {provider}, input: 3, output: 15, cache_write_5m: 3.75,"
    " cache_write_1h: 6, cache_read: 0.3}}"
)
PRICED = [("anthropic/claude-sonnet-4.5", p) for p in ("paced", "slow", "broken")] + [
    ("oai/gpt-4o", "oai"),
    ("oaipaced/gpt-4o", "oaipaced"),
]


def every_kind_config(up: str, log_level: str) -> str:
    lines = "".join(f"  {k}: {{base_url: '{up}', {f}}}\n".replace(", }", "}") for k, f in _KIND_FIELDS.items())
    return _EVERY_KIND.format(providers=lines, log_level=log_level)


def peer_python(name: str, requirements: list[str]) -> Path:
    """The interpreter of a venv of its own under bench/.peers/<name> (git-ignored) holding exactly
    `requirements` (pinned): created on first use, installed again when the list changes."""
    venv = BENCH / ".peers" / name
    python, stamp = venv / "bin" / "python", venv / "requirements.txt"
    wanted = "\n".join(requirements) + "\n"
    if not python.exists():
        subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(venv)], check=True)
    if not stamp.exists() or stamp.read_text() != wanted:
        stamp.write_text(wanted)
        try:
            subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(stamp)], check=True)
        except subprocess.CalledProcessError:
            stamp.unlink()
            raise
    return python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def on_cpu(cpus: str, argv: list[str]) -> list[str]:
    return ["taskset", "-c", cpus, *argv] if PINNED else argv


def health_ok(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_until(check, what: str, proc: subprocess.Popen, log: Path, timeout: float = 30.0, step: float = 0.1) -> float:  # type: ignore[no-untyped-def,type-arg]
    """Seconds until check() held; exits with the process's log if it never does."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            break
        if check():
            return time.monotonic() - t0
        time.sleep(step)
    raise SystemExit(f"{what} did not come up; its log:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen, sig: int = signal.SIGINT) -> None:  # type: ignore[type-arg]
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Bench:
    """Owns the work directory, the fake upstream, the gateway key and the gateway process."""

    def __init__(
        self,
        work: Path,
        events: int,
        ttfb_ms: float,
        gap_ms: float,
        log_level: str,
        translation: bool = True,
        *,
        src: Path = SRC,
        upstream: Bench | None = None,
        config: str | None = None,
    ):
        self.work = work
        self.src = src
        self.shared_up = upstream
        self.up_port = upstream.up_port if upstream else free_port()
        self.gw_port = free_port()
        self.up_url = f"http://127.0.0.1:{self.up_port}"
        self.gw_url = f"http://127.0.0.1:{self.gw_port}"
        priced = PRICED if translation else PRICED[:3]
        prices = "\n".join(_PRICE.format(model=m, provider=p) for m, p in priced)
        translated = TRANSLATED.format(up=self.up_url) if translation else ""
        if config is None:
            config = CONFIG.format(
                up=self.up_url, model=MODEL, log_level=log_level, prices=prices, translated=translated
            )
        (work / "config.yaml").write_text(config)
        self.common = ["--config", str(work / "config.yaml"), "--data-dir", str(work / "data")]
        self.events, self.ttfb_ms, self.gap_ms = events, ttfb_ms, gap_ms
        self.up: subprocess.Popen | None = upstream.up if upstream else None  # type: ignore[type-arg]
        self.gw: subprocess.Popen | None = None  # type: ignore[type-arg]
        self.key = ""

    @property
    def env(self) -> dict[str, str]:
        """The environment of the gateway and its CLI: `src` first on the path."""
        return {**os.environ, "PYTHONPATH": str(self.src)}

    def start_upstream(self) -> None:
        log = self.work / "upstream.log"
        argv = [sys.executable, str(BENCH / "fake_upstream.py"), "--port", str(self.up_port)]
        argv += ["--events", str(self.events), "--ttfb-ms", str(self.ttfb_ms), "--gap-ms", str(self.gap_ms)]
        self.up = subprocess.Popen(on_cpu("1", argv), stdout=log.open("w"), stderr=subprocess.STDOUT)
        wait_until(lambda: accepts(self.up_port), "fake upstream", self.up, log)

    def create_key(self) -> None:
        """A key with every policy on, limits far above any run (checked on every request, never hit)."""
        limits = ["--rpm", "100000000", "--tpm", "1000000000", "--budget", "1000000", "--budget-period", "month"]
        argv = [sys.executable, "-m", "aigateway", "keys", "create", "--name", "bench", *limits, *self.common]
        made = subprocess.run(argv, capture_output=True, text=True, check=True, env=self.env)
        self.key = made.stdout.strip().splitlines()[-1]

    def start_gateway(self, workers: int = 1) -> float:
        """Starts `aigateway serve`; returns seconds from launch to a healthy /health."""
        log = self.work / "gateway.log"
        argv = [sys.executable, "-m", "aigateway", "serve", *self.common, "--port", str(self.gw_port)]
        if workers > 1:
            argv += ["--workers", str(workers)]
        cpus = "0" if workers == 1 else "0-1"
        t0 = time.monotonic()
        self.gw = subprocess.Popen(on_cpu(cpus, argv), stdout=log.open("a"), stderr=subprocess.STDOUT, env=self.env)
        wait_until(lambda: health_ok(self.gw_port), "gateway", self.gw, log, step=0.005)
        took = time.monotonic() - t0
        if workers > 1:  # every worker up: a few dozen connections all answered
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(_tree(self.gw.pid)) < workers + 1:
                time.sleep(0.05)
            time.sleep(1.0)
        return took

    def stop_gateway(self) -> None:
        if self.gw is not None:
            stop(self.gw, signal.SIGINT)  # SIGINT: uvicorn's graceful shutdown flushes the ledger
            self.gw = None

    def close(self) -> None:
        self.stop_gateway()
        if self.up is not None and self.shared_up is None:
            stop(self.up, signal.SIGTERM)
            self.up = None


def _tree(pid: int) -> list[int]:
    sys.path.insert(0, str(BENCH))
    from load import process_tree

    return process_tree(pid)
