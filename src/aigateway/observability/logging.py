"""Structured JSON logs on stderr: one line per request, plus operational messages.

Invariant: nothing secret is ever passed to a log call. Request lines carry ids, model, provider,
status, token counts and timings, never headers or bodies; prompts and completions only when
`logging.content` is on (observability/content.py).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from aigateway.store.rows import LedgerRow

_encode = msgspec.json.Encoder().encode
log = logging.getLogger("aigateway")
_request_log = logging.getLogger("aigateway.request")


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            doc.update(fields)
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return msgspec.json.encode(doc).decode()


def setup_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter())
    root = logging.getLogger("aigateway")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


_HEAD = b'{"ts":'
_MIDDLE = b',"level":"info","logger":"aigateway.request","msg":"request",'
_Row: type[msgspec.Struct] | None = None  # LedgerRow's fields as a Struct: msgspec encodes it in order, fast


def _row_struct(row: LedgerRow) -> type[msgspec.Struct]:
    global _Row
    _Row = msgspec.defstruct("RequestLine", [(name, object) for name in row._fields])
    return _Row


def log_request(row: LedgerRow, content: dict[str, Any] | None = None) -> None:
    """The per-request line, in the same shape as every other line, written with one `write`:
    going through `logging` (record, lock, formatter) costs more than the rest of the line.
    `content` (prompt and completion) is given only when `logging.content` is on."""
    if not _request_log.isEnabledFor(logging.INFO):
        return
    if content is None:  # the row's members encoded in column order, spliced after the fixed ones
        fields = _encode((_Row or _row_struct(row))(*row))
        os.write(2, _HEAD + _encode(round(time.time(), 3)) + _MIDDLE + fields[1:] + b"\n")
        return
    doc = {"ts": round(time.time(), 3), "level": "info", "logger": "aigateway.request", "msg": "request"}
    doc.update(row._asdict())
    doc.update(content)
    os.write(2, _encode(doc) + b"\n")
