"""JSON shapes of Confluent's responses (fields in its order, empty ones omitted)."""

from __future__ import annotations

from typing import Any

import orjson

from ..stores.records import SchemaRecord


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def stored_text(record: SchemaRecord) -> str:
    """The record's text as stored, read for an answer (not kept among the texts read lately)."""
    return record.content.peek_schema()


def _put(target: dict, key: str, value: Any) -> None:
    if value is None or value == "" or value == [] or value == {}:
        return
    target[key] = value


def references(record: SchemaRecord) -> list[dict] | None:
    return [r.to_json() for r in record.references] or None


def schema_object(record: SchemaRecord, schema_text: str, *, subject: str | None = None) -> dict:
    """The ``Schema`` entity: GET by version, lookup, ``/schemas`` list."""
    body: dict = {"subject": subject if subject is not None else record.subject, "version": record.version}
    body["id"] = record.id
    body["guid"] = record.guid
    body["schemaType"] = record.schema_type
    _put(body, "references", references(record))
    _put(body, "metadata", record.metadata)
    _put(body, "ruleSet", record.rule_set)
    body["schema"] = schema_text
    _put(body, "ts", record.ts)
    if record.deleted:
        body["deleted"] = True
    return body


def registered(record: SchemaRecord, schema_text: str) -> dict:
    """The 8.x register answer: the full schema object with ``guid``."""
    body: dict = {"id": record.id, "version": record.version, "guid": record.guid, "schemaType": record.schema_type}
    _put(body, "references", references(record))
    _put(body, "metadata", record.metadata)
    _put(body, "ruleSet", record.rule_set)
    body["schema"] = schema_text
    _put(body, "ts", record.ts)
    return body


def schema_string(record: SchemaRecord, schema_text: str, *, with_subject: bool = False, max_id: int | None = None) -> dict:
    """The ``SchemaString`` entity: GET ``/schemas/ids/{id}`` and by guid."""
    body: dict = {}
    if with_subject:
        body["subject"] = record.subject
        body["version"] = record.version
    body["schemaType"] = record.schema_type
    body["schema"] = schema_text
    _put(body, "references", references(record))
    _put(body, "metadata", record.metadata)
    _put(body, "ruleSet", record.rule_set)
    body["guid"] = record.guid
    if max_id is not None:
        body["maxId"] = max_id
    _put(body, "ts", record.ts)
    if record.deleted:
        body["deleted"] = True
    return body
