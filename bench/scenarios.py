"""The benchmark's scenarios: what is sent, to whom, and what is derived from it.

Comparison scenarios send the same load straight to the fake upstream ("direct", the physical
limit of this machine) and through the gateway, alternating, `repeats` times; medians are kept.
- nonstream: ~1 KB Messages request, JSON answer, concurrency 1/32/128;
- stream, paced: 50-event Anthropic stream at c=32/256, unpaced (one write) and paced (10 ms to
  the first byte, 10 ms between events); events lost = events the direct stream has, times
  streams, minus events the gateway delivered;
- translation, translation paced: a Messages client with tools, an OpenAI-shaped upstream
  streaming parallel tool calls in argument fragments (the recorded shape), through the
  gateway's translation; direct = the same Chat Completions stream read straight;
- size: 1 KB, 100 KB, 1 MB request bodies at c=1;
- failover: the first provider answers 529 at once, the fallback answers; added latency is
  reported against direct and against the plain gateway path.
Other scenarios (functions below): head-of-line blocking, invalid-key flood, memory, workers.
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass, replace
from typing import Any

import uvloop
from load import ANTHROPIC_HEADERS, Target, openai_body, overhead, request_body, rss_mib, run_load
from procs import MODEL, Bench

OPENAI_FIRST = b'"arguments"'
OPENAI_LAST = b"data: [DONE]"
KB = 1024


@dataclass
class Spec:
    group: str
    name: str
    concurrency: int
    requests: int
    direct: Target
    gateway: Target
    passthrough: bool = True  # events must match direct's one for one


def specs(b: Bench, scale: float) -> list[Spec]:
    """Every comparison scenario; `scale` multiplies request counts (quick mode: < 1)."""

    def n(x: int, c: int) -> int:
        return max(int(x * scale), 2 * c, 20)

    up, gw = b.up_url, b.gw_url + "/v1/messages"
    hd = {**ANTHROPIC_HEADERS, "x-api-key": "anything"}
    hg = {**ANTHROPIC_HEADERS, "x-api-key": b.key}

    def anth(path: str, model: str, stream: bool, size: int = 0) -> tuple[Target, Target]:
        d = Target(up + path, hd, request_body(MODEL, stream, size), stream)
        g = Target(gw, hg, request_body(model, stream, size), stream)
        return d, g

    out: list[Spec] = []
    for c, k in ((1, 2000), (32, 6000), (128, 6000)):
        out.append(
            Spec("nonstream", "non-streaming 1 KB", c, n(k, c), *anth("/v1/messages", "anthropic/" + MODEL, False))
        )
    for c, k in ((32, 3000), (256, 3000)):
        out.append(
            Spec("stream", "stream 50 ev, unpaced", c, n(k, c), *anth("/v1/messages", "anthropic/" + MODEL, True))
        )
    for c, k in ((32, 400), (256, 1500)):
        out.append(
            Spec("paced", "stream 50 ev, paced", c, n(k, c), *anth("/paced/v1/messages", "paced/" + MODEL, True))
        )
    hdo = {"content-type": "application/json", "authorization": "Bearer anything"}
    for group, path, provider, todo in (
        ("translation", "/openai/chat/completions", "oai", ((32, 3000), (256, 3000))),
        ("tpaced", "/paced/openai/chat/completions", "oaipaced", ((32, 400), (256, 1500))),
    ):
        label = "translated tools 50 ev" + (", paced" if group == "tpaced" else ", unpaced")
        for c, k in todo:
            d = Target(up + path, hdo, openai_body("gpt-4o"), True, OPENAI_FIRST, OPENAI_LAST)
            g = Target(gw, hg, request_body(provider + "/gpt-4o", True, tools=True), True)
            out.append(Spec(group, label, c, n(k, c), d, g, passthrough=False))
    for size, k in ((KB, 2000), (100 * KB, 600), (1024 * KB, 120)):
        label = f"request {size // KB} KB" if size < 1024 * KB else "request 1 MB"
        out.append(Spec("size", label, 1, n(k, 1), *anth("/v1/messages", "anthropic/" + MODEL, False, size)))
    for c, k in ((1, 2000), (32, 6000)):
        out.append(Spec("failover", "failover 529 -> ok", c, n(k, c), *anth("/v1/messages", "broken/" + MODEL, False)))
    return out


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in runs[0]:
        vals = [r[m] for r in runs if isinstance(r.get(m), int | float)]
        out[m] = round(statistics.median(vals), 3) if vals else None
    return out


def run_spec(s: Spec, b: Bench, repeats: int, ref: tuple[Spec, Bench] | None = None) -> dict[str, Any]:
    """`repeats` rounds of direct then gateway (and, with `ref`, the same scenario through the
    reference checkout's gateway, the two taking turns after direct), so that both meet the same
    machine in every round."""
    assert b.up is not None and b.gw is not None
    sides = [("direct", s.direct, b.up.pid), ("gateway", s.gateway, b.gw.pid)]
    if ref is not None:
        assert ref[1].gw is not None
        sides.append(("ref", ref[0].gateway, ref[1].gw.pid))
    names = [name for name, _, _ in sides]
    runs: list[dict[str, Any]] = []
    warmup = max(min(200, s.requests // 5), s.concurrency)
    for i in range(repeats):
        r: dict[str, Any] = {}
        # with a reference, the two gateways take turns going first after direct
        for name, target, pid in sides if i % 2 == 0 else [sides[0], *reversed(sides[1:])]:
            r[name] = uvloop.run(
                run_load(target, concurrency=s.concurrency, requests=s.requests, warmup=warmup, server_pid=pid)
            )
        runs.append(r)
        p50 = ", ".join(f"{n} {r[n]['p50_ms']} ms" for n in names)
        errors = "/".join(str(r[n]["errors"]) for n in names)
        print(f"  {s.name} c={s.concurrency} run {i + 1}/{repeats}: p50 {p50}; errors {errors}", flush=True)
    med = {t: _median([r[t] for r in runs]) for t in names}
    med["overhead"] = overhead(med["direct"], med["gateway"])
    out = {
        "group": s.group,
        "name": s.name,
        "concurrency": s.concurrency,
        "requests": s.requests,
        "median": med,
        "events_lost": _lost(s, runs, "gateway"),
        "errors": sum(r[t]["errors"] for r in runs for t in names),
        "first_error": next(
            (r[t]["first_error"] for r in runs for t in ("gateway", "ref", "direct") if t in r and r[t]["first_error"]),
            None,
        ),
        "runs": runs,
    }
    if ref is not None:
        med["ref_overhead"] = overhead(med["direct"], med["ref"])
        out["ref_events_lost"] = _lost(s, runs, "ref")
    return out


def _lost(s: Spec, runs: list[dict[str, Any]], side: str) -> int | None:
    lost = []
    for r in runs:
        d, g = r["direct"], r[side]
        if g["events"] is None:
            continue
        per_stream = d["events_max"] if s.passthrough else g["events_max"]
        lost.append(per_stream * g["requests"] - g["events"])
    return sum(lost) if lost else None


async def _together(main: Target, c: int, requests: int, side: Target, side_c: int, pid: int) -> dict[str, Any]:
    """`main` load measured while `side` load runs beside it (side stops when main is done)."""
    stop = asyncio.Event()
    side_task = asyncio.create_task(run_load(side, concurrency=side_c, duration=600, warmup=0, until=stop))
    await asyncio.sleep(0.3)
    try:
        result = await run_load(main, concurrency=c, requests=requests, warmup=min(200, requests // 5), server_pid=pid)
    finally:
        stop.set()
    side_result = await side_task
    return {"main": result, "side": side_result}


def hol(b: Bench, repeats: int, scale: float) -> dict[str, Any]:
    """Non-streaming c=32 through the gateway, alone and beside 8 slow streams (100 ms/event)."""
    assert b.gw is not None
    hg = {**ANTHROPIC_HEADERS, "x-api-key": b.key}
    fast = Target(b.gw_url + "/v1/messages", hg, request_body("anthropic/" + MODEL, False))
    slow = Target(b.gw_url + "/v1/messages", hg, request_body("slow/" + MODEL, True), True)
    n = max(int(4000 * scale), 400)
    alone, beside, slow_runs = [], [], []
    for _ in range(repeats):
        alone.append(uvloop.run(run_load(fast, concurrency=32, requests=n, warmup=200, server_pid=b.gw.pid)))
        r = uvloop.run(_together(fast, 32, n, slow, 8, b.gw.pid))
        beside.append(r["main"])
        slow_runs.append(r["side"])
    return {"alone": _median(alone), "beside_slow": _median(beside), "slow_streams": _median(slow_runs)}


def invalid_keys(b: Bench, repeats: int, scale: float) -> dict[str, Any]:
    """Cost per rejected key (c=32 flood alone), then valid c=8 traffic alone and beside a c=8 flood."""
    assert b.gw is not None
    bad = Target(
        b.gw_url + "/v1/messages",
        {**ANTHROPIC_HEADERS, "x-api-key": "sk-invalid-0000000000000000"},
        request_body("anthropic/" + MODEL, False),
        status=401,
    )
    good = replace(bad, headers={**ANTHROPIC_HEADERS, "x-api-key": b.key}, status=200)
    n = max(int(5000 * scale), 400)
    flood, alone, beside, side = [], [], [], []
    for _ in range(repeats):
        flood.append(uvloop.run(run_load(bad, concurrency=32, requests=n, warmup=200, server_pid=b.gw.pid)))
        alone.append(uvloop.run(run_load(good, concurrency=8, requests=n, warmup=200, server_pid=b.gw.pid)))
        r = uvloop.run(_together(good, 8, n, bad, 8, b.gw.pid))
        beside.append(r["main"])
        side.append(r["side"])
    return {
        "flood": _median(flood),
        "valid_alone": _median(alone),
        "valid_beside_flood": _median(beside),
        "flood_beside": _median(side),
    }


def memory(b: Bench, total: int, idle_mib: float) -> dict[str, Any]:
    """RSS across `total` non-streaming requests at c=32, sampled every tenth; linear fit to 1M."""
    assert b.gw is not None
    hg = {**ANTHROPIC_HEADERS, "x-api-key": b.key}
    t = Target(b.gw_url + "/v1/messages", hg, request_body("anthropic/" + MODEL, False))
    step = max(total // 10, 1000)
    uvloop.run(run_load(t, concurrency=32, requests=step, warmup=0))  # warm: pools, caches, allocator
    samples = [(0, rss_mib(b.gw.pid))]
    done = 0
    while done < total:
        uvloop.run(run_load(t, concurrency=32, requests=step, warmup=0))
        done += step
        samples.append((done, rss_mib(b.gw.pid)))
    xs, ys = [x for x, _ in samples], [y for _, y in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in samples) / (sum((x - mx) ** 2 for x in xs) or 1)
    base = ys[0]
    return {
        "idle_mib": idle_mib,
        "after_warmup_mib": base,
        "final_mib": ys[-1],
        "requests": done,
        "samples": samples,
        "growth_pct": round((ys[-1] - base) / base * 100, 2),
        "slope_mib_per_100k": round(slope * 100_000, 3),
        "extrapolated_1m_mib": round(base + slope * 1_000_000, 1),
        "extrapolated_1m_growth_pct": round(slope * 1_000_000 / base * 100, 2),
    }
