"""Bearer authentication for the registry client, under confluent-kafka's configuration keys.

``bearer.auth.credentials.source`` picks where the token comes from:

- ``STATIC_TOKEN``: ``bearer.auth.token`` as given;
- ``OAUTHBEARER``: an OAuth 2 client-credentials grant (``bearer.auth.client.id``,
  ``bearer.auth.client.secret``, ``bearer.auth.scope``, ``bearer.auth.issuer.endpoint.url``),
  the client authenticating with HTTP Basic; the token is fetched again once 80 % of its
  ``expires_in`` has passed;
- ``OAUTHBEARER_AZURE_IMDS``: the Azure instance metadata endpoint (``bearer.auth.issuer.endpoint.query``,
  or a full ``bearer.auth.issuer.endpoint.url``);
- ``CUSTOM``: ``bearer.auth.custom.provider.function(bearer.auth.custom.provider.config)`` returns
  the fields below on every request.

Every source but ``CUSTOM`` needs ``bearer.auth.logical.cluster`` (sent as ``target-sr-cluster``);
``bearer.auth.identity.pool.id`` (a string or a list) is sent as ``Confluent-Identity-Pool-Id``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Generator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from confluent_kafka.schema_registry.error import OAuthTokenError

SOURCES = ("STATIC_TOKEN", "OAUTHBEARER", "OAUTHBEARER_AZURE_IMDS", "CUSTOM")
KEYS = (
    "bearer.auth.credentials.source", "bearer.auth.token", "bearer.auth.logical.cluster",
    "bearer.auth.identity.pool.id", "bearer.auth.client.id", "bearer.auth.client.secret", "bearer.auth.scope",
    "bearer.auth.issuer.endpoint.url", "bearer.auth.issuer.endpoint.query",
    "bearer.auth.custom.provider.function", "bearer.auth.custom.provider.config",
)
AZURE_IMDS_URL = "http://169.254.169.254/metadata/identity/oauth2/token"
REFRESH_AFTER = 0.8  # of a token's lifetime, as confluent-kafka

Fields = dict[str, str]


class _Retry:
    """confluent-kafka's retry settings for token fetches (full-jitter backoff)."""

    def __init__(self, max_retries: int, wait_s: float, max_wait_s: float) -> None:
        self.max_retries, self.wait_s, self.max_wait_s = max_retries, wait_s, max_wait_s

    def run(self, fetch: Callable[[], dict]) -> dict:
        attempt = 0
        while True:
            try:
                return fetch()
            except Exception as exc:
                if attempt >= self.max_retries:
                    raise OAuthTokenError(
                        f"Failed to retrieve token after {self.max_retries} attempts due to error: {exc}"
                    ) from None
            time.sleep(random.uniform(0, min(self.max_wait_s, self.wait_s * 2**attempt)))  # noqa: S311 - retry jitter, not a secret
            attempt += 1


class _Provider:
    def fields(self) -> Fields:
        raise NotImplementedError


class _Static(_Provider):
    def __init__(self, token: str, cluster: str, pool: str | None) -> None:
        self._fields = _fields(token, cluster, pool)

    def fields(self) -> Fields:
        return self._fields


class _Fetched(_Provider):
    """A token fetched over HTTP and kept until ``REFRESH_AFTER`` of its lifetime has passed."""

    def __init__(self, fetch: Callable[[], dict], cluster: str, pool: str | None, retry: _Retry) -> None:
        self._fetch, self._cluster, self._pool, self._retry = fetch, cluster, pool, retry
        self._token = ""
        self._refresh_at = 0.0
        self._lock = threading.Lock()

    def fields(self) -> Fields:
        with self._lock:
            if not self._token or time.time() >= self._refresh_at:
                started = time.time()
                answer = self._retry.run(self._fetch)
                token = answer.get("access_token")
                if not isinstance(token, str) or not token:
                    raise OAuthTokenError("the token endpoint answered without an access_token")
                self._token = token
                lifetime = float(answer.get("expires_in") or 0)
                self._refresh_at = started + lifetime * REFRESH_AFTER
            return _fields(self._token, self._cluster, self._pool)


