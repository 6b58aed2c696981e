"""Upstream HTTP clients on the same load: aiohttp (the gateway's until G12), pyreqwest, rnet and the
gateway's own asyncio-protocol + httptools client (src/aigateway/providers/http.py, through
h1client.py); on request httpx, and `aiohttp-lean` (aiohttp without its per-read timeout and
decompression layer: what tuning aiohttp alone would give).

Starts bench/fake_upstream.py on CPU 0; every run is a fresh process on CPU 1 that drives one
pooled client on uvloop for `--seconds` at one concurrency, and reports requests/s and its own
CPU time (every thread: the Rust clients do their I/O on threads of their own) per request.
Each client is set up as the gateway set up aiohttp (providers/base.py before G12): a pool of 256
connections, 10 s to connect, 600 s of upstream silence allowed, no decompression, no redirects,
HTTP/1.1, no User-Agent; every request reads the status, one header (content-type) and the body
as Python `bytes` (what the gateway's taps and decoders take), so the work per request is the
same. Runs are interleaved: for each repeat, each scenario, every client in turn.

Scenarios (name:concurrency): `json` ~1 KB Messages POST answered by the recorded JSON (≈600 B);
`sse` the 50-event stream written at once; `paced` the same stream at 10 ms per event (each
event its own read: the per-read cost of a client, which is what many open streams pay).
`--tls` serves the same over HTTPS (a throw-away CA and certificate made with `openssl`).

The clients are installed on first use in a venv of their own, bench/.peers/http (git-ignored),
at the versions pinned below; aiohttp, uvloop and httptools at the gateway's own versions.

Usage: .venv/bin/python bench/client_compare.py [--clients aiohttp pyreqwest rnet h1]
       [--scenarios json:32 json:128 sse:32 sse:128 paced:128] [--repeats 5] [--seconds 3] [--tls]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import MODEL, request_body
from procs import accepts, free_port, on_cpu, peer_python, stop, wait_until

HEADERS = {"x-api-key": "anything", "anthropic-version": "2023-06-01", "content-type": "application/json"}
PATH = "/v1/messages"
CANDIDATES = ["pyreqwest==0.15.1", "rnet==2.4.2", "httpx==0.28.1", "granian==2.8.9"]
CLIENTS = ("aiohttp", "aiohttp-lean", "pyreqwest", "rnet", "h1", "httpx")
LIBRARY = {
    "aiohttp": "aiohttp",
    "aiohttp-lean": "aiohttp",
    "pyreqwest": "pyreqwest",
    "rnet": "rnet",
    "h1": "httptools",
    "httpx": "httpx",
}
Post = Callable[[], Awaitable[int]]  # one request, body read to the end; returns bytes read


def requirements() -> list[str]:
    """The candidates, plus the gateway's own aiohttp, uvloop and httptools (read from its venv)."""
    own = [f"{name}=={metadata.version(name)}" for name in ("aiohttp", "uvloop", "httptools")]
    return own + CANDIDATES


# -- one run, in the candidates' venv ------------------------------------------------------------


@asynccontextmanager
async def aiohttp_post(base: str, body: bytes, stream: bool, ca: str | None, lean: bool = False) -> AsyncIterator[Post]:
    import aiohttp

    session = aiohttp.ClientSession(  # as providers/base.py builds it; `lean`: without the per-read
        base_url=base + "/",  # timer and the decompression layer (bench/README.md, item 11)
        connector=aiohttp.TCPConnector(limit=256, ttl_dns_cache=300, ssl=_context(ca) if ca else True),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=None if lean else 600),
        auto_decompress=not lean,
        skip_auto_headers=("User-Agent", "Accept-Encoding"),
    )

    async def post() -> int:
        async with session.post(PATH.lstrip("/"), data=body, headers=HEADERS) as resp:
            _check(resp.status, resp.headers.get("content-type"))
            if not stream:
                return len(await resp.read())
            n = 0
            async for chunk in resp.content.iter_any():
                n += len(chunk)
            return n

    async with session:
        yield post


@asynccontextmanager
async def pyreqwest_post(base: str, body: bytes, stream: bool, ca: str | None) -> AsyncIterator[Post]:
    from pyreqwest.client import ClientBuilder

    builder = (
        ClientBuilder()
        .base_url(base + "/")
        .max_connections(256)
        .connect_timeout(timedelta(seconds=10))
        .read_timeout(timedelta(seconds=600))
        .gzip(False)
        .brotli(False)
        .zstd(False)
        .deflate(False)
        .follow_redirects(False)
        .http1_only()
    )
    if ca:
        builder = builder.add_root_certificate_pem(Path(ca).read_bytes())

    async with builder.build() as client:

        async def post() -> int:
            req = client.post(PATH.lstrip("/")).headers(HEADERS).body_bytes(body)
            if not stream:
                resp = await req.build().send()
                _check(resp.status, resp.get_header("content-type"))
                return len(bytes(await resp.bytes()))
            n = 0
            async with req.build_streamed() as resp:
                _check(resp.status, resp.get_header("content-type"))
                reader = resp.body_reader
                while (chunk := await reader.read_chunk()) is not None:
                    n += len(bytes(chunk))
            return n

        yield post


