"""Command line: `aigateway serve | keys | config check`.

Every command takes `--config FILE` and `--data-dir DIR` (also `AIGATEWAY_CONFIG`,
`AIGATEWAY_DATA_DIR`). Imports are deferred into the commands so `--help` answers at once.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML config file (env AIGATEWAY_CONFIG)")
    parser.add_argument("--data-dir", help="directory of the embedded store (env AIGATEWAY_DATA_DIR; default ./data)")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aigateway", description="Self-hosted AI gateway (Anthropic Messages API).")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway")
    _common(serve)
    serve.add_argument("--host", help="bind address (default from config, else 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default from config, else 8080)")

    keys = sub.add_parser("keys", help="manage gateway keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a key; prints its secret once, alone on the last line")
    _common(create)
    create.add_argument("--name", required=True)
    lst = keys_sub.add_parser("list", help="list keys (never their secrets)")
    _common(lst)
    revoke = keys_sub.add_parser("revoke", help="revoke a key by id")
    _common(revoke)
    revoke.add_argument("id")

    config = sub.add_parser("config", help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="validate a config file and say what is wrong, with the line")
    _common(check)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from aigateway.settings import ConfigError, load_settings, resolve_paths

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
    if args.command == "config":
        names = ", ".join(settings.providers) or "none"
        print(f"{config_path or '(environment)'}: OK; providers: {names}")
        return 0
    return 2


def _serve(settings: Any, args: argparse.Namespace) -> int:
    import uvicorn

    from aigateway.app import App
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
    uvicorn.run(
        App(settings),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        proxy_headers=False,  # client addresses are not used; saves a wrapper per request
        date_header=False,
    )
    return 0


async def _keys(settings: Any, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from aigateway.policy import keys
    from aigateway.store.sql import open_store

    engine = await open_store(settings.sqlalchemy_url)
    try:
        if args.keys_command == "create":
            row, secret = await keys.create_key(engine, args.name)
            print(f"Created key {row.id} ({row.name}). Store the secret now; it is not shown again:")
            print(secret)
            return 0
        if args.keys_command == "list":
            rows = await keys.list_keys(engine)
            print(f"{'ID':<22} {'NAME':<24} {'ENDS':<6} {'CREATED (UTC)':<20} STATUS")
            for r in rows:
                created = datetime.fromtimestamp(r.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
                status = "revoked" if r.revoked_at else "active"
                print(f"{r.id:<22} {r.name:<24} …{r.hint:<5} {created:<20} {status}")
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
