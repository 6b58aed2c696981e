"""A tokenizer build the test holds: it starts in its own thread and waits for `release`."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from aigateway.tokens import encodings


class HeldBuild:
    """Every build of an encoding waits for `release` (in its own thread) before it goes on;
    nothing counts as built when it is made."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.builds: list[tuple[str, int]] = []  # (encoding, thread id)
        real = encodings._constructor_args

        def held(name: str) -> dict[str, Any]:
            self.builds.append((name, threading.get_ident()))
            self.started.set()
            if not self.release.wait(30):
                raise RuntimeError("the test never released the build")
            return real(name)

        monkeypatch.setattr(encodings, "_constructor_args", held)
        monkeypatch.setattr(encodings, "_built", {})

    async def until_started(self) -> None:
        assert await asyncio.to_thread(self.started.wait, 10), "the build never started"