@asynccontextmanager
async def rnet_post(base: str, body: bytes, stream: bool, ca: str | None) -> AsyncIterator[Post]:
    import rnet

    client = rnet.Client(
        connect_timeout=10,
        read_timeout=600,
        pool_max_size=256,
        http1_only=True,
        allow_redirects=False,
        no_proxy=True,
        gzip=False,
        brotli=False,
        deflate=False,
        zstd=False,
        verify=Path(ca) if ca else True,
    )
    url = base + PATH

    async def post() -> int:
        resp = await client.post(url, body=body, headers=HEADERS)
        async with resp:
            _check(resp.status, resp.headers.get("content-type"))
            if not stream:
                return len(await resp.bytes())
            n = 0
            async with resp.stream() as chunks:
                async for chunk in chunks:
                    n += len(chunk)
            return n

    yield post


@asynccontextmanager
async def h1_post(base: str, body: bytes, stream: bool, ca: str | None) -> AsyncIterator[Post]:
    import h1client

    async with h1client.Client(
        base, max_connections=256, connect_timeout=10, read_timeout=600, ssl=_context(ca) if ca else None
    ) as client:

        async def post() -> int:
            resp = await client.request("POST", PATH, body, HEADERS)
            _check(resp.status, resp.headers.get("content-type"))
            if not stream:
                return len(await resp.read())
            n = 0
            async for chunk in resp.chunks():
                n += len(chunk)
            return n

        yield post


@asynccontextmanager
async def httpx_post(base: str, body: bytes, stream: bool, ca: str | None) -> AsyncIterator[Post]:
    import httpx

    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    timeout = httpx.Timeout(connect=10, read=600, write=600, pool=600)
    async with httpx.AsyncClient(
        base_url=base, limits=limits, timeout=timeout, verify=_context(ca) if ca else True
    ) as client:

        async def post() -> int:
            async with client.stream("POST", PATH, content=body, headers=HEADERS) as resp:
                _check(resp.status_code, resp.headers.get("content-type"))
                if not stream:
                    return len(await resp.aread())
                n = 0
                async for chunk in resp.aiter_raw():
                    n += len(chunk)
                return n

        yield post


@asynccontextmanager
async def aiohttp_lean_post(base: str, body: bytes, stream: bool, ca: str | None) -> AsyncIterator[Post]:
    async with aiohttp_post(base, body, stream, ca, lean=True) as post:
        yield post


POSTERS = {
    "aiohttp": aiohttp_post,
    "aiohttp-lean": aiohttp_lean_post,
    "pyreqwest": pyreqwest_post,
    "rnet": rnet_post,
    "h1": h1_post,
    "httpx": httpx_post,
}


def _context(ca: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca)


def _check(status: object, content_type: object) -> None:
    if status != 200 or not content_type:
        raise RuntimeError(f"unexpected answer: status {status}, content-type {content_type!r}")


async def drive(post: Post, concurrency: int, seconds: float) -> dict[str, Any]:
    """Keeps `concurrency` requests in flight until the deadline (after a warm-up)."""
    count, sizes = 0, set()

    async def worker(deadline: float) -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            sizes.add(await post())
            count += 1

    await asyncio.gather(*(worker(time.perf_counter() + 0.5) for _ in range(concurrency)))  # warm-up
    count = 0
    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(t0 + seconds) for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"requests": count, "wall": wall, "cpu": cpu, "sizes": sorted(sizes)}


async def one_run(a: argparse.Namespace) -> dict[str, Any]:
    body = request_body(MODEL, a.scenario != "json")
    async with POSTERS[a.worker](a.base, body, a.scenario != "json", a.cafile) as post:
        return await drive(post, a.concurrency, a.seconds)


def worker_main(a: argparse.Namespace) -> None:
    import uvloop

    print(json.dumps(uvloop.run(one_run(a))), flush=True)


# -- the comparison -------------------------------------------------------------------------------


