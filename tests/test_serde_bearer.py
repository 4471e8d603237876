"""Bearer authentication of serde.SchemaRegistryClient, with confluent-kafka's keys and sources.

The OAuth token endpoint is a real HTTP server on 127.0.0.1; the registry side is recorded
with httpx's mock transport to read the headers each request carries."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import httpx
import pytest
from confluent_kafka.schema_registry.error import OAuthTokenError

from serde import SchemaRegistryClient

OK = {"id": 1, "version": 1, "schema": '"int"', "schemaType": "AVRO"}


class TokenServer:
    """Issues ``t1``, ``t2``… valid ``expires_in`` seconds; remembers every request it got."""

    def __init__(self, expires_in: float = 3600, status: int = 200) -> None:
        self.expires_in, self.status = expires_in, status
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                server.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                        "form": {k: v[0] for k, v in parse_qs(body).items()}})
                payload = json.dumps({"access_token": f"t{len(server.requests)}", "token_type": "bearer",
                                      "expires_in": server.expires_in,
                                      "expires_on": str(int(time.time() + server.expires_in))}).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/oauth2/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def tokens() -> Iterator[TokenServer]:
    server = TokenServer(expires_in=1)
    yield server
    server.close()


def recorded(client: SchemaRegistryClient) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=OK)

    client._http._transport = httpx.MockTransport(handler)
    return seen


def oauth_conf(url: str, **extra: object) -> dict:
    return {"url": "http://sr.test", "bearer.auth.credentials.source": "OAUTHBEARER",
            "bearer.auth.client.id": "app", "bearer.auth.client.secret": "s3cret", "bearer.auth.scope": "registry",
            "bearer.auth.issuer.endpoint.url": url, "bearer.auth.logical.cluster": "lsrc-1", **extra}


def test_static_token_headers() -> None:
    client = SchemaRegistryClient({"url": "http://sr.test", "bearer.auth.credentials.source": "STATIC_TOKEN",
                                   "bearer.auth.token": "abc", "bearer.auth.logical.cluster": "lsrc-1",
                                   "bearer.auth.identity.pool.id": ["pool-a", "pool-b"]})
    seen = recorded(client)
    client.get_schema(1)
    headers = seen[0].headers
    assert headers["authorization"] == "Bearer abc"
    assert headers["target-sr-cluster"] == "lsrc-1"
    assert headers["confluent-identity-pool-id"] == "pool-a,pool-b"


def test_bearer_configuration_errors() -> None:
    base = {"url": "http://sr.test", "bearer.auth.credentials.source": "STATIC_TOKEN", "bearer.auth.token": "abc"}
    with pytest.raises(ValueError, match="bearer.auth.logical.cluster is required"):
        SchemaRegistryClient(base)
    with pytest.raises(ValueError, match="mutually exclusive"):
        SchemaRegistryClient({**base, "bearer.auth.logical.cluster": "c", "basic.auth.user.info": "a:b"})
    with pytest.raises(ValueError, match="bearer.auth.client.secret is required"):
        SchemaRegistryClient({k: v for k, v in oauth_conf("http://x").items() if k != "bearer.auth.client.secret"})
    with pytest.raises(ValueError, match="bearer.auth.issuer.endpoint.query must be provided"):
        SchemaRegistryClient({"url": "http://sr.test", "bearer.auth.credentials.source": "OAUTHBEARER_AZURE_IMDS",
                              "bearer.auth.logical.cluster": "c"})
    with pytest.raises(ValueError, match="Missing required custom OAuth configuration"):
        SchemaRegistryClient({"url": "http://sr.test", "bearer.auth.credentials.source": "CUSTOM"})
    with pytest.raises(TypeError, match="bearer.auth.token must be a str"):
        SchemaRegistryClient({**base, "bearer.auth.logical.cluster": "c", "bearer.auth.token": 5})


def test_oauthbearer_client_credentials_cached_then_refreshed(tokens: TokenServer) -> None:
    client = SchemaRegistryClient(oauth_conf(tokens.url))
    seen = recorded(client)
    client.get_schema(1)
    client.get_schema(2)
    assert len(tokens.requests) == 1  # one token for both calls
    fetch = tokens.requests[0]
    assert fetch["method"] == "POST" and fetch["path"] == "/oauth2/token"
    assert fetch["form"] == {"grant_type": "client_credentials", "scope": "registry"}
    assert fetch["headers"]["Authorization"] == "Basic " + base64.b64encode(b"app:s3cret").decode()
    assert [r.headers["authorization"] for r in seen] == ["Bearer t1", "Bearer t1"]
    assert seen[0].headers["target-sr-cluster"] == "lsrc-1"
    time.sleep(0.9)  # 80 % of the 1 s lifetime has passed: the next call fetches a new token
    client.get_schema(3)
    assert len(tokens.requests) == 2 and seen[-1].headers["authorization"] == "Bearer t2"


def test_token_endpoint_failure_is_an_oauth_error() -> None:
    failing = TokenServer(status=500)
    try:
        client = SchemaRegistryClient(oauth_conf(failing.url, **{"max.retries": 2, "retries.wait.ms": 1}))
        seen = recorded(client)
        with pytest.raises(OAuthTokenError, match="after 2 attempts"):
            client.get_schema(1)
        assert len(failing.requests) == 3 and seen == []
    finally:
        failing.close()


def test_azure_imds_token(tokens: TokenServer) -> None:
    client = SchemaRegistryClient({"url": "http://sr.test", "bearer.auth.credentials.source": "OAUTHBEARER_AZURE_IMDS",
                                   "bearer.auth.issuer.endpoint.url": tokens.url,
                                   "bearer.auth.issuer.endpoint.query": "api-version=2018-02-01&resource=x",
                                   "bearer.auth.logical.cluster": "lsrc-1"})
    seen = recorded(client)
    client.get_schema(1)
    fetch = tokens.requests[0]
    assert fetch["method"] == "GET" and fetch["path"] == "/oauth2/token?api-version=2018-02-01&resource=x"
    assert fetch["headers"]["Metadata"] == "true"
    assert seen[0].headers["authorization"] == "Bearer t1"


def test_custom_provider_is_asked_on_every_request() -> None:
    calls: list[dict] = []

    def provide(config: dict) -> dict:
        calls.append(config)
        return {"bearer.auth.token": f"c{len(calls)}", "bearer.auth.logical.cluster": config["cluster"]}

    client = SchemaRegistryClient({"url": "http://sr.test", "bearer.auth.credentials.source": "CUSTOM",
                                   "bearer.auth.custom.provider.function": provide,
                                   "bearer.auth.custom.provider.config": {"cluster": "lsrc-9"}})
    seen = recorded(client)
    client.get_schema(1)
    client.get_schema(2)
    assert [r.headers["authorization"] for r in seen] == ["Bearer c1", "Bearer c2"]
    assert seen[0].headers["target-sr-cluster"] == "lsrc-9" and calls == [{"cluster": "lsrc-9"}] * 2
