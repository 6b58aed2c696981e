"""The upstream HTTP client (providers/http.py) against scripted upstreams: plain asyncio servers
that answer byte by byte what each test says, run on the default loop and on uvloop (the
gateway's)."""

from __future__ import annotations

import asyncio
import base64
import datetime
import gzip
import ipaddress
import ssl
import zlib
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import uvloop

from aigateway.errors import UpstreamError, UpstreamUnavailable
from aigateway.providers import http
from aigateway.providers.base import PassthroughRequest, Provider, UpstreamResponse, decoded
from aigateway.settings import ProviderConfig, Timeouts

Handler = Callable[["Conn"], Awaitable[None]]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    return uvloop.run if request.param == "uvloop" else asyncio.run


class Conn:
    """One accepted connection, seen from the upstream's side."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.requests: list[tuple[bytes, bytes]] = []
        self.gone = asyncio.Event()  # the client closed the connection

    async def request(self) -> tuple[bytes, bytes] | None:
        """The next request's head and body, or None when the client closed the connection."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            self.gone.set()
            return None
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await self.reader.readexactly(length)
        self.requests.append((head, body))
        return head, body

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def closed_by_client(self, timeout: float = 2.0) -> bool:
        """Whether the client closed the connection (seen by a handler waiting for a request)."""
        try:
            await asyncio.wait_for(self.gone.wait(), timeout)
        except TimeoutError:
            return False
        return True