def make_certificate(work: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a certificate for 127.0.0.1 signed by it: (ca, cert, key)."""
    ca, ca_key, cert, key, csr = (work / n for n in ("ca.pem", "ca.key", "cert.pem", "cert.key", "cert.csr"))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *argv: subprocess.run(["openssl", *argv], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca), "-subj", "/CN=bench CA", "-days", "2")
    run("req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    ext = work / "ext.cnf"
    ext.write_text("basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    run(
        "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert), "-days", "2", "-extfile", str(ext),
    )  # fmt: skip
    return ca, cert, key


def peer_versions(python: Path, names: list[str]) -> dict[str, str]:
    code = f"import json, importlib.metadata as m; print(json.dumps({{n: m.version(n) for n in {names!r}}}))"
    return dict(
        json.loads(subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout)
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", nargs="+", choices=CLIENTS, default=["aiohttp", "pyreqwest", "rnet", "h1"])
    p.add_argument("--scenarios", nargs="+", default=["json:32", "json:128", "sse:32", "sse:128", "paced:128"])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seconds", type=float, default=3.0, help="measured seconds per run")
    p.add_argument("--tls", action="store_true", help="the fake upstream serves HTTPS")
    p.add_argument("--json", type=Path, help="also write every run here")
    # one run (internal)
    p.add_argument("--worker", choices=CLIENTS, help=argparse.SUPPRESS)
    p.add_argument("--base", help=argparse.SUPPRESS)
    p.add_argument("--scenario", help=argparse.SUPPRESS)
    p.add_argument("--concurrency", type=int, help=argparse.SUPPRESS)
    p.add_argument("--cafile", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        worker_main(a)
        return

    scenarios = [(s.split(":")[0], int(s.split(":")[1])) for s in a.scenarios]
    python = peer_python("http", requirements())
    pinned = bool(shutil.which("taskset")) and (os.cpu_count() or 1) >= 2
    work = Path(tempfile.mkdtemp(prefix="client-compare-"))
    argv = [sys.executable, str(Path(__file__).with_name("fake_upstream.py")), "--port", str(port := free_port())]
    argv += ["--ttfb-ms", "10", "--gap-ms", "10"]
    ca = None
    if a.tls:
        ca, cert, key = make_certificate(work)
        argv += ["--tls-cert", str(cert), "--tls-key", str(key)]
    up = subprocess.Popen(on_cpu("0", argv), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    scheme = "https" if a.tls else "http"
    runs: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    load0 = os.getloadavg()
    try:
        wait_until(lambda: accepts(port), "fake upstream", up, Path(os.devnull))
        for i in range(a.repeats):
            for scenario, c in scenarios:
                for name in a.clients:
                    mode = "paced" if scenario == "paced" else ""
                    base = f"{scheme}://127.0.0.1:{port}" + (f"/{mode}" if mode else "")
                    cmd = [str(python), __file__, "--worker", name, "--base", base, "--scenario", scenario]
                    cmd += ["--concurrency", str(c), "--seconds", str(a.seconds)] + (
                        ["--cafile", str(ca)] if ca else []
                    )
                    done = subprocess.run(on_cpu("1", cmd) if pinned else cmd, capture_output=True, text=True)
                    if done.returncode != 0:
                        raise SystemExit(f"{name} {scenario} c={c} failed:\n{done.stderr[-3000:]}")
                    r = json.loads(done.stdout.strip().splitlines()[-1])
                    r["rps"], r["cpu_us"] = r["requests"] / r["wall"], r["cpu"] / r["requests"] * 1e6
                    runs.setdefault((scenario, name, c), []).append(r)
                    print(
                        f"  run {i + 1} {scenario} c={c} {name}: {r['rps']:.0f} req/s, {r['cpu_us']:.0f} µs CPU/req,"
                        f" body {r['sizes']} B",
                        flush=True,
                    )
    finally:
        stop(up, signal.SIGTERM)
        shutil.rmtree(work, ignore_errors=True)
    load1 = os.getloadavg()

    versions = peer_versions(python, sorted(set(LIBRARY.values())))
    print(f"\nload average {load0[0]:.1f} at the start, {load1[0]:.1f} at the end; {a.repeats} runs of {a.seconds:g} s")
    tls = " (TLS)" if a.tls else ""
    print(f"\n| scenario{tls} | c | client | req/s (median) | client CPU µs/req (median) | CPU vs aiohttp |")
    print("|---|---|---|---|---|---|")
    for scenario, c in scenarios:
        ref = runs.get((scenario, "aiohttp", c))
        base_cpu = statistics.median(r["cpu_us"] for r in ref) if ref else None
        for name in a.clients:
            vals = runs[(scenario, name, c)]
            rps, cpu = statistics.median(r["rps"] for r in vals), statistics.median(r["cpu_us"] for r in vals)
            delta = f"{(cpu / base_cpu - 1) * 100:+.0f} %" if base_cpu and name != "aiohttp" else "-"
            label = (
                f"{name} {versions[LIBRARY[name]]}" if name != "h1" else f"h1client (httptools {versions['httptools']})"
            )
            print(f"| {scenario} | {c} | {label} | {rps:.0f} | {cpu:.0f} | {delta} |")
    if a.json:
        rows = [{"scenario": s, "client": n, "concurrency": c, "runs": v} for (s, n, c), v in runs.items()]
        a.json.write_text(json.dumps({"tls": a.tls, "load": [load0, load1], "versions": versions, "rows": rows}))


if __name__ == "__main__":
    main()
