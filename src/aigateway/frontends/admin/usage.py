"""`GET /v1/usage` and `GET /v1/balance`: what a key (or, with the admin key, everyone) spent.

Invariants:
- the admin key sees every key's usage (and may narrow it with `key_id`); a gateway key sees
  only its own rows, whatever it asks for;
- `/v1/usage?from&to&group_by=day|model|provider|key` reads the ledger (off the request path);
  `from` defaults to 30 days ago, `to` to now; times are RFC 3339, dates or Unix seconds (UTC);
- `/v1/balance` reads the live budget counter, so it already counts requests in flight.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs

import msgspec

from aigateway.asgi import Request
from aigateway.errors import InvalidRequest
from aigateway.gateway import Gateway
from aigateway.policy.budget import balance
from aigateway.policy.usage import GROUPS, parse_time, usage_report

_DEFAULT_RANGE = 30 * 86_400


async def get_usage(gw: Gateway, req: Request) -> None:
    params = {k: v[-1] for k, v in parse_qs(req.query.decode("latin-1")).items()}
    key_id = params.get("key_id") if gw.is_admin(req) else (await gw.authenticate(req)).id
    now = time.time()
    try:
        end = parse_time(params["to"], "to") if "to" in params else now
        start = parse_time(params["from"], "from") if "from" in params else end - _DEFAULT_RANGE
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    group_by = params.get("group_by", "day")
    if group_by not in GROUPS:
        raise InvalidRequest("group_by: must be one of day, model, provider, key")
    data = await usage_report(gw.engine, start, end, group_by, key_id)
    body = {"type": "usage", "group_by": group_by, "from": start, "to": end, "key_id": key_id, "data": data}
    await req.respond(200, msgspec.json.encode(body))


async def get_balance(gw: Gateway, req: Request) -> None:
    key = await gw.authenticate(req)
    await req.respond(200, msgspec.json.encode(await balance(gw.admission, key)))
