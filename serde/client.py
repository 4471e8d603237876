"""A Schema Registry client with confluent-kafka's method names and config keys.

- ``url``: one URL or several, comma-separated; the next is tried on a transport
  error or a retriable status (408, 429, 500, 502, 503, 504).
- Retries with full-jitter exponential backoff: ``max.retries`` (3),
  ``retries.wait.ms`` (1000), ``retries.max.wait.ms`` (20000).
- ``basic.auth.user.info`` (``user:password``; ``basic.auth.credentials.source``
  USER_INFO or URL, or userinfo in the URL), ``bearer.auth.*`` (STATIC_TOKEN,
  OAUTHBEARER, OAUTHBEARER_AZURE_IMDS, CUSTOM: ``serde.bearer``), TLS via ``ssl.ca.location``,
  ``ssl.certificate.location``, ``ssl.key.location``, ``ssl.key.password``;
  ``proxy``, ``timeout`` (seconds).
- One ``httpx.Client`` (keep-alive connections reused across calls).
- Bounded caches: by id / GUID, by (subject, schema), by (subject, version), each an
  LRU of ``cache.capacity`` (1000) entries; the latest version per subject expires
  after ``cache.latest.ttl.sec`` (never when unset, as confluent-kafka).

Schemas travel as confluent-kafka's own ``Schema``, ``SchemaReference`` and
``RegisteredSchema`` objects, and errors as its ``SchemaRegistryError``, so code
written against confluent-kafka keeps working.
"""

from __future__ import annotations

import random
import ssl
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from confluent_kafka.schema_registry import RegisteredSchema, Schema, SchemaReference
from confluent_kafka.schema_registry.error import SchemaRegistryError

from . import config as _config
from .bearer import KEYS as BEARER_KEYS
from .bearer import bearer_auth

__all__ = ["RegisteredSchema", "Schema", "SchemaReference", "SchemaRegistryClient", "SchemaRegistryError"]

RETRIABLE = frozenset({408, 429, 500, 502, 503, 504})
_CLIENT_VERSION = "python/schemahub-serde"
_ACCEPT = "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json"
_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"

_DEFAULTS: dict[str, Any] = {
    "url": None,
    "basic.auth.user.info": None,
    "basic.auth.credentials.source": None,
    **{key: None for key in BEARER_KEYS},
    "ssl.ca.location": None,
    "ssl.certificate.location": None,
    "ssl.key.location": None,
    "ssl.key.password": None,
    "proxy": None,
    "timeout": None,
    "cache.capacity": 1000,
    "cache.latest.ttl.sec": None,
    "max.retries": 3,
    "retries.wait.ms": 1000,
    "retries.max.wait.ms": 20000,
}


class _LRU:
    """A thread-safe LRU map of at most ``capacity`` entries, optionally with a TTL."""

    def __init__(self, capacity: int, ttl: float | None = None) -> None:
        self.capacity = max(1, int(capacity))
        self.ttl = ttl
        self._data: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Any:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            if self.ttl is not None and time.monotonic() - item[0] > self.ttl:
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return item[1]

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        with self._lock:
            self._data[key] = (time.monotonic(), value)
            self._data.move_to_end(key)
            while len(self._data) > self.capacity:
                self._data.popitem(last=False)

    def evict(self, predicate: Callable[[tuple[Any, ...]], bool]) -> None:
        with self._lock:
            for key in [k for k in self._data if predicate(k)]:
                del self._data[key]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


def _q(segment: Any) -> str:
    return urllib.parse.quote(str(segment), safe="")


def _schema_body(schema: Schema) -> dict[str, Any]:
    return schema.to_dict()


def _registered(payload: dict[str, Any], schema: Schema | None = None, subject: str | None = None,
                ) -> RegisteredSchema:
    if schema is None or "schema" in payload:
        schema = Schema.from_dict(payload)
    return RegisteredSchema(schema_id=payload.get("id"), guid=payload.get("guid"), schema=schema,
                            subject=payload.get("subject", subject), version=payload.get("version"))


