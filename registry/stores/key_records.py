"""DEK Registry records as messages of Confluent's ``_dek_registry_keys`` topic.

Keys name a KEK (``{"keytype":"KEK","tenant","name","magic"}``) or a DEK version
(``{"keytype":"DEK","tenant","kekName","subject","version","algorithm","magic"}``);
values carry the REST API's field names; a ``null`` value is a permanent
delete. Export writes these lines beside the ``_schemas`` ones, so a dump
carries the keys too; only the SQLite store keeps them.
"""

from __future__ import annotations

import json
from typing import Any

from .kafka_records import TENANT, RecordFormatError
from .records import DekRecord, DekTombstone, KekRecord, KekTombstone, KeyRecord

KEY_TYPES = ("KEK", "DEK")


def _json(body: dict) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def encode(record: KeyRecord) -> tuple[bytes, bytes | None]:
    """The ``(key, value)`` message for ``record``; ``value`` None is a permanent delete."""
    if isinstance(record, (KekRecord, KekTombstone)):
        key = _json({"keytype": "KEK", "tenant": TENANT, "name": record.name, "magic": 0})
        if isinstance(record, KekTombstone):
            return key, None
        return key, _json({"name": record.name, "kmsType": record.kms_type, "kmsKeyId": record.kms_key_id,
                           "kmsProps": record.kms_props, "doc": record.doc, "shared": record.shared,
                           "deleted": record.deleted, "ts": record.ts})
    key = _json({"keytype": "DEK", "tenant": TENANT, "kekName": record.kek_name, "subject": record.subject,
                 "version": record.version, "algorithm": record.algorithm, "magic": 0})
    if isinstance(record, DekTombstone):
        return key, None
    return key, _json({"kekName": record.kek_name, "subject": record.subject, "version": record.version,
                       "algorithm": record.algorithm, "encryptedKeyMaterial": record.encrypted_key_material,
                       "deleted": record.deleted, "ts": record.ts})


def decode(key: dict[str, Any], value: dict[str, Any] | None) -> KeyRecord:
    """The record of a KEK or DEK message (``key["keytype"]`` is one of :data:`KEY_TYPES`)."""
    try:
        if key["keytype"] == "KEK":
            name = str(key["name"])
            if value is None:
                return KekTombstone(name)
            props = value.get("kmsProps") or {}
            if not isinstance(props, dict):
                raise RecordFormatError("kmsProps must be an object")
            return KekRecord(name, str(value["kmsType"]), str(value["kmsKeyId"]), props, value.get("doc"),
                             bool(value.get("shared", False)), bool(value.get("deleted", False)),
                             int(value.get("ts") or 0))
        kek, subject, algorithm, version = str(key["kekName"]), str(key["subject"]), str(key["algorithm"]), \
            int(key["version"])
        if value is None:
            return DekTombstone(kek, subject, algorithm, version)
        material = value.get("encryptedKeyMaterial")
        return DekRecord(kek, subject, algorithm, version, None if material is None else str(material),
                         bool(value.get("deleted", False)), int(value.get("ts") or 0))
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordFormatError(f"bad {key.get('keytype')} record: {exc!r}") from None
