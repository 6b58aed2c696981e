"""Access to the recorded provider traffic in ../shared/fixtures (override: AIGATEWAY_FIXTURES).

A clone without the recordings still runs every test that needs none: the lists here are then
empty (a parametrized test collects as one skipped item), and whatever reads a recording calls
`need_recordings()`, which skips the test with the reason, or fails it when
AIGATEWAY_REQUIRE_FIXTURES=1 (CI, which has them). tests/conftest.py applies the same to tests
marked `recordings`, to empty parametrizations and to a file under ROOT that is not there.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(
    os.path.abspath(
        os.environ.get("AIGATEWAY_FIXTURES") or Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures"
    )
)
FOUND = (ROOT / "index.json").is_file()
REQUIRED = os.environ.get("AIGATEWAY_REQUIRE_FIXTURES", "") not in ("", "0")
MISSING = f"recordings not found at {ROOT}: set AIGATEWAY_FIXTURES to the fixtures directory"


def need_recordings() -> None:
    """Skips the running test when the recordings are absent (fails it if they are required)."""
    if FOUND:
        return
    import pytest  # here: bench/ reads the recordings through this module too

    if REQUIRED:
        pytest.fail(MISSING + " (AIGATEWAY_REQUIRE_FIXTURES is set)", pytrace=False)
    pytest.skip(MISSING)


def is_recording(path: str | os.PathLike[str] | None) -> bool:
    """Whether `path` names something under ROOT."""
    return path is not None and Path(os.path.abspath(path)).is_relative_to(ROOT)


@dataclass(frozen=True)
class Exchange:
    provider: str
    case: str
    number: int
    method: str
    url: str
    status: int
    content_type: str
    stream: bool
    request_file: str | None
    response_file: str | None
    response_headers: dict[str, str]

    @property
    def name(self) -> str:
        return f"{self.provider}/{self.case}#{self.number}"

    @property
    def path_and_query(self) -> str:
        rest = self.url.split("://", 1)[-1]
        return "/" + rest.split("/", 1)[1]

    def request_bytes(self) -> bytes:
        assert self.request_file, self.name
        return (ROOT / self.provider / self.request_file).read_bytes()

    def request_json(self) -> dict:
        return json.loads(self.request_bytes())

    def response_bytes(self) -> bytes:
        assert self.response_file, self.name
        return (ROOT / self.provider / self.response_file).read_bytes()


@cache
def _index() -> list[dict]:
    if not FOUND:
        return []
    return json.loads((ROOT / "index.json").read_text())


@cache
def _cassette_headers(provider: str, case: str) -> list[dict[str, str]]:
    path = ROOT / provider / f"{case}.cassette.yaml"
    if not path.exists():
        return []
    doc = yaml.safe_load(path.read_text())
    out = []
    for inter in doc.get("interactions", []):
        headers = inter.get("response", {}).get("headers", {}) or {}
        out.append({k.lower(): (v[0] if isinstance(v, list) else str(v)) for k, v in headers.items()})
    return out


def exchanges(provider: str) -> list[Exchange]:
    found = []
    for case in _index():
        if case["provider"] != provider:
            continue
        headers = _cassette_headers(provider, case["case"])
        for inter in case["interactions"]:
            n = inter["interaction"]
            found.append(
                Exchange(
                    provider=provider,
                    case=case["case"],
                    number=n,
                    method=inter["method"],
                    url=inter["url"],
                    status=inter["status"],
                    content_type=inter["content_type"],
                    stream=bool(inter.get("stream")),
                    request_file=inter.get("request_file"),
                    response_file=inter.get("response_file"),
                    response_headers=headers[n - 1] if n - 1 < len(headers) else {},
                )
            )
    return found


class Later:
    """An exchange named at import and looked up on first use, inside a test, where a missing
    recording skips the test instead of failing the module's collection."""

    def __init__(self, provider: str, case: str, number: int = 1) -> None:
        self._name = (provider, case, number)

    def __getattr__(self, attr: str) -> object:
        return getattr(exchange(*self._name), attr)


def exchange(provider: str, case: str, number: int = 1) -> Exchange:
    need_recordings()
    for ex in exchanges(provider):
        if ex.case == case and ex.number == number:
            return ex
    raise KeyError(f"{provider}/{case}#{number}")


def claude_code_request(name: str) -> dict:
    need_recordings()
    return json.loads((ROOT / "requests" / f"{name}.json").read_text())
