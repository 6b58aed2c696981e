"""Where the gateway's CPU goes per request: py-spy samples of the gateway process under load.

Starts the fake upstream and the gateway exactly as run.py does (every feature on, gateway pinned
to CPU 0), drives one scenario through the gateway for `--seconds` while py-spy (installed in a
venv of its own under bench/.peers, which is git-ignored) samples the gateway, then prints the
functions with the most samples, self and inclusive, converted to µs of CPU per request with the
gateway's measured CPU per request (/proc). The folded stacks are kept for flame graphs.

Usage: .venv/bin/python bench/hotpath.py [--scenario nonstream|stream|paced|translation|failover]
       [--concurrency 32] [--seconds 20] [--top 30]
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import uvloop
from load import ANTHROPIC_HEADERS, Target, request_body, run_load
from procs import BENCH, PINNED, Bench

TOOLS = BENCH / ".peers" / "tools"
_FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>.*?)(?::\d+)?\)$")


def py_spy() -> Path:
    exe = TOOLS / "bin" / "py-spy"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS)], check=True)
        subprocess.run([str(TOOLS / "bin" / "pip"), "install", "-q", "py-spy==0.4.3"], check=True)
    return exe


def short(frame: str) -> str:
    m = _FRAME.match(frame)
    if not m:
        return frame
    path = m["file"]
    for marker in ("/site-packages/", "/src/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{m['fn']} ({path})"


# Leaf frames that are a thread waiting, which py-spy can report as active (not CPU time).
IDLE = ("_connection_worker_thread (aiosqlite/core.py:59)", "Condition.wait (threading.py")
# (component, substring of the leaf frame's file or function), first match wins
COMPONENTS = [
    ("ledger DB writes (aiosqlite thread: sqlite3 executemany + commit)", "aiosqlite/"),
    ("ledger DB writes (aiosqlite thread: sqlite3 executemany + commit)", "sqlalchemy/"),
    ("ledger spool append (one write(2) per row)", "policy/spool.py"),
    ("ledger record/flush (in the loop)", "policy/ledger.py"),
    ("admission: limits, budget window, rate-limit headers", "policy/admission.py"),
    ("admission: counters", "policy/counters.py"),
    ("JSON request log line", "logging"),
    ("uvicorn HTTP server (httptools protocol, ASGI send/receive)", "uvicorn/"),
    ("upstream HTTP client (providers/http.py, httptools)", "providers/http.py"),
    ("aiohttp upstream client (before G12)", "aiohttp/"),
    ("aigateway ASGI glue (asgi.py, app.py)", "aigateway/asgi.py"),
    ("aigateway ASGI glue (asgi.py, app.py)", "aigateway/app.py"),
    ("aigateway routes, upstream call, relay", "frontends/"),
    ("aigateway routing (plan, fallback, health)", "routing/"),
    ("aigateway translation (openai stream, blocks, ir)", "providers/openai"),
    ("aigateway translation (openai stream, blocks, ir)", "providers/blocks.py"),
    ("aigateway translation (openai stream, blocks, ir)", "aigateway/ir/"),
    ("aigateway SSE reader/writer", "wire/"),
    ("aigateway other", "aigateway/"),
    ("event loop: uvloop (C: epoll, sockets) and asyncio tasks", "asyncio/"),
    ("event loop: uvloop (C: epoll, sockets) and asyncio tasks", "uvloop"),
]


def component(leaf: str) -> str:
    if leaf.startswith("Runner.run "):
        return COMPONENTS[-1][0]  # uvloop's C code shows as its Python caller
    return next((name for name, needle in COMPONENTS if needle in leaf), "other (stdlib, msgspec, ...)")


def summarise(folded: Path, us_per_req: float, top: int) -> str:
    self_c: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    comp: collections.Counter[str] = collections.Counter()
    total = 0
    for line in folded.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack:
            continue
        count = int(n)
        raw = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not raw or any(raw[-1].startswith(i) for i in IDLE):
            continue
        frames = [short(f) for f in raw]
        total += count
        self_c[frames[-1]] += count
        comp[component(raw[-1])] += count
        for f in set(frames):
            incl[f] += count
    out = [f"{total} samples (idle waits left out); gateway CPU {us_per_req:.0f} µs per request", ""]
    for title, counter in (("component (self time of the leaf frame)", comp), ("self", self_c), ("inclusive", incl)):
        out += [f"| {title} | % | µs/req |", "|---|---|---|"]
        for name, c in counter.most_common(top):
            out.append(f"| {name} | {100 * c / total:.1f} | {us_per_req * c / total:.1f} |")
        out.append("")
    return "\n".join(out)


def target(b: Bench, scenario: str) -> Target:
    hg = {**ANTHROPIC_HEADERS, "x-api-key": b.key}
    url = b.gw_url + "/v1/messages"
    if scenario == "nonstream":
        return Target(url, hg, request_body("anthropic/claude-sonnet-4-5", False))
    if scenario == "stream":
        return Target(url, hg, request_body("anthropic/claude-sonnet-4-5", True), True)
    if scenario == "failover":
        return Target(url, hg, request_body("broken/claude-sonnet-4-5", False))
    if scenario == "paced":
        return Target(url, hg, request_body("paced/claude-sonnet-4-5", True), True)
    return Target(url, hg, request_body("oai/gpt-4o", True, tools=True), True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--scenario", default="nonstream", choices=["nonstream", "stream", "paced", "translation", "failover"]
    )
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--log-level", default="info")
    p.add_argument("--out", type=Path, help="where to keep the folded stacks (default: bench/results/)")
    a = p.parse_args()
    exe = py_spy()
    if PINNED:
        os.sched_setaffinity(0, {1})
    work = Path(tempfile.mkdtemp(prefix="aigw-profile-"))
    b = Bench(work, 50, 10, 10, a.log_level)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    folded = a.out or BENCH / "results" / f"profile-{a.scenario}-c{a.concurrency}-{stamp}.folded"
    try:
        b.start_upstream()
        b.create_key()
        b.start_gateway()
        assert b.gw is not None
        t = target(b, a.scenario)
        uvloop.run(run_load(t, concurrency=a.concurrency, requests=500, warmup=200))
        argv = [
            str(exe),
            "record",
            "--pid",
            str(b.gw.pid),
            "--rate",
            str(a.rate),
            "--format",
            "raw",
            "--nonblocking",
            "--duration",
            str(int(a.seconds)),
            "--output",
            str(folded),
        ]
        spy = subprocess.Popen(
            ["taskset", "-c", "1", *argv] if PINNED else argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        time.sleep(1.0)
        result: dict[str, object] = {}
        pid = b.gw.pid
        load = run_load(t, concurrency=a.concurrency, duration=a.seconds - 2, warmup=0, server_pid=pid)
        th = threading.Thread(target=lambda: result.update(uvloop.run(load)))
        th.start()
        th.join()
        spy.wait(60)
    finally:
        b.close()
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"{a.scenario} c={a.concurrency}: {result.get('rps')} req/s, p50 {result.get('p50_ms')} ms, "
        f"load average {[round(x, 2) for x in os.getloadavg()]}"
    )
    print(summarise(folded, float(result.get("server_cpu_us") or 0), a.top))  # type: ignore[arg-type]
    print(f"folded stacks: {folded.relative_to(BENCH.parent)}")


if __name__ == "__main__":
    main()