def answer(body: bytes = b"ok", status: str = "200 OK", headers: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\ncontent-length: {len(body)}\r\n{headers}\r\n".encode() + body


async def keep_answering(conn: Conn) -> None:
    while await conn.request() is not None:
        await conn.send(answer())


class Upstream:
    def __init__(self, handle: Handler = keep_answering, tls: ssl.SSLContext | None = None):
        self.handle, self.tls = handle, tls
        self.conns: list[Conn] = []
        self.tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Upstream:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        for conn in self.conns:
            conn.writer.close()
        for task in self.tasks:
            task.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Conn(reader, writer)
        self.conns.append(conn)
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            await self.handle(conn)
        except asyncio.CancelledError:  # the test is over
            pass
        finally:
            writer.close()


# -- the pool


def test_keep_alive_reuses_one_connection(run):
    async def go():
        async with Upstream() as up, http.Client(up.url + "/base/") as client:
            for _ in range(3):
                resp = await client.request("POST", "/v1/x", b"{}", {"x-api-key": "k"})
                assert (resp.status, await resp.read()) == (200, b"ok")
            assert len(up.conns) == 1 and len(up.conns[0].requests) == 3
            head, body = up.conns[0].requests[0]
            assert head.startswith(b"POST /base/v1/x HTTP/1.1\r\nhost: 127.0.0.1:%d\r\n" % up.port)
            assert b"\r\nx-api-key: k\r\n" in head and b"\r\ncontent-length: 2\r\n" in head and body == b"{}"
            assert b"\r\naccept-encoding: identity\r\n" in head and b"user-agent" not in head.lower()

    run(go())


def test_callers_past_the_limit_wait_for_a_connection(run):
    async def go():
        go_on = asyncio.Event()

        async def held(conn: Conn) -> None:
            while await conn.request() is not None:
                await go_on.wait()
                await conn.send(answer())

        async with Upstream(held) as up, http.Client(up.url, max_connections=2) as client:

            async def one() -> bytes:
                return await (await client.request("POST", "/", b"x")).read()

            calls = [asyncio.create_task(one()) for _ in range(3)]
            await asyncio.sleep(0.2)
            assert len(up.conns) == 2 and not any(c.done() for c in calls)  # the third waits
            go_on.set()
            assert await asyncio.gather(*calls) == [b"ok"] * 3
            assert len(up.conns) == 2  # the third went on a released connection

    run(go())


def test_a_waiter_cancelled_as_it_is_handed_a_connection_gives_it_back(run):
    async def go():
        async with Upstream() as up, http.Client(up.url, max_connections=1) as client:
            first = await client.request("POST", "/", b"")
            waiting = asyncio.create_task(client.request("POST", "/", b""))
            await asyncio.sleep(0.05)
            assert not waiting.done()
            await first.read()  # hands the connection to the waiter...
            waiting.cancel()  # ...which is cancelled before it runs
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert await (await client.request("POST", "/", b"")).read() == b"ok"  # not leaked

    run(go())


def test_idle_connections_are_closed_after_the_idle_timeout(run):
    async def go():
        async with Upstream() as up, http.Client(up.url, idle_timeout=0.3) as client:
            await (await client.request("POST", "/", b"")).read()
            assert await up.conns[0].closed_by_client(timeout=2.0)  # by the client, unasked
            await (await client.request("POST", "/", b"")).read()
            assert len(up.conns) == 2

    run(go())


def test_a_connection_the_upstream_closed_while_idle_is_not_reused(run):
    async def go():
        async def once(conn: Conn) -> None:  # one answer, then the upstream closes
            if await conn.request() is not None:
                await conn.send(answer())

        async with Upstream(once) as up, http.Client(up.url) as client:
            await (await client.request("POST", "/", b"")).read()
            await asyncio.sleep(0.1)  # the close arrives while the connection is idle
            assert await (await client.request("POST", "/", b"")).read() == b"ok"
            assert len(up.conns) == 2 and [len(c.requests) for c in up.conns] == [1, 1]

    run(go())


def test_bytes_nobody_asked_for_make_a_connection_unusable(run):
    async def go():
        async def chatty(conn: Conn) -> None:
            await conn.request()
            await conn.send(answer() + b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n")
            await keep_answering(conn)

        async with Upstream(chatty) as up, http.Client(up.url) as client:
            assert await (await client.request("POST", "/", b"")).read() == b"ok"
            await asyncio.sleep(0.1)
            assert await (await client.request("POST", "/", b"")).read() == b"ok"
            assert len(up.conns) == 2

    run(go())


# -- a reused connection the upstream closed under the request


def test_a_request_is_never_sent_twice(run):
    async def go():
        async def drops_the_second(conn: Conn) -> None:
            await conn.request()
            await conn.send(answer(b"first"))
            await conn.request()  # read, then closed without a byte (a crash, or an idle timeout's race)

        async with Upstream(drops_the_second) as up, http.Client(up.url) as client:
            await (await client.request("POST", "/", b"1")).read()
            with pytest.raises(http.Disconnected):
                await client.request("POST", "/", b"2")
            assert [[body for _, body in c.requests] for c in up.conns] == [[b"1", b"2"]]
            up.handle = keep_answering
            assert await (await client.request("POST", "/", b"3")).read() == b"ok"  # on a new connection
            assert len(up.conns) == 2

    run(go())


# -- timeouts and cancellation


def test_read_timeout_on_a_silent_upstream(run):
    async def go():
        async def silent(conn: Conn) -> None:
            await conn.request()
            await conn.request()  # returns when the client leaves

        async with Upstream(silent) as up, http.Client(up.url, read_timeout=0.2) as client:
            started = asyncio.get_running_loop().time()
            with pytest.raises(http.ReadTimeout):
                await client.request("POST", "/", b"")
            assert 0.15 < asyncio.get_running_loop().time() - started < 2
            assert await up.conns[0].closed_by_client()

    run(go())


def test_read_timeout_between_reads_of_a_stream(run):
    async def go():
        async def stalls(conn: Conn) -> None:
            await conn.request()
            await conn.send(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n")
            for _ in range(3):  # reads 0.1 s apart keep it alive...
                await asyncio.sleep(0.1)
                await conn.send(b"1\r\nd\r\n")
            await asyncio.sleep(10)  # ...silence does not

        async with Upstream(stalls) as up, http.Client(up.url, read_timeout=0.25) as client:
            resp = await client.request("POST", "/", b"")
            got = []
            with pytest.raises(http.ReadTimeout):
                async for chunk in resp.chunks():
                    got.append(chunk)
            assert b"".join(got) == b"abcddd"

    run(go())


def test_connect_timeout_covers_the_tls_handshake(run, tmp_path):
    async def go():
        async def mute(conn: Conn) -> None:  # accepts the TCP connection, never speaks TLS
            await asyncio.sleep(10)

        async with Upstream(mute) as up:
            url = f"https://127.0.0.1:{up.port}"
            async with http.Client(url, connect_timeout=0.2, ssl=client_tls(tmp_path)) as client:
                with pytest.raises(http.ConnectTimeout):
                    await client.request("POST", "/", b"")

    run(go())


def test_connect_timeout_covers_name_resolution(run, monkeypatch):
    async def go():
        loop = asyncio.get_running_loop()

        async def slow_dns(*args: object, **kwargs: object) -> list[Any]:
            await asyncio.sleep(10)
            return []

        monkeypatch.setattr(loop, "getaddrinfo", slow_dns)
        async with http.Client("http://upstream.invalid", connect_timeout=0.2) as client:
            with pytest.raises(http.ConnectTimeout):
                await client.request("POST", "/", b"")

    run(go())


def test_cancelled_before_the_head_the_connection_is_closed_not_reused(run):
    async def go():
        got_it = asyncio.Event()

        async def slow(conn: Conn) -> None:
            while await conn.request() is not None:
                got_it.set()
                await asyncio.sleep(0.3)
                await conn.send(answer())

        async with Upstream(slow) as up, http.Client(up.url) as client:
            call = asyncio.create_task(client.request("POST", "/", b""))
            await got_it.wait()
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            assert await up.conns[0].closed_by_client()
            assert await (await client.request("POST", "/", b"")).read() == b"ok"
            assert len(up.conns) == 2

    run(go())


def test_an_abandoned_stream_closes_its_connection(run):
    async def go():
        async def streams(conn: Conn) -> None:
            await conn.request()
            await conn.send(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n")
            await conn.request()  # returns when the client leaves

        async with Upstream(streams) as up, http.Client(up.url) as client:
            resp = await client.request("POST", "/", b"")
            async for chunk in resp.chunks():
                assert chunk == b"first"
                break
            resp.close()
            assert await up.conns[0].closed_by_client()

            up.handle = streams
            resp = await client.request("POST", "/", b"")
            chunks = resp.chunks()
            assert await anext(chunks) == b"first"
            reader = asyncio.create_task(anext(chunks))  # waits for more...
            await asyncio.sleep(0.05)
            resp.close()  # ...and is told at once when the stream is closed under it
            with pytest.raises(http.H1Error, match="abandoned"):
                await asyncio.wait_for(reader, 1)
            up.handle = keep_answering
            assert await (await client.request("POST", "/", b"")).read() == b"ok"
            assert len(up.conns) == 3

    run(go())


# -- bodies


def test_a_body_cut_short_is_an_error(run):
    async def go():
        async def cuts(conn: Conn) -> None:
            await conn.request()
            await conn.send(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789")

        async with Upstream(cuts) as up, http.Client(up.url) as client:
            resp = await client.request("POST", "/", b"")
            with pytest.raises(http.Disconnected):
                await resp.read()

    run(go())


def test_a_body_delimited_by_the_end_of_the_connection(run):
    async def go():
        async def until_close(conn: Conn) -> None:
            await conn.request()
            await conn.send(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nall of")
            await asyncio.sleep(0.05)
            await conn.send(b" it")

        async with Upstream(until_close) as up, http.Client(up.url) as client:
            resp = await client.request("POST", "/", b"")
            assert await resp.read() == b"all of it" and await resp.read() == b"all of it"
            up.handle = keep_answering
            assert await (await client.request("POST", "/", b"")).read() == b"ok"
            assert len(up.conns) == 2

    run(go())


def test_chunked_bodies_come_one_piece_per_read_without_framing(run):
    async def go():
        async def chunked(conn: Conn) -> None:
            while await conn.request() is not None:
                await conn.send(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                for piece in (b"5\r\nhello\r\n", b"1\r\n \r\n5\r\nworld\r\n", b"0\r\n\r\n"):
                    await asyncio.sleep(0.05)
                    await conn.send(piece)

        async with Upstream(chunked) as up, http.Client(up.url) as client:
            resp = await client.request("POST", "/", b"")
            assert [c async for c in resp.chunks()] == [b"hello", b" world"]
            assert await (await client.request("POST", "/", b"")).read() == b"hello world"
            assert len(up.conns) == 1

    run(go())


def test_a_large_body_read_whole(run):
    async def go():
        big = bytes(range(256)) * 8192  # 2 MiB: past the point where a stream pauses reading

        async def sends_big(conn: Conn) -> None:
            await conn.request()
            await conn.send(answer(big))

        async with Upstream(sends_big) as up, http.Client(up.url, read_timeout=5) as client:
            resp = await client.request("POST", "/", b"")
            await asyncio.sleep(0.2)  # all of it arrives before anyone reads
            assert await resp.read() == big

    run(go())


def test_interim_answers_are_skipped(run):
    async def go():
        async def hints(conn: Conn) -> None:
            await conn.request()
            await conn.send(b"HTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n" + answer(headers="x-a: 1\r\n"))

        async with Upstream(hints) as up, http.Client(up.url) as client:
            resp = await client.request("POST", "/", b"")
            assert resp.status == 200 and "link" not in resp.headers and resp.headers["x-a"] == "1"
            assert await resp.read() == b"ok"

    run(go())


def test_headers_are_lower_case_and_repeated_ones_joined(run):
    async def go():
        async def headers(conn: Conn) -> None:
            await conn.request()
            await conn.send(answer(status="429 Too Many", headers="Retry-After: 3\r\nX-Many: a\r\nx-many: b\r\n"))

        async with Upstream(headers) as up, http.Client(up.url) as client:
            resp = await client.request("POST", "/", b"")
            assert resp.status == 429 and resp.headers["retry-after"] == "3" and resp.headers["x-many"] == "a, b"

    run(go())


# -- content encoding


def test_gzip_and_deflate_are_decompressed_and_their_header_dropped(run):
    async def go():
        text = b'{"answer": "' + b"x" * 5000 + b'"}'
        raw = zlib.compressobj(wbits=-15)
        bodies = {
            "gzip": gzip.compress(text),
            "deflate": zlib.compress(text),
            "raw": raw.compress(text) + raw.flush(),  # deflate without its zlib header, as some send it
        }

        async def compressed(conn: Conn) -> None:
            while (got := await conn.request()) is not None:
                kind = got[0].split(b" ")[1].decode().strip("/")
                body = bodies[kind]
                encoding = "gzip" if kind == "gzip" else "deflate"
                if got[0].startswith(b"GET"):  # streamed, in small pieces
                    head = f"HTTP/1.1 200 OK\r\ncontent-encoding: {encoding}\r\ntransfer-encoding: chunked\r\n\r\n"
                    await conn.send(head.encode())
                    for i in range(0, len(body), 10):
                        await conn.send(b"%x\r\n%s\r\n" % (len(body[i : i + 10]), body[i : i + 10]))
                    await conn.send(b"0\r\n\r\n")
                else:
                    await conn.send(answer(body, headers=f"content-encoding: {encoding}\r\n"))

        async with Upstream(compressed) as up, http.Client(up.url) as client:
            for kind in bodies:
                resp = await client.request("POST", f"/{kind}", b"")
                assert "content-encoding" not in resp.headers and "content-length" not in resp.headers
                assert await resp.read() == text
                resp = await client.request("GET", f"/{kind}")
                assert b"".join([c async for c in resp.chunks()]) == text

    run(go())


def test_a_corrupt_or_cut_gzip_body_is_an_error(run):
    async def go():
        body = gzip.compress(b"hello" * 100)

        bodies = [b"not gzip at all", body[:20]]

        async def bad(conn: Conn) -> None:  # (a failed read closes the connection: one per body)
            await conn.request()
            await conn.send(answer(bodies.pop(0), headers="content-encoding: gzip\r\n"))
            await conn.request()

        async with Upstream(bad) as up, http.Client(up.url) as client:
            with pytest.raises(http.H1Error, match="corrupt"):
                await (await client.request("POST", "/", b"")).read()
            with pytest.raises(http.H1Error, match="cut short"):
                await (await client.request("POST", "/", b"")).read()

    run(go())


def test_an_encoding_the_gateway_does_not_decode_is_a_502_naming_the_provider(run):
    async def go():
        async def brotli(conn: Conn) -> None:
            while await conn.request() is not None:
                await conn.send(answer(b"\x1b\x03", headers="content-encoding: br\r\n"))

        async with Upstream(brotli) as up, http.Client(up.url) as client:
            resp = await client.request("POST", "/", b"", {"Accept-Encoding": "br"})
            assert b"accept-encoding: identity" not in up.conns[0].requests[0][0]  # the caller's choice stands
            with pytest.raises(UpstreamError) as caught:
                decoded(resp, "brotli-box")
            assert caught.value.status == 502 and "'brotli-box'" in caught.value.message
            assert "content-encoding: br" in caught.value.message

    run(go())


# -- TLS


def make_ca(tmp_path: Path) -> tuple[Path, ssl.SSLContext]:
    """A throw-away CA (its certificate's path) and a server context for 127.0.0.1 signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])

    def builder(subject: x509.Name, public: Any) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
        )

    ca = (
        builder(ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), key.public_key())
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    return ca_path, server


def client_tls(tmp_path: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=make_ca(tmp_path)[0])


def test_tls_against_a_throw_away_ca(run, tmp_path):
    async def go():
        ca, server = make_ca(tmp_path)
        async with Upstream(tls=server) as up:
            async with http.Client(up.url, ssl=ssl.create_default_context(cafile=ca)) as client:
                for _ in range(2):
                    assert await (await client.request("POST", "/", b"{}")).read() == b"ok"
                assert len(up.conns) == 1
            async with http.Client(up.url, ssl=ssl.create_default_context()) as client:  # the CA is unknown
                with pytest.raises(http.ConnectError) as caught:
                    await client.request("POST", "/", b"")
                assert isinstance(caught.value.os_error, ssl.SSLCertVerificationError)

    run(go())


def test_the_default_context_honours_ssl_cert_file(run, tmp_path, monkeypatch):
    async def go():
        ca, server = make_ca(tmp_path)
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))
        http.default_tls.cache_clear()
        try:
            async with Upstream(tls=server) as up, http.Client(up.url) as client:
                assert await (await client.request("POST", "/", b"")).read() == b"ok"
        finally:
            http.default_tls.cache_clear()

    run(go())


# -- names, paths and headers


def test_names_are_resolved_once_for_many_connections(run, monkeypatch):
    async def go():
        loop = asyncio.get_running_loop()
        real, lookups = loop.getaddrinfo, []

        async def counted(host: str, port: int, **kwargs: Any) -> Any:
            lookups.append(host)
            await asyncio.sleep(0.05)
            return await real("127.0.0.1", port, **kwargs)

        monkeypatch.setattr(loop, "getaddrinfo", counted)
        go_on = asyncio.Event()

        async def held(conn: Conn) -> None:
            while await conn.request() is not None:
                await go_on.wait()
                await conn.send(answer())

        async with Upstream(held) as up, http.Client(f"http://upstream.test:{up.port}") as client:
            calls = [asyncio.create_task(client.request("POST", "/", b"")) for _ in range(4)]
            await asyncio.sleep(0.3)
            go_on.set()
            for call in calls:
                await (await call).read()
            assert len(up.conns) == 4 and lookups.count("upstream.test") == 1  # (uvloop also looks up the IP)
            assert up.conns[0].requests[0][0].startswith(b"POST / HTTP/1.1\r\nhost: upstream.test:%d\r\n" % up.port)

    run(go())


def test_paths_go_as_given_and_unsafe_characters_are_encoded(run):
    async def go():
        async with Upstream() as up, http.Client(up.url) as client:
            await (await client.request("POST", "/model/us.x%3Av1%3A0/invoke?a=b", b"")).read()
            await (await client.request("POST", "/models/a b\r\nx: y", b"")).read()
            lines = [c[0].split(b"\r\n")[0] for c in up.conns[0].requests]
            assert lines[0] == b"POST /model/us.x%3Av1%3A0/invoke?a=b HTTP/1.1"  # Bedrock's signed paths
            assert lines[1] == b"POST /models/a%20b%0D%0Ax:%20y HTTP/1.1"

    run(go())


def test_credentials_in_the_base_url_are_basic_auth_unless_a_request_sets_its_own(run):
    async def go():
        async with Upstream() as up:
            url = up.url.replace("://", "://ol%40ma:s%3Acret@")
            async with http.Client(url) as client:
                await (await client.request("POST", "/a", b"")).read()
                await (await client.request("POST", "/b", b"", {"Authorization": "Bearer own"})).read()
            first, second = (head for head, _ in up.conns[0].requests)
            assert b"\r\nauthorization: Basic " + base64.b64encode(b"ol@ma:s:cret") + b"\r\n" in first
            assert b"host: 127.0.0.1:%d\r\n" % up.port in first and b"ol%40ma" not in first
            assert second.lower().count(b"authorization:") == 1 and b"Bearer own" in second

    run(go())


def test_a_header_with_a_line_break_is_refused_and_nothing_is_sent(run):
    async def go():
        async with Upstream() as up, http.Client(up.url) as client:
            with pytest.raises(http.H1Error, match="line break") as caught:
                await client.request("POST", "/", b"", {"x-api-key": "sk-secret\r\nx-evil: 1"})
            assert "sk-secret" not in str(caught.value)
            await asyncio.sleep(0.05)
            assert up.conns == []

    run(go())


# -- through a provider: the errors callers see


class _Plain(Provider):
    wire = "plain"

    async def passthrough(self, request: PassthroughRequest) -> UpstreamResponse:
        return await self._post(request.path, request.body, {"x-api-key": self.config.api_key or ""})


def _provider(url: str, **timeouts: float) -> _Plain:
    return _Plain("box", ProviderConfig(base_url=url, api_key="sk-secret-key", timeouts=Timeouts(**timeouts)))


def _request() -> PassthroughRequest:
    return PassthroughRequest("/v1/messages", b"{}", {}, stream=False)


def test_provider_errors_name_it_and_never_carry_the_key(run):
    async def go():
        async def garbage(conn: Conn) -> None:
            await conn.request()
            await conn.send(b"SPDY/9 what\r\n\r\n")

        async with Upstream(garbage) as up:
            provider = _provider(up.url)
            with pytest.raises(UpstreamUnavailable) as caught:
                await provider.passthrough(_request())
            await provider.aclose()
        failed = caught.value
        assert failed.status == 502 and not failed.move_on and "'box' failed" in failed.message

        async def silent(conn: Conn) -> None:
            await conn.request()
            await conn.request()  # returns when the client leaves

        async with Upstream(silent) as up:
            provider = _provider(up.url, read=0.2)
            with pytest.raises(UpstreamUnavailable) as caught:
                await provider.passthrough(_request())
            await provider.aclose()
        timed_out = caught.value
        assert timed_out.status == 504 and "'box' timed out" in timed_out.message

        async with Upstream() as up:
            port = up.port
        provider = _provider(f"http://127.0.0.1:{port}")  # nothing listens there any more
        with pytest.raises(UpstreamUnavailable) as caught:
            await provider.passthrough(_request())
        await provider.aclose()
        refused = caught.value
        assert refused.move_on and "'box' is unreachable" in refused.message

        for exc in (failed, timed_out, refused):
            assert "sk-secret" not in exc.message and "sk-secret" not in str(exc.headers)

    run(go())


def test_a_get_has_a_total_timeout(run):
    async def go():
        async def trickles(conn: Conn) -> None:
            await conn.request()
            await conn.send(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n")
            for _ in range(100):  # never silent for long: only the total timeout stops it
                await asyncio.sleep(0.05)
                await conn.send(b"x")

        async with Upstream(trickles) as up:
            provider = _provider(up.url, read=1)
            with pytest.raises(UpstreamUnavailable) as caught:
                await provider._get("/models", {}, timeout=0.3)
            await provider.aclose()
            assert caught.value.status == 504
            assert up.conns[0].requests[0][0].startswith(b"GET /models HTTP/1.1\r\n")
            assert b"content-length" not in up.conns[0].requests[0][0]

    run(go())
