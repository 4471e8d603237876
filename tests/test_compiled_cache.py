"""The Kafka store's local cache of compiled forms (registry/stores/compiled_cache.py): read back
after a restart instead of running protoc on every stored version; derived data only (a damaged
file or a stale entry is a miss, never an answer); bounded in bytes; shared safely by instances."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.formats import protobuf, protobuf_protoc
from registry.service import RegisterRequest
from registry.stores.compiled_cache import CompiledCache, default_path
from registry.stores.records import Content
from tests.kafka_store_support import fresh_topic, kafka_registry
from tests.test_scaling import proto


def _content(n: int) -> Content:
    return Content.of("PROTOBUF", f"message M{n} {{}}")


def test_entries_come_back_only_for_their_basis_and_the_file_stays_within_its_bound(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    first, second = CompiledCache(path, max_bytes=10_000), CompiledCache(path, max_bytes=10_000)
    try:
        first.keep(_content(0), b"zero", b"basis-0")
        assert first.get(_content(0), b"basis-0") == b"zero"  # (before it is written)
        first.flush()
        assert second.get(_content(0), b"basis-0") == b"zero"  # another instance on the same file
        assert second.get(_content(0), b"other references") is None
        for n in range(1, 30):
            second.keep(_content(n), bytes([n]) * 1000, b"b")
            second.flush()  # one transaction per flush: each evicts the oldest beyond the bound
        assert 9_000 <= first.size() <= 10_000
        assert first.get(_content(0), b"basis-0") is None and second.get(_content(1), b"b") is None  # evicted
        assert first.get(_content(29), b"b") == bytes([29]) * 1000
    finally:
        first.close()
        second.close()


def test_a_damaged_file_is_replaced_and_an_unusable_place_is_no_cache(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    path.write_bytes(b"not a database at all " * 500)
    cache = CompiledCache(path)
    assert cache.get(_content(0), b"b") is None
    cache.keep(_content(0), b"form", b"b")
    cache.close()
    reopened = CompiledCache(path)
    assert reopened.get(_content(0), b"b") == b"form"
    reopened.close()
    (tmp_path / "file").write_text("x")
    nowhere = CompiledCache(tmp_path / "file" / "c.db")  # its directory cannot be made
    nowhere.keep(_content(0), b"form", b"b")
    assert nowhere.get(_content(0), b"b") is None
    nowhere.close()


def test_one_file_per_registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    paths = {default_path("k1:9092", "_schemas"), default_path("k2:9092", "_schemas"), default_path("k1:9092", "t")}
    assert len(paths) == 3 and all(p.parent == tmp_path / "schemahub" for p in paths)


def test_a_restarted_kafka_store_checks_protobuf_history_without_compiling_it(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic, path = fresh_topic(), tmp_path / "compiled.db"
    new = RegisterRequest(proto(6).replace("  int64 a = 1;\n  M1", "  string a = 1;\n  M1"), schema_type="PROTOBUF")
    with kafka_registry(kafka_bootstrap, topic, compiled_cache=CompiledCache(path)) as first:
        first.set_config("p", {"compatibility": "NONE"})
        for version in range(6):
            first.register("p", RegisterRequest(proto(version), schema_type="PROTOBUF"))
        first.set_config("p", {"compatibility": "BACKWARD_TRANSITIVE"})
        expected = first.check_compatibility("p", new, verbose=True)
    assert not expected.is_compatible  # int64 -> string in M0

    compiled: list[str] = []
    real = protobuf_protoc.compile_text
    monkeypatch.setattr(protobuf, "compile_text", lambda text, deps: compiled.append(text) or real(text, deps))

    def check_after_restart() -> None:
        protobuf._cache.clear()  # compiled files this process keeps by text: as in a restarted one
        with kafka_registry(kafka_bootstrap, topic, compiled_cache=CompiledCache(path)) as again:
            assert again.check_compatibility("p", new, verbose=True).messages == expected.messages

    check_after_restart()
    assert len(compiled) == 1  # the new schema only: the six stored ones came from the cache
    path.write_bytes(b"\0garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    compiled.clear()
    check_after_restart()  # a damaged cache: every version compiled again, the same answer
    assert len(compiled) == 7
    compiled.clear()
    check_after_restart()  # and kept again
    assert len(compiled) == 1
