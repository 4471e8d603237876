"""The registry at scale: what is stored once, what start-up does not recompute, what an
operation does not walk (counted, not timed), and concurrent writes batched in order."""

from __future__ import annotations

import gc
import hashlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from registry.errors import StoreError
from registry.formats.base import Reference
from registry.service import RegisterRequest, Registry
from registry.state import Subject
from registry.stores import records
from registry.stores.sqlite import SQLiteStore


def avro(name: str, *fields: str) -> str:
    body = {"type": "record", "name": name, "fields": [{"name": f, "type": "int", "default": 0} for f in fields]}
    return json.dumps(body, separators=(",", ":"))


def legacy_guid(text: str) -> str:
    return str(uuid.UUID(bytes=hashlib.md5(text.encode("utf-8")).digest()))


def test_sqlite_stores_each_text_once_and_reopens_without_recomputing_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "r.db"
    first = Registry(SQLiteStore(db))
    shared = avro("Shared", "a")
    ids = {first.register(s, RegisterRequest(shared)).id for s in ("s1", "s2", "s3")}
    with_meta = first.register("s4", RegisterRequest(shared, metadata={"properties": {"owner": "x"}}))
    first.close()
    assert len(ids) == 1 and with_meta.id not in ids
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM contents").fetchone() == (2,)
        assert conn.execute("SELECT count(*) FROM versions").fetchone() == (4,)

    derived: list[str] = []
    real_key, real_guid = records.content_key, records.guid_digest
    monkeypatch.setattr(records, "content_key", lambda *a: derived.append("key") or real_key(*a))
    monkeypatch.setattr(records, "guid_digest", lambda *a: derived.append("guid") or real_guid(*a))
    second = Registry(SQLiteStore(db))
    assert derived == []  # keys and guids come from the file
    record = second.schema_by_id(ids.pop())
    assert record.schema == shared and record.guid == legacy_guid(shared)
    assert second.lookup("s2", RegisterRequest(shared)).version == 1
    again = second.register("s5", RegisterRequest(shared))
    assert again.id == record.id and again.content is record.content  # one object per content
    second.close()


