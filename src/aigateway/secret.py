"""The gateway's own secret, from which each use derives its key (reasoning seals, the response
cache's hash): the admin key where one is set, else 32 random bytes kept in the data directory, so
every worker and every restart derives the same keys. Replicas on different machines share it by
sharing the admin key.
"""

from __future__ import annotations

import os
import time
from functools import cache
from pathlib import Path

# The file's name is its first user's; kept so an existing data directory keeps its secret.
_FILE = "reasoning-seal.key"


@cache
def gateway_secret(admin_key: str | None, data_dir: Path) -> bytes:
    return admin_key.encode() if admin_key else _stored(data_dir / _FILE)


def _stored(path: Path) -> bytes:
    """The data directory's secret, created once (O_EXCL: of two workers racing, one writes)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(100):  # the writer may be between creating and writing it
            secret = path.read_bytes()
            if len(secret) == 32:
                return secret
            time.sleep(0.01)
        raise RuntimeError(f"{path}: not a gateway secret (32 bytes); remove it to make a new one") from None
    secret = os.urandom(32)
    with os.fdopen(fd, "wb") as f:
        f.write(secret)
    return secret
