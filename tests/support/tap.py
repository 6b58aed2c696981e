"""A TCP relay in front of the gateway that notes each HTTP request line a client sends through it,
with the time it passed: which requests and WebSocket upgrades a client made, and when.

Bytes are relayed unchanged both ways; request lines are found in what the client sends (a
WebSocket's frames are masked, so nothing in them reads as one).
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from dataclasses import dataclass

_LINE = re.compile(rb"(GET|POST|HEAD|PUT|DELETE|OPTIONS) (/\S*) HTTP/1\.1\r\n")


@dataclass(frozen=True)
class Line:
    at: float  # time.monotonic() when it passed
    method: str
    path: str
    upgrade: bool  # a WebSocket upgrade


class Tap:
    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.lines: list[Line] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Tap:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._listener.close()

    def requests(self, method: str, path: str) -> list[Line]:
        with self._lock:
            return [line for line in self.lines if line.method == method and line.path.split("?")[0] == path]

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self._target))
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, watch: bool) -> None:
        tail = b""
        try:
            while data := src.recv(65536):
                if watch:
                    tail = self._note(tail + data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):  # the other side closed it already
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def _note(self, data: bytes) -> bytes:
        """Notes the request lines in `data`; returns what may be the start of one still arriving."""
        now, end = time.monotonic(), 0
        for m in _LINE.finditer(data):
            stop = data.find(b"\r\n\r\n", m.end())
            upgrade = b"upgrade: websocket" in data[m.end() : stop if stop >= 0 else len(data)].lower()
            with self._lock:
                self.lines.append(Line(now, m.group(1).decode(), m.group(2).decode(), upgrade))
            end = m.end()
        return data[max(end, len(data) - 512) :]
