"""The upstream HTTP client: HTTP/1.1 on an asyncio Protocol with the httptools parser.

One `Client` is a keep-alive pool for one base URL (a provider's). It does what the gateway's
upstream calls need and nothing more (chosen over aiohttp for its CPU: bench/README.md, G12):

- at most `max_connections` connections, reused last-in first-out; callers past the limit wait.
  A connection the upstream closed, or that sent bytes nobody asked for, is never reused; idle
  ones are closed after `idle_timeout`;
- `connect_timeout` covers name resolution, TCP and the TLS handshake; `read_timeout` the
  upstream's silence (from the request's last byte, then between reads). It is one timer per
  request, armed only when the caller waits: a stream's reads just note the time;
- names are resolved off the loop and cached for 5 minutes; several addresses are tried with
  happy eyeballs (RFC 8305, 0.25 s apart);
- TLS through one default context per process (OpenSSL's paths, `SSL_CERT_FILE` honoured), or
  the caller's; HTTP/1.1 only;
- `accept-encoding: identity` is sent unless the caller names an encoding. A gzip or deflate
  answer anyway is decompressed as it is read, and its `content-encoding` and `content-length`
  are dropped; any other encoding is left as it came, header included, for the caller to refuse;
- a request is sent once: one that fails is never sent again here, not even when a reused
  connection was closed before a byte of the answer came (the upstream may have read it and
  crashed; the attempt loop decides, as it did with aiohttp, which resends no POST). What this
  leaves, the upstream closing an idle connection just as a request goes out, is kept rare:
  a close seen while idle takes the connection out of the pool, and `idle_timeout` (15 s, as
  aiohttp's) stays below upstreams' own idle limits;
- `chunks()` yields what one socket read brought (chunked framing removed), never re-chunked;
  reading pauses while more than 256 KiB are unread.

Not there (no upstream call needs them): redirects, cookies, proxies, trailers, HTTP/2,
pipelining, request bodies other than bytes.
"""

from __future__ import annotations

import asyncio
import asyncio.staggered
import base64
import collections
import functools
import re
import socket
import ssl as _ssl
import zlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, cast
from urllib.parse import quote, unquote, urlsplit

import httptools

_HIGH_WATER = 256 * 1024
_DNS_TTL = 300.0
_HAPPY_EYEBALLS_DELAY = 0.25
_LARGE_BODY = 64 * 1024  # written apart from the head rather than copied into it
# What a request target may hold as is; anything else (spaces, controls, non-ASCII) is
# percent-encoded, as yarl did. `%` stays: paths arrive already encoded (Bedrock's are signed).
_PATH_SAFE = "!$&'()*+,;=:@/?%[]"
_PATH_UNSAFE = re.compile(r"[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%\[\]]")

AddrInfo = tuple[int, int, int, str, Any]


class H1Error(ConnectionError):
    """The connection failed or the upstream answered something that is not HTTP/1.1. The
    messages name no header and no body: they may end up in a client's error."""


class ConnectError(H1Error):
    """No connection could be opened: name resolution, refused, unreachable, TLS verification."""

    def __init__(self, authority: str, exc: OSError):
        self.os_error = exc
        self.reason = exc.strerror or str(exc) or type(exc).__name__
        super().__init__(f"cannot connect to {authority}: {self.reason}")


class Disconnected(H1Error):
    """The upstream closed the connection before its answer was complete."""


class ReadTimeout(TimeoutError):
    """The upstream stayed silent for longer than `read_timeout`."""


class ConnectTimeout(TimeoutError):
    """No connection within `connect_timeout`."""


@functools.cache
def default_tls() -> _ssl.SSLContext:
    """Certificates verified against OpenSSL's default paths; built once, on the first https pool."""
    context = _ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    return context


