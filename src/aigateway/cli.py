"""Command line: `aigateway serve | keys | usage | models | config check`.

Every command takes `--config FILE` and `--data-dir DIR` (also `AIGATEWAY_CONFIG`,
`AIGATEWAY_DATA_DIR`). Imports are deferred into the commands so `--help` answers at once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from typing import Any


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML config file (env AIGATEWAY_CONFIG)")
    parser.add_argument("--data-dir", help="directory of the embedded store (env AIGATEWAY_DATA_DIR; default ./data)")


def _policy_flags(parser: argparse.ArgumentParser) -> None:
    """Flags of `keys create` and `keys update`; `none` removes a limit."""
    add = parser.add_argument
    add("--models", help="comma-separated model ids the key may use (default: all)")
    add("--providers", help="comma-separated providers the key may use (default: all)")
    add("--rpm", help="requests per minute")
    add("--tpm", help="tokens per minute (all input, cached or not, plus output)")
    add("--rpm-per-model", help="requests per minute for each model")
    add("--tpm-per-model", help="tokens per minute for each model")
    add("--budget", help="spend limit in USD per --budget-period, e.g. 25.00")
    add("--budget-period", choices=["day", "week", "month", "total"], help="budget period (UTC); default month")
    add("--expires", help="expiry: RFC 3339 time, e.g. 2027-01-01T00:00:00Z")
    add("--tags", help="comma-separated tags")


def worker_count(value: str) -> int:
    """`--workers`: a number of processes, or `auto`: one per CPU core this process may run on
    (its affinity mask, so `taskset` and cpusets are honoured)."""
    if value == "auto":
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: a number, or auto (one per core)") from None
    if count < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return count


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aigateway", description="Self-hosted AI gateway (Anthropic Messages API).")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway")
    _common(serve)
    serve.add_argument("--host", help="bind address (default from config, else 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default from config, else 8080)")
    serve.add_argument(
        "--workers",
        type=worker_count,
        metavar="N|auto",
        default=1,
        help="processes sharing the port (SO_REUSEPORT), or auto: one per CPU core this process may run on;"
        " without redis_url each counts rate limits on its own; /metrics shows them all (default 1)",
    )

    keys = sub.add_parser("keys", help="manage gateway keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a key; prints its secret once, alone on the last line")
    _common(create)
    create.add_argument("--name", required=True)
    _policy_flags(create)
    update = keys_sub.add_parser("update", help="change a key's policy; flags not given stay as they are")
    _common(update)
    update.add_argument("id")
    update.add_argument("--name")
    _policy_flags(update)
    lst = keys_sub.add_parser("list", help="list keys (never their secrets)")
    _common(lst)
    revoke = keys_sub.add_parser("revoke", help="revoke a key by id")
    _common(revoke)
    revoke.add_argument("id")

    usage = sub.add_parser("usage", help="requests, tokens and cost from the ledger")
    _common(usage)
    usage.add_argument("--from", dest="start", help="start (RFC 3339, date or Unix seconds; default 30 days ago)")
    usage.add_argument("--to", dest="end", help="end, exclusive (default now)")
    usage.add_argument("--group-by", choices=["day", "model", "provider", "key"], default="day")
    usage.add_argument("--key", help="only this key id")

    models = sub.add_parser(
        "models", help="models with their providers, prices per million tokens, context window and status"
    )
    _common(models)
    models.add_argument("--json", action="store_true", help="one JSON document instead of a table")

    config = sub.add_parser("config", help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="validate a config file and say what is wrong, with the line")
    _common(check)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from aigateway.config import ConfigError, load_settings, resolve_paths

    config_path, data_dir = resolve_paths(args.config, args.data_dir)
    try:
        settings = load_settings(config_path, data_dir)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 2
    if args.command == "serve":
        return _serve(settings, args)
    if args.command == "keys":
        return asyncio.run(_keys(settings, args))
    if args.command == "usage":
        return asyncio.run(_usage(settings, args))
    if args.command == "models":
        return _models(settings, args)
    if args.command == "config":
        names = ", ".join(settings.providers) or "none"
        print(f"{config_path or '(environment)'}: OK; providers: {names}")
        return 0
    return 2


def _serve(settings: Any, args: argparse.Namespace) -> int:
    import uvicorn

    from aigateway.app import App
    from aigateway.connections import protocol_for, raise_fd_limit
    from aigateway.observability.logging import log, setup_logging

    setup_logging(settings.logging.level)
    host = args.host or settings.server.host
    port = settings.server.port if args.port is None else args.port
    if not settings.providers:
        log.warning("no provider is configured: set ANTHROPIC_API_KEY or pass --config")
    log.info(
        "starting",
        extra={
            "fields": {
                "host": host,
                "port": port,
                "providers": sorted(settings.providers),
                "data_dir": str(settings.data_dir),
            }
        },
    )
    raise_fd_limit(settings.server)
    config = uvicorn.Config(
        App(settings),
        host=host,
        port=port,
        loop="uvloop",
        http=protocol_for(settings.server),  # httptools, with the server.* limits (connections.py)
        timeout_keep_alive=settings.server.keep_alive_timeout,
        timeout_graceful_shutdown=settings.server.shutdown_timeout,  # an agent's stream can last for hours
        ws_max_size=settings.server.max_body_bytes,  # a WebSocket message is a request body
        ws_per_message_deflate=True,  # the Responses API's WebSocket mode: Codex offers it
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        proxy_headers=False,  # client addresses are not used; saves a wrapper per request
        date_header=False,
    )
    if args.workers == 1:
        server = uvicorn.Server(config)
        try:
            server.run()
        except KeyboardInterrupt:  # uvicorn raises the signal again after its graceful shutdown
            return 0
        return 0 if server.started else 3  # 3: start-up failed (uvicorn's own exit code for it)
    from aigateway.workers import run_workers

    return run_workers(config, settings, args.workers)


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    """The policy flags that were given, as `change_policy` takes them."""
    changes: dict[str, Any] = {}
    lists = {"models": "allowed_models", "providers": "allowed_providers", "tags": "tags"}
    for flag, name in lists.items():
        value = getattr(args, flag)
        if value is not None:
            changes[name] = None if value == "none" else [v.strip() for v in value.split(",") if v.strip()]
    for name in ("rpm", "tpm", "rpm_per_model", "tpm_per_model"):
        value = getattr(args, name)
        if value is not None:
            try:
                changes[name] = None if value == "none" else int(value)
            except ValueError:
                raise ValueError(f"--{name.replace('_', '-')}: must be a whole number or none") from None
    if args.budget is not None:
        changes["budget_usd"] = None if args.budget == "none" else args.budget
        if args.budget != "none":
            changes["budget_period"] = args.budget_period or "month"
    elif args.budget_period is not None:
        changes["budget_period"] = args.budget_period
    if args.expires is not None:
        changes["expires_at"] = None if args.expires == "none" else args.expires
    return changes


def _describe_policy(policy: Any) -> str:
    from aigateway.routing.prices import usd

    parts = []
    for name, value in policy.view(usd).items():
        if value is None or value == [] or name == "budget_period":
            continue
        if name == "budget_usd":
            value = f"${value}/{policy.budget_period}"
        elif name == "expires_at":
            value = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value))
        elif isinstance(value, list):
            value = ",".join(value)
        parts.append(f"{name}={value}")
    return " ".join(parts) or "-"


async def _keys(settings: Any, args: argparse.Namespace) -> int:
    from aigateway.policy import keys
    from aigateway.store.sql import open_store

    engine = await open_store(settings.sqlalchemy_url)
    try:
        if args.keys_command in ("create", "update"):
            return await _keys_write(engine, args)
        if args.keys_command == "list":
            rows = await keys.list_keys(engine)
            print(f"{'ID':<22} {'NAME':<24} {'ENDS':<6} {'CREATED (UTC)':<20} {'STATUS':<8} POLICY")
            for r in rows:
                created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.created_at))
                status = "revoked" if r.revoked_at else "active"
                print(f"{r.id:<22} {r.name:<24} …{r.hint:<5} {created:<20} {status:<8} {_describe_policy(r.policy)}")
            return 0
        if args.keys_command == "revoke":
            if await keys.revoke_key(engine, args.id):
                print(f"Revoked {args.id}")
                return 0
            print(f"No active key with id {args.id}", file=sys.stderr)
            return 1
        return 2
    finally:
        await engine.dispose()


async def _keys_write(engine: Any, args: argparse.Namespace) -> int:
    from aigateway.policy import keys

    try:
        changes = _changes(args)
        if args.keys_command == "create":
            row, secret = await keys.create_key(engine, args.name, keys.change_policy(keys.KeyPolicy(), changes))
            print(f"Created key {row.id} ({row.name}); policy: {_describe_policy(row.policy)}.")
            print("Store the secret now; it is not shown again:")
            print(secret)
            return 0
        current = await keys.get_key(engine, args.id)
        if current is None or current.revoked_at is not None:
            print(f"No active key with id {args.id}", file=sys.stderr)
            return 1
        policy = keys.change_policy(current.policy, changes)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    await keys.update_key(engine, args.id, policy, args.name)
    print(f"Updated {args.id}; policy: {_describe_policy(policy)}")
    return 0


async def _usage(settings: Any, args: argparse.Namespace) -> int:
    from aigateway.policy.usage import parse_time, usage_report
    from aigateway.store.sql import open_store

    try:
        end = parse_time(args.end, "--to") if args.end else time.time()
        start = parse_time(args.start, "--from") if args.start else end - 30 * 86_400
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    engine = await open_store(settings.sqlalchemy_url)
    try:
        rows = await usage_report(engine, start, end, args.group_by, args.key)
    finally:
        await engine.dispose()
    head = args.group_by.upper()
    print(
        f"{head:<40} {'REQUESTS':>9} {'INPUT':>11} {'OUTPUT':>11} "
        f"{'CACHE READ':>11} {'CACHE WRITE':>11} {'COST USD':>14}"
    )
    for r in rows:
        print(
            f"{r[args.group_by] or '-':<40} {r['requests']:>9} {r['input_tokens']:>11} {r['output_tokens']:>11} "
            f"{r['cache_read_input_tokens']:>11} {r['cache_creation_input_tokens']:>11} {r['cost_usd']:>14}"
        )
    return 0


def _models(settings: Any, args: argparse.Namespace) -> int:
    """The configured providers' models (every catalog model under each provider kind it names,
    when none is configured), from the catalog and the price sources only: no upstream is asked."""
    import json

    from aigateway.providers.registry import DESCRIPTORS, price_books
    from aigateway.routing.catalog import Catalog
    from aigateway.routing.inventory import Sources, inventory
    from aigateway.routing.prices import PriceBook, PriceTable

    catalog = Catalog.load([entry.model_dump() for entry in settings.catalog])
    kinds = {name: settings.provider_kind(name) for name in settings.providers}
    books = price_books(settings)
    if not kinds:
        kinds = {k: k for m in catalog.models for k in m.providers if k in DESCRIPTORS}
        books = {k: PriceBook(k, DESCRIPTORS[k].prices_id, DESCRIPTORS[k].self_hosted) for k in kinds}
    table = PriceTable.load((p.model_dump() for p in settings.prices), books)

    def quote(route: Any) -> Any:
        model = route.entry.id if route.entry is not None else route.model
        return table.quote(model, route.provider, route.upstream_model)

    served = inventory(Sources(catalog, kinds, quote, table.context_window, {}))
    if args.json:
        print(json.dumps([_model_doc(s) for s in served], indent=2))
        return 0
    print(f"{'MODEL':<44} {'PROVIDER':<12} {'INPUT $/M':>10} {'OUTPUT $/M':>11} {'CONTEXT':>9} {'STATUS':<11} SOURCE")
    for s in served:
        for o in s.offers:
            view = o.quote.price.per_million_view() if o.quote is not None else {}
            print(
                f"{s.model.id:<44} {o.provider:<12} {view.get('input', '-'):>10} {view.get('output', '-'):>11} "
                f"{s.context_window or '-':>9} {o.status:<11} {o.quote.source if o.quote else 'no price'}"
            )
    return 0


def _model_doc(s: Any) -> dict[str, Any]:
    return {
        "id": s.model.id,
        "display_name": s.model.display_name,
        "context_window": s.context_window,
        "max_output": s.max_output,
        "providers": [
            {
                "provider": o.provider,
                "upstream_model": o.upstream,
                "status": o.status,
                "retires": str(o.retires) if o.retires else None,
                "successor": o.successor,
                "pricing": (
                    {"source": o.quote.source, **o.quote.price.per_million_view()} if o.quote is not None else None
                ),
            }
            for o in s.offers
        ],
    }
