"""The registry as ``check`` and ``register`` use it, through the project's one registry
client (:class:`serde.SchemaRegistryClient`): its errors are confluent-kafka's
``SchemaRegistryError``, turned here into the gate's errors."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from confluent_kafka.schema_registry import RegisteredSchema, Schema, SchemaReference
from confluent_kafka.schema_registry.error import SchemaRegistryError

from serde.client import SchemaRegistryClient

from . import GateError

SUBJECT_NOT_FOUND = 40401
RETRIES = {"max.retries": 2, "retries.wait.ms": 200, "retries.max.wait.ms": 1000}  # a gate fails fast


class Unreachable(GateError):
    """The registry could not be reached at all: the run stops."""


class Incompatible(GateError):
    """The registry refused a registration as incompatible (409)."""


@dataclass(frozen=True)
class Connection:
    """How to reach the registry beyond its URL: Basic credentials (``USER:PASSWORD``, as
    confluent-kafka's ``basic.auth.user.info``), a CA bundle to trust, a client certificate."""

    basic_auth: str | None = None
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None

    def client_config(self, url: str) -> dict:
        """The client's configuration (its keys are confluent-kafka's)."""
        if self.basic_auth is not None and (":" not in self.basic_auth or self.basic_auth.startswith(":")):
            raise GateError("--basic-auth: expected USER:PASSWORD")
        if self.client_key and not self.client_cert:
            raise GateError("--client-key needs --client-cert")
        conf = {"url": url, "timeout": 30, **RETRIES}
        for key, value in (("basic.auth.user.info", self.basic_auth), ("ssl.ca.location", self.ca_cert),
                           ("ssl.certificate.location", self.client_cert), ("ssl.key.location", self.client_key)):
            if value is not None:
                conf[key] = value
        return conf


def _failure(exc: SchemaRegistryError, what: str, url: str) -> GateError:
    if exc.http_status_code == -1:
        return Unreachable(f"cannot reach the registry at {url}: {exc.error_message}")
    return GateError(f"registry answered {exc.http_status_code} to {what}: {exc.error_message}")


class RemoteRegistry:
    """The calls the gate makes, each a :class:`GateError` on failure (:class:`Unreachable`
    when nothing answered); schemas travel as confluent-kafka's ``Schema``."""

    def __init__(self, url: str, *, connection: Connection = Connection()) -> None:
        if not url.startswith(("http://", "https://")):
            raise GateError(f"--registry {url!r}: expected an http:// or https:// URL")
        self.url = url.rstrip("/")
        try:
            self.client = SchemaRegistryClient(connection.client_config(self.url))
        except (OSError, ssl.SSLError) as exc:
            raise GateError(f"cannot load the TLS files: {exc}") from None
        except ValueError as exc:
            raise GateError(str(exc)) from None

    def close(self) -> None:
        self.client.close()

    def _missing(self, exc: SchemaRegistryError, what: str) -> bool:
        """Whether ``exc`` says the thing asked for does not exist (404); raise the gate's error otherwise."""
        if exc.http_status_code == 404:
            return True
        raise _failure(exc, what, self.url) from None

    def versions(self, subject: str) -> list[int]:
        """Live versions of ``subject``; empty when it does not exist."""
        try:
            return list(self.client.get_versions(subject))
        except SchemaRegistryError as exc:
            self._missing(exc, f"the versions of {subject}")
            return []

    def level(self, subject: str) -> str:
        """The subject's effective compatibility level (its own, else the global one)."""
        try:
            return str(self.client.get_compatibility(subject))
        except SchemaRegistryError as exc:
            self._missing(exc, f"the config of {subject}")
        try:
            return str(self.client.get_compatibility())
        except SchemaRegistryError as exc:
            raise _failure(exc, "the global config", self.url) from None

    def set_level(self, subject: str, level: str) -> None:
        try:
            self.client.set_compatibility(subject, level)
        except SchemaRegistryError as exc:
            raise _failure(exc, f"setting the level of {subject}", self.url) from None

    def check(self, subject: str, schema: Schema) -> tuple[bool, list[str]]:
        """Against every version the subject's level says to check (verbose messages)."""
        try:
            return self.client.compatibility_messages(subject, schema)
        except SchemaRegistryError as exc:
            if exc.error_code == SUBJECT_NOT_FOUND:  # registries that answer so for a new subject
                return True, []
            raise _failure(exc, f"the compatibility check of {subject}", self.url) from None

    def lookup(self, subject: str, schema: Schema) -> RegisteredSchema | None:
        """The version under which exactly this schema is registered under ``subject``, if any."""
        try:
            return self.client.lookup_schema(subject, schema)
        except SchemaRegistryError as exc:
            self._missing(exc, f"the lookup in {subject}")
            return None

    def register(self, subject: str, schema: Schema) -> RegisteredSchema:
        """Register ``schema``; a 409 (incompatible) is returned as the error for the caller to explain."""
        try:
            return self.client.register_schema_full_response(subject, schema)
        except SchemaRegistryError as exc:
            if exc.http_status_code == 409:
                raise Incompatible(str(exc)) from None
            raise _failure(exc, f"the registration in {subject}", self.url) from None

    def version(self, subject: str, version: int) -> RegisteredSchema:
        try:
            return self.client.get_version(subject, version)
        except SchemaRegistryError as exc:
            raise _failure(exc, f"version {version} of {subject}", self.url) from None


def schema(text: str, schema_type: str, references: list[dict]) -> Schema:
    """A ``Schema`` to send: the text, its type and ``{name, subject, version}`` references."""
    refs = [SchemaReference(r["name"], r["subject"], r["version"]) for r in references]
    return Schema(text, schema_type, refs)
