"""The SSRF guard's verdicts on URLs and addresses, and the one resolve-and-check both request paths use."""

from __future__ import annotations

import socket

import pytest

from net.guard import AddressGuard, Refused, Unresolvable, resolve_checked


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/actor",
        "http://127.5.6.7:8080/actor",
        "http://10.0.0.1/actor",
        "http://10.255.255.254/actor",
        "http://172.16.0.1/actor",
        "http://192.168.1.1/actor",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/actor",
        "http://[fe80::1]/actor",
        "http://[fc00::1]/actor",
        "http://0.0.0.0/actor",
        "http://localhost/actor",
        "http://224.0.0.1/actor",
        "http://[::ffff:127.0.0.1]/actor",  # IPv4-mapped
        "http://[64:ff9b::7f00:1]/actor",  # NAT64 of 127.0.0.1
        "http://[64:ff9b::a00:1]/actor",  # NAT64 of 10.0.0.1
        "http://[2002:7f00:1::1]/actor",  # 6to4 of 127.0.0.1
        "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/actor",  # Teredo, client 10.0.0.1
    ],
)
async def test_guard_refuses_non_public_addresses(url: str) -> None:
    with pytest.raises(Refused):
        await AddressGuard().check(url)
    await AddressGuard(allow_private=True).check(url)  # dev/test mode lets them through


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/x", "gopher://example.org/", "data:text/plain,hi", "//x"]
)
async def test_guard_refuses_other_schemes_even_in_dev_mode(url: str) -> None:
    for guard in (AddressGuard(), AddressGuard(allow_private=True)):
        with pytest.raises(Refused):
            await guard.check(url)


async def test_guard_accepts_public_addresses_and_allowed_hosts() -> None:
    await AddressGuard().check("https://93.184.216.34/actor")
    await AddressGuard().check("https://[2606:2800:220:1:248:1893:25c8:1946]/actor")
    await AddressGuard(allowed_hosts=frozenset({"localhost"})).check("http://localhost:8001/actor")


async def test_resolve_checked_answers_what_it_checked_and_refuses_if_any_address_is_internal() -> None:
    answers = {"mixed.test": [(socket.AF_INET, "93.184.216.34"), (socket.AF_INET, "10.0.0.1")]}

    async def resolver(host: str, port: int) -> list[tuple[int, str]]:
        if host not in answers:
            raise socket.gaierror("no such name")
        return answers[host]

    guard = AddressGuard(resolver=resolver)
    answers["public.test"] = [(socket.AF_INET6, "2606:2800:220:1:248:1893:25c8:1946")]
    assert await guard.resolve("public.test", 443) == answers["public.test"]
    with pytest.raises(Refused, match=r"10\.0\.0\.1"):
        await guard.resolve("mixed.test", 443)
    with pytest.raises(Unresolvable, match="no such name"):
        await guard.resolve("nowhere.test", 443)
    assert await resolve_checked("mixed.test", 443, None, resolver) == answers["mixed.test"]  # no check asked
