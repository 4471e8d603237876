"""Records as ``_schemas`` topic messages, byte for byte as Confluent writes them.

Keys are compact JSON in the field order of Confluent's ``*Key`` classes
(``@JsonPropertyOrder``), ``magic`` included: compaction compares key bytes,
so a tombstone only removes a record whose key has exactly the same bytes
(``../shared/reference/sr-api.md`` §4). Strings are escaped as Jackson does.
Values are JSON objects with Confluent's field names; readers accept any
field order, legacy keys (Karapace's order, ``"subject":null``) and values
without ``subject``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

from .. import config as cfg
from ..bounded import BoundedCache
from ..formats import DEFAULT_SCHEMA_TYPE
from ..formats.base import Reference
from .packed import PackedText
from .records import (
    ClearSubjectRecord,
    ConfigRecord,
    Content,
    ContextRecord,
    DeleteSubjectRecord,
    ModeRecord,
    Record,
    SchemaRecord,
    SchemaTombstone,
)

TENANT = "default"
KEY_TYPES = ("SCHEMA", "CONFIG", "MODE", "DELETE_SUBJECT", "CLEAR_SUBJECT", "CONTEXT", "NOOP")
"""The key types schemahub reads; others (``ASSOC``, newer ones) it does not keep."""
NOOP_KEY = b'{"keytype":"NOOP","magic":0}'
RECENT_CHARS = 64 * 1024 * 1024  # characters of the texts a content pool decoded lately, keyed by text

# Jackson's short escapes; every other control character becomes \u00XX (upper-case hex).
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


class RecordFormatError(ValueError):
    """A message that is not a valid ``_schemas`` record."""


def _string(text: str) -> str:
    out = ['"']
    for ch in text:
        escaped = _SHORT_ESCAPES.get(ch)
        if escaped is not None:
            out.append(escaped)
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _key(*fields: tuple[str, Any]) -> bytes:
    """Compact JSON of ``fields`` in order; ``None`` values are omitted (Jackson NON_NULL)."""
    parts = []
    for name, value in fields:
        if value is None:
            continue
        text = _string(value) if isinstance(value, str) else str(int(value))
        parts.append(f"{_string(name)}:{text}")
    return ("{" + ",".join(parts) + "}").encode("utf-8")


def _value(body: dict) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# -- keys -------------------------------------------------------------------


def schema_key(subject: str, version: int) -> bytes:
    return _key(("keytype", "SCHEMA"), ("subject", subject), ("version", version), ("magic", 1))


def _subject_for_config_key(key: str) -> str | None:
    """ConfigRecord/ModeRecord keys name the default context's global scope as ``""``:
    Confluent writes that scope without a subject."""
    return None if key == cfg.GLOBAL_KEY else key


def config_key(key: str) -> bytes:
    return _key(("keytype", "CONFIG"), ("subject", _subject_for_config_key(key)), ("magic", 0))


def mode_key(key: str) -> bytes:
    return _key(("keytype", "MODE"), ("subject", _subject_for_config_key(key)), ("magic", 0))


def delete_subject_key(subject: str) -> bytes:
    return _key(("keytype", "DELETE_SUBJECT"), ("subject", subject), ("magic", 0))


def clear_subject_key(subject: str) -> bytes:
    return _key(("keytype", "CLEAR_SUBJECT"), ("subject", subject), ("magic", 0))


def context_key(context: str) -> bytes:
    return _key(("keytype", "CONTEXT"), ("tenant", TENANT), ("context", context), ("magic", 0))


# -- encoding -----------------------------------------------------------------


def schema_value(record: SchemaRecord) -> dict:
    body: dict[str, Any] = {"subject": record.subject, "version": record.version, "id": record.id}
    if record.schema_type != DEFAULT_SCHEMA_TYPE:
        body["schemaType"] = record.schema_type
    if record.references:
        body["references"] = [r.to_json() for r in record.references]
    if record.metadata:
        body["metadata"] = record.metadata
    if record.rule_set:
        body["ruleSet"] = record.rule_set
    body["schema"] = record.schema
    body["deleted"] = record.deleted
    if record.ts:
        body["ts"] = record.ts  # ignored by Confluent (ignoreUnknown), kept for GET's ``ts``
    return body


def config_value(key: str, config: dict) -> dict:
    body: dict[str, Any] = {}
    subject = _subject_for_config_key(key)
    if subject is not None:
        body["subject"] = subject
    for name in cfg.CONFIG_FIELDS:
        if config.get(name) is not None:
            body[name] = config[name]
    for name, value in config.items():
        if name not in body and value is not None:
            body[name] = value
    return body


def encode(record: Record) -> tuple[bytes, bytes | None]:
    """The ``(key, value)`` message for ``record``; ``value`` None is a tombstone."""
    if isinstance(record, SchemaRecord):
        return schema_key(record.subject, record.version), _value(schema_value(record))
    if isinstance(record, SchemaTombstone):
        return schema_key(record.subject, record.version), None
    if isinstance(record, ConfigRecord):
        value = None if record.config is None else _value(config_value(record.key, record.config))
        return config_key(record.key), value
    if isinstance(record, ModeRecord):
        if record.mode is None:
            return mode_key(record.key), None
        body: dict[str, Any] = {}
        subject = _subject_for_config_key(record.key)
        if subject is not None:
            body["subject"] = subject
        body["mode"] = record.mode
        return mode_key(record.key), _value(body)
    if isinstance(record, DeleteSubjectRecord):
        return delete_subject_key(record.subject), _value({"subject": record.subject, "version": record.version})
    if isinstance(record, ClearSubjectRecord):
        return clear_subject_key(record.subject), _value({"subject": record.subject})
    if isinstance(record, ContextRecord):
        if record.deleted:
            return context_key(record.context), None
        return context_key(record.context), _value({"tenant": TENANT, "context": record.context})
    raise TypeError(f"cannot encode {record!r}")


# -- decoding -----------------------------------------------------------------


class ContentPool:
    """The contents decoded so far, to share: a schema registered under many subjects is decoded
    into one object, its keys and guid derived once for the texts seen lately (at most
    ``recent_chars`` characters of them, counting a bookkeeping overhead per text) and its text
    deflated once (``packed``: the contents hold :class:`~registry.stores.packed.PackedText`).
    A replay's pool, dropped after it."""

    def __init__(self, *, packed: bool = False, recent_chars: int = RECENT_CHARS) -> None:
        self.packed = packed
        # by (type, text, references); both readers of a replay decode with it, and its lock is
        # never held while deriving
        self._recent: BoundedCache[Content] = BoundedCache(recent_chars, max_item_bytes=recent_chars)
        self._by_key: dict[bytes, Content] = {}

    def content(
        self, schema_type: str, schema: str, references: tuple[Reference, ...], metadata: dict | None,
        rule_set: dict | None,
    ) -> Content:
        if metadata or rule_set:
            return self._shared(Content.of(schema_type, schema, references, metadata, rule_set), schema)
        recent = (schema_type, schema, references)
        found = self._recent.get(recent)
        if found is None:
            found = self._shared(Content.of(schema_type, schema, references), schema)
            self._recent.put(recent, found, len(schema))
        return found

    def _shared(self, made: Content, schema: str) -> Content:
        """The content equal to ``made`` decoded before, else ``made`` (packed)."""
        found = self._by_key.get(made.key)
        if found is None:  # (both readers may pack one text: the first one kept is shared)
            if self.packed:
                made = made._replace(text=None, source=PackedText.of(schema))
            found = self._by_key.setdefault(made.key, made)
        return found


