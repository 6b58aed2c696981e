"""Ledger rollups: per-slot totals and latency histograms that the dashboard reads instead of the
ledger's rows.

Invariants:
- a rollup row sums the ledger rows whose `created_at` falls in [slot, slot + width), for one
  width (`WIDTHS`: a minute, a quarter hour, an hour), one dimension (model, provider or key:
  each request counts once in each) and one value of it ('' for none); its histogram columns
  count latency and time to first token by bin;
- rollups change only in the transaction that inserts their ledger rows (policy/ledger.py, and
  migration 0004 for rows written before it), so they always equal the committed ledger;
- bins are `EDGES` (ms, each 25% wider than the last): bin i holds values below EDGES[i] and at
  or above EDGES[i - 1]; `binned` is the same rule in SQL, for ledger rows read directly;
- a batch becomes at most one upsert per (width, dimension, slot, value), whatever its size, and
  the upserts go in primary-key order, so two replicas flushing at once lock rows in one order.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy.engine import Dialect

from aigateway.store.dialects import insert_for
from aigateway.store.tables import BINS, ROLLUP_HISTOGRAMS, ROLLUP_SUMS, ledger_rollup

WIDTHS = (60, 900, 3600)  # each divides the next
EDGES = tuple(round(5 * 1.25**i, 3) for i in range(BINS - 1))  # 5 ms to about 20 min
_KEY = ("width", "dim", "slot", "grp")
_NAMES = (*_KEY, *ROLLUP_SUMS, *ROLLUP_HISTOGRAMS)
_ORDER = tuple(_NAMES.index(c.name) for c in ledger_rollup.columns)

Key = tuple[int, str, int, str]
# requests, errors, cost, input, output, cache (read and write) and cache read tokens, then
# latency and TTFT bin counts
Acc = tuple[list[int], dict[int, int], dict[int, int]]


class Row(Protocol):
    """What a rollup reads of a ledger row (LedgerRow, or a row selected from the table)."""

    @property
    def created_at(self) -> float: ...
    @property
    def key_id(self) -> str | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def provider(self) -> str | None: ...
    @property
    def status(self) -> int: ...
    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def cache_read_tokens(self) -> int: ...
    @property
    def cache_write_tokens(self) -> int: ...
    @property
    def ttft_ms(self) -> float | None: ...
    @property
    def latency_ms(self) -> float: ...
    @property
    def cost_nanousd(self) -> int | None: ...


def binned(column: str) -> str:
    """`bisect_right(EDGES, value)` in SQL, NULL for NULL."""
    whens = " ".join(f"WHEN {column} < {edge!r} THEN {i}" for i, edge in enumerate(EDGES))
    return f"CASE WHEN {column} IS NULL THEN NULL {whens} ELSE {len(EDGES)} END"


def deltas(rows: Iterable[Row]) -> dict[Key, Acc]:
    """What `rows` add to each rollup row. Rows are first summed per minute and (model, provider,
    key), then those sums spread to every width and dimension: under load, far fewer sums than rows."""
    minutes: dict[tuple[int, str, str, str], Acc] = {}
    for r in rows:
        at = int(r.created_at)
        k = (at - at % 60, r.model or "", r.provider or "", r.key_id or "")
        acc = minutes.get(k)
        if acc is None:
            acc = minutes[k] = ([0, 0, 0, 0, 0, 0, 0], {}, {})
        sums, lat, ttft = acc
        sums[0] += 1
        sums[1] += r.status >= 400
        sums[2] += r.cost_nanousd or 0
        sums[3] += r.input_tokens
        sums[4] += r.output_tokens
        sums[5] += r.cache_read_tokens + r.cache_write_tokens
        sums[6] += r.cache_read_tokens
        b = bisect_right(EDGES, r.latency_ms)
        lat[b] = lat.get(b, 0) + 1
        if r.ttft_ms is not None:
            b = bisect_right(EDGES, r.ttft_ms)
            ttft[b] = ttft.get(b, 0) + 1
    out: dict[Key, Acc] = {}
    for (minute, model, provider, key), acc in minutes.items():
        for width in WIDTHS:
            slot = minute - minute % width
            for target in (
                (width, "model", slot, model),
                (width, "provider", slot, provider),
                (width, "key", slot, key),
            ):
                into = out.get(target)
                if into is None:
                    out[target] = (list(acc[0]), dict(acc[1]), dict(acc[2]))
                else:
                    _merge(into, acc)
    return out


def _merge(into: Acc, acc: Acc) -> None:
    sums = into[0]
    for i, v in enumerate(acc[0]):
        sums[i] += v
    for mine, theirs in ((into[1], acc[1]), (into[2], acc[2])):
        for b, n in theirs.items():
            mine[b] = mine.get(b, 0) + n


class Upsert:
    """The upsert adding a batch to the rollups, compiled once for a dialect, and its parameters."""

    def __init__(self, dialect: Dialect) -> None:
        stmt = insert_for(dialect.name)(ledger_rollup)
        adds = {name: ledger_rollup.c[name] + stmt.excluded[name] for name in ROLLUP_SUMS + ROLLUP_HISTOGRAMS}
        stmt = stmt.on_conflict_do_update(index_elements=list(_KEY), set_=adds)
        self.sql = str(stmt.compile(dialect=dialect, column_keys=[*_KEY, *ROLLUP_SUMS, *ROLLUP_HISTOGRAMS]))

    @staticmethod
    def params(changes: dict[Key, Acc]) -> list[tuple[Any, ...]]:
        """One tuple per rollup row, in primary-key order."""
        out = []
        for k in sorted(changes):
            sums, lat, ttft = changes[k]
            values = (*k, *sums, *[lat.get(i, 0) for i in range(BINS)], *[ttft.get(i, 0) for i in range(BINS)])
            out.append(tuple(values[i] for i in _ORDER))  # the statement's columns are the table's order
        return out