def _urls(url: Any) -> tuple[list[str], tuple[str, str] | None]:
    """The base URLs of ``url`` (comma-separated), without userinfo, and the userinfo's credentials."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError("SchemaRegistryClient: url is required (one URL or several, comma-separated)")
    auth: tuple[str, str] | None = None
    urls = []
    for raw in (part.strip() for part in url.split(",")):
        if not raw:
            continue
        parts = urllib.parse.urlsplit(raw)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"SchemaRegistryClient: invalid url {raw!r} (http:// or https:// expected)")
        if parts.username is not None:
            auth = (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))
            parts = parts._replace(netloc=(parts.hostname or "") + (f":{parts.port}" if parts.port else ""))
        urls.append(urllib.parse.urlunsplit(parts).rstrip("/"))
    return urls, auth


def _basic_auth(conf: dict[str, Any], url_auth: tuple[str, str] | None) -> tuple[str, str] | None:
    """``basic.auth.user.info`` (USER_INFO), else the URL's userinfo."""
    source = (conf["basic.auth.credentials.source"] or "").upper()
    if source not in ("", "USER_INFO", "URL"):
        raise ValueError("SchemaRegistryClient: basic.auth.credentials.source must be USER_INFO or URL")
    user_info = conf["basic.auth.user.info"]
    if not user_info:
        return url_auth
    if source == "URL":
        raise ValueError("SchemaRegistryClient: basic.auth.user.info given with credentials source URL")
    if ":" not in user_info:
        raise ValueError("SchemaRegistryClient: basic.auth.user.info must be 'user:password'")
    user, _, password = user_info.partition(":")
    return user, password


def _tls(conf: dict[str, Any]) -> ssl.SSLContext | bool:
    """What to verify the registry with: the system's trust, or a context with ``ssl.ca.location``
    and the client certificate of ``ssl.certificate.location``/``ssl.key.location``."""
    cert, key, ca = conf["ssl.certificate.location"], conf["ssl.key.location"], conf["ssl.ca.location"]
    if key and not cert:
        raise ValueError("SchemaRegistryClient: ssl.key.location needs ssl.certificate.location")
    if not cert and not ca:
        return True
    context = ssl.create_default_context(cafile=ca or None)
    if cert:
        context.load_cert_chain(cert, key or None, conf["ssl.key.password"] or None)
    return context


