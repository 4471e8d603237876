"""The DEK Registry: key encryption keys (KEKs) and the data encryption keys (DEKs) they wrap.

Confluent's ``AbstractDekRegistry`` semantics over the registry's store:

- A KEK names a key in a KMS (``kmsType``, ``kmsKeyId``, ``kmsProps``). Its
  name starts with a letter or ``_`` and continues with letters, digits, ``_``
  and ``-`` (at most 256). Creating an existing KEK is 40971 unless it was
  soft-deleted and the request is equivalent (create then acts as undelete).
- A DEK is ``(kekName, subject, algorithm, version)`` with the key material
  wrapped by the KEK (``encryptedKeyMaterial``, produced by the client). A
  *shared* KEK lets the registry generate and unwrap DEKs itself, which
  needs KMS credentials on the server: schemahub does not hold any, so such
  a request answers 50070 (DEK generation error).
- Soft delete marks, ``permanent=true`` removes only what was soft-deleted
  (40471 otherwise); a KEK with DEKs cannot be deleted (42272, counting only
  soft-deleted DEKs for a permanent delete); undeleting a DEK under a deleted
  KEK is 40472.
- ``version=-1`` (``latest``) is the highest version.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from .errors import RegistryError
from .stores.records import DekRecord, DekTombstone, KekRecord, KekTombstone, Record

__all__ = ["ALGORITHMS", "DekRegistry"]

ALGORITHMS = ("AES128_GCM", "AES256_GCM", "AES256_SIV")
DEFAULT_ALGORITHM = "AES256_GCM"
NAME_MAX_LENGTH = 256
LATEST = -1


class KeyNotFound(RegistryError):
    status, code = 404, 40470

    def __init__(self, name: str) -> None:
        super().__init__(f"Key '{name}' not found")


class KeyNotSoftDeleted(RegistryError):
    status, code = 404, 40471

    def __init__(self, name: str) -> None:
        super().__init__(f"Key '{name}' was not deleted first before being permanently deleted")


class KeySoftDeleted(RegistryError):
    status, code = 404, 40472

    def __init__(self, name: str) -> None:
        super().__init__(f"Key '{name}' must be undeleted first")


class KeyExists(RegistryError):
    status, code = 409, 40971

    def __init__(self, name: str) -> None:
        super().__init__(f"Key '{name}' already exists; use a different value")


class InvalidKey(RegistryError):
    status, code = 422, 42271

    def __init__(self, field: str) -> None:
        super().__init__(f"Invalid or missing value for field '{field}' of key")


class KeyReferenceExists(RegistryError):
    status, code = 422, 42272

    def __init__(self, name: str) -> None:
        super().__init__(f"One or more references exist to the key '{name}'")


class DekGenerationFailed(RegistryError):
    status, code = 500, 50070


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not name or len(name) > NAME_MAX_LENGTH:
        raise InvalidKey("name")
    if not (name[0].isalpha() or name[0] == "_"):
        raise InvalidKey("name")
    if not all(c.isalnum() or c in "_-" for c in name[1:]):
        raise InvalidKey("name")
    return name


def check_subject(subject: Any) -> str:
    if not isinstance(subject, str) or not subject or any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in subject):
        raise InvalidKey("subject")
    return subject


def check_algorithm(value: Any) -> str:
    if value is None or value == "":
        return DEFAULT_ALGORITHM
    if not isinstance(value, str) or value.upper() not in ALGORITHMS:
        raise InvalidKey("algorithm")
    return value.upper()


def normalize_kms_type(kms_type: str) -> str:
    """Confluent's spellings: anything starting aws/azure/gcp becomes aws-kms/azure-kms/gcp-kms."""
    lower = kms_type.lower()
    for prefix in ("aws", "azure", "gcp"):
        if lower.startswith(prefix):
            return f"{prefix}-kms"
    return kms_type


def kek_json(kek: KekRecord) -> dict:
    body: dict[str, Any] = {"name": kek.name, "kmsType": kek.kms_type, "kmsKeyId": kek.kms_key_id,
                            "kmsProps": dict(sorted(kek.kms_props.items()))}
    if kek.doc is not None:
        body["doc"] = kek.doc
    body.update({"shared": kek.shared, "ts": kek.ts, "deleted": kek.deleted})
    return body


def dek_json(dek: DekRecord) -> dict:
    body: dict[str, Any] = {"kekName": dek.kek_name, "subject": dek.subject, "version": dek.version,
                            "algorithm": dek.algorithm}
    if dek.encrypted_key_material is not None:
        body["encryptedKeyMaterial"] = dek.encrypted_key_material
    body.update({"ts": dek.ts, "deleted": dek.deleted})
    return body


def _now() -> int:
    return int(time.time() * 1000)


