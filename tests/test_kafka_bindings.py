"""The Kafka store's in-memory bookkeeping: what its readers bound (ids, versions) and the
contents a replay shares, their texts kept compressed."""

from __future__ import annotations

import pytest

from registry.bounded import ENTRY_OVERHEAD, BoundedCache
from registry.formats.base import Reference
from registry.stores import packed
from registry.stores.kafka_bindings import Bindings
from registry.stores.kafka_records import ContentPool, decode, encode
from registry.stores.packed import PackedText
from registry.stores.records import (
    ClearSubjectRecord,
    Content,
    DeleteSubjectRecord,
    SchemaRecord,
    SchemaTombstone,
)

A, B = '{"type":"string"}', '{"type":"long"}'


def test_an_id_bound_to_other_content_is_a_conflict_unless_only_the_version_itself_binds_it() -> None:
    bound = Bindings()
    bound.apply(SchemaRecord.of("s", 1, 5, "AVRO", A))
    assert not bound.conflict(SchemaRecord.of("t", 1, 5, "AVRO", A))  # the same content under the id
    assert bound.conflict(SchemaRecord.of("t", 1, 5, "AVRO", B))
    assert not bound.conflict(SchemaRecord.of("s", 1, 5, "AVRO", B))  # s-1 is its only user: rebinding it
    assert not bound.conflict(SchemaRecord.of(":.other:s", 1, 5, "AVRO", B))  # ids are per context
    bound.apply(SchemaRecord.of("t", 1, 5, "AVRO", A))
    assert bound.conflict(SchemaRecord.of("s", 1, 5, "AVRO", B))  # t-1 binds it too
    bound.apply(SchemaTombstone("t", 1))
    assert not bound.conflict(SchemaRecord.of("s", 1, 5, "AVRO", B))
    bound.apply(SchemaTombstone("s", 1))
    assert not bound.conflict(SchemaRecord.of("t", 2, 5, "AVRO", B))  # nobody uses id 5 any more
    assert bound.high_water() == {".": 5}  # and it is never handed out again


def test_an_id_bound_to_two_contents_by_a_writer_that_skipped_the_check() -> None:
    bound = Bindings()
    bound.apply(SchemaRecord.of("s", 1, 5, "AVRO", A))
    bound.apply(SchemaRecord.of("t", 1, 5, "AVRO", B))  # (applied without a conflict check)
    assert bound.conflict(SchemaRecord.of("u", 1, 5, "AVRO", A))  # t-1 binds B
    assert bound.conflict(SchemaRecord.of("u", 1, 5, "AVRO", B))  # s-1 binds A
    assert not bound.conflict(SchemaRecord.of("t", 1, 5, "AVRO", A))  # only t-1 itself binds B
    bound.apply(SchemaTombstone("t", 1))
    assert not bound.conflict(SchemaRecord.of("u", 1, 5, "AVRO", A))
    assert bound.conflict(SchemaRecord.of("u", 1, 5, "AVRO", B))


def test_a_version_read_again_counts_once() -> None:
    bound = Bindings()
    record = SchemaRecord.of("s", 7, 5, "AVRO", A)
    bound.apply(record)
    bound.apply(record)  # (a leader's own write, then the reader's copy of it)
    assert bound.latest("s") == (7, 5, record.content_key, False) and bound.max_version("s") == 7
    assert bound.conflict(SchemaRecord.of("t", 1, 5, "AVRO", B))
    bound.apply(SchemaTombstone("s", 7))
    assert not bound.conflict(SchemaRecord.of("t", 1, 5, "AVRO", B))
    assert bound.latest("s") is None


def test_latest_version_follows_writes_and_deletes() -> None:
    bound = Bindings()
    assert bound.latest("s") is None and bound.max_version("s") == 0
    for version in (1, 2, 3):
        bound.apply(SchemaRecord.of("s", version, 10 + version, "AVRO", f'{{"type":"fixed","name":"f","size":{version}}}'))
    latest = bound.latest("s")
    assert latest is not None and latest[:2] == (3, 13) and latest[3] is False
    assert latest[2] == SchemaRecord.of("s", 3, 13, "AVRO", '{"type":"fixed","name":"f","size":3}').content_key
    bound.apply(DeleteSubjectRecord("s", 2))
    assert bound.latest("s") == (3, 13, latest[2], False)  # above the deleted range
    bound.apply(DeleteSubjectRecord("s", 3))
    assert bound.latest("s") == (3, 13, latest[2], True)
    bound.apply(SchemaTombstone("s", 3))
    assert bound.max_version("s") == 2 and not bound.has("s", 3) and bound.has("s", 1)
    bound.apply(ClearSubjectRecord("s"))  # drops the soft-deleted 1 and 2
    assert bound.latest("s") is None and bound.max_version("s") == 0
    assert bound.high_water() == {".": 13}


def test_packed_text_reads_back_what_was_packed() -> None:
    texts = ["", A, "syntax = \"proto3\";\nmessage M { string é = 1; }\n", "\ud800 lone surrogate", "x" * 100_000]
    for text in texts:
        packed_text = PackedText.of(text)
        assert packed_text.text() == text
        assert packed_text.text() == text  # (from the texts read lately)
    assert len(PackedText.of("x" * 100_000)) < 1_000


def test_texts_read_lately_are_bounded_in_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    bound = 60 + ENTRY_OVERHEAD + 100  # one text of 60 characters, not two
    unpacked: BoundedCache[str] = BoundedCache(bound, max_item_bytes=bound)
    monkeypatch.setattr(packed, "_UNPACKED", unpacked)
    first, second = PackedText.of("a" * 60), PackedText.of("b" * 60)
    assert first.text() == "a" * 60 and unpacked.get(first) == "a" * 60
    assert second.text() == "b" * 60
    assert unpacked.get(first) is None and unpacked.get(second) == "b" * 60
    assert PackedText.of("c" * 500).text() == "c" * 500  # larger than the bound: read, not kept
    assert len(unpacked) == 1 and unpacked.get(second) == "b" * 60  # (nor did it push the others out)


def test_a_packing_pool_shares_one_content_per_key_and_keeps_its_text_compressed() -> None:
    pool = ContentPool(packed=True, recent_chars=len(A) + ENTRY_OVERHEAD)  # remembers one text at a time
    refs = (Reference("r", "dep", 1),)
    records = [SchemaRecord.of(f"s{n}", 1, n, "AVRO", text, refs if n == 3 else ())
               for n, text in enumerate((A, B, A, A, B))]
    decoded = [decode(*encode(record), pool) for record in records]
    contents = [record.content for record in decoded if isinstance(record, SchemaRecord)]
    assert contents[0] is contents[2] and contents[1] is contents[4]  # A again after B: equal by key
    assert contents[3] is not contents[0]  # (with references: another content)
    for content, record in zip(contents, records, strict=True):
        assert content.text is None and isinstance(content.source, PackedText)
        assert content.schema == record.schema and content.key == record.content_key
        assert content.guid == record.guid and content.references == record.references


def test_metadata_contents_are_shared_by_key_too() -> None:
    pool = ContentPool(packed=True)
    made = [pool.content("AVRO", A, (), {"properties": {"a": "1"}}, None) for _ in range(2)]
    assert made[0] is made[1] and made[0].schema == A
    assert made[0] == Content.of("AVRO", A, (), {"properties": {"a": "1"}})
    assert made[0] != pool.content("AVRO", A, (), None, None)
