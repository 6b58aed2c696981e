"""A minimal HTTP/1.1 client on asyncio protocols with the httptools parser (a candidate upstream client).

Written for `client_compare.py` to measure what a lean client costs against aiohttp, pyreqwest and
rnet; it has what the gateway's upstream calls use and nothing else:

- a keep-alive pool per base URL (`max_connections`, LIFO reuse, idle connections dropped after
  `idle_timeout`); a caller past the limit waits for a connection;
- timeouts: `connect_timeout` to open a connection (TCP, proxy tunnel and TLS handshake), and
  `read_timeout` for the upstream's silence (from the request's last byte, then between reads).
  The read timeout is one timer per request, armed when the caller first waits and re-armed
  only when it fires early: arrivals only store the loop time, so a stream's reads arm nothing;
- TLS through the loop's `ssl` support (`https://`, default context or the caller's);
- an HTTP proxy: `http://` targets in absolute form, `https://` targets through a CONNECT
  tunnel with TLS started inside it; `user:password@` in the proxy URL becomes
  Proxy-Authorization;
- no compression: no Accept-Encoding is sent and bodies come back as the upstream sent them;
- a response's `chunks()` yields the body bytes of one socket read as one piece (chunked framing
  removed), never one piece per HTTP chunk or per event; reading pauses past 256 KiB unread.

Not there (the gateway never needs them upstream): redirects, cookies, HEAD, 1xx, trailers,
HTTP/2, pipelining, retrying a request on a reused connection the server had closed (the
gateway's attempt loop retries instead; `idle_timeout` stays below upstreams' own idle limits).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import ssl as _ssl
from collections.abc import AsyncIterator, Mapping
from urllib.parse import unquote, urlsplit

import httptools

_HIGH_WATER = 256 * 1024


class H1Error(ConnectionError):
    """The connection failed or the upstream answered something that is not HTTP/1.1."""


class ReadTimeout(TimeoutError):
    """The upstream stayed silent for longer than `read_timeout`."""


class Response:
    """An answer whose status and headers have arrived; read it, stream it, or close it."""

    __slots__ = (
        "_buffered",
        "_conn",
        "_exc",
        "_headers",
        "_parts",
        "_raw",
        "_waiter",
        "done",
        "head",
        "keep_alive",
        "status",
    )

    def __init__(self, conn: _Conn):
        self._conn = conn
        self._raw: list[tuple[bytes, bytes]] = []
        self._headers: dict[str, str] | None = None
        self._parts: list[bytes] = []
        self._buffered = 0
        self._exc: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.head = False  # status and headers are in
        self.done = False  # the whole body is in
        self.keep_alive = False  # the connection may carry the next request once this answer is read
        self.status = 0

    @property
    def headers(self) -> Mapping[str, str]:
        """Lower-cased names; repeated headers joined with ', ' (built on first use)."""
        if self._headers is None:
            out: dict[str, str] = {}
            for name, value in self._raw:
                key, val = name.decode("latin-1").lower(), value.decode("latin-1")
                out[key] = f"{out[key]}, {val}" if key in out else val
            self._headers = out
        return self._headers

    async def read(self) -> bytes:
        """The whole body; the connection goes back to the pool."""
        while not self.done:
            await self._wait()
        parts = self._parts
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        self._parts = []
        self.release()
        return data

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives, one piece per socket read; the connection goes back to the
        pool at the end (`close()` it to abandon the stream)."""
        while True:
            parts = self._parts
            if parts:
                data = parts[0] if len(parts) == 1 else b"".join(parts)
                parts.clear()
                if self._buffered > _HIGH_WATER:
                    self._conn.resume()
                self._buffered = 0
                yield data
            elif self.done:
                self.release()
                return
            else:
                await self._wait()

    def release(self) -> None:
        """Back to the pool if the answer was read whole and the connection may be kept; else closed."""
        conn = self._conn
        if conn.resp is self:
            conn.finish(self.done and self.keep_alive)

    def close(self) -> None:
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