def _string_map(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidKey(field)
    return dict(value)


class DekRegistry:
    """KEK and DEK operations on a :class:`registry.service.Registry`'s state and store."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry

    @property
    def _state(self) -> Any:
        return self.registry.state

    def _write(self, records: Sequence[Record]) -> None:
        self.registry.store.append(records)

    # -- KEKs ----------------------------------------------------------------

    def kek_names(self, subject_prefixes: list[str], deleted: bool) -> list[str]:
        if not subject_prefixes:
            return sorted(name for name, kek in list(self._state.keks.items()) if deleted or not kek.deleted)
        names = {dek.kek_name for dek in list(self._state.deks.values())
                 if (deleted or not dek.deleted) and any(dek.subject.startswith(p) for p in subject_prefixes)}
        return sorted(names)

    def kek(self, name: str, deleted: bool = False) -> KekRecord | None:
        kek = self._state.keks.get(name)
        return kek if kek is not None and (deleted or not kek.deleted) else None

    def get_kek(self, name: str, deleted: bool) -> dict:
        check_name(name)
        kek = self.kek(name, deleted)
        if kek is None:
            raise KeyNotFound(name)
        return kek_json(kek)

    def create_kek(self, body: dict) -> dict:
        name = check_name(body.get("name"))
        kms_key_id = body.get("kmsKeyId")
        if not isinstance(kms_key_id, str) or not kms_key_id:
            raise InvalidKey("kmsKeyId")
        kms_type = body.get("kmsType")
        if not isinstance(kms_type, str) or not kms_type:
            raise InvalidKey("kmsType")
        doc = body.get("doc")
        if doc is not None and not isinstance(doc, str):
            raise InvalidKey("doc")
        shared = body.get("shared", False)
        deleted = body.get("deleted", False)
        if not isinstance(shared, bool) or not isinstance(deleted, bool):
            raise InvalidKey("shared")
        new = KekRecord(name, normalize_kms_type(kms_type), kms_key_id, _string_map(body.get("kmsProps"), "kmsProps"),
                        doc, shared, deleted, _now())
        with self.registry.write_lock:
            old = self._state.keks.get(name)
            if old is not None and (deleted == old.deleted or not _same_kek(old, new)):
                raise KeyExists(name)
            self._write([new])
        return kek_json(self._state.keks[name])

    def update_kek(self, name: str, body: dict) -> dict:
        check_name(name)
        with self.registry.write_lock:
            old = self.kek(name)
            if old is None:
                raise KeyNotFound(name)
            props = _string_map(body["kmsProps"], "kmsProps") if "kmsProps" in body else old.kms_props
            doc = body["doc"] if "doc" in body else old.doc
            shared = body["shared"] if "shared" in body else old.shared
            if (doc is not None and not isinstance(doc, str)) or not isinstance(shared, bool):
                raise InvalidKey("doc" if not isinstance(shared, bool) else "shared")
            new = replace(old, kms_props=props or {}, doc=doc, shared=shared, deleted=False, ts=_now())
            if not _same_kek(old, new):
                self._write([new])
        return kek_json(self._state.keks[name])

    def delete_kek(self, name: str, permanent: bool) -> None:
        check_name(name)
        with self.registry.write_lock:
            old = self._state.keks.get(name)
            if old is None:
                raise KeyNotFound(name)
            if self._deks_of(name, None, None, permanent):
                raise KeyReferenceExists(name)
            if permanent:
                if not old.deleted:
                    raise KeyNotSoftDeleted(name)
                self._write([KekTombstone(name)])
            elif not old.deleted:
                self._write([replace(old, deleted=True, ts=_now())])

    def undelete_kek(self, name: str) -> None:
        check_name(name)
        with self.registry.write_lock:
            old = self._state.keks.get(name)
            if old is None:
                raise KeyNotFound(name)
            if old.deleted:
                self._write([replace(old, deleted=False, ts=_now())])

    # -- DEKs ----------------------------------------------------------------

    def _deks_of(self, kek: str, subject: str | None, algorithm: str | None, deleted: bool) -> list[DekRecord]:
        found = [dek for key, dek in list(self._state.deks.items())
                 if key[0] == kek and (subject is None or key[1] == subject)
                 and (algorithm is None or key[2] == algorithm) and (deleted or not dek.deleted)]
        return sorted(found, key=lambda d: (d.subject, d.algorithm, d.version))

    def _live_kek(self, name: str, deleted: bool) -> KekRecord:
        check_name(name)
        kek = self.kek(name, deleted)
        if kek is None:
            raise KeyNotFound(name)
        return kek

    def dek_subjects(self, kek_name: str, deleted: bool) -> list[str]:
        self._live_kek(kek_name, deleted)
        return sorted({dek.subject for dek in self._deks_of(kek_name, None, None, deleted)})

    def dek_versions(self, kek_name: str, subject: str, algorithm: Any, deleted: bool) -> list[int]:
        self._live_kek(kek_name, deleted)
        check_subject(subject)
        return [dek.version for dek in self._deks_of(kek_name, subject, check_algorithm(algorithm), deleted)]

    def get_dek(self, kek_name: str, subject: str, version: int, algorithm: Any, deleted: bool) -> dict:
        self._live_kek(kek_name, deleted)
        check_subject(subject)
        algorithm = check_algorithm(algorithm)
        if version == LATEST:
            deks = self._deks_of(kek_name, subject, algorithm, deleted)
            dek = deks[-1] if deks else None
        else:
            dek = self._state.deks.get((kek_name, subject, algorithm, version))
            if dek is not None and dek.deleted and not deleted:
                dek = None
        if dek is None:
            raise KeyNotFound(subject)
        return dek_json(dek)

    def create_dek(self, kek_name: str, subject: str | None, body: dict) -> dict:
        check_name(kek_name)
        subject = check_subject(subject if subject is not None else body.get("subject"))
        algorithm = check_algorithm(body.get("algorithm"))
        version = body.get("version", 1)
        if version is None:
            version = 1
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise InvalidKey("version")
        material = body.get("encryptedKeyMaterial")
        if material is not None and not isinstance(material, str):
            raise InvalidKey("encryptedKeyMaterial")
        deleted = body.get("deleted", False)
        if not isinstance(deleted, bool):
            raise InvalidKey("deleted")
        with self.registry.write_lock:
            kek = self.kek(kek_name, deleted)
            if kek is None:
                raise KeyNotFound(kek_name)
            new = DekRecord(kek_name, subject, algorithm, version, material, deleted, _now())
            old = self._state.deks.get((kek_name, subject, algorithm, version))
            if old is not None and (deleted == old.deleted or not _same_dek(old, new)):
                raise KeyExists(subject)
            if material is None:
                if kek.shared:
                    raise DekGenerationFailed(
                        f"Cannot generate a DEK for shared KEK '{kek_name}': this registry holds no KMS "
                        f"credentials; wrap the DEK on the client and send encryptedKeyMaterial")
                raise InvalidKey("encryptedKeyMaterial")
            if kek.shared and old is not None:
                raise KeyExists(subject)
            self._write([new])
        return dek_json(self._state.deks[(kek_name, subject, algorithm, version)])

    def delete_dek(self, kek_name: str, subject: str, version: int | None, algorithm: Any, permanent: bool) -> None:
        self._live_kek(kek_name, True)
        check_subject(subject)
        algorithm = check_algorithm(algorithm)
        with self.registry.write_lock:
            if version is None:
                deks = self._deks_of(kek_name, subject, algorithm, True)
                if not deks:
                    raise KeyNotFound(subject)
                if not permanent:
                    deks = [d for d in deks if not d.deleted]
            else:
                if version == LATEST:
                    latest = self._deks_of(kek_name, subject, algorithm, True)
                    version = latest[-1].version if latest else 0
                dek = self._state.deks.get((kek_name, subject, algorithm, version))
                if dek is None:
                    raise KeyNotFound(subject)
                deks = [dek]
            if permanent:
                if any(not d.deleted for d in deks):
                    raise KeyNotSoftDeleted(subject)
                records: list[Record] = [DekTombstone(d.kek_name, d.subject, d.algorithm, d.version) for d in deks]
            else:
                records = [replace(d, deleted=True, ts=_now()) for d in deks if not d.deleted]
            if records:
                self._write(records)

    def undelete_dek(self, kek_name: str, subject: str, version: int | None, algorithm: Any) -> None:
        check_name(kek_name)
        check_subject(subject)
        algorithm = check_algorithm(algorithm)
        with self.registry.write_lock:
            kek = self._state.keks.get(kek_name)
            if kek is None:
                raise KeyNotFound(kek_name)
            if kek.deleted:
                raise KeySoftDeleted(kek_name)
            deks = self._deks_of(kek_name, subject, algorithm, True)
            if version == LATEST:
                deks = deks[-1:]
            elif version is not None:
                deks = [d for d in deks if d.version == version]
            if not deks:
                raise KeyNotFound(subject)
            records = [replace(d, deleted=False, ts=_now()) for d in deks if d.deleted]
            if records:
                self._write(records)


def _same_kek(a: KekRecord, b: KekRecord) -> bool:
    return (a.shared == b.shared and a.name == b.name and a.kms_type == b.kms_type
            and a.kms_key_id == b.kms_key_id and a.kms_props == b.kms_props and a.doc == b.doc)


def _same_dek(a: DekRecord, b: DekRecord) -> bool:
    return (a.kek_name == b.kek_name and a.subject == b.subject and a.version == b.version
            and a.algorithm == b.algorithm and a.encrypted_key_material == b.encrypted_key_material)
