"""One command: what the gateway adds to each request, measured like the public gateway benchmarks.

Starts the fake upstream (bench/fake_upstream.py) and `aigateway serve` with every feature on
(bench/procs.py), runs the scenarios (bench/scenarios.py), each compared with the same load sent
straight to the fake upstream in the same run, prints medians as markdown tables, writes
bench/results/<timestamp>.json and stops everything. Targets are checked and printed (report.py).

With `--compare REF` a second gateway runs from a checkout of git ref REF (a `git worktree` in a
temporary directory, its own src/ on PYTHONPATH) beside this checkout's, on the same upstream and
CPU: every comparison scenario is run direct, through this checkout and through REF in each
round, and both are printed side by side with their ratios (report.py), so a speed-up is a ratio
measured in one run.

Usage: .venv/bin/python bench/run.py [--quick] [--only nonstream stream ...] [--repeats 3]
       [--memory-requests 200000] [--peers] [--compare main]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report
import scenarios as sc
from load import rss_mib
from procs import BENCH, PINNED, SRC, Bench, every_kind_config

COMPARE = ("nonstream", "stream", "paced", "translation", "tpaced", "size", "failover")
OTHER = ("hol", "invalid", "memory", "startup", "workers")
ALL = COMPARE + OTHER


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", nargs="+", choices=ALL, help="scenario groups to run (default: all)")
    p.add_argument("--quick", action="store_true", help="a quarter of the requests, 3 repeats, 20k for memory")
    p.add_argument("--repeats", type=int, default=3, help="runs per scenario; medians are reported")
    p.add_argument("--scale", type=float, default=1.0, help="multiplies every scenario's request count")
    p.add_argument("--memory-requests", type=int, default=200_000, help="requests of the memory scenario")
    p.add_argument("--events", type=int, default=50, help="stream events between message_start and message_stop")
    p.add_argument("--ttfb-ms", type=float, default=10.0, help="paced streams: delay before the first byte")
    p.add_argument("--gap-ms", type=float, default=10.0, help="paced streams: delay between events")
    p.add_argument("--log-level", default="info", help="gateway log level (default info: one JSON line per request)")
    p.add_argument("--peers", action="store_true", help="also run LiteLLM proxy and Portkey's gateway (peers.py)")
    p.add_argument("--compare", metavar="REF", help="also run every comparison scenario on a checkout of git ref REF")
    args = p.parse_args()
    if args.quick:
        args.scale, args.repeats = min(args.scale, 0.25), min(args.repeats, 3)
        args.memory_requests = min(args.memory_requests, 20_000)
    return args


def main() -> None:
    args = _args()
    if PINNED:
        os.sched_setaffinity(0, {1})  # the load generator shares CPU 1 with the upstream
    work = Path(tempfile.mkdtemp(prefix="aigw-bench-"))
    b = Bench(work, args.events, args.ttfb_ms, args.gap_ms, args.log_level)
    checkout = make_checkout(args.compare) if args.compare else None
    ref: Bench | None = None
    out: dict[str, Any] = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "pinned": PINNED,
            "python": platform.python_version(),
            "loadavg_start": loadavg(),
        },
        "settings": vars(args),
    }
    started = time.time()
    try:
        b.start_upstream()
        b.create_key()
        first_start = b.start_gateway()
        assert b.gw is not None
        if checkout is not None:
            ref = reference(args, checkout, b, work)
            out["compare"] = {"ref": args.compare, "commit": ref_commit(args.compare)}
        time.sleep(3.0)  # background start-up work done
        out["startup"] = {"first_start_s": round(first_start, 3)}
        out["memory"] = {"idle_mib": rss_mib(b.gw.pid)}
        if ref is not None and ref.gw is not None:
            out["compare"]["idle_mib"] = rss_mib(ref.gw.pid)
        print(
            f"pinned: {PINNED}; gateway healthy after {first_start:.3f} s; idle RSS {out['memory']['idle_mib']} MiB;"
            f" load average {loadavg()}",
            flush=True,
        )
        run_groups(b, ref, args, out)
    finally:
        if ref is not None:
            ref.close()
        if checkout is not None:
            drop_checkout(checkout)
        b.close()
        shutil.rmtree(work, ignore_errors=True)
    out["seconds"] = round(time.time() - started, 1)
    out["machine"]["loadavg_end"] = loadavg()
    print()
    print(report.render(out))
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    path = BENCH / "results" / f"{stamp}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=1))
    print(f"\nwrote {path.relative_to(BENCH.parent)}")


def run_groups(b: Bench, ref: Bench | None, args: argparse.Namespace, out: dict[str, Any]) -> None:
    """The chosen scenario groups, into `out`; with `ref`, the comparison scenarios on it too."""
    groups = set(args.only or ALL)
    results = []
    refs = sc.specs(ref, args.scale) if ref is not None else None
    for i, spec in enumerate(sc.specs(b, args.scale)):
        if spec.group in groups:
            pair = (refs[i], ref) if refs is not None and ref is not None else None
            results.append(sc.run_spec(spec, b, args.repeats, ref=pair))
    out["scenarios"] = results
    if "hol" in groups:
        print("  head-of-line blocking ...", flush=True)
        out["hol"] = sc.hol(b, args.repeats, args.scale)
    if "invalid" in groups:
        print("  invalid-key flood ...", flush=True)
        out["invalid"] = sc.invalid_keys(b, args.repeats, args.scale)
    if "memory" in groups:
        print(f"  memory across {args.memory_requests} requests ...", flush=True)
        out["memory"] = sc.memory(b, args.memory_requests, out["memory"]["idle_mib"])
        print("  idle RSS with every provider kind configured ...", flush=True)
        out["every_kind"] = every_kind(b, args, SRC, "every-kind")
        if ref is not None:
            out["compare"]["every_kind"] = every_kind(b, args, ref.src, "every-kind-ref")
    if "startup" in groups:
        times = []
        for _ in range(max(args.repeats, 3)):
            b.stop_gateway()
            times.append(b.start_gateway())
        out["startup"].update(restarts_s=[round(t, 3) for t in times], median_s=round(statistics.median(times), 3))
        out["anthropic_only"] = anthropic_only(b, args)
    if "workers" in groups:
        out["workers"] = workers_curve(b, args)
    if args.peers:
        import peers

        out["peers"] = peers.run(b, args)


def anthropic_only(b: Bench, args: argparse.Namespace) -> dict[str, Any]:
    """Start-up and idle RSS with Anthropic upstreams only (no tokenizers to build), fresh store."""
    work = b.work / "anthropic-only"
    work.mkdir()
    a = Bench(work, args.events, args.ttfb_ms, args.gap_ms, args.log_level, translation=False)
    times, rss = [], []
    try:
        for _ in range(max(args.repeats, 3)):
            times.append(a.start_gateway())
            assert a.gw is not None
            time.sleep(2.0)
            rss.append(rss_mib(a.gw.pid))
            a.stop_gateway()
    finally:
        a.close()
    return {
        "starts_s": [round(t, 3) for t in times],
        "median_s": round(statistics.median(times), 3),
        "idle_mib": statistics.median(rss),
    }


def make_checkout(ref: str) -> Path:
    """A detached `git worktree` of `ref` in a temporary directory (removed by drop_checkout)."""
    checkout = Path(tempfile.mkdtemp(prefix="aigw-bench-ref-")) / "checkout"
    subprocess.run(["git", "-C", str(BENCH), "worktree", "add", "--detach", str(checkout), ref], check=True)
    return checkout


def drop_checkout(checkout: Path) -> None:
    subprocess.run(["git", "-C", str(BENCH), "worktree", "remove", "--force", str(checkout)], check=False)
    shutil.rmtree(checkout.parent, ignore_errors=True)


def ref_commit(ref: str) -> str:
    done = subprocess.run(["git", "-C", str(BENCH), "rev-parse", "--verify", ref + "^{commit}"], capture_output=True)
    return done.stdout.decode().strip()


def reference(args: argparse.Namespace, checkout: Path, b: Bench, work: Path) -> Bench:
    """The gateway of the checkout, on `b`'s upstream and CPU, with its own store and key."""
    (work / "ref").mkdir()
    r = Bench(work / "ref", args.events, args.ttfb_ms, args.gap_ms, args.log_level, src=checkout / "src", upstream=b)
    r.create_key()
    took = r.start_gateway()
    print(f"reference {args.compare} ({ref_commit(args.compare)[:12]}) healthy after {took:.3f} s", flush=True)
    return r


