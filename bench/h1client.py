"""The gateway's upstream HTTP client, for `client_compare.py` (which runs it in the candidates'
venv, beside aiohttp, pyreqwest and rnet): `src/aigateway/providers/http.py`, imported from this
checkout. It needs only the standard library and httptools."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from aigateway.providers.http import Client, ConnectError, H1Error, ReadTimeout, Response

__all__ = ["Client", "ConnectError", "H1Error", "ReadTimeout", "Response"]
