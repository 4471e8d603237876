"""OAuth 2 / OIDC bearer tokens on the API, against a real ``schemahub serve`` and the development
identity provider on 127.0.0.1 (:class:`registry.devkafka.oauth.DevIdentityProvider`: a JWKS with
two keys, one rotated in mid-test, and a client-credentials token endpoint): valid, expired,
wrong-audience, wrong-issuer, ``alg=none`` and unsigned tokens; per-subject rules from a groups
claim; confluent-kafka's serializer and ours with ``bearer.auth.credentials.source=OAUTHBEARER``;
an identity provider that stops answering."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient as ConfluentClient
from confluent_kafka.schema_registry.avro import AvroSerializer as ConfluentAvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

import serde
from registry.devkafka.oauth import ISSUER, DevIdentityProvider
from tests.security_support import SecureServer

AUDIENCE = "schemahub"
CLIENTS = {"svc-orders": ("orders-secret", ("orders-writers",)), "svc-reader": ("reader-secret", ("readers",))}
ORDER = json.dumps({"type": "record", "name": "Order", "fields": [{"name": "id", "type": "int"}]})


class IdentityProvider(DevIdentityProvider):
    """Tokens for svc-orders in orders-writers unless a test says otherwise."""

    def token(self, *, kid: str | None = None, sub: str = "svc-orders", groups: Sequence[str] = ("orders-writers",),
              **claims: Any) -> str:
        return super().token(kid=kid, sub=sub, groups=groups, **claims)


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider(CLIENTS, [AUDIENCE])
    yield provider
    provider.close()


@pytest.fixture(scope="module")
def registry(idp: IdentityProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureServer]:
    from registry.access.users import hash_password

    folder = tmp_path_factory.mktemp("oauth")
    (folder / "auth.json").write_text(json.dumps({
        "users": {"admin": {"password": hash_password("admin-secret")}},
        "rules": [
            {"user": "admin", "operations": ["*"], "subjects": ["*"], "global": True},
            {"group": "orders-writers", "operations": ["read", "write"], "subjects": ["orders-*"]},
            {"group": "readers", "operations": ["read"], "subjects": ["*"]},
            {"user": "svc-audit", "operations": ["read"], "subjects": ["payments-*"]},  # a token principal
        ],
    }))
    args = ("--auth-file", str(folder / "auth.json"), "--oauth-jwks-url", idp.jwks_url,
            "--oauth-issuer", ISSUER, "--oauth-audience", AUDIENCE, "--oauth-algorithms", "RS256,ES256")
    with SecureServer(folder / "registry.db", extra_args=args) as server:
        yield server


def _register(url: str, subject: str, token: str | None = None, **headers: str) -> httpx.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{url}/subjects/{subject}/versions", json={"schema": ORDER}, headers=headers, timeout=10)


def _refused(answer: httpx.Response, description: str) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.json()["error_code"] == 40101
    assert answer.headers["www-authenticate"] == (
        f'Bearer realm="schemahub", error="invalid_token", error_description="{description}"')


def test_bearer_tokens_rules_and_refusals(idp: IdentityProvider, registry: SecureServer) -> None:
    url = registry.url
    assert _register(url, "orders-value", idp.token()).status_code == 200
    denied = _register(url, "payments-value", idp.token())  # the groups claim names orders-writers only
    assert denied.status_code == 403 and denied.json()["error_code"] == 40301
    reader = {"Authorization": f"Bearer {idp.token(sub='svc-reader', groups=['readers'])}"}
    assert httpx.get(f"{url}/subjects", headers=reader, timeout=10).json() == ["orders-value"]
    assert _register(url, "orders-value", idp.token(sub="svc-reader", groups=["readers"])).status_code == 403
    audit = {"Authorization": f"Bearer {idp.token(sub='svc-audit', groups=[])}"}
    assert httpx.get(f"{url}/subjects", headers=audit, timeout=10).json() == []  # payments-* only
    assert _register(url, "orders-late", idp.token(exp=int(time.time()) - 10)).status_code == 200  # within leeway

    _refused(_register(url, "orders-value", idp.token(exp=int(time.time()) - 120)), "The token has expired")
    _refused(_register(url, "orders-value", idp.token(aud="another-service")),
             "The token is not meant for this registry (audience)")
    _refused(_register(url, "orders-value", idp.token(iss="https://evil.test")),
             "The token was not issued by the trusted issuer")
    unsigned_none = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "svc-orders", "exp": int(time.time()) + 60,
                                "groups": ["orders-writers"]}, None, algorithm="none")
    _refused(_register(url, "orders-value", unsigned_none), "The token's algorithm 'none' is not allowed")
    stripped = idp.token().rsplit(".", 1)[0] + "."  # signature removed
    _refused(_register(url, "orders-value", stripped), "The token's signature does not verify")
    forged = idp.token(groups=["readers"]).split(".")
    forged[1] = base64.urlsafe_b64encode(json.dumps({"iss": ISSUER, "aud": AUDIENCE, "sub": "admin",
                                                     "exp": int(time.time()) + 60}).encode()).decode().rstrip("=")
    _refused(_register(url, "orders-value", ".".join(forged)), "The token's signature does not verify")
    _refused(_register(url, "orders-value", "not-a-jwt"), "The token is not a signed JWT")

    anonymous = _register(url, "orders-value")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Basic realm="schemahub", charset="UTF-8", Bearer realm="schemahub"'
    basic = "Basic " + base64.b64encode(b"admin:admin-secret").decode()
    assert _register(url, "anything", Authorization=basic).status_code == 200  # Basic beside tokens


def test_signing_key_rotation(idp: IdentityProvider, registry: SecureServer) -> None:
    before = idp.token(kid="k1")
    assert _register(registry.url, "orders-rotation", before).status_code == 200
    fetched = idp.jwks_requests
    idp.rotate()
    assert _register(registry.url, "orders-rotation", idp.token()).status_code == 200  # k2: fetched at once
    assert idp.jwks_requests == fetched + 1
    _refused(_register(registry.url, "orders-rotation", before),
             "The token is signed with a key the identity provider does not publish")


def test_confluent_and_our_clients_with_oauthbearer(idp: IdentityProvider, registry: SecureServer) -> None:
    conf = {"url": registry.url, "bearer.auth.credentials.source": "OAUTHBEARER",
            "bearer.auth.client.id": "svc-orders", "bearer.auth.client.secret": "orders-secret",
            "bearer.auth.scope": "schema-registry", "bearer.auth.issuer.endpoint.url": idp.token_url,
            "bearer.auth.logical.cluster": "lsrc-1", "bearer.auth.identity.pool.id": "pool-1"}
    context = SerializationContext("orders-oauth", MessageField.VALUE)
    confluent = ConfluentAvroSerializer(ConfluentClient(conf), ORDER)
    theirs = confluent({"id": 7}, context)
    ours = serde.AvroSerializer(serde.SchemaRegistryClient(conf), ORDER)({"id": 7}, context)
    assert theirs == ours and theirs[:1] == b"\0"
    deny = dict(conf, **{"bearer.auth.client.id": "svc-reader", "bearer.auth.client.secret": "reader-secret"})
    with pytest.raises(Exception, match="40301|403"):
        ConfluentAvroSerializer(ConfluentClient(deny), ORDER)({"id": 1}, SerializationContext("orders-x", MessageField.VALUE))



def test_claims_named_as_the_identity_provider_names_them(idp: IdentityProvider) -> None:
    """--oauth-principal-claim and --oauth-groups-claim as a Keycloak realm needs them (a nested roles
    claim); --oauth-leeway 0; --oauth-algorithms refuses a shared-secret algorithm (key confusion)."""
    from registry.access.tokens import Identity, InvalidToken, TokenSettings, TokenVerifier

    verifier = TokenVerifier(TokenSettings(idp.jwks_url, ISSUER, AUDIENCE, leeway=0,
                                           principal_claim="preferred_username", groups_claim="realm_access.roles"))
    token = idp.token(sub="6f1c", preferred_username="alice", realm_access={"roles": ["orders-writers"]})
    assert asyncio.run(verifier.verify(token)) == Identity("alice", frozenset({"orders-writers"}))
    with pytest.raises(InvalidToken, match="names no principal"):
        asyncio.run(verifier.verify(idp.token()))
    with pytest.raises(InvalidToken, match="expired"):
        asyncio.run(verifier.verify(idp.token(preferred_username="alice", exp=int(time.time()) - 2)))
    with pytest.raises(ValueError, match="HS256 cannot be used with a JWKS"):
        TokenSettings(idp.jwks_url, ISSUER, AUDIENCE, algorithms=("RS256", "HS256"))

def test_an_identity_provider_that_stops_answering_is_a_503(idp: IdentityProvider, registry: SecureServer,
                                                          tmp_path: Path) -> None:
    idp.close()
    answer = _register(registry.url, "orders-value", jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60}, idp.key("k2"), algorithm="ES256",
        headers={"kid": "k3"}))
    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["error_code"] == 50301 and body["message"].startswith("Cannot check the bearer token")


def test_rules_name_a_user_or_a_group() -> None:
    from registry.access.users import AuthFileError, parse_auth_config

    config = parse_auth_config({"rules": [
        {"group": "orders-writers", "operations": ["write"], "subjects": ["orders-*"]},
        {"user": "svc-audit", "operations": ["read"], "subjects": ["*"], "global": True},
    ]}, token_principals=True)
    assert config.may("anyone", "write", "orders-1", frozenset({"orders-writers"}))
    assert not config.may("anyone", "write", "orders-1", frozenset({"readers"}))
    assert not config.may("orders-writers", "write", "orders-1")  # a group is not a user name
    assert config.may_global("svc-audit", "read") and not config.may_global("x", "read", frozenset({"svc-audit"}))
    with pytest.raises(AuthFileError, match="either 'user'"):
        parse_auth_config({"rules": [{"user": "a", "group": "b", "operations": ["read"], "subjects": ["*"]}]})
    with pytest.raises(AuthFileError, match="is not in 'users'"):  # without tokens, a user needs a password
        parse_auth_config({"rules": [{"user": "svc-audit", "operations": ["read"], "subjects": ["*"]}]})
