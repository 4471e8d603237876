"""``schemahub export`` / ``import``: SQLite → Kafka → SQLite keeps ids, versions, deletes, config, mode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from registry.service import RegisterRequest, Registry
from registry.stores.sqlite import SQLiteStore
from tests.kafka_store_support import fresh_topic
from tests.server import REPO

A = '{"type":"record","name":"A","fields":[]}'
B = '{"type":"record","name":"B","fields":[]}'


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "registry.cli", *args], cwd=REPO, check=True, capture_output=True, timeout=120)


def test_export_import_round_trip_through_kafka(tmp_path: Path, kafka_bootstrap: str) -> None:
    source = tmp_path / "source.db"
    reg = Registry(SQLiteStore(source))
    reg.register("x", RegisterRequest(B))  # id 1, later hard-deleted: ids 2.. keep their numbers
    reg.delete_subject("x")
    reg.delete_subject("x", permanent=True)
    a = reg.register("s", RegisterRequest(A))
    reg.set_config("s", {"compatibility": "NONE"})
    b = reg.register("s", RegisterRequest(B))
    reg.delete_version("s", 2)
    reg.register(":.ctx:c", RegisterRequest(A))
    reg.set_mode("m", "READONLY")
    reg.close()
    topic = fresh_topic("dump")
    dump1, dump2 = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    _cli("export", "--db", str(source), "-o", str(dump1))
    _cli("import", "--kafka", kafka_bootstrap, "--topic", topic, "--group-id", topic, "-i", str(dump1))
    _cli("export", "--kafka", kafka_bootstrap, "--topic", topic, "--group-id", topic, "-o", str(dump2))
    assert dump1.read_text() == dump2.read_text()
    target = tmp_path / "target.db"
    _cli("import", "--db", str(target), "-i", str(dump2))
    back = Registry(SQLiteStore(target))
    try:
        assert back.get_version("s", 1).id == a.id
        assert back.get_version("s", 2, deleted=True).id == b.id
        assert back.list_versions("s") == [1] and back.list_versions("s", deleted=True) == [1, 2]
        assert back.level_for("s") == "NONE" and back.get_mode("m") == "READONLY"
        assert back.get_version(":.ctx:c", 1).id == 1 and ".ctx" in back.contexts()
    finally:
        back.close()
