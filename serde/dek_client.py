"""A DEK Registry client with confluent-kafka's ``DekRegistryClient`` method names.

It talks to ``/dek-registry/v1`` through a :class:`serde.SchemaRegistryClient`
(same URLs, authentication, TLS and retries) and answers with
confluent-kafka's own ``Kek`` and ``Dek`` objects. KEKs and DEKs are cached;
``version=-1`` asks for the latest DEK (cached until a DEK is registered for
that subject through this client).
"""

from __future__ import annotations

import threading
from typing import Any

from confluent_kafka.schema_registry.rules.encryption.dek_registry.dek_registry_client import (
    Dek,
    DekAlgorithm,
    Kek,
)

from .client import SchemaRegistryClient, _q

__all__ = ["Dek", "DekAlgorithm", "DekRegistryClient", "Kek"]

LATEST = -1


def _bool(value: bool) -> str:
    return "true" if value else "false"


class DekRegistryClient:
    def __init__(self, conf: dict[str, Any] | SchemaRegistryClient) -> None:
        if isinstance(conf, SchemaRegistryClient):
            self._client = conf
            self._owned = False
        else:
            self._client = SchemaRegistryClient(dict(conf))
            self._owned = True
        self._keks: dict[tuple, Kek] = {}
        self._deks: dict[tuple, Dek] = {}
        self._lock = threading.Lock()

    def config(self) -> dict[str, Any]:
        return self._client.config()

    def close(self) -> None:
        if self._owned:
            self._client.close()

    def __enter__(self) -> DekRegistryClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _request(self, method: str, path: str, body: Any = None, params: Any = None) -> Any:
        return self._client._request(method, "/dek-registry/v1" + path, body, params)

    # -- KEKs --------------------------------------------------------------

    def register_kek(self, name: str, kms_type: str, kms_key_id: str, shared: bool = False,
                     kms_props: dict[str, str] | None = None, doc: str | None = None,
                     context: str | None = None) -> Kek:
        key = (name, False, context)
        hit = self._keks.get(key)
        if hit is not None:
            return hit
        body: dict[str, Any] = {"name": name, "kmsType": kms_type, "kmsKeyId": kms_key_id, "shared": shared}
        if kms_props is not None:
            body["kmsProps"] = kms_props
        if doc is not None:
            body["doc"] = doc
        kek = Kek.from_dict(self._request("POST", "/keks", body, {"context": context} if context else None))
        self._keks[key] = kek
        return kek

    def get_kek(self, name: str, deleted: bool = False, context: str | None = None) -> Kek:
        key = (name, deleted, context)
        hit = self._keks.get(key)
        if hit is not None:
            return hit
        params: dict[str, Any] = {"deleted": _bool(deleted)}
        if context is not None:
            params["context"] = context
        kek = Kek.from_dict(self._request("GET", f"/keks/{_q(name)}", params=params))
        self._keks[key] = kek
        return kek

    def get_kek_names(self, subject_prefix: str | None = None, deleted: bool = False) -> list[str]:
        params: dict[str, Any] = {"deleted": _bool(deleted)}
        if subject_prefix is not None:
            params["subjectPrefix"] = subject_prefix
        return self._request("GET", "/keks", params=params)

    def update_kek(self, name: str, kms_props: dict[str, str] | None = None, doc: str | None = None,
                   shared: bool | None = None) -> Kek:
        body: dict[str, Any] = {}
        if kms_props is not None:
            body["kmsProps"] = kms_props
        if doc is not None:
            body["doc"] = doc
        if shared is not None:
            body["shared"] = shared
        kek = Kek.from_dict(self._request("PUT", f"/keks/{_q(name)}", body))
        self._evict_kek(name)
        return kek

    def delete_kek(self, name: str, permanent: bool = False) -> None:
        self._request("DELETE", f"/keks/{_q(name)}", params={"permanent": _bool(permanent)})
        self._evict_kek(name)

    def undelete_kek(self, name: str) -> None:
        self._request("POST", f"/keks/{_q(name)}/undelete")
        self._evict_kek(name)

    def _evict_kek(self, name: str) -> None:
        with self._lock:
            for key in [k for k in self._keks if k[0] == name]:
                del self._keks[key]

    # -- DEKs --------------------------------------------------------------

    def register_dek(self, kek_name: str, subject: str, encrypted_key_material: str | None,
                     algorithm: DekAlgorithm | str = DekAlgorithm.AES256_GCM, version: int = 1) -> Dek:
        algorithm = DekAlgorithm(str(algorithm))
        key = (kek_name, subject, version, algorithm, False)
        hit = self._deks.get(key)
        if hit is not None:
            return hit
        body: dict[str, Any] = {"subject": subject, "version": version, "algorithm": algorithm.value}
        if encrypted_key_material is not None:
            body["encryptedKeyMaterial"] = encrypted_key_material
        dek = Dek.from_dict(self._request("POST", f"/keks/{_q(kek_name)}/deks/{_q(subject)}", body))
        with self._lock:
            self._deks[key] = dek
            self._deks.pop((kek_name, subject, LATEST, algorithm, False), None)
            self._deks.pop((kek_name, subject, LATEST, algorithm, True), None)
        return dek

    def get_dek(self, kek_name: str, subject: str, algorithm: DekAlgorithm | str = DekAlgorithm.AES256_GCM,
                version: int = 1, deleted: bool = False) -> Dek:
        algorithm = DekAlgorithm(str(algorithm))
        key = (kek_name, subject, version, algorithm, deleted)
        hit = self._deks.get(key)
        if hit is not None:
            return hit
        dek = Dek.from_dict(self._request(
            "GET", f"/keks/{_q(kek_name)}/deks/{_q(subject)}/versions/{int(version)}",
            params={"algorithm": algorithm.value, "deleted": _bool(deleted)}))
        self._deks[key] = dek
        return dek

    def get_dek_subjects(self, kek_name: str, deleted: bool = False) -> list[str]:
        return self._request("GET", f"/keks/{_q(kek_name)}/deks", params={"deleted": _bool(deleted)})

    def get_dek_versions(self, kek_name: str, subject: str,
                         algorithm: DekAlgorithm | str = DekAlgorithm.AES256_GCM, deleted: bool = False) -> list[int]:
        return self._request("GET", f"/keks/{_q(kek_name)}/deks/{_q(subject)}/versions",
                             params={"algorithm": str(algorithm), "deleted": _bool(deleted)})

    def delete_dek(self, kek_name: str, subject: str, algorithm: DekAlgorithm | str = DekAlgorithm.AES256_GCM,
                   permanent: bool = False) -> None:
        self._request("DELETE", f"/keks/{_q(kek_name)}/deks/{_q(subject)}",
                      params={"algorithm": str(algorithm), "permanent": _bool(permanent)})
        self._evict_dek(kek_name, subject)

    def undelete_dek(self, kek_name: str, subject: str,
                     algorithm: DekAlgorithm | str = DekAlgorithm.AES256_GCM) -> None:
        self._request("POST", f"/keks/{_q(kek_name)}/deks/{_q(subject)}/undelete",
                      params={"algorithm": str(algorithm)})
        self._evict_dek(kek_name, subject)

    def _evict_dek(self, kek_name: str, subject: str) -> None:
        with self._lock:
            for key in [k for k in self._deks if k[0] == kek_name and k[1] == subject]:
                del self._deks[key]
