"""HTTP servers on the same load: uvicorn as the gateway runs it, plain uvicorn, granian (ASGI) and
granian's own RSGI interface, all serving bench/asgi_min.py.

Every server runs alone on CPU 0, one process (granian: one worker, one runtime thread, uvloop,
HTTP/1 only), and the load generator (bench/load.py, aiohttp on uvloop) on CPU 1. For each
repeat, each scenario, every server in turn gets a warm-up and then `--seconds` of load; the
figure is the server's own CPU (utime + stime from /proc, every thread and child process) per
request, medians of the repeats. Requests/s is bounded by the load generator on its single core
(about 100 µs of its CPU per request), so it is printed but is not the comparison.

- `uvicorn-gw`: uvicorn configured exactly as `aigateway serve` does (cli.py): uvloop, the
  httptools protocol with the gateway's connection guards (connections.py: header and body
  timeouts, header size and connection limits, with the server.* defaults), keep-alive 5 s,
  lifespan on, no access log, no server or date header, no proxy headers;
- `uvicorn`: the same without the guards (uvicorn's own httptools protocol): what they cost;
- `granian`: the same ASGI app under granian;
- `granian-rsgi`: granian's native interface (the app rewritten for it): what leaving ASGI would add.

Scenarios (name:concurrency): `json` the ~1 KB Messages POST answered by a ~300 B JSON body,
`sse` the same POST answered by a 12-event stream sent one event per ASGI message.

uvicorn runs on the gateway's interpreter (this one, with src/ first on the path); granian is
installed on first use in bench/.peers/http (git-ignored, pinned in client_compare.py).

Usage: .venv/bin/python bench/server_compare.py [--servers uvicorn-gw uvicorn granian granian-rsgi]
       [--scenarios json:32 json:128 sse:32 sse:128] [--repeats 5] [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from client_compare import peer_versions, requirements
from load import ANTHROPIC_HEADERS, MODEL, Target, request_body, run_load
from procs import BENCH, PINNED, accepts, free_port, on_cpu, peer_python, stop, wait_until

SERVERS = ("uvicorn-gw", "uvicorn", "granian", "granian-rsgi")


def serve_uvicorn(port: int, guarded: bool) -> None:
    """uvicorn as cli.py `_serve` configures it (with `guarded`, the gateway's protocol)."""
    sys.path.insert(0, str(BENCH.parent / "src"))
    import uvicorn
    from asgi_min import app

    from aigateway.connections import protocol_for
    from aigateway.settings import ServerConfig

    limits = ServerConfig()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http=protocol_for(limits) if guarded else "httptools",
        timeout_keep_alive=limits.keep_alive_timeout,
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        proxy_headers=False,
        date_header=False,
    )
    uvicorn.Server(config).run()


def granian_argv(python: Path, port: int, rsgi: bool) -> list[str]:
    return [
        str(python), "-m", "granian", "--interface", "rsgi" if rsgi else "asgi",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--runtime-threads", "1",
        "--loop", "uvloop", "--http", "1", "--no-ws", "--log-level", "warning", "--working-dir", str(BENCH),
        "asgi_min:rsgi_app" if rsgi else "asgi_min:app",
    ]  # fmt: skip


Runs = dict[tuple[str, str, int], list[dict[str, Any]]]


def start(names: list[str], python: Path, work: Path) -> dict[str, tuple[subprocess.Popen, int]]:  # type: ignore[type-arg]
    procs = {}
    for name in names:
        port = free_port()
        if name.startswith("uvicorn"):
            argv = [sys.executable, __file__, "--serve", name, "--port", str(port)]
        else:
            argv = granian_argv(python, port, name == "granian-rsgi")
        log = work / f"{name}.log"
        proc = subprocess.Popen(
            on_cpu("0", argv), stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
        )
        procs[name] = (proc, port)
        wait_until(lambda port=port: accepts(port), name, proc, log)  # type: ignore[misc]
    return procs


def measure(a: argparse.Namespace, scenarios: list[tuple[str, int]], procs: dict[str, Any]) -> Runs:
    import uvloop

    headers = {**ANTHROPIC_HEADERS, "x-api-key": "anything"}
    runs: Runs = {}
    for i in range(a.repeats):
        for scenario, c in scenarios:
            for name in a.servers:
                proc, port = procs[name]
                stream = scenario == "sse"
                t = Target(f"http://127.0.0.1:{port}/{scenario}", headers, request_body(MODEL, stream), stream)
                r = uvloop.run(run_load(t, concurrency=c, duration=a.seconds, warmup=4 * c, server_pid=proc.pid))
                if r["errors"]:
                    raise SystemExit(f"{name} {scenario} c={c}: {r['errors']} errors, first {r['first_error']}")
                runs.setdefault((scenario, name, c), []).append(r)
                print(
                    f"  run {i + 1} {scenario} c={c} {name}: {r['rps']:.0f} req/s,"
                    f" {r['server_cpu_us']:.0f} µs server CPU/req, p50 {r['p50_ms']} ms",
                    flush=True,
                )
    return runs


def report(runs: Runs, scenarios: list[tuple[str, int]], servers: list[str], versions: dict[str, str]) -> None:
    print("\n| scenario | c | server | req/s (median) | server CPU µs/req (median) | CPU vs uvicorn-gw |")
    print("|---|---|---|---|---|---|")
    for scenario, c in scenarios:
        ref = runs.get((scenario, "uvicorn-gw", c))
        base = statistics.median(r["server_cpu_us"] for r in ref) if ref else None
        for name in servers:
            vals = runs[(scenario, name, c)]
            rps, cpu = statistics.median(r["rps"] for r in vals), statistics.median(r["server_cpu_us"] for r in vals)
            delta = f"{(cpu / base - 1) * 100:+.0f} %" if base and name != "uvicorn-gw" else "-"
            print(f"| {scenario} | {c} | {name} {versions[name.split('-')[0]]} | {rps:.0f} | {cpu:.0f} | {delta} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--servers", nargs="+", choices=SERVERS, default=list(SERVERS))
    p.add_argument("--scenarios", nargs="+", default=["json:32", "json:128", "sse:32", "sse:128"])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seconds", type=float, default=3.0, help="measured seconds per run")
    p.add_argument("--json", type=Path, help="also write every run here")
    p.add_argument("--serve", choices=("uvicorn-gw", "uvicorn"), help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.serve:
        serve_uvicorn(a.port, a.serve == "uvicorn-gw")
        return

    import uvicorn

    scenarios = [(s.split(":")[0], int(s.split(":")[1])) for s in a.scenarios]
    python = peer_python("http", requirements())
    if PINNED:
        os.sched_setaffinity(0, {1})
    work = Path(tempfile.mkdtemp(prefix="server-compare-"))
    load0 = os.getloadavg()
    procs = {}
    try:
        procs = start(a.servers, python, work)
        runs = measure(a, scenarios, procs)
    finally:
        for proc, _ in procs.values():
            stop(proc, signal.SIGINT)
    load1 = os.getloadavg()
    versions = {"uvicorn": uvicorn.__version__, **peer_versions(python, ["granian"])}
    print(f"\nload average {load0[0]:.1f} at the start, {load1[0]:.1f} at the end; {a.repeats} runs of {a.seconds:g} s")
    report(runs, scenarios, a.servers, versions)
    if a.json:
        rows = [{"scenario": s, "server": n, "concurrency": c, "runs": v} for (s, n, c), v in runs.items()]
        a.json.write_text(json.dumps({"load": [load0, load1], "versions": versions, "rows": rows}))


if __name__ == "__main__":
    main()
