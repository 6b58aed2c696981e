"""One command: passthrough overhead of the gateway over a fake Anthropic upstream.

Starts bench/fake_upstream.py and `aigateway serve` as subprocesses (gateway pinned to CPU 0,
upstream and this load generator to CPU 1 when taskset and 2+ CPUs exist, so they do not steal
each other's core), creates a key, runs non-streaming and streaming at each concurrency, each
`--repeats` times alternating direct/gateway, prints medians as a markdown table, writes
bench/results/<timestamp>.json and shuts everything down.

Usage: .venv/bin/python bench/run.py [--repeats 5] [--requests 4000] [--concurrency 1 32]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import METRICS, compare, overhead

BENCH = Path(__file__).resolve().parent
PINNED = bool(shutil.which("taskset")) and (os.cpu_count() or 1) >= 2
G1_LIMIT_MS = 1.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def on_cpu(cpu: int, argv: list[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *argv] if PINNED else argv


def wait_until(check, what: str, proc: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{what} did not come up; its log:\n{log.read_text()[-3000:]}")


def health_ok(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
        return r.status == 200


def accepts(port: int) -> bool:
    socket.create_connection(("127.0.0.1", port), timeout=1).close()
    return True


def stop(proc: subprocess.Popen, sig: int) -> None:  # type: ignore[type-arg]
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def median_of(runs: list[dict], target: str) -> dict[str, float | None]:  # type: ignore[type-arg]
    out = {}
    for m in (*METRICS, "server_cpu_us", "errors"):
        vals = [r[target][m] for r in runs if r[target][m] is not None]
        out[m] = round(statistics.median(vals), 3) if vals else None
    return out


def fmt(v: float | None, signed: bool = False, digits: int = 3) -> str:
    if v is None:
        return "-"
    return f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"


def table(scenarios: list[dict]) -> str:  # type: ignore[type-arg]
    lines = [
        "| scenario | c | target | p50 ms | p99 ms | req/s | TTFT p50 ms | TTFT p99 ms | server CPU µs/req |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in scenarios:
        for target in ("direct", "gateway", "overhead"):
            m = s["median"][target]
            sg = target == "overhead"
            label = "**added by gateway**" if sg else target
            lines.append(
                f"| {s['name']} | {s['concurrency']} | {label} | {fmt(m['p50_ms'], sg)} "
                f"| {fmt(m['p99_ms'], sg)} | {fmt(m['rps'], sg, 0)} | {fmt(m['ttft_p50_ms'], sg)} "
                f"| {fmt(m['ttft_p99_ms'], sg)} | {fmt(m.get('server_cpu_us'), digits=0)} |"
            )
    return "\n".join(lines)


def run_scenarios(args: argparse.Namespace, up_port: int, gw_port: int, key: str, pids: dict[str, int]) -> list[dict]:  # type: ignore[type-arg]
    scenarios = []
    for stream in (False, True):
        for c in args.concurrency:
            name = "streaming" if stream else "non-streaming"
            runs = []
            for i in range(args.repeats):
                r = uvloop.run(
                    compare(
                        f"http://127.0.0.1:{up_port}",
                        f"http://127.0.0.1:{gw_port}",
                        key,
                        stream=stream,
                        concurrency=c,
                        requests=args.requests,
                        warmup=args.warmup,
                        pids=pids,
                    )
                )
                runs.append(r)
                print(
                    f"  {name} c={c} run {i + 1}/{args.repeats}: direct p50 {r['direct']['p50_ms']} ms, "
                    f"gateway p50 {r['gateway']['p50_ms']} ms, errors {r['direct']['errors']}/"
                    f"{r['gateway']['errors']}",
                    flush=True,
                )
            med = {t: median_of(runs, t) for t in ("direct", "gateway")}
            med["overhead"] = overhead(med["direct"], med["gateway"])
            scenarios.append({"name": name, "stream": stream, "concurrency": c, "median": med, "runs": runs})
    return scenarios


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=5, help="runs per scenario; medians are reported")
    p.add_argument("--requests", type=int, default=4000, help="measured requests per run and target")
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    p.add_argument("--events", type=int, default=50, help="stream events between message_start and message_stop")
    p.add_argument("--ttfb-ms", type=float, default=0.0, help="upstream delay before a stream's first byte")
    p.add_argument("--gap-ms", type=float, default=0.0, help="upstream delay between stream events")
    p.add_argument("--log-level", default="info", help="gateway log level (the default, info, writes one line per request)")
    args = p.parse_args()

    if PINNED:
        os.sched_setaffinity(0, {1})  # the load generator shares CPU 1 with the upstream
    work = Path(tempfile.mkdtemp(prefix="aigw-bench-"))
    up_port, gw_port = free_port(), free_port()
    cfg = work / "config.yaml"
    cfg.write_text(
        f"providers:\n  anthropic:\n    base_url: http://127.0.0.1:{up_port}\n    api_key: anything\n"
        f"logging:\n  level: {args.log_level}\n"
    )
    common = ["--config", str(cfg), "--data-dir", str(work / "data")]
    up_log, gw_log = work / "upstream.log", work / "gateway.log"
    procs: list[tuple[subprocess.Popen, int]] = []  # type: ignore[type-arg]
    try:
        up = subprocess.Popen(
            on_cpu(
                1,
                [
                    sys.executable,
                    str(BENCH / "fake_upstream.py"),
                    "--port",
                    str(up_port),
                    "--events",
                    str(args.events),
                    "--ttfb-ms",
                    str(args.ttfb_ms),
                    "--gap-ms",
                    str(args.gap_ms),
                ],
            ),
            stdout=up_log.open("w"),
            stderr=subprocess.STDOUT,
        )
        procs.append((up, signal.SIGTERM))
        wait_until(lambda: accepts(up_port), "fake upstream", up, up_log)
        made = subprocess.run(
            [sys.executable, "-m", "aigateway", "keys", "create", "--name", "bench", *common],
            capture_output=True,
            text=True,
            check=True,
        )
        key = made.stdout.strip().splitlines()[-1]
        gw = subprocess.Popen(
            on_cpu(0, [sys.executable, "-m", "aigateway", "serve", *common, "--port", str(gw_port)]),
            stdout=gw_log.open("w"),
            stderr=subprocess.STDOUT,
        )
        procs.append((gw, signal.SIGINT))  # SIGINT: uvicorn's graceful shutdown flushes the ledger
        wait_until(lambda: health_ok(gw_port), "gateway", gw, gw_log)
        print(f"pinned: {PINNED}; {args.repeats} repeats x {args.requests} requests per target", flush=True)
        started = time.time()
        scenarios = run_scenarios(args, up_port, gw_port, key, {"direct": up.pid, "gateway": gw.pid})
    finally:
        for proc, sig in reversed(procs):
            stop(proc, sig)
        shutil.rmtree(work, ignore_errors=True)

    print()
    print(table(scenarios))
    g1 = next((s for s in scenarios if not s["stream"] and s["concurrency"] == 1), None)
    if g1 is not None:
        added = g1["median"]["overhead"]["p50_ms"]
        verdict = "MET" if added is not None and added <= G1_LIMIT_MS else "NOT MET"
        print(f"\nG1 (added p50 <= {G1_LIMIT_MS} ms, non-streaming, c=1): {verdict} ({added} ms)")
    if any(s["median"][t]["errors"] for s in scenarios for t in ("direct", "gateway")):
        print("WARNING: some requests failed; see the JSON for the first error of each run")
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    out = BENCH / "results" / f"{stamp}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "date": datetime.now().isoformat(timespec="seconds"),
                "seconds": round(time.time() - started, 1),
                "machine": {"cpus": os.cpu_count(), "pinned": PINNED, "python": platform.python_version()},
                "settings": vars(args),
                "scenarios": scenarios,
            },
            indent=1,
        )
    )
    print(f"\nwrote {out.relative_to(BENCH.parent)}")


if __name__ == "__main__":
    main()
