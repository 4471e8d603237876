"""DEK Registry records as messages of Confluent's ``_dek_registry_keys`` topic.

Keys are Confluent's ``KeyEncryptionKeyId``/``DataEncryptionKeyId`` as Jackson
writes them (creator properties first, then ``type``):
``{"tenant":"default","name":"k","type":"KEK"}`` and
``{"tenant":"default","kekName":"k","subject":"s","algorithm":"AES256_GCM","version":1,"type":"DEK"}``;
values are its ``KeyEncryptionKey``/``DataEncryptionKey``; a ``null`` value is
a permanent delete. The Kafka store keeps them in that topic and export writes
them beside the ``_schemas`` lines; both stores keep them.
"""

from __future__ import annotations

import json
from typing import Any

from .kafka_records import TENANT, RecordFormatError, _key, _value
from .records import DekRecord, DekTombstone, KekRecord, KekTombstone, KeyRecord

KEY_TYPES = ("KEK", "DEK")
KEY_RECORDS = (KekRecord, KekTombstone, DekRecord, DekTombstone)
# A new leader's catch-up marker: a tombstone in a tenant no registry serves (Confluent's readers drop it too).
NOOP_KEY = b'{"tenant":"__schemahub","name":"noop","type":"KEK"}'


def key_type(key: dict[str, Any]) -> str | None:
    """``KEK`` or ``DEK`` for a keys-topic key (``keytype`` accepted from early schemahub dumps), else None."""
    kind = key.get("type", key.get("keytype"))
    return kind if kind in KEY_TYPES else None


def kek_key(name: str) -> bytes:
    return _key(("tenant", TENANT), ("name", name), ("type", "KEK"))


def dek_key(kek_name: str, subject: str, algorithm: str, version: int) -> bytes:
    return _key(("tenant", TENANT), ("kekName", kek_name), ("subject", subject), ("algorithm", algorithm),
                ("version", version), ("type", "DEK"))


def encode(record: KeyRecord) -> tuple[bytes, bytes | None]:
    """The ``(key, value)`` message for ``record``; ``value`` None is a permanent delete."""
    if isinstance(record, KekRecord):
        body: dict[str, Any] = {"name": record.name, "kmsType": record.kms_type, "kmsKeyId": record.kms_key_id,
                                "kmsProps": dict(sorted(record.kms_props.items()))}
        if record.doc is not None:
            body["doc"] = record.doc
        body.update({"shared": record.shared, "deleted": record.deleted, "type": "KEK", "ts": record.ts})
        return kek_key(record.name), _value(body)
    if isinstance(record, KekTombstone):
        return kek_key(record.name), None
    if isinstance(record, DekRecord):
        body = {"kekName": record.kek_name, "subject": record.subject, "algorithm": record.algorithm,
                "version": record.version}
        if record.encrypted_key_material is not None:
            body["encryptedKeyMaterial"] = record.encrypted_key_material
        body.update({"deleted": record.deleted, "type": "DEK", "ts": record.ts})
        return dek_key(record.kek_name, record.subject, record.algorithm, record.version), _value(body)
    if isinstance(record, DekTombstone):
        return dek_key(record.kek_name, record.subject, record.algorithm, record.version), None
    raise TypeError(f"cannot encode {record!r}")


def decode(key: dict[str, Any], value: dict[str, Any] | None) -> KeyRecord | None:
    """The record of a KEK or DEK message; None for another tenant's keys."""
    if key.get("tenant", TENANT) != TENANT:
        return None
    kind = key_type(key)
    try:
        if kind == "KEK":
            name = str(key["name"])
            if value is None:
                return KekTombstone(name)
            props = value.get("kmsProps") or {}
            if not isinstance(props, dict):
                raise RecordFormatError("kmsProps must be an object")
            doc = value.get("doc")
            return KekRecord(name, str(value["kmsType"]), str(value["kmsKeyId"]),
                             {str(a): str(b) for a, b in props.items()}, doc if isinstance(doc, str) else None,
                             bool(value.get("shared", False)), bool(value.get("deleted", False)),
                             int(value.get("ts") or 0))
        if kind == "DEK":
            ident = (str(key["kekName"]), str(key["subject"]), str(key.get("algorithm") or "AES256_GCM"),
                     int(key["version"]))
            if value is None:
                return DekTombstone(*ident)
            material = value.get("encryptedKeyMaterial")
            return DekRecord(*ident, material if isinstance(material, str) else None,
                             bool(value.get("deleted", False)), int(value.get("ts") or 0))
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordFormatError(f"bad {kind} record: {exc!r}") from None
    raise RecordFormatError(f"not a DEK Registry key: {key!r}")


def decode_message(key: bytes | None, value: bytes | None) -> KeyRecord | None:
    """The record a ``_dek_registry_keys`` message holds (None for other tenants' keys)."""
    if key is None:
        raise RecordFormatError("message without a key")
    try:
        k = json.loads(key)
        v = None if value is None else json.loads(value)
    except (UnicodeDecodeError, ValueError) as exc:
        raise RecordFormatError(f"not JSON: {exc}") from None
    if not isinstance(k, dict) or (v is not None and not isinstance(v, dict)):
        raise RecordFormatError("key and value must be JSON objects")
    return decode(k, v)