class SchemaRegistryClient:
    """Talks to a Confluent-compatible Schema Registry (ours first)."""

    def __init__(self, conf: dict[str, Any]) -> None:
        conf = _config.take("SchemaRegistryClient", _DEFAULTS, conf)
        self._conf = dict(conf)
        self._urls, url_auth = _urls(conf["url"])
        auth = _basic_auth(conf, url_auth)
        verify = _tls(conf)
        self._max_retries = int(conf["max.retries"])
        self._wait = float(conf["retries.wait.ms"]) / 1000.0
        self._max_wait = float(conf["retries.max.wait.ms"]) / 1000.0
        if self._max_retries < 0 or self._wait < 0 or self._max_wait < 0:
            raise ValueError("SchemaRegistryClient: max.retries, retries.wait.ms and retries.max.wait.ms "
                             "must not be negative")
        bearer = bearer_auth(conf, (self._max_retries, self._wait, self._max_wait), verify, conf["proxy"])
        if bearer is not None and auth is not None:
            raise ValueError("SchemaRegistryClient: basic and bearer authentication are mutually exclusive")
        timeout = conf["timeout"]
        self._http = httpx.Client(
            auth=bearer or auth, headers={"Confluent-Client-Version": _CLIENT_VERSION}, verify=verify,
            proxy=conf["proxy"], timeout=float(timeout) if timeout is not None else 30.0,
        )
        self._current = 0
        capacity = int(conf["cache.capacity"])
        ttl = conf["cache.latest.ttl.sec"]
        self.latest_ttl: float | None = float(ttl) if ttl is not None else None
        self._by_id = _LRU(capacity)
        self._by_guid = _LRU(capacity)
        self._by_schema = _LRU(capacity)
        self._by_version = _LRU(capacity)
        self._latest = _LRU(capacity, self.latest_ttl)
        self._latest_metadata = _LRU(capacity, self.latest_ttl)

    # -- transport ---------------------------------------------------------

    def config(self) -> dict[str, Any]:
        return dict(self._conf)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SchemaRegistryClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _backoff(self, attempt: int) -> float:
        return random.uniform(0, min(self._max_wait, self._wait * (2 ** attempt)))  # noqa: S311 - retry jitter, not a secret

    def _request(self, method: str, path: str, body: Any = None, params: Any = None) -> Any:
        if body is None:
            headers = {"Accept": _ACCEPT}
            content = None
        else:
            headers = {"Content-Type": _CONTENT_TYPE, "Confluent-Accept-Unknown-Properties": "true"}
            content = orjson.dumps(body)
        last_error: BaseException | None = None
        response: httpx.Response | None = None
        for attempt in range(self._max_retries + 1):
            n = len(self._urls)
            for step in range(n):
                index = (self._current + step) % n
                try:
                    response = self._http.request(method, self._urls[index] + path, content=content,
                                                  params=params, headers=headers)
                except httpx.HTTPError as exc:
                    last_error, response = exc, None
                    continue
                if response.status_code in RETRIABLE:
                    continue
                self._current = index
                return self._answer(response)
            if attempt < self._max_retries:
                time.sleep(self._backoff(attempt))
        if response is not None:
            return self._answer(response)
        raise SchemaRegistryError(-1, -1, f"Schema Registry unreachable at {', '.join(self._urls)}: {last_error}")

    @staticmethod
    def _answer(response: httpx.Response) -> Any:
        if 200 <= response.status_code < 300:
            if response.status_code == 204 or not response.content:
                return None
            return orjson.loads(response.content)
        try:
            body = orjson.loads(response.content)
            code = int(body.get("error_code", -1))
            message = str(body.get("message", response.text))
        except Exception:
            code, message = -1, response.text or f"HTTP {response.status_code}"
        raise SchemaRegistryError(response.status_code, code, message)

    # -- schemas -----------------------------------------------------------

    def register_schema(self, subject_name: str, schema: Schema, normalize_schemas: bool = False) -> int:
        """Register ``schema`` under ``subject_name``; its id (cached per subject and schema)."""
        schema_id = self.register_schema_full_response(subject_name, schema, normalize_schemas).schema_id
        assert schema_id is not None  # every registration answer carries the id
        return schema_id

    def register_schema_full_response(self, subject_name: str, schema: Schema,
                                      normalize_schemas: bool = False) -> RegisteredSchema:
        key = ("register", subject_name, schema, normalize_schemas)
        hit = self._by_schema.get(key)
        if hit is not None:
            return hit
        body = self._request("POST", f"/subjects/{_q(subject_name)}/versions", _schema_body(schema),
                             {"normalize": _bool(normalize_schemas)})
        if not isinstance(body, dict) or "id" not in body:
            raise SchemaRegistryError(-1, -1, f"Unexpected registration response: {body!r}")
        result = RegisteredSchema(schema_id=body["id"], guid=body.get("guid"), schema=schema,
                                  subject=body.get("subject", subject_name), version=body.get("version"))
        self._by_schema.put(key, result)
        return result

    def get_schema(self, schema_id: int, subject_name: str | None = None, fmt: str | None = None,
                   reference_format: str | None = None) -> Schema:
        """The schema with ``schema_id`` (``subject_name`` is a context hint)."""
        return self._get_schema_entry(schema_id, subject_name, fmt, reference_format)[1]

    def _get_schema_entry(self, schema_id: int, subject_name: str | None, fmt: str | None,
                          reference_format: str | None = None) -> tuple[str | None, Schema]:
        key = (schema_id, subject_name, fmt, reference_format)
        hit = self._by_id.get(key)
        if hit is not None:
            return hit
        params = {}
        if subject_name is not None:
            params["subject"] = subject_name
        if fmt is not None:
            params["format"] = fmt
        if reference_format is not None:
            params["reference_format"] = reference_format
        body = self._request("GET", f"/schemas/ids/{int(schema_id)}", params=params or None)
        entry = (body.get("guid"), Schema.from_dict(body))
        self._by_id.put(key, entry)
        if entry[0]:
            self._by_guid.put((entry[0], fmt), entry[1])
        return entry

    def get_schema_by_guid(self, guid: str, fmt: str | None = None) -> Schema:
        key = (str(guid).lower(), fmt)
        hit = self._by_guid.get(key)
        if hit is not None:
            return hit
        body = self._request("GET", f"/schemas/guids/{_q(str(guid).lower())}",
                             params={"format": fmt} if fmt else None)
        schema = Schema.from_dict(body)
        self._by_guid.put(key, schema)
        return schema

    def get_schema_types(self) -> list[str]:
        return self._request("GET", "/schemas/types")

    def get_subjects_by_schema_id(self, schema_id: int, subject_name: str | None = None,
                                  deleted: bool = False, offset: int = 0, limit: int = -1) -> list[str]:
        params: dict[str, Any] = {"offset": offset, "limit": limit}
        if subject_name is not None:
            params["subject"] = subject_name
        if deleted:
            params["deleted"] = "true"
        return self._request("GET", f"/schemas/ids/{int(schema_id)}/subjects", params=params)

    def get_schema_versions(self, schema_id: int, subject_name: str | None = None, deleted: bool = False,
                            offset: int = 0, limit: int = -1) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"offset": offset, "limit": limit}
        if subject_name is not None:
            params["subject"] = subject_name
        if deleted:
            params["deleted"] = "true"
        return self._request("GET", f"/schemas/ids/{int(schema_id)}/versions", params=params)

    def lookup_schema(self, subject_name: str, schema: Schema, normalize_schemas: bool = False,
                      fmt: str | None = None, deleted: bool = False) -> RegisteredSchema:
        """The registered version of ``schema`` under ``subject_name`` (404 when absent)."""
        key = ("lookup", subject_name, schema, normalize_schemas, fmt, deleted)
        hit = self._by_schema.get(key)
        if hit is not None:
            return hit
        params = {"normalize": _bool(normalize_schemas), "deleted": _bool(deleted)}
        if fmt is not None:
            params["format"] = fmt
        body = self._request("POST", f"/subjects/{_q(subject_name)}", _schema_body(schema), params)
        result = RegisteredSchema(schema_id=body.get("id"), guid=body.get("guid"), schema=schema,
                                  subject=body.get("subject", subject_name), version=body.get("version"))
        self._by_schema.put(key, result)
        return result

    def get_subjects(self, subject_prefix: str | None = None, deleted: bool = False,
                     deleted_only: bool = False, offset: int = 0, limit: int = -1) -> list[str]:
        params: dict[str, Any] = {"deleted": _bool(deleted).lower(), "deleted_only": _bool(deleted_only).lower(),
                                  "offset": offset, "limit": limit}
        if subject_prefix is not None:
            params["subjectPrefix"] = subject_prefix
        return self._request("GET", "/subjects", params=params)

    def delete_subject(self, subject_name: str, permanent: bool = False) -> list[int]:
        result = self._request("DELETE", f"/subjects/{_q(subject_name)}",
                               params={"permanent": "true"} if permanent else None)
        self._latest.evict(lambda k: k[0] == subject_name)
        self._latest_metadata.evict(lambda k: k[0] == subject_name)
        if permanent:
            self._by_schema.evict(lambda k: k[1] == subject_name)
            self._by_version.evict(lambda k: k[0] == subject_name)
        return result

    def get_latest_version(self, subject_name: str, fmt: str | None = None) -> RegisteredSchema:
        """The latest version (cached; refreshed after ``cache.latest.ttl.sec`` when set)."""
        key = (subject_name, fmt)
        hit = self._latest.get(key)
        if hit is not None:
            return hit
        body = self._request("GET", f"/subjects/{_q(subject_name)}/versions/latest",
                             params={"format": fmt} if fmt else None)
        result = _registered(body, subject=subject_name)
        self._latest.put(key, result)
        return result

    def get_latest_with_metadata(self, subject_name: str, metadata: dict[str, str], deleted: bool = False,
                                 fmt: str | None = None) -> RegisteredSchema:
        key = (subject_name, tuple(sorted(metadata.items())), deleted, fmt)
        hit = self._latest_metadata.get(key)
        if hit is not None:
            return hit
        params: list[tuple[str, Any]] = [("deleted", _bool(deleted).lower())]
        for k, v in metadata.items():
            params.append(("key", k))
            params.append(("value", v))
        if fmt:
            params.append(("format", fmt))
        body = self._request("GET", f"/subjects/{_q(subject_name)}/metadata", params=params)
        result = _registered(body, subject=subject_name)
        self._latest_metadata.put(key, result)
        return result

    def get_version(self, subject_name: str, version: int | str, deleted: bool = False,
                    fmt: str | None = None) -> RegisteredSchema:
        cacheable = version != "latest"
        key = (subject_name, version, deleted, fmt)
        if cacheable:
            hit = self._by_version.get(key)
            if hit is not None:
                return hit
        params = {"deleted": _bool(deleted).lower()}
        if fmt:
            params["format"] = fmt
        body = self._request("GET", f"/subjects/{_q(subject_name)}/versions/{_q(version)}", params=params)
        result = _registered(body, subject=subject_name)
        if cacheable:
            self._by_version.put(key, result)
        return result

    def get_versions(self, subject_name: str, deleted: bool = False, deleted_only: bool = False,
                     offset: int = 0, limit: int = -1) -> list[int]:
        params = {"deleted": _bool(deleted).lower(), "deleted_only": _bool(deleted_only).lower(),
                  "offset": offset, "limit": limit}
        return self._request("GET", f"/subjects/{_q(subject_name)}/versions", params=params)

    def get_referenced_by(self, subject_name: str, version: int | str = "latest", offset: int = 0,
                          limit: int = -1) -> list[int]:
        return self._request("GET", f"/subjects/{_q(subject_name)}/versions/{_q(version)}/referencedby",
                             params={"offset": offset, "limit": limit})

    def delete_version(self, subject_name: str, version: int, permanent: bool = False) -> int:
        result = self._request("DELETE", f"/subjects/{_q(subject_name)}/versions/{_q(version)}",
                               params={"permanent": "true"} if permanent else None)
        self._latest.evict(lambda k: k[0] == subject_name)
        self._by_version.evict(lambda k: k[0] == subject_name and k[1] == version)
        return result

    # -- config and compatibility -----------------------------------------

    def set_compatibility(self, subject_name: str | None = None, level: str | None = None) -> dict[str, Any]:
        if level is None:
            raise ValueError("level must be set")
        path = "/config" if subject_name is None else f"/config/{_q(subject_name)}"
        return self._request("PUT", path, {"compatibility": str(getattr(level, "value", level)).upper()})

    def get_compatibility(self, subject_name: str | None = None) -> str:
        path = "/config" if subject_name is None else f"/config/{_q(subject_name)}"
        return self._request("GET", path)["compatibilityLevel"]

    def test_compatibility(self, subject_name: str, schema: Schema, version: int | str = "latest",
                           normalize: bool = False, verbose: bool = False) -> bool:
        body = self._request("POST", f"/compatibility/subjects/{_q(subject_name)}/versions/{_q(version)}",
                             _schema_body(schema), {"normalize": _bool(normalize), "verbose": _bool(verbose)})
        return bool(body.get("is_compatible"))

    def test_compatibility_all_versions(self, subject_name: str, schema: Schema, normalize: bool = False,
                                        verbose: bool = False) -> bool:
        body = self._request("POST", f"/compatibility/subjects/{_q(subject_name)}/versions",
                             _schema_body(schema), {"normalize": _bool(normalize), "verbose": _bool(verbose)})
        return bool(body.get("is_compatible"))

    def compatibility_messages(self, subject_name: str, schema: Schema, version: int | str | None = None,
                               normalize: bool = False) -> tuple[bool, list[str]]:
        """The verdict and the registry's verbose messages (empty when compatible): against
        ``version``, or against every version the subject's level names (None)."""
        path = f"/compatibility/subjects/{_q(subject_name)}/versions"
        if version is not None:
            path += f"/{_q(version)}"
        body = self._request("POST", path, _schema_body(schema), {"normalize": _bool(normalize), "verbose": "true"})
        return bool(body.get("is_compatible")), [str(m) for m in body.get("messages") or []]

    def clear_caches(self) -> None:
        for cache in (self._by_id, self._by_guid, self._by_schema, self._by_version, self._latest,
                      self._latest_metadata):
            cache.clear()


def _bool(value: bool) -> str:
    return "true" if value else "false"
