"""The registry over HTTP (httpx): the calls ``check`` and ``register`` make."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from . import GateError

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class Unreachable(GateError):
    """The registry could not be reached at all: the run stops."""


class RegistryError(GateError):
    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Connection:
    """How to reach the registry beyond its URL: Basic credentials (``USER:PASSWORD``, as
    confluent-kafka's ``basic.auth.user.info``), a CA bundle to trust, a client certificate."""

    basic_auth: str | None = None
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None

    def auth(self) -> tuple[str, str] | None:
        if self.basic_auth is None:
            return None
        user, sep, password = self.basic_auth.partition(":")
        if not sep or not user:
            raise GateError("--basic-auth: expected USER:PASSWORD")
        return user, password

    def verify(self) -> ssl.SSLContext | bool:
        if self.client_key and not self.client_cert:
            raise GateError("--client-key needs --client-cert")
        if not (self.ca_cert or self.client_cert):
            return True
        try:
            context = ssl.create_default_context(cafile=self.ca_cert)
            if self.client_cert:
                context.load_cert_chain(self.client_cert, self.client_key)
        except (OSError, ssl.SSLError) as exc:
            raise GateError(f"cannot load the TLS files: {exc}") from None
        return context


class RemoteRegistry:
    def __init__(self, url: str, *, connection: Connection = Connection(), timeout: float = 30.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise GateError(f"--registry {url!r}: expected an http:// or https:// URL")
        self.url = url.rstrip("/")
        self.http = httpx.Client(
            base_url=self.url,
            timeout=timeout,
            headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE},
            auth=connection.auth(),
            verify=connection.verify(),
        )

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, *, json: dict | None = None, params: dict | None = None) -> object:
        try:
            response = self.http.request(method, path, json=json, params=params)
        except httpx.HTTPError as exc:
            raise Unreachable(f"cannot reach the registry at {self.url}: {exc or type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            code = body.get("error_code") if isinstance(body, dict) else None
            message = body.get("message") if isinstance(body, dict) else response.text[:200]
            raise RegistryError(
                response.status_code, code, f"registry answered {response.status_code} to {method} {path}: {message}"
            )
        if body is None:
            raise GateError(f"registry at {self.url} answered {method} {path} with a non-JSON body")
        return body

    @staticmethod
    def _s(subject: str) -> str:
        return quote(subject, safe="")

    def versions(self, subject: str) -> list[int]:
        """Live versions of ``subject``; empty when it does not exist."""
        try:
            found = self._call("GET", f"/subjects/{self._s(subject)}/versions")
        except RegistryError as exc:
            if exc.status == 404:
                return []
            raise
        return list(found) if isinstance(found, list) else []

    def version(self, subject: str, version: int) -> dict:
        """``{schema, schemaType, references, ...}`` of one registered version."""
        found = self._call("GET", f"/subjects/{self._s(subject)}/versions/{int(version)}")
        if not isinstance(found, dict):
            raise GateError(f"registry answered GET version {version} of {subject} with {found!r}")
        return found

    def level(self, subject: str) -> str:
        """The subject's effective compatibility level (its own, else the global one)."""
        try:
            config = self._call("GET", f"/config/{self._s(subject)}", params={"defaultToGlobal": "true"})
        except RegistryError as exc:
            if exc.status != 404:
                raise
            config = self._call("GET", "/config")
        assert isinstance(config, dict)
        return str(config.get("compatibilityLevel") or config.get("compatibility") or "BACKWARD")

    def set_level(self, subject: str, level: str) -> None:
        self._call("PUT", f"/config/{self._s(subject)}", json={"compatibility": level})

    def check(self, subject: str, body: dict) -> tuple[bool, list[str]]:
        """Against every version the subject's level says to check (verbose messages)."""
        try:
            found = self._call(
                "POST", f"/compatibility/subjects/{self._s(subject)}/versions", json=body, params={"verbose": "true"}
            )
        except RegistryError as exc:
            if exc.code == 40401:  # registries that answer "subject not found" for a new subject
                return True, []
            raise
        assert isinstance(found, dict)
        return bool(found.get("is_compatible")), [str(m) for m in found.get("messages") or []]

    def lookup(self, subject: str, body: dict) -> dict | None:
        """``{id, version, ...}`` when this exact schema is registered under ``subject``."""
        try:
            found = self._call("POST", f"/subjects/{self._s(subject)}", json=body)
        except RegistryError as exc:
            if exc.status == 404:
                return None
            raise
        return found if isinstance(found, dict) else None

    def register(self, subject: str, body: dict) -> dict:
        found = self._call("POST", f"/subjects/{self._s(subject)}/versions", json=body)
        assert isinstance(found, dict)
        return found