class _Custom(_Provider):
    def __init__(self, function: Callable[[dict], dict], config: dict) -> None:
        self._function, self._config = function, config

    def fields(self) -> Fields:
        fields = self._function(self._config)
        missing = [k for k in ("bearer.auth.token", "bearer.auth.logical.cluster") if k not in (fields or {})]
        if missing:
            raise ValueError(
                "Missing required bearer auth fields, needs to be set in config or custom function: "
                + ", ".join(missing)
            )
        pool = fields.get("bearer.auth.identity.pool.id")
        return _fields(fields["bearer.auth.token"], fields["bearer.auth.logical.cluster"], _pool(pool))


def _fields(token: str, cluster: str, pool: str | None) -> Fields:
    headers = {"Authorization": f"Bearer {token}", "target-sr-cluster": cluster}
    if pool is not None:
        headers["Confluent-Identity-Pool-Id"] = pool
    return headers


def _pool(raw: Any) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw
    if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        return ",".join(raw)
    raise TypeError("bearer.auth.identity.pool.id must be a str or a list of str")


def _optional(conf: dict, key: str) -> str | None:
    value = conf.get(key)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{key} must be a str, not {type(value)}")
    return value


def _required(conf: dict, key: str) -> str:
    value = _optional(conf, key)
    if value is None:
        raise ValueError(f"SchemaRegistryClient: {key} is required with this bearer.auth.credentials.source")
    return value


class BearerAuth(httpx.Auth):
    """Adds the provider's headers to every request (fetching or refreshing the token first)."""

    def __init__(self, provider: _Provider) -> None:
        self.provider = provider

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self.provider.fields())
        yield request


def bearer_auth(conf: dict, retry: tuple[int, float, float], verify: Any, proxy: Any) -> BearerAuth | None:
    """The ``httpx.Auth`` for ``conf``'s ``bearer.auth.*`` keys, or None when no source is set."""
    source = conf.get("bearer.auth.credentials.source")
    if source is None:
        return None
    if source not in SOURCES:
        raise ValueError(f"Unrecognized bearer.auth.credentials.source {source!r} (one of {', '.join(SOURCES)})")
    if source == "CUSTOM":
        function = conf.get("bearer.auth.custom.provider.function")
        config = conf.get("bearer.auth.custom.provider.config")
        if function is None or config is None:
            raise ValueError("Missing required custom OAuth configuration properties: "
                             "bearer.auth.custom.provider.function, bearer.auth.custom.provider.config")
        if not callable(function):
            raise TypeError("bearer.auth.custom.provider.function must be a callable")
        if not isinstance(config, dict):
            raise TypeError("bearer.auth.custom.provider.config must be a dict")
        return BearerAuth(_Custom(function, config))
    cluster = _required(conf, "bearer.auth.logical.cluster")
    pool = _pool(conf.get("bearer.auth.identity.pool.id"))
    if source == "STATIC_TOKEN":
        return BearerAuth(_Static(_required(conf, "bearer.auth.token"), cluster, pool))
    http = httpx.Client(verify=verify, proxy=proxy, timeout=30.0)
    if source == "OAUTHBEARER":
        fetch = _client_credentials(http, conf)
    else:
        fetch = _azure_imds(http, conf)
    return BearerAuth(_Fetched(fetch, cluster, pool, _Retry(*retry)))


def _client_credentials(http: httpx.Client, conf: dict) -> Callable[[], dict]:
    client_id = _required(conf, "bearer.auth.client.id")
    secret = _required(conf, "bearer.auth.client.secret")
    scope = _required(conf, "bearer.auth.scope")
    endpoint = _required(conf, "bearer.auth.issuer.endpoint.url")

    def fetch() -> dict:
        form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
        response = http.post(endpoint, data=form, auth=(client_id, secret), headers={"Accept": "application/json"})
        response.raise_for_status()
        return response.json()

    return fetch


def _azure_imds(http: httpx.Client, conf: dict) -> Callable[[], dict]:
    overridden = conf.get("bearer.auth.issuer.endpoint.url") is not None
    endpoint = _optional(conf, "bearer.auth.issuer.endpoint.url") or AZURE_IMDS_URL
    query = _optional(conf, "bearer.auth.issuer.endpoint.query")
    if query:
        endpoint = urlunsplit(urlsplit(endpoint)._replace(query=query, fragment=""))
    elif not overridden:
        raise ValueError("bearer.auth.issuer.endpoint.query must be provided when bearer.auth.issuer.endpoint.url "
                         "isn't overridden")

    def fetch() -> dict:
        response = http.get(endpoint, headers={"Metadata": "true"})
        response.raise_for_status()
        return response.json()

    return fetch
