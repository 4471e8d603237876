"""``schemahub export`` / ``import``: SQLite → Kafka → SQLite keeps ids, versions, deletes, config, mode
(Kafka over the broker's plaintext and SASL_SSL listeners)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from registry.cli import main
from registry.devkafka.config import write_properties
from registry.service import RegisterRequest, Registry
from registry.stores.records import DekRecord, KekRecord, SchemaRecord
from registry.stores.sqlite import SQLiteStore
from tests.kafka_store_support import fresh_topic
from tests.server import REPO

A = '{"type":"record","name":"A","fields":[]}'
B = '{"type":"record","name":"B","fields":[]}'


def _cli(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "registry.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.fixture(params=["plaintext", "sasl_ssl"])
def kafka_args(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    """How export and import reach the session broker: its plaintext listener, or its SASL_SSL
    listener (SCRAM-SHA-256) with the client settings in a --kafka-config file."""
    if request.param == "plaintext":
        return ["--kafka", request.getfixturevalue("kafka_bootstrap")]
    settings = request.getfixturevalue("kafka_secured").client_settings(mechanism="SCRAM-SHA-256")
    config = tmp_path / "kafka.properties"
    write_properties(config, settings)
    return ["--kafka", settings["bootstrap.servers"], "--kafka-config", str(config)]


def test_export_import_round_trip_through_kafka(tmp_path: Path, kafka_args: list[str]) -> None:
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
    _cli("import", *kafka_args, "--topic", topic, "--group-id", topic, "-i", str(dump1))
    _cli("export", *kafka_args, "--topic", topic, "--group-id", topic, "-o", str(dump2))
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


def _store_with(path: Path, count: int) -> None:
    store = SQLiteStore(path)
    store.open(lambda record: None)
    records = [SchemaRecord.of(f"s{i}", 1, i + 1, "AVRO", f'{{"type":"fixed","name":"F{i}","size":{i % 64 + 1}}}')
               for i in range(count)]
    for start in range(0, count, 5000):
        store.append(records[start:start + 5000])
    store.close()


def _peak(argv: list[str]) -> int:
    """Peak Python memory (bytes) of ``schemahub ARGV`` run in-process."""
    tracemalloc.start()
    try:
        assert main(argv) == 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_export_and_import_run_in_constant_memory(tmp_path: Path, capsys) -> None:
    def commands(count: int) -> tuple[list[str], list[str]]:
        source, dump, target = tmp_path / f"{count}.db", tmp_path / f"{count}.jsonl", tmp_path / f"{count}-back.db"
        _store_with(source, count)
        return ["export", "--db", str(source), "-o", str(dump)], ["import", "--db", str(target), "-i", str(dump)]

    for argv in commands(10):  # first runs import modules: not measured
        assert main(argv) == 0
    peaks = {}
    for count in (600, 3_000):  # both above the import's batch of 500
        export, load = commands(count)
        peaks[count] = (_peak(export), _peak(load))
        assert capsys.readouterr().err.endswith(f"exported {count} records\nimported {count} records\n")
    print("peak bytes (export, import) by record count:", peaks)
    # 2 400 records more: holding them (a registry state, or a list as import used to) takes ~900 kB.
    for step in (0, 1):
        assert peaks[3_000][step] < peaks[600][step] + 300_000, peaks


def test_progress_is_shown_on_a_terminal_only(tmp_path: Path) -> None:
    source = tmp_path / "s.db"
    _store_with(source, 3_000)
    main_fd, terminal = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "registry.cli", "export", "--db", str(source), "-o",
                               str(tmp_path / "d.jsonl")], cwd=REPO, stderr=terminal, timeout=120, check=True)
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(main_fd, 65536)
            except OSError:  # the terminal's other side is closed: all read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(main_fd)
    assert done.returncode == 0
    assert b"\rexporting: " in shown and shown.rstrip().endswith(b"exported 3000 records")
    piped = subprocess.run([sys.executable, "-m", "registry.cli", "import", "--db", str(tmp_path / "t.db"), "-i",
                            str(tmp_path / "d.jsonl")], cwd=REPO, capture_output=True, timeout=120, check=True)
    assert piped.stderr == b"imported 3000 records\n"  # no progress line into a pipe or a log


def test_dek_registry_keys_travel_in_the_dump(tmp_path: Path) -> None:
    source = tmp_path / "keys.db"
    store = SQLiteStore(source)
    store.open(lambda record: None)
    kek = KekRecord("payments", "local-kms", "k1", {"region": "eu"}, "doc", shared=False, ts=5)
    dek = DekRecord("payments", "s-value", "AES256_GCM", 1, "d3JhcHBlZA==", ts=6)
    store.append([SchemaRecord.of("s-value", 1, 1, "AVRO", '"string"'), kek, dek])
    store.close()
    dump = tmp_path / "keys.jsonl"
    assert main(["export", "--db", str(source), "-o", str(dump)]) == 0
    assert main(["import", "--db", str(tmp_path / "back.db"), "-i", str(dump)]) == 0
    replayed: list = []
    back = SQLiteStore(tmp_path / "back.db")
    back.open(replayed.append)
    back.close()
    assert {repr(kek), repr(dek)} <= {repr(r) for r in replayed}  # KekRecord compares by identity
    text = dump.read_text()
    assert '{"tenant":"default","name":"payments","type":"KEK"}' in text  # Confluent's _dek_registry_keys keys
    assert '"kekName":"payments","subject":"s-value","algorithm":"AES256_GCM","version":1,"type":"DEK"' in text
