"""Registry semantics (sr-api.md §3) on the plain service, no server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from registry.errors import (
    IncompatibleSchema,
    InvalidSchema,
    OperationNotPermitted,
    SchemaNotFound,
    SubjectNotFound,
    VersionNotFound,
)
from registry.formats import Reference
from registry.service import RegisterRequest, Registry
from registry.stores.sqlite import SQLiteStore


def rec(name: str, *fields: str, defaults: bool = False) -> str:
    out = []
    for f in fields:
        field: dict = {"name": f, "type": "string"}
        if defaults:
            field["default"] = ""
        out.append(field)
    return json.dumps({"type": "record", "name": name, "fields": out})


def req(schema: str, **kw: object) -> RegisterRequest:
    return RegisterRequest(schema=schema, **kw)  # type: ignore[arg-type]


def test_reregistration_is_idempotent(registry: Registry) -> None:
    first = registry.register("s", req(rec("A", "a")))
    again = registry.register("s", req(rec("A", "a")))
    assert (again.id, again.version) == (first.id, first.version)
    assert registry.list_versions("s") == [1]


def test_whitespace_variants_are_one_schema(registry: Registry) -> None:
    first = registry.register("s", req(rec("A", "a")))
    spaced = json.dumps(json.loads(rec("A", "a")), indent=2)
    assert registry.register("s", req(spaced)).version == first.version


def test_one_id_across_subjects_and_versions_per_subject(registry: Registry) -> None:
    registry.set_config(None, {"compatibility": "NONE"})
    a1 = registry.register("a", req(rec("X", "x")))
    b1 = registry.register("b", req(rec("Y", "y")))
    b2 = registry.register("b", req(rec("X", "x")))
    assert b2.id == a1.id and b2.version == 2 and b1.id != a1.id


def test_soft_deleted_versions_still_consume_numbers(registry: Registry) -> None:
    registry.set_config(None, {"compatibility": "NONE"})
    registry.register("s", req(rec("A", "a")))
    registry.delete_version("s", 1)
    assert registry.register("s", req(rec("B", "b"))).version == 2


def test_hard_deleted_subject_restarts_at_version_one_but_never_reuses_ids(registry: Registry) -> None:
    first = registry.register("s", req(rec("A", "a")))
    registry.delete_subject("s")
    registry.delete_subject("s", permanent=True)
    again = registry.register("s", req(rec("B", "b")))
    assert again.version == 1 and again.id > first.id


def test_soft_deleted_schema_re_registered_keeps_its_id(registry: Registry) -> None:
    registry.set_config(None, {"compatibility": "NONE"})
    first = registry.register("s", req(rec("A", "a")))
    registry.register("s", req(rec("B", "b")))
    registry.delete_version("s", 1)
    back = registry.register("s", req(rec("A", "a")))
    assert back.id == first.id and back.version == 3


def test_soft_deleted_readable_by_id_and_with_deleted(registry: Registry) -> None:
    first = registry.register("s", req(rec("A", "a")))
    registry.delete_subject("s")
    assert registry.schema_by_id(first.id).schema == first.schema
    with pytest.raises(SubjectNotFound):
        registry.get_version("s", 1)
    assert registry.get_version("s", 1, deleted=True).deleted is True
    assert registry.lookup("s", req(rec("A", "a")), deleted=True).version == 1


def test_latest_is_highest_live_version(registry: Registry) -> None:
    registry.set_config(None, {"compatibility": "NONE"})
    registry.register("s", req(rec("A", "a")))
    registry.register("s", req(rec("B", "b")))
    registry.delete_version("s", 2)
    assert registry.get_version("s", "latest").version == 1
    assert registry.get_version("s", -1).version == 1
    with pytest.raises(VersionNotFound):
        registry.get_version("s", 2)


def test_contexts_count_ids_separately(registry: Registry) -> None:
    registry.register("plain", req(rec("A", "a")))
    registry.register("plain2", req(rec("B", "b")))
    in_ctx = registry.register(":.team:s", req(rec("C", "c")))
    assert in_ctx.id == 1
    assert registry.contexts() == [".", ".team"]
    assert registry.list_subjects() == ["plain", "plain2", ":.team:s"]
    assert registry.list_subjects(prefix=":.team:") == [":.team:s"]
    assert registry.schema_by_id(1, subject=":.team:s").schema == in_ctx.schema


def test_config_chain_subject_context_global(registry: Registry) -> None:
    assert registry.level_for("s") == "BACKWARD"
    registry.set_config(None, {"compatibility": "FULL"})
    assert registry.level_for("s") == "FULL"
    registry.set_config(":.ctx:", {"compatibility": "NONE"})
    assert registry.level_for(":.ctx:s") == "NONE"
    assert registry.level_for("s") == "FULL"
    registry.set_config("s", {"compatibility": "FORWARD"})
    assert registry.level_for("s") == "FORWARD"
    registry.delete_config("s")
    assert registry.level_for("s") == "FULL"


def test_transitive_checks_every_live_version(registry: Registry) -> None:
    registry.set_config("s", {"compatibility": "BACKWARD"})
    registry.register("s", req(rec("A", "a")))
    registry.register("s", req(rec("A", "a", "b", defaults=True)))
    dropped = rec("A", "b", defaults=True)
    registry.set_config("s", {"compatibility": "BACKWARD_TRANSITIVE"})
    assert registry.check_compatibility("s", req(dropped)).is_compatible is True
    narrowed = json.dumps({"type": "record", "name": "A", "fields": [{"name": "c", "type": "string"}]})
    result = registry.check_compatibility("s", req(narrowed), verbose=True)
    assert result.is_compatible is False
    assert "{oldSchemaVersion: 2}" in result.messages
    with pytest.raises(IncompatibleSchema):
        registry.register("s", req(narrowed))


def test_check_against_one_version_only(registry: Registry) -> None:
    registry.set_config("s", {"compatibility": "BACKWARD_TRANSITIVE"})
    registry.register("s", req(rec("A", "a")))
    registry.register("s", req(rec("A", "a", "b", defaults=True)))
    only_b = rec("A", "b", defaults=True)
    assert registry.check_compatibility("s", req(only_b), version="2").is_compatible is True
    assert registry.check_compatibility("s", req(rec("A", "z")), version="1").is_compatible is False


def test_compatibility_against_missing_subject_is_true(registry: Registry) -> None:
    assert registry.check_compatibility("nothing", req(rec("A", "a")), version="latest").is_compatible
    with pytest.raises(SubjectNotFound):
        registry.check_compatibility("nothing", req(rec("A", "a")), version="3")


def test_invalid_schema_with_verbose_is_a_verdict(registry: Registry) -> None:
    result = registry.check_compatibility("s", req("{broken"), verbose=True)
    assert result.is_compatible is False and result.messages
    with pytest.raises(InvalidSchema):
        registry.check_compatibility("s", req("{broken"))


def test_compatibility_group_checks_only_same_group(registry: Registry) -> None:
    registry.set_config("s", {"compatibility": "BACKWARD", "compatibilityGroup": "major"})
    v1 = {"properties": {"major": "1"}}
    registry.register("s", req(rec("A", "a"), metadata=v1))
    breaking = registry.register("s", req(rec("A", "z"), metadata={"properties": {"major": "2"}}))
    assert breaking.version == 2
    with pytest.raises(IncompatibleSchema):
        registry.register("s", req(rec("A", "q"), metadata={"properties": {"major": "2"}}))


def test_metadata_and_rule_set_stored_and_echoed(registry: Registry) -> None:
    metadata = {"properties": {"owner": "team-a"}, "tags": {"$.a": ["PII"]}}
    rules = {"domainRules": [{"name": "check", "kind": "CONDITION", "mode": "WRITE", "type": "CEL", "expr": "true"}]}
    record = registry.register("s", req(rec("A", "a"), metadata=metadata, rule_set=rules))
    stored = registry.get_version("s", 1)
    assert stored.metadata == metadata and stored.rule_set == rules and record.id == stored.id


def test_default_and_override_metadata_from_config(registry: Registry) -> None:
    registry.set_config("s", {
        "defaultMetadata": {"properties": {"owner": "default"}},
        "overrideMetadata": {"properties": {"env": "prod"}},
    })
    record = registry.register("s", req(rec("A", "a")))
    assert record.metadata == {"properties": {"owner": "default", "env": "prod"}}


def test_references_resolve_minus_one_to_a_concrete_version(registry: Registry) -> None:
    dep = json.dumps({"type": "record", "name": "Dep", "namespace": "n", "fields": [{"name": "a", "type": "int"}]})
    registry.register("dep", req(dep))
    main = json.dumps({"type": "record", "name": "M", "namespace": "n", "fields": [{"name": "d", "type": "n.Dep"}]})
    record = registry.register("main", req(main, references=(Reference("n.Dep", "dep", -1),)))
    assert record.references == (Reference("n.Dep", "dep", 1),)
    assert registry.referenced_by("dep", 1) == [record.id]
    with pytest.raises(InvalidSchema):
        registry.register("other", req(main, references=(Reference("n.Dep", "dep", 9),)))


def test_import_mode(registry: Registry) -> None:
    registry.set_mode(None, "IMPORT")
    record = registry.register("s", req(rec("A", "a"), id=500, version=4))
    assert (record.id, record.version) == (500, 4)
    with pytest.raises(OperationNotPermitted):
        registry.register("s", req(rec("B", "b")))
    with pytest.raises(OperationNotPermitted):
        registry.register("t", req(rec("C", "c"), id=500, version=1))
    registry.set_mode(None, "READWRITE")
    assert registry.register("t", req(rec("D", "d"))).id == 501


def test_entering_import_mode_needs_an_empty_scope(registry: Registry) -> None:
    registry.register("s", req(rec("A", "a")))
    with pytest.raises(OperationNotPermitted):
        registry.set_mode(None, "IMPORT")
    assert registry.set_mode(None, "IMPORT", force=True) == "IMPORT"


def test_readonly_blocks_writes_and_deletes(registry: Registry) -> None:
    registry.register("s", req(rec("A", "a")))
    registry.set_mode("s", "READONLY")
    with pytest.raises(OperationNotPermitted):
        registry.register("s", req(rec("A", "a", "b", defaults=True)))
    with pytest.raises(OperationNotPermitted):
        registry.delete_subject("s")


def test_lookup_missing_schema(registry: Registry) -> None:
    registry.register("s", req(rec("A", "a")))
    with pytest.raises(SchemaNotFound):
        registry.lookup("s", req(rec("A", "b")))


def test_state_survives_restart(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    first = Registry(SQLiteStore(db))
    first.set_config("s", {"compatibility": "NONE"})
    a = first.register("s", req(rec("A", "a")))
    first.register("s", req(rec("B", "b")))
    first.delete_version("s", 2)
    first.set_mode("m", "READONLY")
    first.close()
    second = Registry(SQLiteStore(db))
    assert second.get_version("s", 1).id == a.id
    assert second.list_versions("s", deleted=True) == [1, 2]
    assert second.list_versions("s") == [1]
    assert second.level_for("s") == "NONE"
    assert second.get_mode("m") == "READONLY"
    second.close()
