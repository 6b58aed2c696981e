"""Markdown tables and target verdicts of one bench/run.py result (also: python bench/report.py FILE).

"added" = gateway minus direct (the same load sent straight to the fake upstream in the same run),
medians of the runs. CPU is the gateway process's own (utime + stime from /proc, all threads, its
workers included) per 1,000 requests, in ms; /proc counts in 10 ms ticks, so short runs read coarse.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _f(v: Any, signed: bool = False, digits: int = 3) -> str:
    if v is None:
        return "-"
    return f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"


def main_table(rows: list[dict[str, Any]], workers: bool = False) -> str:
    head = "| scenario | c | " + ("workers | " if workers else "")
    head += (
        "direct p50 ms | gateway p50 ms | added p50 ms | added p99 ms | direct req/s | gateway req/s "
        "| gateway CPU ms/1k req | added TTFT p50 | added TTFT p99 | added gap p99 | gateway peak RSS MiB "
        "| events lost | errors |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        d, g, o = r["median"]["direct"], r["median"]["gateway"], r["median"]["overhead"]
        lines.append(
            f"| {r['name']} | {r['concurrency']} | "
            + (f"{r['workers']} | " if workers else "")
            + f"{_f(d['p50_ms'])} | {_f(g['p50_ms'])} | {_f(o['p50_ms'], True)} | {_f(o['p99_ms'], True)} "
            f"| {_f(d['rps'], digits=0)} | {_f(g['rps'], digits=0)} | {_f(g['server_cpu_us'], digits=0)} "
            f"| {_f(o['ttft_p50_ms'], True)} | {_f(o['ttft_p99_ms'], True)} | {_f(o['gap_p99_ms'], True)} "
            f"| {_f(g.get('server_rss_max_mib'), digits=1)} | {_f(r['events_lost'], digits=0)} | {r['errors']} |"
        )
    return "\n".join(lines)


def _pair(this: Any, ref: Any, digits: int = 3, signed: bool = False) -> str:
    """`this / ref (ratio)`: ratio = this checkout / the reference."""
    ratio = f" ({this / ref:.2f}x)" if isinstance(this, int | float) and isinstance(ref, int | float) and ref else ""
    return f"{_f(this, signed, digits)} / {_f(ref, signed, digits)}{ratio}"


def compare_table(rows: list[dict[str, Any]], ref: str) -> str:
    """This checkout beside the reference, same run and rounds; ratio = this / reference."""
    head = (
        f"| scenario | c | added p50 ms (this / {ref}) | added p99 ms | gateway req/s | gateway CPU µs/req "
        "| added TTFT p50 ms | added gap p99 ms | peak RSS MiB | events lost | errors |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        m = r["median"]
        if "ref" not in m:
            continue
        g, f, o, q = m["gateway"], m["ref"], m["overhead"], m["ref_overhead"]
        lines.append(
            f"| {r['name']} | {r['concurrency']} | {_pair(o['p50_ms'], q['p50_ms'], signed=True)} "
            f"| {_pair(o['p99_ms'], q['p99_ms'], signed=True)} | {_pair(g['rps'], f['rps'], 0)} "
            f"| {_pair(g['server_cpu_us'], f['server_cpu_us'], 0)} "
            f"| {_pair(o['ttft_p50_ms'], q['ttft_p50_ms'], signed=True)} "
            f"| {_pair(o['gap_p99_ms'], q['gap_p99_ms'], signed=True)} "
            f"| {_pair(g.get('server_rss_max_mib'), f.get('server_rss_max_mib'), 1)} "
            f"| {_f(r['events_lost'], digits=0)} / {_f(r.get('ref_events_lost'), digits=0)} | {r['errors']} |"
        )
    return "\n".join(lines)


def _find(rows: list[dict[str, Any]], group: str, c: int) -> dict[str, Any] | None:
    return next((r for r in rows if r["group"] == group and r["concurrency"] == c), None)


def targets(res: dict[str, Any]) -> list[str]:
    rows = res.get("scenarios", [])
    out = []

    def verdict(label: str, value: float | None, limit: float, unit: str, le: bool = True) -> None:
        if value is None:
            return
        ok = value <= limit if le else value >= limit
        out.append(f"- {label}: {value:g} {unit} (target {'≤' if le else '≥'} {limit:g}): {'MET' if ok else 'MISSED'}")

    if r := _find(rows, "nonstream", 1):
        verdict("non-streaming c=1 added p50", r["median"]["overhead"]["p50_ms"], 0.3, "ms")
        verdict("non-streaming c=1 added p99", r["median"]["overhead"]["p99_ms"], 1.0, "ms")
    if r := _find(rows, "nonstream", 32):
        verdict("non-streaming c=32 req/s on one core", r["median"]["gateway"]["rps"], 4000, "req/s", le=False)
    if r := _find(rows, "paced", 256):
        verdict("paced c=256 added TTFT p50", r["median"]["overhead"]["ttft_p50_ms"], 1.0, "ms")
        verdict("paced c=256 added inter-event p99", r["median"]["overhead"]["gap_p99_ms"], 1.0, "ms")
        verdict("paced c=256 events lost", r["events_lost"], 0, "")
        verdict("paced c=256 gateway peak RSS", r["median"]["gateway"].get("server_rss_max_mib"), 150, "MiB")
    for tg, pg in (("translation", "stream"), ("tpaced", "paced")):
        t, p = _find(rows, tg, 32), _find(rows, pg, 32)
        if t and p and t["median"]["gateway"]["server_cpu_us"] and p["median"]["gateway"]["server_cpu_us"]:
            ratio = t["median"]["gateway"]["server_cpu_us"] / p["median"]["gateway"]["server_cpu_us"]
            verdict(f"translation / passthrough CPU per event ({pg}, c=32)", round(ratio, 2), 2.0, "x")
    mem = res.get("memory", {})
    verdict("idle RSS, the bench's gateway (Anthropic and OpenAI-compatible providers)", mem.get("idle_mib"), 80, "MiB")
    verdict("idle RSS, every provider kind configured (restarts)", res.get("every_kind", {}).get("idle_mib"), 80, "MiB")
    ao = res.get("anthropic_only", {})
    verdict("idle RSS, Anthropic upstreams only", ao.get("idle_mib"), 80, "MiB")
    verdict("RSS growth extrapolated to 1M requests", mem.get("extrapolated_1m_growth_pct"), 5, "%")
    st = res.get("startup", {})
    verdict("launch to healthy /health (median of restarts)", st.get("median_s"), 1.0, "s")
    verdict("launch to healthy /health, Anthropic only, fresh store", ao.get("median_s"), 1.0, "s")
    return out


def mem_of(res: dict[str, Any]) -> Any:
    return res.get("memory", {}).get("idle_mib")


def render(res: dict[str, Any]) -> str:
    m = res["machine"]
    parts = [
        f"{res['date']}: {m['cpus']} CPUs, pinned {m['pinned']}, Python {m['python']}, "
        f"load average at start {m['loadavg_start']}, at end {m.get('loadavg_end')}",
        "",
        main_table(res.get("scenarios", [])),
    ]
    if h := res.get("hol"):
        a, b, s = h["alone"], h["beside_slow"], h["slow_streams"]
        parts += [
            "",
            "| head-of-line (gateway, non-streaming c=32) | p50 ms | p99 ms | req/s |",
            "|---|---|---|---|",
            f"| alone | {_f(a['p50_ms'])} | {_f(a['p99_ms'])} | {_f(a['rps'], digits=0)} |",
            f"| beside 8 slow streams (100 ms/event) | {_f(b['p50_ms'])} | {_f(b['p99_ms'])} "
            f"| {_f(b['rps'], digits=0)} |",
            f"| the slow streams' own gap p50/p99 ms | {_f(s['gap_p50_ms'])} | {_f(s['gap_p99_ms'])} | - |",
        ]
    if v := res.get("invalid"):
        f, a, b, fb = v["flood"], v["valid_alone"], v["valid_beside_flood"], v["flood_beside"]
        parts += [
            "",
            "| invalid keys | p50 ms | p99 ms | req/s | gateway CPU µs/req |",
            "|---|---|---|---|---|",
            f"| flood alone, c=32 (401s) | {_f(f['p50_ms'])} | {_f(f['p99_ms'])} | {_f(f['rps'], digits=0)} "
            f"| {_f(f['server_cpu_us'], digits=0)} |",
            f"| valid c=8 alone | {_f(a['p50_ms'])} | {_f(a['p99_ms'])} | {_f(a['rps'], digits=0)} | - |",
            f"| valid c=8 beside a c=8 flood | {_f(b['p50_ms'])} | {_f(b['p99_ms'])} | {_f(b['rps'], digits=0)} | - |",
            f"| the c=8 flood beside it | {_f(fb['p50_ms'])} | {_f(fb['p99_ms'])} | {_f(fb['rps'], digits=0)} | - |",
        ]
    if (mem := res.get("memory")) and "final_mib" in mem:
        parts += [
            "",
            f"Memory: idle {mem['idle_mib']} MiB; {mem['after_warmup_mib']} MiB after warm-up, {mem['final_mib']} MiB "
            f"after {mem['requests']} more requests ({mem['growth_pct']:+.2f} %); slope {mem['slope_mib_per_100k']} "
            f"MiB per 100k requests, i.e. {mem['extrapolated_1m_mib']} MiB "
            f"({mem['extrapolated_1m_growth_pct']:+.2f} %) at one million.",
        ]
    if st := res.get("startup"):
        parts += [
            "",
            f"Start-up (launch to healthy /health): first start {st.get('first_start_s')} s (empty "
            f"store, migrations), restarts {st.get('restarts_s')} s, median {st.get('median_s')} s.",
        ]
    if ao := res.get("anthropic_only"):
        parts += [
            f"Anthropic upstreams only: healthy after {ao['starts_s']} s (median {ao['median_s']} s), "
            f"idle RSS {ao['idle_mib']} MiB."
        ]
    if ek := res.get("every_kind"):
        parts += [
            "",
            f"Every provider kind configured: idle RSS {ek['idle_mib']} MiB (median of restarts {ek['restarts_mib']}); "
            f"{ek['first_start_mib']} MiB after the first start on an empty store (migrations).",
        ]
    if cmp := res.get("compare"):
        idle = f"Idle RSS {mem_of(res)} / {cmp.get('idle_mib')} MiB"
        if "every_kind" in cmp:
            ek_idle = res.get("every_kind", {}).get("idle_mib")
            idle += f"; with every provider kind configured {ek_idle} / {cmp['every_kind']['idle_mib']} MiB"
        parts += [
            "",
            f"Compared with {cmp['ref']} ({cmp['commit'][:12]}), same run, interleaved rounds; "
            f"ratio = this checkout / {cmp['ref']}. {idle}.",
        ]
        if any("ref" in r["median"] for r in res.get("scenarios", [])):
            parts += ["", compare_table(res.get("scenarios", []), cmp["ref"])]
    if w := res.get("workers"):
        parts += ["", main_table(w, workers=True)]
    if pe := res.get("peers"):
        parts += ["", main_table(pe)]
    parts += ["", "Targets:", *targets(res)]
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(json.loads(Path(sys.argv[1]).read_text())))