class Response:
    """An answer whose status and headers have arrived: `read()` it, stream its `chunks()`, or
    `close()` it; the connection goes back to the pool once the body is read whole."""

    __slots__ = (
        "_body",
        "_buffered",
        "_conn",
        "_exc",
        "_inflate",
        "_parts",
        "_raw",
        "_waiter",
        "_whole",
        "done",
        "head",
        "headers",
        "keep_alive",
        "status",
    )

    def __init__(self, conn: _Conn):
        self._conn = conn
        self._raw: list[tuple[bytes, bytes]] = []
        self._parts: list[bytes] = []
        self._buffered = 0
        self._body: bytes | None = None
        self._exc: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._inflate: _Inflate | None = None
        self._whole = False  # read() wants it all: never pause reading
        self.headers: Mapping[str, str] = {}  # lower-case names; repeated ones joined with ", "
        self.status = 0
        self.head = False  # status and headers are in
        self.done = False  # the whole body is in
        self.keep_alive = False  # the connection may carry the next request once this answer is read

    async def read(self) -> bytes:
        """The whole body (the same bytes if asked again)."""
        if self._body is not None:
            return self._body
        self._whole = True
        conn = self._conn
        try:
            if conn.paused and conn.resp is self:
                conn.resume()
            while not self.done:
                await self._wait()
            parts, self._parts = self._parts, []
            body = parts[0] if len(parts) == 1 else b"".join(parts)
            if self._inflate is not None:
                body = self._inflate.feed(body) + self._inflate.end()
        except BaseException:
            self.close()
            raise
        self._body = body
        self.release()
        return body

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives, one piece per socket read; the connection goes back to the
        pool at the end, and is closed if the stream is abandoned or fails."""
        try:
            while True:
                parts = self._parts
                if parts:
                    data = parts[0] if len(parts) == 1 else b"".join(parts)
                    parts.clear()
                    self._buffered = 0
                    if self._conn.paused:
                        self._conn.resume()
                    if self._inflate is not None:
                        data = self._inflate.feed(data)
                        if not data:
                            continue
                    yield data
                elif self.done:
                    tail = self._inflate.end() if self._inflate is not None else b""
                    self.release()
                    if tail:
                        yield tail
                    return
                else:
                    await self._wait()
        except BaseException:
            self.close()
            raise

    def release(self) -> None:
        """Back to the pool if the answer was read whole and the connection may be kept; else closed."""
        conn = self._conn
        if conn.resp is self:
            conn.finish(self.done and self.keep_alive)

    def close(self) -> None:
        """Drop the connection (never reused), e.g. when a stream is abandoned."""
        conn = self._conn
        if conn.resp is self:
            conn.finish(False)

    async def _wait(self) -> None:
        if self._exc is not None:
            raise self._exc
        conn = self._conn
        waiter = self._waiter = conn.loop.create_future()
        conn.arm()
        try:
            await waiter
        finally:
            self._waiter = None
        if self._exc is not None:
            raise self._exc

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        if self._exc is None and not self.done:
            self._exc = exc
            self._wake()


class _Inflate:
    """gzip or deflate (zlib-wrapped, or raw as some servers send it), decompressed as it comes."""

    __slots__ = ("_encoding", "_fed", "_z")

    def __init__(self, encoding: str):
        self._encoding = encoding
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
        self._fed = False

    def feed(self, data: bytes) -> bytes:
        if not data:
            return b""
        if not self._fed:
            self._fed = True
            if self._encoding == "deflate" and data[0] & 0x0F != 8:  # no zlib header: raw deflate
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            return self._z.decompress(data)
        except zlib.error:
            raise H1Error(f"the upstream's {self._encoding} body is corrupt") from None

    def end(self) -> bytes:
        if not self._fed:
            return b""
        if not self._z.eof:
            raise H1Error(f"the upstream's {self._encoding} body was cut short")
        return self._z.flush()


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in raw:
        key, val = name.decode("latin-1").lower(), value.decode("latin-1")
        out[key] = f"{out[key]}, {val}" if key in out else val
    return out


class _Conn(asyncio.Protocol):
    """One upstream connection: the httptools parser feeds the current `Response`."""

    transport: asyncio.Transport  # set by connection_made, before the pool ever sees the connection

    def __init__(self, pool: Client):
        self.pool = pool
        self.loop = pool.loop
        self.parser = httptools.HttpResponseParser(self)
        self.resp: Response | None = None
        self.lost = False
        self.paused = False
        self.interim = False  # parsing a 1xx answer: the final one follows
        self.framed = True  # the answer's end is marked (length or chunks), not the connection's end
        self.last_read = 0.0
        self.idle_since = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.counted = False  # holds one of the pool's `max_connections` slots

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not registered as subclasses

    def data_received(self, data: bytes) -> None:
        resp = self.resp
        if resp is None or resp.done:  # bytes nobody asked for: the connection cannot be trusted
            self.lost = True
            self.transport.close()
            return
        self.last_read = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            resp._fail(H1Error(f"the upstream's answer is not valid HTTP/1.1 ({exc})"))
            resp._wake()  # an answer complete before the bad bytes stands
            self.lost = True
            self.transport.close()
            return
        if resp._buffered > _HIGH_WATER and not resp._whole and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        resp._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._disarm()
        resp = self.resp
        if resp is not None and not resp.done:
            if resp.head and not self.framed:  # a body delimited by the end of the connection
                resp.done = True
                resp._wake()
            else:
                reason = f": {exc}" if exc else ""
                resp._fail(Disconnected(f"the upstream closed the connection{reason}"))
        self.pool._lost(self)

    # -- httptools callbacks

    def on_message_begin(self) -> None:
        if self.resp is None or self.resp.done:
            raise H1Error("a second answer to one request")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.resp._raw.append((name, value))  # type: ignore[union-attr]

    def on_headers_complete(self) -> None:
        resp = self.resp
        assert resp is not None
        status = self.parser.get_status_code()
        if status < 200:  # 100 Continue, 103 Early Hints...: the answer itself follows
            self.interim = True
            resp._raw.clear()
            return
        resp.status = status
        headers = resp.headers = _headers(resp._raw)
        resp._raw = []
        self.framed = "content-length" in headers or "transfer-encoding" in headers
        encoding = headers.get("content-encoding")
        if encoding is not None:
            encoding = encoding.strip().lower()
            if encoding in ("gzip", "x-gzip", "deflate"):
                resp._inflate = _Inflate("deflate" if encoding == "deflate" else "gzip")
                del headers["content-encoding"]
                headers.pop("content-length", None)
        resp.head = True

    def on_body(self, body: bytes) -> None:
        resp = self.resp
        resp._parts.append(body)  # type: ignore[union-attr]
        resp._buffered += len(body)  # type: ignore[union-attr]

    def on_message_complete(self) -> None:
        if self.interim:
            self.interim = False
            return
        resp = self.resp
        assert resp is not None
        resp.keep_alive = self.parser.should_keep_alive()
        resp.done = True
        self._disarm()

    # -- the pool's side

    def send(self, data: bytes, body: bytes) -> Response:
        resp = self.resp = Response(self)
        self.last_read = self.loop.time()
        self.transport.write(data)
        if body:
            self.transport.write(body)
        return resp

    def finish(self, keep: bool) -> None:
        """The current answer is over: keep the connection for the next, or close it."""
        resp, self.resp = self.resp, None
        if resp is not None and not resp.done:  # closed under a reader: it must not wait forever
            resp._fail(H1Error("the answer was abandoned"))
        self._disarm()
        if keep and not self.lost and not self.transport.is_closing():
            self.resume()
            self.pool._release(self)
        else:
            self.lost = True
            self.transport.close()
            self.pool._lost(self)

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            self.transport.resume_reading()

    def arm(self) -> None:
        if self.timer is None:
            self.timer = self.loop.call_at(self.last_read + self.pool.read_timeout, self._check)

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _check(self) -> None:
        self.timer = None
        resp = self.resp
        if resp is None or resp.done or resp._waiter is None:
            return
        if self.loop.time() - self.last_read >= self.pool.read_timeout:
            resp._fail(ReadTimeout(f"no data from the upstream for {self.pool.read_timeout:g} s"))
            self.finish(False)
        else:
            self.arm()


class Client:
    """A keep-alive pool for one base URL (scheme, host and port; its path prefixes every request)."""

    def __init__(
        self,
        base_url: str,
        *,
        max_connections: int = 256,
        connect_timeout: float = 10.0,
        read_timeout: float = 600.0,
        idle_timeout: float = 15.0,
        ssl: _ssl.SSLContext | None = None,
    ):
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.tls = url.scheme == "https"
        self.host = url.hostname
        self.port = url.port or (443 if self.tls else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host.encode("idna").decode("ascii")
        self.authority = host if self.port == (443 if self.tls else 80) else f"{host}:{self.port}"
        # user:password@ in the URL is Basic auth (as aiohttp did), unless a request sets its own
        basic = f"{unquote(url.username)}:{unquote(url.password or '')}" if url.username is not None else None
        self._basic = f"authorization: Basic {base64.b64encode(basic.encode()).decode()}\r\n" if basic else ""
        prefix = url.path.rstrip("/")
        self.prefix = quote(prefix, safe=_PATH_SAFE) if _PATH_UNSAFE.search(prefix) else prefix
        self.ssl = (ssl or default_tls()) if self.tls else None
        self.max_connections, self.connect_timeout = max_connections, connect_timeout
        self.read_timeout, self.idle_timeout = read_timeout, idle_timeout
        self.loop = asyncio.get_running_loop()
        self._idle: collections.deque[_Conn] = collections.deque()  # oldest first
        self._conns: set[_Conn] = set()
        self._open = 0  # connections open or being opened
        self._waiters: collections.deque[asyncio.Future[_Conn | None]] = collections.deque()
        self._sweeper: asyncio.TimerHandle | None = None
        self._addrs: list[AddrInfo] = []
        self._addrs_until = 0.0
        self._resolving: asyncio.Task[list[AddrInfo]] | None = None
        self._closed = False

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> Response:
        """Sends the request (`path` from the base URL's path on, starting with "/") and waits
        for the answer's status and headers."""
        head = self._head(method, path, headers, len(body))
        if len(body) < _LARGE_BODY:
            head, body = head + body, b""
        conn = await self._acquire()
        resp = conn.send(head, body)
        try:
            while not resp.head:
                await resp._wait()
        except BaseException:
            conn.finish(False)  # failed, cancelled or timed out before the head: never reused
            raise
        return resp

    async def close(self) -> None:
        """Closes every connection, idle or busy; waiting callers get an H1Error."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for conn in list(self._conns):
            conn.transport.close()
        self._idle.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(H1Error("the client is closed"))

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _head(self, method: str, path: str, headers: Mapping[str, str] | None, length: int) -> bytes:
        if _PATH_UNSAFE.search(path):
            path = quote(path, safe=_PATH_SAFE)
        lines = "".join([f"{name}: {value}\r\n" for name, value in headers.items()]) if headers else ""
        n = len(headers) if headers else 0
        if lines.count("\n") != n or lines.count("\r") != n:
            raise H1Error("a request header holds a line break")
        named = ("\n" + lines).lower()
        if "\naccept-encoding:" not in named:
            lines += "accept-encoding: identity\r\n"
        if self._basic and "\nauthorization:" not in named:
            lines += self._basic
        if length or method not in ("GET", "HEAD"):
            lines += f"content-length: {length}\r\n"
        return f"{method} {self.prefix}{path} HTTP/1.1\r\nhost: {self.authority}\r\n{lines}\r\n".encode()

    # -- the pool

    async def _acquire(self) -> _Conn:
        if self._closed:
            raise H1Error("the client is closed")
        now = self.loop.time()
        while self._idle:
            conn = self._idle.pop()  # the most recently used: the likeliest to be alive
            if conn.lost or conn.transport.is_closing() or now - conn.idle_since >= self.idle_timeout:
                conn.finish(False)
                continue
            return conn
        if self._open >= self.max_connections:
            waiter: asyncio.Future[_Conn | None] = self.loop.create_future()
            self._waiters.append(waiter)
            try:
                got = await waiter  # a released connection, or None: a slot to open one
            except BaseException:
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                    self._give_back(waiter.result())  # handed over as the caller was cancelled
                elif waiter in self._waiters:
                    self._waiters.remove(waiter)
                raise
            if got is not None:
                return got
        self._open += 1
        try:
            conn = await self._connect()
        except BaseException:
            self._open -= 1
            self._hand_slot()
            raise
        if self._closed:
            conn.transport.close()
            self._open -= 1
            raise H1Error("the client is closed")
        conn.counted = True
        self._conns.add(conn)
        return conn

    def _give_back(self, got: _Conn | None) -> None:
        if got is None:
            self._hand_slot()
        else:
            self._release(got)

    async def _connect(self) -> _Conn:
        loop = self.loop
        try:
            async with asyncio.timeout(self.connect_timeout):
                infos = await self._resolve()
                sock = await _connect_any(loop, infos)
                try:
                    _, conn = await loop.create_connection(
                        lambda: _Conn(self),
                        sock=sock,
                        ssl=self.ssl,
                        server_hostname=self.host if self.ssl is not None else None,
                    )
                except BaseException:
                    sock.close()
                    raise
        except TimeoutError:
            raise ConnectTimeout(f"no connection to {self.authority} within {self.connect_timeout:g} s") from None
        except H1Error:
            raise
        except OSError as exc:  # DNS, refused, unreachable, TLS verification
            self._addrs = []  # resolve again next time: the upstream may have moved
            raise ConnectError(self.authority, exc) from None
        return conn

    async def _resolve(self) -> list[AddrInfo]:
        if self._addrs and self.loop.time() < self._addrs_until:
            return self._addrs
        task = self._resolving
        if task is None:  # one lookup at a time, whoever waits for it
            task = self._resolving = self.loop.create_task(self._lookup())
            task.add_done_callback(_retrieve)
        return await asyncio.shield(task)

    async def _lookup(self) -> list[AddrInfo]:
        try:
            infos = await self.loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
            if not infos:
                raise OSError(f"no address for {self.host}")
            self._addrs = _interleave(infos)
            self._addrs_until = self.loop.time() + _DNS_TTL
            return self._addrs
        finally:
            self._resolving = None

    def _release(self, conn: _Conn) -> None:
        if self._closed:
            conn.finish(False)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        now = conn.idle_since = self.loop.time()
        self._idle.append(conn)
        if self._sweeper is None:
            self._sweeper = self.loop.call_at(now + self.idle_timeout, self._sweep)

    def _sweep(self) -> None:
        """Closes the connections idle for `idle_timeout`, then waits for the next to be."""
        self._sweeper = None
        idle, limit = self._idle, self.loop.time() - self.idle_timeout
        while idle and idle[0].idle_since <= limit:
            idle.popleft().finish(False)
        if idle:
            self._sweeper = self.loop.call_at(idle[0].idle_since + self.idle_timeout, self._sweep)

    def _lost(self, conn: _Conn) -> None:
        """A connection closed: its slot goes to a waiter, if any."""
        self._conns.discard(conn)
        if not conn.counted:
            return
        conn.counted = False
        if conn in self._idle:
            self._idle.remove(conn)
        self._open -= 1
        self._hand_slot()

    def _hand_slot(self) -> None:
        """A connection slot came free: the first waiter may open a connection of its own."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # seen by whoever awaited it; never "exception was never retrieved"


def _interleave(infos: Sequence[AddrInfo]) -> list[AddrInfo]:
    """Addresses alternating between families, the first family first (RFC 8305)."""
    families: dict[int, list[AddrInfo]] = {}
    for info in infos:
        families.setdefault(info[0], []).append(info)
    groups = list(families.values())
    return [g[i] for i in range(max(map(len, groups))) for g in groups if i < len(g)]


async def _connect_one(loop: asyncio.AbstractEventLoop, info: AddrInfo) -> socket.socket:
    family, kind, proto, _, address = info
    sock = socket.socket(family, kind, proto)
    try:
        sock.setblocking(False)
        if family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await loop.sock_connect(sock, address)
    except BaseException:
        sock.close()
        raise
    return sock


async def _connect_any(loop: asyncio.AbstractEventLoop, infos: list[AddrInfo]) -> socket.socket:
    """The first address to answer; the next is tried 0.25 s after the last began or at once when it failed."""
    if len(infos) == 1:
        return await _connect_one(loop, infos[0])
    attempts = [functools.partial(_connect_one, loop, info) for info in infos]
    sock, _, errors = await asyncio.staggered.staggered_race(attempts, _HAPPY_EYEBALLS_DELAY)
    if not isinstance(sock, socket.socket):
        raise next((e for e in errors if isinstance(e, OSError)), OSError("connection failed"))
    return sock
