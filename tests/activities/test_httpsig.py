import asyncio
import base64
import datetime
import hashlib
import time
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pytest
from http_message_signatures import HTTPMessageSigner, algorithms
from http_message_signatures.digests import ContentDigest
from http_message_signatures.resolvers import HTTPSignatureKeyResolver

from activities.httpsig import (
    SIGNED_GET_HEADERS,
    SIGNED_POST_HEADERS,
    RequestSigner,
    SignatureFormatError,
    SignatureScheme,
    content_digest_header,
    digest_header,
    http_date,
    parse_signature_header,
    request_target,
    rsa_sign,
    rsa_verify,
    signing_string,
    target_uri,
)
from activities.httpsig import authority as httpsig_authority
from inbox.directory import PublicKey
from inbox.errors import Unauthorized
from inbox.signatures import Scheme, SignedRequest, Verified, verify
from tests.support.actors import key_pair

NOW = 1_790_000_000.0


def test_digest_header_is_base64_sha256() -> None:
    body = b'{"type":"Follow"}'
    assert digest_header(body) == "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert digest_header(b"") == "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


def test_content_digest_is_rfc9530_and_matches_http_message_signatures() -> None:
    body = b'{"type":"Follow"}'
    ours = content_digest_header(body)
    assert ours == "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    headers: dict[str, str] = {}
    ContentDigest.prepare(headers, body, use_existing_digest=False)
    assert headers["Content-Digest"] == ours


def test_request_target_keeps_the_query() -> None:
    assert request_target("POST", "/inbox", "") == "post /inbox"
    assert request_target("GET", "/users/a", "page=2&x=%20") == "get /users/a?page=2&x=%20"


def test_signing_string_follows_the_listed_fields_in_order() -> None:
    headers = {"host": "b.example", "date": "Tue, 07 Jun 2014 20:51:35 GMT", "digest": "SHA-256=abc"}
    text = signing_string(
        ("(request-target)", "host", "date", "digest"), method="POST", path="/inbox", query="a=1", headers=headers
    )
    assert text == (
        "(request-target): post /inbox?a=1\nhost: b.example\ndate: Tue, 07 Jun 2014 20:51:35 GMT\ndigest: SHA-256=abc"
    )
    reordered = signing_string(("date", "host"), method="POST", path="/", query="", headers=headers)
    assert reordered == "date: Tue, 07 Jun 2014 20:51:35 GMT\nhost: b.example"
    assert signing_string(("(created)",), method="GET", path="/", query="", headers={}, created=5) == "(created): 5"


def test_signing_string_raises_for_a_missing_header() -> None:
    with pytest.raises(KeyError):
        signing_string(("host", "digest"), method="POST", path="/", query="", headers={"host": "x"})
    with pytest.raises(KeyError):
        signing_string(("(created)",), method="POST", path="/", query="", headers={})
    with pytest.raises(KeyError):
        signing_string(("(expires)",), method="POST", path="/", query="", headers={})


def test_parse_signature_header() -> None:
    parsed = parse_signature_header(
        'keyId="https://a.example/actor#main-key",algorithm="rsa-sha256",'
        'headers="(request-target) Host date",signature="c2lnbmVk"'
    )
    assert parsed.key_id == "https://a.example/actor#main-key"
    assert parsed.algorithm == "rsa-sha256"
    assert parsed.headers == ("(request-target)", "host", "date")
    assert parsed.signature == b"signed"
    # hs2019 with (created)/(expires), unquoted numbers, spaces after commas
    parsed = parse_signature_header(
        'keyId="k", algorithm="hs2019", created=1402170695, expires=1402170995, '
        'headers="(request-target) (created) (expires)", signature="c2lnbmVk"'
    )
    assert (parsed.algorithm, parsed.created, parsed.expires) == ("hs2019", 1402170695, 1402170995)
    # defaults: hs2019, and `date` when no headers are listed
    parsed = parse_signature_header('keyId="k",signature="c2lnbmVk"')
    assert (parsed.algorithm, parsed.headers) == ("hs2019", ("date",))