def _json_object(data: bytes, what: str) -> dict:
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        try:  # what orjson refuses and Python reads (an escaped lone surrogate, a huge integer)
            body = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise RecordFormatError(f"{what} is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise RecordFormatError(f"{what} is not a JSON object")
    return body


def _config_record_key(subject: Any) -> str:
    if subject is None or subject == "":
        return cfg.GLOBAL_KEY
    if not isinstance(subject, str):
        raise RecordFormatError("subject must be a string")
    return subject


def _schema(k: dict, value: bytes | None, contents: ContentPool | None = None) -> Record:
    subject = k.get("subject")
    if not isinstance(subject, str) or not isinstance(k.get("version"), int):
        raise RecordFormatError("SCHEMA key needs subject and version")
    if k.get("magic", 1) not in (0, 1):
        raise RecordFormatError(f"unknown SCHEMA key magic {k.get('magic')}")
    if value is None:
        return SchemaTombstone(subject, k["version"])
    v = _json_object(value, "SCHEMA value")
    try:
        listed = v.get("references")
        refs = tuple(Reference(str(r["name"]), str(r["subject"]), int(r["version"])) for r in listed) if listed else ()
        content = (contents or ContentPool()).content(
            str(v.get("schemaType") or DEFAULT_SCHEMA_TYPE).upper(),
            str(v["schema"]),
            refs,
            v.get("metadata") or None,
            v.get("ruleSet") or None,
        )
        return SchemaRecord(
            v.get("subject") or subject,
            int(v.get("version", k["version"])),
            int(v["id"]),
            content,
            bool(v.get("deleted", False)),
            int(v.get("ts") or 0),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordFormatError(f"bad SCHEMA value: {exc}") from None


def _config(k: dict, value: bytes | None) -> Record:
    record_key = _config_record_key(k.get("subject"))
    if value is None:
        return ConfigRecord(record_key, None)
    v = _json_object(value, "CONFIG value")
    v.pop("subject", None)
    return ConfigRecord(record_key, {name: val for name, val in v.items() if val is not None})


def _mode(k: dict, value: bytes | None) -> Record:
    record_key = _config_record_key(k.get("subject"))
    if value is None:
        return ModeRecord(record_key, None)
    mode = _json_object(value, "MODE value").get("mode")
    if not isinstance(mode, str):
        raise RecordFormatError("MODE value needs a mode")
    return ModeRecord(record_key, mode.upper())


def _delete_subject(k: dict, value: bytes | None) -> Record | None:
    if value is None:
        return None  # compaction of a DELETE_SUBJECT key: nothing to replay
    v = _json_object(value, "DELETE_SUBJECT value")
    try:
        return DeleteSubjectRecord(str(v.get("subject") or k.get("subject")), int(v["version"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordFormatError(f"bad DELETE_SUBJECT value: {exc}") from None


def _clear_subject(k: dict, value: bytes | None) -> Record | None:
    if value is None:
        return None
    v = _json_object(value, "CLEAR_SUBJECT value")
    return ClearSubjectRecord(str(v.get("subject") or k.get("subject")))


def _context(k: dict, value: bytes | None) -> Record:
    context = k.get("context")
    if not isinstance(context, str):
        raise RecordFormatError("CONTEXT key needs a context")
    return ContextRecord(context, deleted=value is None)


_READERS: dict[str, Callable[[dict, bytes | None], Record | None]] = {
    "CONFIG": _config, "MODE": _mode, "DELETE_SUBJECT": _delete_subject,
    "CLEAR_SUBJECT": _clear_subject, "CONTEXT": _context,
}


def decode(key: bytes | None, value: bytes | None, contents: ContentPool | None = None) -> Record | None:
    """The record a message holds; None for NOOP and for key types schemahub does not keep
    (``ASSOC``, types from newer versions). A SCHEMA record's content comes from ``contents``
    when given (one object for equal contents)."""
    if key is None:
        raise RecordFormatError("message without a key")
    k = _json_object(key, "key")
    keytype = k.get("keytype")
    if keytype == "SCHEMA":
        return _schema(k, value, contents)
    reader = _READERS.get(str(keytype))
    return reader(k, value) if reader is not None else None