def test_texts_read_from_the_file_share_a_read_transaction_that_no_write_keeps_open(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    first = Registry(SQLiteStore(db))
    texts = {first.register(f"s{n}", RegisterRequest(avro(f"R{n}", "a"))).id: avro(f"R{n}", "a") for n in range(3)}
    first.close()
    second = Registry(SQLiteStore(db))
    one, two, three = texts
    assert second.schema_by_id(one).schema == texts[one]  # from the file: the read transaction opens
    new = second.register("new", RegisterRequest(avro("New", "b")))
    assert second.schema_by_id(two).schema == texts[two]  # read after the write
    with sqlite3.connect(db) as conn:
        busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0 and frames > 0 and copied == frames  # no reader holds back the write's frames
    assert second.schema_by_id(three).schema == texts[three]
    assert second.schema_by_id(new.id).schema == avro("New", "b")
    second.close()


AWKWARD_TEXTS = (
    '{\n\t"type": "record",\r\n "name": "R", "doc": "quote \\" backslash \\\\ slash /", "fields": []}',
    '{"type":"string","doc":"\u00e9 \u4e2d \U0001f600 \u2028 \u2029 \x7f </script>"}',
    "".join(map(chr, range(32))) + "after every control character",
)


def test_a_text_read_for_an_answer_is_not_kept_among_the_texts_read_lately(tmp_path: Path) -> None:
    """GET by id reads the stored text without keeping it (the answer is cached itself): reads of
    random ids must not flush the texts that checks and lookups read again and again."""
    from registry.stores import packed

    db = tmp_path / "r.db"
    store = SQLiteStore(db)
    store.open(lambda record: None)
    store.append([records.SchemaRecord.of(f"s{n}", 1, n + 1, "AVRO", text) for n, text in enumerate(AWKWARD_TEXTS)])
    store.close()
    replayed: list[records.Record] = []
    again = SQLiteStore(db)
    again.open(replayed.append)
    contents = [r.content for r in replayed if isinstance(r, records.SchemaRecord)]
    contents += [v.content for r in replayed if isinstance(r, records.SubjectVersions) for v in r.versions]
    assert len(contents) == len(AWKWARD_TEXTS) and all(c.text is None for c in contents)
    kept = contents[0].source._texts  # type: ignore[union-attr]
    peeked = [c.peek_schema() for c in contents]
    assert sorted(peeked) == sorted(AWKWARD_TEXTS) and len(kept) == 0
    assert [c.schema for c in contents] == peeked and len(kept) == len(AWKWARD_TEXTS)
    assert [c.peek_schema() for c in contents] == peeked
    again.close()

    texts = [packed.PackedText.of(text) for text in AWKWARD_TEXTS]
    assert [t.peek() for t in texts] == list(AWKWARD_TEXTS)
    assert not any(t in packed._UNPACKED for t in texts)
    assert [t.text() for t in texts] == list(AWKWARD_TEXTS) and all(t in packed._UNPACKED for t in texts)


def test_an_answer_is_cached_when_asked_for_again_so_a_scan_does_not_flush_the_hot_ones() -> None:
    """The response cache's doorkeeper: a key put once is only marked; put again, it is kept."""
    from registry.bounded import ENTRY_OVERHEAD, BoundedCache

    def scanned(cache: BoundedCache[bytes]) -> BoundedCache[bytes]:
        for _ in range(2):
            cache.put(("id", "hot"), b"answer", 6)
        for n in range(1000):
            cache.put(("id", n), b"answer", 6)
        return cache

    room = 20 * (6 + ENTRY_OVERHEAD)
    assert scanned(BoundedCache(room, doorkeeper=True)).get(("id", "hot")) == b"answer"
    assert scanned(BoundedCache(room)).get(("id", "hot")) is None  # without it, the scan flushes it

    once = BoundedCache[bytes](room, doorkeeper=True)
    once.put(("id", 1), b"answer", 6)
    assert ("id", 1) not in once
    once.put(("id", 1), b"answer", 6)
    assert once.get(("id", 1)) == b"answer"


def test_get_by_id_caches_an_answer_the_second_time_it_is_asked_for(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from registry.http.app import create_app

    registry = Registry(SQLiteStore(tmp_path / "r.db"))
    with TestClient(create_app(registry, ui=False)) as client:
        schema_id = client.post("/subjects/s/versions", json={"schema": avro("R", "a")}).json()["id"]
        first = client.get(f"/schemas/ids/{schema_id}")
        assert len(registry.state.response_cache) == 0
        assert client.get(f"/schemas/ids/{schema_id}").content == first.content
        assert len(registry.state.response_cache) == 1
        assert client.get(f"/schemas/ids/{schema_id}").content == first.content
    registry.close()


LEGACY_DDL = """
CREATE TABLE [schemas] ([subject] TEXT, [version] INTEGER, [id] INTEGER, [schema_type] TEXT, [schema] TEXT,
  [references_json] TEXT, [metadata_json] TEXT, [rule_set_json] TEXT, [deleted] INTEGER, [ts] INTEGER,
  PRIMARY KEY ([subject], [version]));
CREATE TABLE [configs] ([key] TEXT PRIMARY KEY, [config_json] TEXT);
CREATE TABLE [modes] ([key] TEXT PRIMARY KEY, [mode] TEXT);
CREATE TABLE [contexts] ([context] TEXT PRIMARY KEY);
CREATE TABLE [id_high_water] ([context] TEXT PRIMARY KEY, [max_id] INTEGER);
"""


def test_a_file_of_the_one_table_layout_is_migrated_in_place(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    base, evolved = avro("R", "a"), avro("R", "a", "b")
    ref_schema = json.dumps({"type": "record", "name": "Uses", "fields": [{"name": "r", "type": "R"}]},
                            separators=(",", ":"))
    rows = [
        ("orders", 1, 1, "AVRO", base, None, None, None, 0, 11),
        ("orders", 2, 2, "AVRO", evolved, None, '{"properties":{"owner":"team"}}', None, 1, 12),
        ("payments", 1, 1, "AVRO", base, None, None, None, 0, 13),
        ("uses", 1, 3, "AVRO", ref_schema, '[{"name":"R","subject":"orders","version":1}]', None, None, 0, 14),
        (":.ctx:orders", 1, 1, "AVRO", evolved, None, None, None, 0, 15),
    ]
    with sqlite3.connect(db) as conn:
        conn.executescript(LEGACY_DDL)
        conn.executemany("INSERT INTO schemas VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
        conn.execute("INSERT INTO configs VALUES ('', '{\"compatibilityLevel\":\"NONE\"}')")
        conn.execute("INSERT INTO contexts VALUES ('.ctx')")
        conn.execute("INSERT INTO id_high_water VALUES ('.', 7)")
    conn.close()

    registry = Registry(SQLiteStore(db))
    try:
        assert registry.list_subjects() == ["orders", "payments", "uses", ":.ctx:orders"]
        assert registry.list_versions("orders", deleted=True) == [1, 2]
        assert registry.get_version("orders", 2, deleted=True).metadata == {"properties": {"owner": "team"}}
        assert registry.get_version("orders", 2, deleted=True).ts == 12
        assert registry.subjects_for_id(1) == ["orders", "payments"]
        assert registry.schema_by_id(1).guid == legacy_guid(base)
        assert registry.referenced_by("orders", 1) == [3]
        assert registry.level_for("x") == "NONE"
        assert registry.register("fresh", RegisterRequest(avro("Fresh", "z"))).id == 8  # high water kept
    finally:
        registry.close()
    with sqlite3.connect(db) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "schemas" not in tables and {"contents", "subjects", "versions"} <= tables
        assert conn.execute("PRAGMA user_version").fetchone() == (4,)
        assert conn.execute("SELECT count(*) FROM contents").fetchone() == (5,)  # base shared, +meta, +ref, +fresh
    conn.close()
    reopened = Registry(SQLiteStore(db))
    assert reopened.schema_by_id(3).references[0].subject == "orders"
    reopened.close()


class CountingDict(dict):
    """A dict that counts walks over it (iteration, keys, values, items)."""

    walks = 0

    def __iter__(self) -> Iterator[Any]:
        CountingDict.walks += 1
        return super().__iter__()

    def keys(self):  # type: ignore[override]
        CountingDict.walks += 1
        return super().keys()

    def values(self):  # type: ignore[override]
        CountingDict.walks += 1
        return super().values()

    def items(self):  # type: ignore[override]
        CountingDict.walks += 1
        return super().items()


def test_single_schema_operations_walk_no_other_subject_and_no_version_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry(SQLiteStore(tmp_path / "r.db"))
    registry.set_config(None, {"compatibility": "BACKWARD"})
    for s in range(30):
        for v in range(1, 21):
            registry.register(f"s{s}", RegisterRequest(avro(f"R{s}", *[f"f{i}" for i in range(v)])))
    base = registry.register("base", RegisterRequest(avro("Base", "x")))
    assert registry.schema_by_guid(base.guid).id == base.id  # the guid index is built on first use, once
    state = registry.state
    state.subjects = CountingDict(state.subjects)
    for subject in state.subjects.values():
        subject.versions = CountingDict(subject.versions)
    for index in (state.id_users, state.content_ids, state.guids, state.referrer_index):
        assert isinstance(index, dict)
    state.id_users = CountingDict(state.id_users)
    state.content_ids = CountingDict(state.content_ids)
    state.guids = CountingDict(state.guids)
    state.referrer_index = CountingDict(state.referrer_index)
    yielded = 0
    newest_first = Subject.newest_first

    def counted(self: Subject, *, deleted: bool = False) -> Iterator[records.SchemaRecord]:
        nonlocal yielded
        for record in newest_first(self, deleted=deleted):
            yielded += 1
            yield record

    monkeypatch.setattr(Subject, "newest_first", counted)
    CountingDict.walks = 0

    fields = [f"f{i}" for i in range(21)]
    added = registry.register("s7", RegisterRequest(avro("R7", *fields)))  # BACKWARD: checks the latest only
    assert added.version == 21
    assert registry.register("s7", RegisterRequest(avro("R7", *fields))).version == 21  # already there
    assert registry.lookup("s3", RegisterRequest(avro("R3", "f0", "f1"))).version == 2
    assert registry.schema_by_id(added.id).version == 21
    assert registry.get_version("s9", "latest").version == 20
    uses = json.dumps({"type": "record", "name": "Uses", "fields": [{"name": "b", "type": "Base"}]})
    user = registry.register(
        "uses", RegisterRequest(uses, references=(Reference("Base", "base", base.version),))
    )
    assert registry.referenced_by("base", 1) == [user.id]
    assert registry.delete_version("s12", 20) == 20
    assert registry.register("s12", RegisterRequest(avro("R12", *[f"f{i}" for i in range(20)]))).version == 21
    assert registry.schema_by_guid(added.guid).id == added.id
    assert CountingDict.walks == 0
    assert yielded <= 8  # the newest version per check, no history
    registry.close()


def test_the_content_and_guid_indexes_are_built_on_first_use_with_the_answers_of_indexes_kept_from_the_start(
    tmp_path: Path,
) -> None:
    db = tmp_path / "r.db"
    first = Registry(SQLiteStore(db))
    first.set_config(None, {"compatibility": "NONE"})
    shared = first.register("a", RegisterRequest(avro("Shared", "x")))
    assert first.register("b", RegisterRequest(avro("Shared", "x"))).id == shared.id
    other = first.register(":.ctx:c", RegisterRequest(avro("Shared", "x")))  # same content, another context
    first.register("d", RegisterRequest(avro("Gone", "y")))
    first.delete_subject("d")
    first.delete_subject("d", permanent=True)
    assert first.ids_for_guid(shared.guid)  # both indexes built, then kept up to date by every write
    expected = (first.state.content_ids, first.state.guids)
    first.close()

    reopened = Registry(SQLiteStore(db))
    state = reopened.state
    assert state.content_ids is None and state.guids is None  # not built by the start
    assert reopened.ids_for_guid(shared.guid) == [(shared.id, "."), (other.id, ".ctx")]
    assert state.content_ids is None and state.guids is not None
    again = reopened.register("e", RegisterRequest(avro("Shared", "x")))  # finds the id through the index
    assert again.id == shared.id
    assert (state.content_ids, state.guids) == expected
    fresh = reopened.register("f", RegisterRequest(avro("Fresh", "z")))  # kept up to date once built
    assert state.id_for_content(".", fresh.content_key) == fresh.id
    assert state.ids_for_guid(fresh.content.guid_bytes) == [(".", fresh.id)]
    reopened.delete_subject("f")
    reopened.delete_subject("f", permanent=True)
    assert state.id_for_content(".", fresh.content_key) is None and state.ids_for_guid(fresh.content.guid_bytes) == []
    reopened.close()


def test_the_content_and_guid_indexes_stay_out_of_the_collectors_sight(tmp_path: Path) -> None:
    """They hold bytes, ints and tuples, so the collector does not track them, and a write in the
    default context keeps it so: a tuple key or a list value made the collections after each
    registration walk every entry again."""
    registry = Registry(SQLiteStore(tmp_path / "r.db"))
    registry.set_mode(None, "IMPORT")
    one = registry.register("a", RegisterRequest(avro("Same", "x"), id=7, version=1))
    registry.register("b", RegisterRequest(avro("Same", "x"), id=9, version=1))  # the same content, another id
    registry.set_mode(None, "READWRITE")
    registry.register(":.ctx:c", RegisterRequest(avro("Same", "x")))
    state, guid = registry.state, one.content.guid_bytes
    gc.freeze()  # as a server's start leaves the state: out of the collector's sight, the guid index not built
    try:
        assert state.guids is None
        assert state.ids_for_guid(guid) == [(".", 7), (".", 9), (".ctx", 1)]
        gc.collect()
        gc.collect()  # (a tuple is untracked once what it holds is, which one pass may see after it)
        for n in range(3):  # writes after the collections, which would track an index again
            registry.register(f"s{n}", RegisterRequest(avro("Other", f"f{n}")))
        assert state.content_ids is not None and state.guids is not None
        indexes = [*state.content_ids.values(), state.guids]
        assert len(indexes) == 3 and not any(gc.is_tracked(index) for index in indexes)
    finally:
        gc.unfreeze()
    registry.delete_subject("b")
    registry.delete_subject("b", permanent=True)
    assert state.ids_for_guid(guid) == [(".", 7), (".ctx", 1)]
    assert state.id_for_content(".", one.content_key) == 7
    registry.close()


def test_counts_kept_for_the_metrics_match_a_recount(tmp_path: Path) -> None:
    registry = Registry(SQLiteStore(tmp_path / "r.db"))
    registry.set_config(None, {"compatibility": "NONE"})
    for s in ("a", "b", "c"):
        for v in range(4):
            registry.register(s, RegisterRequest(avro(f"R{v}", "x")))  # a, b, c share ids
    registry.register("d", RegisterRequest(avro("Only", "y")))
    registry.delete_version("a", 2)
    registry.delete_version("a", 2, permanent=True)
    registry.delete_subject("b")
    registry.delete_subject("d")
    registry.delete_subject("d", permanent=True)
    registry.register("b", RegisterRequest(avro("R1", "x")))  # back under a new version, same id

    def recount(state: Any) -> tuple[int, int, int]:
        live = [r for subject in state.subjects.values() for r in subject.live()]
        subjects = sum(1 for subject in state.subjects.values() if subject.live())
        return subjects, len(live), len({(r.subject.startswith(":"), r.id) for r in live})

    state = registry.state
    assert (state.live_subjects, state.live_versions, state.live_ids) == recount(state) == (3, 8, 4)
    registry.close()
    reopened = Registry(SQLiteStore(tmp_path / "r.db"))
    state = reopened.state
    assert (state.live_subjects, state.live_versions, state.live_ids) == recount(state) == (3, 8, 4)
    reopened.close()


# -- group commit ------------------------------------------------------------------------------


class GatedStore(SQLiteStore):
    """A SQLite store that notes each append and can hold it at a gate, or fail it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate = threading.Event()
        self.gate.set()
        self.appends: list[list[records.Record]] = []
        self.fail = False

    def append(self, batch: Sequence[records.Record]) -> None:
        self.appends.append(list(batch))
        assert self.gate.wait(30)
        if self.fail:
            raise StoreError("the disk is full")
        super().append(batch)


def versions_in(batch: list[records.Record]) -> list[tuple[str, int]]:
    return [(r.subject, r.version) for r in batch if isinstance(r, records.SchemaRecord)]


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "hang guard"
        time.sleep(0.005)


def test_concurrent_registrations_are_appended_together_and_answered_once_durable(tmp_path: Path) -> None:
    store = GatedStore(tmp_path / "r.db")
    registry = Registry(store)
    registry.set_config(None, {"compatibility": "NONE"})
    shared = avro("Shared", "x")
    answers: dict[str, records.SchemaRecord] = {}

    def register(subject: str, schema: str) -> None:
        answers[subject] = registry.register(subject, RegisterRequest(schema))

    store.gate.clear()
    first = threading.Thread(target=register, args=("a", shared))
    first.start()
    wait_until(lambda: len(store.appends) == 2)  # config, then "a" held at the gate
    others = [threading.Thread(target=register, args=(f"b{i}", avro(f"B{i}", "y"))) for i in range(5)]
    others.append(threading.Thread(target=register, args=("b5", shared)))  # the same schema as "a"
    for thread in others:
        thread.start()
    wait_until(lambda: len(registry._commits.pending.subjects) == 7)  # all decided and queued
    assert answers == {}  # nobody answered before its record is durable
    store.gate.set()
    for thread in [first, *others]:
        thread.join(30)
    assert [sorted(versions_in(batch)) for batch in store.appends[1:]] == [
        [("a", 1)], [(f"b{i}", 1) for i in range(6)]  # one append for the six queued meanwhile
    ]
    assert answers["b5"].id == answers["a"].id  # decided from the queued write of "a"
    assert len({answers[f"b{i}"].id for i in range(5)} | {answers["a"].id}) == 6
    registry.close()
    reopened = Registry(SQLiteStore(tmp_path / "r.db"))
    for subject, answer in answers.items():
        assert reopened.get_version(subject, 1).id == answer.id
    reopened.close()


def test_a_subject_with_a_queued_version_is_decided_after_it(tmp_path: Path) -> None:
    store = GatedStore(tmp_path / "r.db")
    registry = Registry(store)
    registry.set_config(None, {"compatibility": "BACKWARD"})
    answers: list[records.SchemaRecord] = []
    store.gate.clear()
    first = threading.Thread(target=lambda: answers.append(registry.register("s", RegisterRequest(avro("R", "a")))))
    first.start()
    wait_until(lambda: len(store.appends) == 2)
    second = threading.Thread(
        target=lambda: answers.append(registry.register("s", RegisterRequest(avro("R", "a", "b"))))
    )
    second.start()
    time.sleep(0.2)
    assert len(store.appends) == 2 and answers == []  # waits: its check needs version 1 applied
    store.gate.set()
    first.join(30)
    second.join(30)
    assert [versions_in(batch) for batch in store.appends[1:]] == [[("s", 1)], [("s", 2)]]
    assert [a.version for a in answers] == [1, 2]
    registry.close()


def test_a_failed_append_fails_every_write_in_it_and_keeps_nothing(tmp_path: Path) -> None:
    store = GatedStore(tmp_path / "r.db")
    registry = Registry(store)
    registry.set_config(None, {"compatibility": "NONE"})
    errors: list[BaseException] = []

    def register(subject: str) -> None:
        try:
            registry.register(subject, RegisterRequest(avro(subject.upper(), "x")))
        except StoreError as exc:
            errors.append(exc)

    store.gate.clear()
    store.fail = True
    threads = [threading.Thread(target=register, args=(f"f{i}",)) for i in range(4)]
    threads[0].start()
    wait_until(lambda: len(store.appends) == 2)
    for thread in threads[1:]:
        thread.start()
    wait_until(lambda: len(registry._commits.pending.subjects) == 4)
    store.gate.set()
    for thread in threads:
        thread.join(30)
    assert len(errors) == 4 and registry.list_subjects() == []
    store.fail = False
    assert registry.register("after", RegisterRequest(avro("After", "x"))).version == 1
    registry.close()


# -- compiled forms: cold checks without protoc ----------------------------------------------


def proto(version: int) -> str:
    """A file of 5 messages; ``version`` adds a field to the first."""
    lines = ['syntax = "proto3";', "package scale.p;"]
    for m in range(5):
        extra = f"  string v{version} = {10 + version};\n" if m == 0 else ""
        lines.append(f"message M{m} {{\n  int64 a = 1;\n  M{(m + 1) % 5} next = 2;\n{extra}}}")
    return "\n".join(lines) + "\n"


def test_a_restarted_registry_checks_protobuf_history_without_compiling_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "r.db"
    first = Registry(SQLiteStore(db))
    first.set_config("p", {"compatibility": "NONE"})
    for version in range(6):
        first.register("p", RegisterRequest(proto(version), schema_type="PROTOBUF"))
    first.set_config("p", {"compatibility": "BACKWARD_TRANSITIVE"})
    new = RegisterRequest(proto(6).replace("  int64 a = 1;\n  M1", "  string a = 1;\n  M1"), schema_type="PROTOBUF")
    expected = first.check_compatibility("p", new, verbose=True)
    first.close()
    assert not expected.is_compatible  # int64 -> string in M0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(compiled) FROM contents").fetchone() == (6,)  # kept as registered
    conn.close()

    from registry.formats import protobuf, protobuf_protoc

    protobuf._cache.clear()  # compiled files this process keeps by text: as in a restarted one
    compiled: list[str] = []
    real = protobuf_protoc.compile_text
    monkeypatch.setattr(protobuf_protoc, "compile_text", lambda text, deps: compiled.append(text) or real(text, deps))
    monkeypatch.setattr("registry.formats.protobuf.compile_text", protobuf_protoc.compile_text)
    second = Registry(SQLiteStore(db))
    assert second.check_compatibility("p", new, verbose=True).messages == expected.messages
    assert len(compiled) == 1  # the new schema only: the six stored ones came back compiled
    second.close()

    with sqlite3.connect(db) as conn:  # a form that cannot be read back is compiled again, and replaced
        conn.execute("UPDATE contents SET compiled = x'00' WHERE rowid = (SELECT min(row) FROM contents)")
    conn.close()
    compiled.clear()
    protobuf._cache.clear()
    third = Registry(SQLiteStore(db))
    assert third.check_compatibility("p", new, verbose=True).messages == expected.messages
    assert len(compiled) == 2
    third.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM contents WHERE length(compiled) < 10").fetchone() == (0,)
    conn.close()