def test_signature_header_pairs_are_read_as_one_match_after_another() -> None:
    """The pairs are those that matching `key="value"` one after another from the start finds, and the header
    is refused whenever that leaves something over: checked against that loop on generated headers."""
    import random

    from activities.httpsig import _PARAM, SignatureFormatError, _signature_params

    def by_loop(header: str) -> dict[str, str] | None:
        params, pos = {}, 0
        while pos < len(header):
            match = _PARAM.match(header, pos)
            if not match or match.end() == pos:
                return None
            params[match.group(1)] = match.group(2) if match.group(2) is not None else match.group(3)
            pos = match.end()
        return params

    pieces = ["keyId", "signature", "created", "=", '"', ",", " ", "\n", "c2lnbmVk", "k", "1402170695", 'x"y']
    chance = random.Random(16)
    for _ in range(20_000):
        header = "".join(chance.choice(pieces) for _ in range(chance.randint(0, 14)))
        if chance.random() < 0.5:
            header = 'keyId="k",' + header
        try:
            got: dict[str, str] | None = _signature_params(header)
        except SignatureFormatError:
            got = None
        assert got == by_loop(header), header


@pytest.mark.parametrize(
    "header",
    [
        'algorithm="rsa-sha256",signature="c2lnbmVk"',  # no keyId
        'keyId="k",algorithm="rsa-sha256"',  # no signature
        'keyId="k",algorithm="ed25519",signature="c2lnbmVk"',
        'keyId="k",algorithm="rsa-sha256",signature="not base64!"',
        'keyId="k",created=soon,signature="c2lnbmVk"',
        "garbage",
        'keyId="k" signature="c2lnbmVk"',
        'keyId="k",signature="c2lnbmVk",' + "x" * 9000,
    ],
)
def test_parse_signature_header_refuses_malformed_headers(header: str) -> None:
    with pytest.raises(SignatureFormatError):
        parse_signature_header(header)


def test_rsa_sign_and_verify() -> None:
    keys = key_pair(0)
    signature = rsa_sign(keys.private_key, b"message")
    assert rsa_verify(keys.public_key, signature, b"message")
    assert not rsa_verify(keys.public_key, signature, b"messagE")
    assert not rsa_verify(key_pair(1).public_key, signature, b"message")


def test_request_signer_signs_a_post_as_mastodon_requires() -> None:
    keys = key_pair(0)
    signer = RequestSigner("https://a.example/actor#main-key", keys.private_key)
    body = b'{"type":"Create"}'
    headers = signer.headers_for("POST", "https://b.example:8443/users/x/inbox?via=1", body, NOW)
    assert headers["host"] == "b.example:8443"
    assert parsedate_to_datetime(headers["date"]).timestamp() == NOW
    assert headers["digest"] == digest_header(body)
    assert headers["content-type"] == "application/activity+json"
    parsed = parse_signature_header(headers["signature"])
    assert parsed.algorithm == "rsa-sha256"
    assert parsed.headers == SIGNED_POST_HEADERS
    message = signing_string(parsed.headers, method="POST", path="/users/x/inbox", query="via=1", headers=headers)
    assert message.startswith("(request-target): post /users/x/inbox?via=1\n")
    assert rsa_verify(keys.public_key, parsed.signature, message.encode())


def test_request_signer_signs_a_get_with_host_and_accept() -> None:
    keys = key_pair(0)
    headers = RequestSigner("k", keys.private_key).headers_for(
        "GET", "https://b.example/actor", None, NOW, accept="application/ld+json"
    )
    assert "digest" not in headers
    assert headers["accept"] == "application/ld+json"
    parsed = parse_signature_header(headers["signature"])
    assert parsed.headers == SIGNED_GET_HEADERS
    message = signing_string(parsed.headers, method="GET", path="/actor", query="", headers=headers)
    assert rsa_verify(keys.public_key, parsed.signature, message.encode())


def test_http_date_is_imf_fixdate() -> None:
    assert http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"