class _Conn(asyncio.Protocol):
    """One upstream connection: the httptools parser feeds the current `Response`."""

    def __init__(self, pool: Client):
        self.pool = pool
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.resp: Response | None = None
        self.lost = False
        self.paused = False
        self.last_read = 0.0
        self.idle_since = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.tunnel: asyncio.Future[bytes] | None = None  # the proxy's answer to CONNECT
        self.tunnel_buf = b""
        self.counted = False  # holds one of the pool's `max_connections` slots

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.tunnel is not None:
            self._tunnel_data(data)
            return
        resp = self.resp
        if resp is None:  # bytes nobody asked for: the connection cannot be trusted
            self.lost = True
            self.transport.close()  # type: ignore[union-attr]
            return
        self.last_read = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            resp._fail(H1Error(f"invalid HTTP answer: {exc}"))
            self.lost = True
            self.transport.close()  # type: ignore[union-attr]
            return
        if resp._buffered > _HIGH_WATER and not self.paused:
            self.paused = True
            self.transport.pause_reading()  # type: ignore[union-attr]
        resp._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._disarm()
        if self.tunnel is not None and not self.tunnel.done():
            self.tunnel.set_exception(H1Error("the proxy closed the connection"))
        resp = self.resp
        if resp is not None and not resp.done:
            if resp.head and not self._framed():  # a body delimited by the end of the connection
                resp.done = True
                resp._wake()
            else:
                resp._fail(H1Error(f"the upstream closed the connection{f': {exc}' if exc else ''}"))
        self.pool._lost(self)

    # -- httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self.resp._raw.append((name, value))  # type: ignore[union-attr]

    def on_headers_complete(self) -> None:
        resp = self.resp
        resp.status = self.parser.get_status_code()  # type: ignore[union-attr]
        resp.head = True  # type: ignore[union-attr]

    def on_body(self, body: bytes) -> None:
        resp = self.resp
        resp._parts.append(body)  # type: ignore[union-attr]
        resp._buffered += len(body)  # type: ignore[union-attr]

    def on_message_complete(self) -> None:
        resp = self.resp
        resp.keep_alive = self.parser.should_keep_alive()  # type: ignore[union-attr]  # (reset after the feed)
        resp.done = True  # type: ignore[union-attr]
        self._disarm()

    # -- the pool's side

    def send(self, data: bytes) -> Response:
        resp = self.resp = Response(self)
        self.last_read = self.loop.time()
        self.transport.write(data)  # type: ignore[union-attr]
        return resp

    def finish(self, keep: bool) -> None:
        """The current response is over: keep the connection for the next, or close it."""
        self.resp = None
        self._disarm()
        if keep and not self.lost:
            self.resume()
            self.pool._release(self)
        else:
            self.lost = True
            if self.transport is not None:
                self.transport.close()
            self.pool._lost(self)

    def resume(self) -> None:
        if self.paused and self.transport is not None:
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

    def _framed(self) -> bool:
        names = {name.lower() for name, _ in self.resp._raw}  # type: ignore[union-attr]
        return b"content-length" in names or b"transfer-encoding" in names

    def _tunnel_data(self, data: bytes) -> None:
        self.tunnel_buf += data
        end = self.tunnel_buf.find(b"\r\n\r\n")
        if end >= 0 and self.tunnel is not None and not self.tunnel.done():
            self.tunnel.set_result(self.tunnel_buf[:end])


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
        proxy: str | None = None,
    ):
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.tls = url.scheme == "https"
        self.host = url.hostname
        self.port = url.port or (443 if self.tls else 80)
        default_port = self.port == (443 if self.tls else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host
        authority = host if default_port else f"{host}:{self.port}"
        self.prefix = url.path.rstrip("/")
        self.ssl = (ssl or _ssl.create_default_context()) if self.tls else None
        self.max_connections, self.connect_timeout = max_connections, connect_timeout
        self.read_timeout, self.idle_timeout = read_timeout, idle_timeout
        self.proxy: tuple[str, int] | None = None
        self.proxy_auth = b""
        target = ""  # what precedes the path in the request line
        if proxy:
            p = urlsplit(proxy)
            if p.scheme != "http" or not p.hostname:
                raise ValueError("only http:// proxies are supported")
            self.proxy = (p.hostname, p.port or 80)
            if p.username is not None:
                cred = f"{unquote(p.username)}:{unquote(p.password or '')}".encode()
                self.proxy_auth = b"proxy-authorization: Basic " + base64.b64encode(cred) + b"\r\n"
            if not self.tls:
                target = f"http://{authority}"
        self._target = target.encode()
        self._host_line = b"host: " + authority.encode("idna") + b"\r\n"
        self._authority = authority
        self.loop = asyncio.get_running_loop()
        self._idle: collections.deque[_Conn] = collections.deque()
        self._open = 0
        self._waiters: collections.deque[asyncio.Future[_Conn | None]] = collections.deque()
        self._closed = False

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> Response:
        """Sends the request and waits for the answer's status and headers."""
        head = bytearray(method.encode())
        head += b" " + self._target + (self.prefix + path).encode() + b" HTTP/1.1\r\n" + self._host_line
        if headers:
            for name, value in headers.items():
                head += name.encode("latin-1") + b": " + value.encode("latin-1") + b"\r\n"
        if self.proxy is not None and not self.tls:
            head += self.proxy_auth
        head += b"content-length: %d\r\n\r\n" % len(body)
        conn = await self._acquire()
        try:
            resp = conn.send(bytes(head + body) if body else bytes(head))
            while not resp.head:
                await resp._wait()
        except BaseException:
            conn.finish(False)
            raise
        return resp

    async def post(self, path: str, body: bytes, headers: Mapping[str, str] | None = None) -> Response:
        return await self.request("POST", path, body, headers)

    async def close(self) -> None:
        self._closed = True
        while self._idle:
            conn = self._idle.pop()
            if conn.transport is not None:
                conn.transport.close()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(H1Error("the client is closed"))

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- the pool

    async def _acquire(self) -> _Conn:
        if self._closed:
            raise H1Error("the client is closed")
        now = self.loop.time()
        while self._idle:
            conn = self._idle.pop()  # the most recently used: the likeliest to be alive
            if conn.lost or now - conn.idle_since > self.idle_timeout:
                conn.finish(False)
                continue
            return conn
        if self._open >= self.max_connections:
            waiter = self.loop.create_future()
            self._waiters.append(waiter)
            got = await waiter  # a released connection, or None: a slot to open one
            if got is not None:
                return got
        self._open += 1
        try:
            conn = await self._connect()
        except BaseException:
            self._open -= 1
            self._hand_slot()
            raise
        conn.counted = True
        return conn

    async def _connect(self) -> _Conn:
        loop = self.loop
        async with asyncio.timeout(self.connect_timeout):
            if self.proxy is None:
                _, conn = await loop.create_connection(
                    lambda: _Conn(self),
                    self.host,
                    self.port,
                    ssl=self.ssl,
                    server_hostname=self.host if self.tls else None,
                )
                return conn
            _, conn = await loop.create_connection(lambda: _Conn(self), *self.proxy)
            if not self.tls:
                return conn
            try:
                conn.tunnel = loop.create_future()
                conn.transport.write(  # type: ignore[union-attr]
                    b"CONNECT %s HTTP/1.1\r\nhost: %s\r\n%s\r\n"
                    % (self._authority.encode(), self._authority.encode(), self.proxy_auth)
                )
                answer = await conn.tunnel
                line = answer.split(b"\r\n", 1)[0]
                status = line.split(b" ", 2)
                if len(status) < 2 or status[1] != b"200":
                    raise H1Error(f"the proxy refused the tunnel: {line.decode('latin-1')}")
                conn.tunnel = None
                conn.transport = await loop.start_tls(  # type: ignore[assignment]
                    conn.transport,  # type: ignore[arg-type]
                    conn,
                    self.ssl,  # type: ignore[arg-type]
                    server_hostname=self.host,
                )
            except BaseException:
                if conn.transport is not None:
                    conn.transport.close()
                raise
            return conn

    def _release(self, conn: _Conn) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        conn.idle_since = self.loop.time()
        self._idle.append(conn)

    def _lost(self, conn: _Conn) -> None:
        """A connection closed: its slot goes to a waiter, if any."""
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
