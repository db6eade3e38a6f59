"""CDS Hooks JWT verification: accepted and refused tokens, JWKS by URL and jku."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest

from locoreg.fhir.auth import AuthError, Issuer, JwtVerifier, cds_jwt_enabled, parse_issuers
from locoreg.store import SeenJti

ISS = "https://ehr.example.org"
AUD = "http://testserver/cds-services/locoreg-primary-tumour"


def refused(verifier: JwtVerifier, token: str, audience: str = AUD) -> str:
    with pytest.raises(AuthError) as info:
        verifier.verify(token, audience)
    return info.value.reason


@pytest.mark.parametrize("signer_name", ["es384", "rs384"])
def test_valid_token_is_accepted(signer_name: str, request: Any, verifier: JwtVerifier) -> None:
    signer = request.getfixturevalue(signer_name)
    claims = verifier.verify(signer.token(tenant="hospital-a"), AUD)
    assert claims["iss"] == ISS and claims["tenant"] == "hospital-a"


def test_bearer_header_is_parsed(es384: Any, verifier: JwtVerifier) -> None:
    assert verifier.verify_header(f"Bearer {es384.token()}", AUD)["sub"] == "ehr-client"
    with pytest.raises(AuthError, match="missing Authorization"):
        verifier.verify_header(None, AUD)
    with pytest.raises(AuthError, match="Bearer <JWT>"):
        verifier.verify_header(f"Basic {es384.token()}", AUD)


def test_wrong_issuer(es384: Any, verifier: JwtVerifier) -> None:
    assert "not trusted" in refused(verifier, es384.token(iss="https://evil.example.org"))


def test_wrong_audience(es384: Any, verifier: JwtVerifier) -> None:
    token = es384.token(aud="http://testserver/cds-services/other")
    assert "aud does not match" in refused(verifier, token)


def test_expired(es384: Any, verifier: JwtVerifier) -> None:
    now = int(time.time())
    assert refused(verifier, es384.token(iat=now - 900, exp=now - 600)) == "JWT has expired"


def test_expiry_within_leeway_is_accepted(es384: Any, verifier: JwtVerifier) -> None:
    now = int(time.time())
    verifier.verify(es384.token(exp=now - 5), AUD)


@pytest.mark.parametrize("claim", ["jti", "exp", "iat"])
def test_missing_required_claim(claim: str, es384: Any, verifier: JwtVerifier) -> None:
    assert refused(verifier, es384.token(drop=(claim,))) == (
        f"JWT is missing the required claim {claim!r}"
    )


def test_replayed_jti(es384: Any, verifier: JwtVerifier) -> None:
    token = es384.token(jti="once")
    verifier.verify(token, AUD)
    assert "replay" in refused(verifier, token)
    # The same jti from a freshly signed token is a replay as well.
    assert "replay" in refused(verifier, es384.token(jti="once"))


def test_bad_signature(es384: Any, verifier: JwtVerifier) -> None:
    head, body, sig = es384.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert refused(verifier, f"{head}.{forged}.{sig}") == "JWT signature does not verify"


def test_signed_by_unknown_key(verifier: JwtVerifier) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    stranger = ec.generate_private_key(ec.SECP384R1())
    now = int(time.time())
    token = jwt.encode(
        {"iss": ISS, "aud": AUD, "iat": now, "exp": now + 60, "jti": "x"},
        stranger,
        algorithm="ES384",
        headers={"kid": "ehr-es384"},
    )
    assert refused(verifier, token) == "JWT signature does not verify"


def test_alg_none_and_hs256_are_refused(verifier: JwtVerifier) -> None:
    now = int(time.time())
    claims = {"iss": ISS, "aud": AUD, "iat": now, "exp": now + 60, "jti": "n"}
    unsigned = jwt.encode(claims, key=None, algorithm="none", headers={"kid": "ehr-es384"})
    assert "'none' is not allowed" in refused(verifier, unsigned)
    hmac = jwt.encode(claims, key="x" * 32, algorithm="HS256", headers={"kid": "ehr-es384"})
    assert "'HS256' is not allowed" in refused(verifier, hmac)


def test_unknown_kid(es384: Any, verifier: JwtVerifier) -> None:
    token = es384.token(headers={"kid": "rotated-away"})
    assert "no key with kid 'rotated-away'" in refused(verifier, token)


def _jwks_transport(documents: dict[str, dict[str, Any]], calls: list[str]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        doc = documents.get(str(request.url))
        return httpx.Response(200, json=doc) if doc else httpx.Response(404)

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_jwks_url_is_fetched_once_and_cached(es384: Any, seen_jti: SeenJti) -> None:
    calls: list[str] = []
    url = "https://ehr.example.org/.well-known/jwks.json"
    client = _jwks_transport({url: {"keys": [es384.jwk]}}, calls)
    verifier = JwtVerifier({ISS: Issuer(ISS, jwks_url=url)}, http=client, replay=seen_jti)
    verifier.verify(es384.token(), AUD)
    verifier.verify(es384.token(), AUD)
    assert calls == [url]


def test_jku_only_when_allowed_for_the_issuer(es384: Any, seen_jti: SeenJti) -> None:
    calls: list[str] = []
    allowed = "https://keys.ehr.example.org/jwks"
    hostile = "https://attacker.example.net/jwks"
    client = _jwks_transport(
        {allowed: {"keys": [es384.jwk]}, hostile: {"keys": [es384.jwk]}}, calls
    )
    verifier = JwtVerifier(
        {ISS: Issuer(ISS, jwks={"keys": []}, jku_allowed=frozenset({allowed}))},
        http=client,
        replay=seen_jti,
    )
    verifier.verify(es384.token(headers={"jku": allowed}), AUD)
    assert "jku" in refused(verifier, es384.token(headers={"jku": hostile}))
    assert calls == [allowed]  # the hostile URL is never fetched


def test_parse_issuers_and_the_off_switch() -> None:
    issuers = parse_issuers(
        json.dumps(
            {
                "https://a.example": "https://a.example/jwks",
                "https://b.example": {"keys": []},
                "https://c.example": {"jwks_url": "https://c.example/k", "jku": ["https://c2"]},
            }
        )
    )
    assert issuers["https://a.example"].jwks_url == "https://a.example/jwks"
    assert issuers["https://b.example"].jwks == {"keys": []}
    assert issuers["https://c.example"].jku_allowed == frozenset({"https://c2"})
    with pytest.raises(ValueError, match="needs 'jwks_url' or 'jwks'"):
        parse_issuers('{"https://d.example": {}}')
    assert cds_jwt_enabled({}) is True
    assert cds_jwt_enabled({"LOCOREG_CDS_JWT": "off"}) is False
    assert cds_jwt_enabled({"LOCOREG_CDS_JWT": "on"}) is True


def test_token_without_kid_is_refused(es384: Any, verifier: JwtVerifier) -> None:
    now = int(time.time())
    claims = {"iss": ISS, "aud": AUD, "iat": now, "exp": now + 60, "jti": "no-kid"}
    token = jwt.encode(claims, es384.key, algorithm="ES384")  # PyJWT adds no kid
    assert refused(verifier, token) == "JWT header has no 'kid' (the key id is required)"


def test_typ_other_than_jwt_is_refused(es384: Any, verifier: JwtVerifier) -> None:
    assert "typ 'at+jwt'" in refused(verifier, es384.token(headers={"typ": "at+jwt"}))


def test_issued_in_the_future_is_refused(es384: Any, verifier: JwtVerifier) -> None:
    now = int(time.time())
    assert "iat" in refused(verifier, es384.token(iat=now + 3600, exp=now + 7200))


def test_sub_allow_list(es384: Any, seen_jti: SeenJti) -> None:
    issuer = Issuer(ISS, jwks={"keys": [es384.jwk]}, sub_allowed=frozenset({"ehr-client"}))
    verifier = JwtVerifier({ISS: issuer}, replay=seen_jti)
    assert verifier.verify(es384.token(), AUD)["sub"] == "ehr-client"
    assert "sub 'intruder'" in refused(verifier, es384.token(sub="intruder"))


def test_refused_token_does_not_burn_its_jti(es384: Any, verifier: JwtVerifier) -> None:
    refused(verifier, es384.token(jti="j-1", aud="http://elsewhere"))
    verifier.verify(es384.token(jti="j-1"), AUD)


def test_jwks_url_is_refetched_when_the_key_rotated_at_most_once_a_minute(
    es384: Any, rs384: Any, seen_jti: SeenJti
) -> None:
    calls: list[str] = []
    url = "https://ehr.example.org/.well-known/jwks.json"
    documents = {url: {"keys": [es384.jwk]}}
    now = [time.time()]  # the verifier's clock (JWKS cache, replay cache)
    verifier = JwtVerifier(
        {ISS: Issuer(ISS, jwks_url=url)},
        http=_jwks_transport(documents, calls),
        clock=lambda: now[0],
        replay=seen_jti,
    )
    verifier.verify(es384.token(), AUD)
    documents[url] = {"keys": [es384.jwk, rs384.jwk]}  # the EHR adds its new key
    # Within a minute of the last fetch an unknown kid does not trigger another fetch.
    assert "no key with kid 'ehr-rs384'" in refused(verifier, rs384.token())
    assert calls == [url]
    now[0] += 61
    verifier.verify(rs384.token(), AUD)  # unknown kid → one refetch → the new key
    assert calls == [url, url]
    made_up = es384.token(headers={"kid": "made-up"})
    assert "no key with kid 'made-up'" in refused(verifier, made_up)
    assert calls == [url, url]


def test_unreachable_or_invalid_jwks_is_a_refusal_not_an_error(
    es384: Any, seen_jti: SeenJti
) -> None:
    url = "https://ehr.example.org/jwks"
    for documents in ({}, {url: {"not": "a jwks"}}):
        verifier = JwtVerifier(
            {ISS: Issuer(ISS, jwks_url=url)}, http=_jwks_transport(documents, []), replay=seen_jti
        )
        reason = refused(verifier, es384.token())
        assert url in reason


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["https://a.example"]', "must be a JSON object"),
        ('{"https://a.example": 5}', "must be a URL or an object"),
        ('{"https://a.example": {"jwks_url": "u", "jku": [1]}}', "list of strings"),
    ],
)
def test_bad_issuer_configuration_is_named(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_issuers(raw)


def test_sub_allow_list_from_configuration() -> None:
    issuers = parse_issuers('{"https://a.example": {"jwks_url": "u", "sub": ["c-1", "c-2"]}}')
    assert issuers["https://a.example"].sub_allowed == frozenset({"c-1", "c-2"})