def _rfc9421_verify(method: str, url: str, headers: dict[str, str], body: bytes, now: float) -> Verified:
    keys = key_pair(0)

    async def lookup(key_id: str, refresh: bool = False) -> PublicKey:
        return PublicKey(key_id, "https://a.example/actor", keys.public_key)

    parts = urlsplit(url)
    request = SignedRequest(method, url, parts.path, parts.query, headers, body)
    return asyncio.run(verify(request, lookup, now))


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_rfc9421_signatures_verify_with_our_inbox_verifier(method: str) -> None:
    signer = RequestSigner("https://a.example/actor#main-key", key_pair(0).private_key)
    url = "https://b.example/users/x/inbox?page=1"
    body = b'{"type":"Follow"}' if method == "POST" else b""
    now = time.time()  # http-message-signatures checks the age against the wall clock
    headers = signer.headers_for(method, url, body or None, now, scheme=SignatureScheme.RFC9421)
    label, _, params = headers["signature-input"].partition("=")
    assert label == "sig1" and headers["signature"].startswith("sig1=:")
    covered = '("@method" "@target-uri" "@authority"' + (' "content-digest")' if method == "POST" else ")")
    assert params == f'{covered};created={int(now)};keyid="https://a.example/actor#main-key";alg="rsa-v1_5-sha256"'
    if method == "POST":
        assert headers["content-digest"] == content_digest_header(body)
        assert "digest" not in headers
    verified = _rfc9421_verify(method, url, headers, body, now)
    assert verified.scheme is Scheme.RFC9421 and verified.key_id == signer.key_id


def test_rfc9421_signature_is_the_one_http_message_signatures_makes() -> None:
    """PKCS#1 v1.5 is deterministic: the same base gives the same bytes."""
    keys = key_pair(0)
    url = "https://b.example/inbox?a=1"
    body = b'{"type":"Create"}'
    ours = RequestSigner("k", keys.private_key).headers_for("POST", url, body, NOW, scheme=SignatureScheme.RFC9421)

    class Message:
        method = "POST"

        def __init__(self) -> None:
            self.url = url
            self.headers: dict[str, str] = {}

    class Keys(HTTPSignatureKeyResolver):
        def resolve_private_key(self, key_id: str) -> object:
            return keys.private_key

    theirs = Message()
    HTTPMessageSigner(signature_algorithm=algorithms.RSA_V1_5_SHA256, key_resolver=Keys()).sign(
        theirs,
        key_id="k",
        created=datetime.datetime.fromtimestamp(NOW, tz=datetime.UTC),
        covered_component_ids=("@method", "@target-uri", "@authority", "content-digest"),
        body=body,
        include_alg=True,
        label="sig1",
    )
    assert ours["signature"] == theirs.headers["Signature"]
    assert ours["signature-input"] == theirs.headers["Signature-Input"]


def test_rfc9421_refuses_a_body_that_is_not_the_signed_one() -> None:
    signer = RequestSigner("k", key_pair(0).private_key)
    url = "https://b.example/inbox"
    now = time.time()
    headers = signer.headers_for("POST", url, b"{}", now, scheme=SignatureScheme.RFC9421)
    assert _rfc9421_verify("POST", url, headers, b"{}", now)
    with pytest.raises(Unauthorized, match="Content-Digest"):
        _rfc9421_verify("POST", url, headers, b'{"x":1}', now)
    other = {**headers, "signature-input": headers["signature-input"].replace("b.example", "c.example")}
    with pytest.raises(Unauthorized):
        _rfc9421_verify("POST", "https://c.example/inbox", other, b"{}", now)


@pytest.mark.parametrize(
    ("url", "uri", "authority"),
    [
        ("https://B.Example/inbox", "https://b.example/inbox", "b.example"),
        ("http://b.example:80", "http://b.example/", "b.example"),
        ("http://127.0.0.1:8001/x?y=1", "http://127.0.0.1:8001/x?y=1", "127.0.0.1:8001"),
        ("https://[2001:db8::1]:8443/i", "https://[2001:db8::1]:8443/i", "[2001:db8::1]:8443"),
        ("https://[2001:db8::1]/i", "https://[2001:db8::1]/i", "[2001:db8::1]"),
    ],
)
def test_rfc9421_target_uri_and_authority_are_normalised(url: str, uri: str, authority: str) -> None:
    assert target_uri(url) == uri
    parts = urlsplit(url)
    assert httpsig_authority(parts.scheme, parts.netloc) == authority
