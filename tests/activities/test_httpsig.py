import base64
import hashlib
from email.utils import parsedate_to_datetime

import pytest
from http_message_signatures.digests import ContentDigest

from activities.httpsig import (
    SIGNED_GET_HEADERS,
    SIGNED_POST_HEADERS,
    RequestSigner,
    SignatureFormatError,
    content_digest_header,
    digest_header,
    http_date,
    parse_signature_header,
    request_target,
    rsa_sign,
    rsa_verify,
    signing_string,
)
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
