"""The guarded transport against real loopback listeners: a connection goes to the address the guard checked
and to no other answer of the name server (DNS rebinding), TLS still speaks to the host name, and every
request ends within its deadline, its size cap and its host's limit."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import json
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpcore
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from inbox.errors import BlockedAddress, FetchError
from inbox.remote import RemoteFetcher
from net import AddressGuard, HostLimiter, ResponseTooLarge, guarded_client
from net.guard import IpAddress
from net.tls import NoCaBundle, ca_bundle, client_context
from outbox.connections import DirectPoster
from outbox.http import PostFailed

DOC = {"id": "x", "type": "Note"}
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\nContent-Length: %d\r\n\r\n%s" % (
    len(json.dumps(DOC)),
    json.dumps(DOC).encode(),
)


@dataclass
class Listener:
    host: str
    port: int = 0
    connections: int = 0


@contextlib.asynccontextmanager
async def listening(
    host: str,
    port: int = 0,
    reply: bytes = OK,
    tls: ssl.SSLContext | None = None,
    dribble: float = 0.0,
    delay: float = 0.0,
) -> AsyncIterator[Listener]:
    listener = Listener(host)

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        listener.connections += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            await asyncio.sleep(delay)
            for piece in [reply[i : i + 1] for i in range(len(reply))] if dribble else [reply]:
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(dribble)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, host, port, ssl=tls)
    listener.port = server.sockets[0].getsockname()[1]
    try:
        yield listener
    finally:
        server.close()


@pytest.fixture
async def name_server(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, list[str]], list[str]]:
    """Answer look-ups of a name with the given addresses in turn (the last one repeats), for every resolver
    on the running loop: the guard's and any library's own. Returns the log of answers given."""
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo
    names: dict[str, list[str]] = {}
    given: list[str] = []

    async def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        answers = names.get(host)
        if not answers:
            return await real(host, port, *args, **kwargs)
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        given.append(address)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, int(port or 0)))]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)

    def answer(name: str, addresses: list[str]) -> list[str]:
        names[name] = list(addresses)
        return given

    return answer


@dataclass(frozen=True)
class OnlyTwo(AddressGuard):
    """A guard that admits 127.0.0.2 alone, so that a loopback listener can stand for a public server."""

    def refusal(self, host: str, addresses: list[IpAddress]) -> str | None:
        return None if all(str(a) == "127.0.0.2" for a in addresses) else f"{host} is not 127.0.0.2"


async def test_a_name_that_resolves_public_then_loopback_never_reaches_loopback(
    name_server: Callable[[str, list[str]], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    attempted: list[str] = []
    connect_tcp = httpcore.AnyIOBackend.connect_tcp

    async def recording(self: httpcore.AnyIOBackend, host: str, port: int, *args: Any, **kw: Any) -> Any:
        attempted.append(host)
        if not ipaddress.ip_address(host).is_loopback:  # the public address is not reachable from here
            raise httpcore.ConnectError("unreachable in the test")
        return await connect_tcp(self, host, port, *args, **kw)

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", recording)
    async with listening("127.0.0.1") as loopback:
        given = name_server("rebind.test", ["93.184.216.34", "127.0.0.1"])
        guard = AddressGuard()
        async with guarded_client(guard, user_agent="t", proxies={}) as client:
            fetcher = RemoteFetcher(client, guard, time.time)
            for _ in range(3):
                with pytest.raises(FetchError):
                    await fetcher.get_json(f"http://rebind.test:{loopback.port}/actor")
    assert loopback.connections == 0
    assert attempted[0] == "93.184.216.34" and "127.0.0.1" not in attempted
    assert given[:2] == ["93.184.216.34", "127.0.0.1"]  # the name server did change its answer


async def test_a_name_whose_check_passes_is_connected_at_exactly_the_checked_address(
    name_server: Callable[[str, list[str]], list[str]],
) -> None:
    async with listening("127.0.0.2") as checked, listening("127.0.0.1", checked.port) as other:
        given = name_server("pinned.test", ["127.0.0.2", "127.0.0.1"])
        guard = OnlyTwo()
        async with guarded_client(guard, user_agent="t", proxies={}) as client:
            fetcher = RemoteFetcher(client, guard, time.time)
            assert await fetcher.get_json(f"http://pinned.test:{checked.port}/actor") == DOC
            # The connection closed; the next look-up answers 127.0.0.1, which the guard refuses.
            with pytest.raises(BlockedAddress, match=r"not 127\.0\.0\.2"):
                await fetcher.get_json(f"http://pinned.test:{checked.port}/actor")
    assert (checked.connections, other.connections) == (1, 0)
    assert given == ["127.0.0.2", "127.0.0.1"]  # one look-up per connection


def _certificate(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


async def test_tls_to_the_checked_address_verifies_and_names_the_host(
    name_server: Callable[[str, list[str]], list[str]], tmp_path: Path
) -> None:
    server_tls, client_tls = _certificate(tmp_path, "secure.test")
    server_names: list[str | None] = []
    server_tls.sni_callback = lambda _socket, name, _context: server_names.append(name)  # type: ignore[assignment,func-returns-value]
    async with listening("127.0.0.2", tls=server_tls) as checked:
        name_server("secure.test", ["127.0.0.2"])
        name_server("wrong.test", ["127.0.0.2"])
        guard = OnlyTwo()
        async with guarded_client(guard, user_agent="t", proxies={}, ssl_context=client_tls) as client:
            fetcher = RemoteFetcher(client, guard, time.time)
            assert await fetcher.get_json(f"https://secure.test:{checked.port}/actor") == DOC
            with pytest.raises(FetchError, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
                await fetcher.get_json(f"https://wrong.test:{checked.port}/actor")
    assert server_names == ["secure.test", "wrong.test"]


async def test_a_server_dribbling_its_answer_is_cut_off_at_the_deadline() -> None:
    guard = AddressGuard(allow_private=True)
    async with (
        listening("127.0.0.1", dribble=0.2) as slow,
        guarded_client(guard, user_agent="t", proxies={}, deadline=1.0) as client,
    ):
        fetcher = RemoteFetcher(client, guard, time.time)
        started = time.monotonic()
        with pytest.raises(FetchError, match="DeadlineExceeded"):
            await fetcher.get_json(f"http://127.0.0.1:{slow.port}/actor")
        assert time.monotonic() - started < 2.0


async def test_an_answer_over_the_cap_is_refused_by_the_transport() -> None:
    big = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"4000\r\n" + b"x" * 0x4000 + b"\r\n0\r\n\r\n"
    guard = AddressGuard(allow_private=True)
    async with (
        listening("127.0.0.1", reply=big) as server,
        guarded_client(guard, user_agent="t", proxies={}, max_bytes=1000) as client,
    ):
        with pytest.raises(ResponseTooLarge):
            await client.get(f"http://127.0.0.1:{server.port}/")
        declared = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000
    async with (
        listening("127.0.0.1", reply=declared) as server,
        guarded_client(guard, user_agent="t", proxies={}, max_bytes=1000) as client,
    ):
        with pytest.raises(ResponseTooLarge, match="5000 bytes"):
            await client.get(f"http://127.0.0.1:{server.port}/")


async def test_requests_in_flight_per_host_are_limited_and_the_slot_freed() -> None:
    guard = AddressGuard(allow_private=True)
    limiter = HostLimiter(per_host=2)
    async with (
        listening("127.0.0.1", delay=0.5) as server,
        guarded_client(guard, user_agent="t", proxies={}, limiter=limiter) as client,
    ):
        url = f"http://127.0.0.1:{server.port}/"
        tasks = [asyncio.create_task(client.get(url)) for _ in range(5)]
        await asyncio.sleep(0.3)
        assert server.connections == 2 and limiter.in_flight(f"127.0.0.1:{server.port}") == 5  # 2 hold, 3 wait
        assert all(r.status_code == 200 for r in await asyncio.gather(*tasks))
    assert server.connections == 5
    assert limiter.in_flight(f"127.0.0.1:{server.port}") == 0


async def test_ssl_cert_file_names_the_only_authorities_outgoing_https_trusts(
    name_server: Callable[[str, list[str]], list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local CA, trusted through SSL_CERT_FILE by both the fetches and the delivery POSTs; without it the same
    server's certificate is refused (certifi's roots do not hold it)."""
    server_tls, _ = _certificate(tmp_path, "local-ca.test")
    name_server("local-ca.test", ["127.0.0.2"])
    async with listening("127.0.0.2", tls=server_tls) as server:
        url = f"https://local-ca.test:{server.port}/actor"
        guard = OnlyTwo()
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        async with guarded_client(guard, user_agent="t", proxies={}) as client:
            with pytest.raises(FetchError, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
                await RemoteFetcher(client, guard, time.time).get_json(url)
        with pytest.raises(PostFailed, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
            await DirectPoster(user_agent="t", check=guard.refusal).post(url, b"{}", {}, within=5.0)

        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
        async with guarded_client(guard, user_agent="t", proxies={}) as client:
            assert await RemoteFetcher(client, guard, time.time).get_json(url) == DOC
        answer = await DirectPoster(user_agent="t", check=guard.refusal).post(url, b"{}", {}, within=5.0)
        assert answer.status == 200


def test_an_ssl_cert_file_that_is_not_a_bundle_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(NoCaBundle, match=r"SSL_CERT_FILE names .*/missing.pem, which is not a file"):
        client_context({"SSL_CERT_FILE": str(tmp_path / "missing.pem")})
    (tmp_path / "empty.pem").write_text("no certificate here\n")
    with pytest.raises(NoCaBundle, match=r"holds no usable certificate"):
        client_context({"SSL_CERT_FILE": str(tmp_path / "empty.pem")})
    assert ca_bundle({"SSL_CERT_FILE": " "}).endswith("cacert.pem")  # unset or blank: certifi's roots