def every_kind(b: Bench, args: argparse.Namespace, src: Path, name: str) -> dict[str, Any]:
    """Idle RSS 3 s after start with every provider kind configured (none called): a first start
    (empty store: migrations), then restarts, as a deployed gateway starts."""
    work = b.work / name
    work.mkdir()
    e = Bench(
        work,
        args.events,
        args.ttfb_ms,
        args.gap_ms,
        args.log_level,
        src=src,
        upstream=b,
        config=every_kind_config(b.up_url, args.log_level),
    )
    rss = []
    try:
        for _ in range(1 + max(args.repeats, 3)):
            e.start_gateway()
            assert e.gw is not None
            time.sleep(3.0)
            rss.append(rss_mib(e.gw.pid))
            e.stop_gateway()
    finally:
        e.close()
    return {"first_start_mib": rss[0], "restarts_mib": rss[1:], "idle_mib": statistics.median(rss[1:])}


def workers_curve(b: Bench, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Non-streaming c=32 and c=128, and paced streams at c=256 per worker, with N = 1, 2 workers;
    gateway and load generator on both CPUs."""
    if PINNED:
        os.sched_setaffinity(0, {0, 1})
    curve = []
    try:
        for n in (1, 2):
            b.stop_gateway()
            b.start_gateway(workers=n)
            for spec in sc.specs(b, args.scale):
                paced = spec.group == "paced" and spec.concurrency == 256
                if (spec.group == "nonstream" and spec.concurrency > 1) or paced:
                    if paced:
                        spec = replace(spec, concurrency=256 * n, requests=spec.requests * n)
                    r = sc.run_spec(spec, b, args.repeats)
                    r["workers"] = n
                    curve.append(r)
    finally:
        if PINNED:
            os.sched_setaffinity(0, {1})
        b.stop_gateway()
        b.start_gateway()
    return curve


if __name__ == "__main__":
    main()
