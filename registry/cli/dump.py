"""``schemahub export`` / ``schemahub import``: move a registry between stores.

A dump is JSON lines, one ``_schemas`` message per line:
``{"key": {...Confluent key...}, "value": {...} | null}`` (and the DEK
Registry's keys as ``_dek_registry_keys`` messages, :mod:`registry.stores.key_records`). Export writes the
records a store replays (SQLite: its current state; Kafka: the topic's
records), one at a time as they are read; import checks every line first
(a bad one is reported with its line number and nothing is written), then
appends the records in order, so ids, versions, deletes, configs and modes
are kept. Both run in constant memory and show their progress on a terminal.
Run import against a stopped registry.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from ..stores import key_records
from ..stores.base import Store
from ..stores.kafka_records import KEY_TYPES, RecordFormatError, decode, encode
from ..stores.records import (
    DekRecord,
    DekTombstone,
    KekRecord,
    KekTombstone,
    Record,
    SchemaRecord,
    SubjectVersions,
)
from . import CommandError
from .kafka_options import add_kafka_client_arguments, kafka_connection, topic_settings
from .progress import Progress

BATCH = 500
LEADER_WAIT = 60.0  # seconds an import waits to lead the Kafka store


class DumpError(ValueError):
    """A dump line that is not a record schemahub can import."""


def _add_store_args(parser: argparse.ArgumentParser, *, db_help: str) -> None:
    env = os.environ.get
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--db", default=env("SCHEMAHUB_DB"), metavar="PATH", help=f"{db_help} (SCHEMAHUB_DB)")
    where.add_argument("--kafka", default=env("SCHEMAHUB_KAFKA"), metavar="BOOTSTRAP",
                       help="Kafka bootstrap servers: the store is the _schemas topic (SCHEMAHUB_KAFKA)")
    parser.add_argument("--topic", default=env("SCHEMAHUB_TOPIC", "_schemas"),
                        help="with --kafka: the store topic (SCHEMAHUB_TOPIC)")
    parser.add_argument("--group-id", default=env("SCHEMAHUB_GROUP_ID", "schema-registry"),
                        help="with --kafka: the registry cluster's leader election group (SCHEMAHUB_GROUP_ID)")
    add_kafka_client_arguments(parser.add_argument_group("with --kafka: Kafka clients and topics"))


def add_parser(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser(
        "export", help="write a registry as JSON lines (Confluent _schemas messages)",
        description="Write every record of a store as JSON lines, in constant memory.",
    )
    _add_store_args(export, db_help="SQLite database file to read; it must exist")
    export.add_argument("--output", "-o", default="-", metavar="PATH",
                        help="file to write, replaced only once complete; - for standard output")
    export.set_defaults(func=run_export)
    imp = commands.add_parser(
        "import", help="load an export into a store, keeping ids and versions",
        description="Check every line of a dump, then append its records to a store, in constant memory. "
        "Run it against a stopped registry.",
    )
    _add_store_args(imp, db_help="SQLite database file to write; created when absent")
    imp.add_argument("--input", "-i", default="-", metavar="PATH", help="dump to read; - for standard input")
    imp.add_argument("--force", action="store_true", help="import even if the target already holds schemas")
    imp.set_defaults(func=run_import)


def _store(args: argparse.Namespace, *, writer: bool) -> Store:
    bootstrap, settings = kafka_connection(args) if not args.db else (None, {})
    if bootstrap:
        from ..stores.kafka import KafkaStore

        return KafkaStore(
            bootstrap, args.topic, group_id=args.group_id, leader_eligible=writer, client_config=settings,
            topic_settings=topic_settings(args),
        )
    if not args.db:
        raise CommandError("give --db PATH or --kafka BOOTSTRAP (or SCHEMAHUB_DB / SCHEMAHUB_KAFKA)")
    if not writer and not Path(args.db).is_file():
        raise CommandError(f"{args.db}: no such database file")
    from ..stores.sqlite import SQLiteStore

    return SQLiteStore(args.db, streaming=True)


# -- lines ---------------------------------------------------------------------------


def dump_line(record: Record) -> str:
    if isinstance(record, (KekRecord, KekTombstone, DekRecord, DekTombstone)):
        key, value = key_records.encode(record)
    else:
        key, value = encode(record)
    line = {"key": json.loads(key), "value": None if value is None else json.loads(value)}
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"


def parse_line(line: str) -> Record | None:
    """The record a dump line holds; None for the messages a store skips (NOOP, compacted deletes)."""
    try:
        item = json.loads(line)
    except ValueError as exc:
        raise DumpError(f"not JSON ({exc})") from None
    if not isinstance(item, dict) or not isinstance(item.get("key"), dict) or set(item) - {"key", "value"}:
        raise DumpError('expected {"key": {...}, "value": {...} or null}')
    value = item.get("value")
    if value is not None and not isinstance(value, dict):
        raise DumpError("the value must be an object or null")
    keytype = item["key"].get("keytype")
    if key_records.key_type(item["key"]) is not None:
        try:
            return key_records.decode(item["key"], value)
        except RecordFormatError as exc:
            raise DumpError(str(exc)) from None
    if keytype not in KEY_TYPES:
        known = ", ".join((*KEY_TYPES, *key_records.KEY_TYPES))
        raise DumpError(f"unknown record type {keytype!r} (schemahub keeps {known})")
    key = json.dumps(item["key"], separators=(",", ":")).encode()
    body = None if value is None else json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    try:
        return decode(key, body)
    except RecordFormatError as exc:
        raise DumpError(str(exc)) from None


def read_dump(lines: Iterable[bytes]) -> Iterator[Record]:
    """The records of a dump, in order; :class:`CommandError` naming the line of the first bad one."""
    for number, raw in enumerate(lines, 1):
        try:
            line = raw.decode("utf-8")
            record = parse_line(line) if line.strip() else None
        except UnicodeDecodeError:
            raise CommandError(f"line {number}: not UTF-8 text") from None
        except DumpError as exc:
            raise CommandError(f"line {number}: {exc}") from None
        if record is not None:
            yield record


# -- export --------------------------------------------------------------------------


class _Output:
    """Standard output, or a file written beside its final name and moved there once complete."""

    def __init__(self, path: str) -> None:
        self.path = path
        if path == "-":
            self.stream: IO[str] = sys.stdout
            return
        target = Path(path)
        if not target.parent.is_dir():
            raise CommandError(f"{path}: no such directory {target.parent}")
        fd, self.partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        self.stream = os.fdopen(fd, "w", encoding="utf-8")

    def finish(self, ok: bool) -> None:
        if self.path == "-":
            self.stream.flush()
            return
        self.stream.close()
        if ok:
            os.replace(self.partial, self.path)
        else:
            os.unlink(self.partial)


def run_export(args: argparse.Namespace) -> int:
    store = _store(args, writer=False)
    progress = Progress("exporting")
    ok = False
    try:
        out = _Output(args.output)

        def write(record: Record) -> None:
            for one in record.versions if isinstance(record, SubjectVersions) else (record,):
                out.stream.write(dump_line(one))
                progress.advance()

        try:
            store.open(write)
            ok = True
        finally:
            out.finish(ok)
    finally:
        store.close()
        progress.close()
    print(f"exported {progress.count} records", file=sys.stderr)
    return 0


# -- import --------------------------------------------------------------------------


def _checked_input(path: str) -> tuple[IO[bytes], int]:
    """The dump, every line checked, rewound for reading again, and its record count.

    Standard input is kept in a temporary file on the way, since it cannot be read twice."""
    if path == "-":
        source: IO[bytes] = tempfile.TemporaryFile()
        lines: Iterable[bytes] = _copied(sys.stdin.buffer, source)
    else:
        source = open(path, "rb")
        lines = source
    try:
        count = 0
        for _ in read_dump(lines):
            count += 1
        source.seek(0)
    except BaseException:
        source.close()
        raise
    return source, count


def _copied(lines: Iterable[bytes], into: IO[bytes]) -> Iterator[bytes]:
    for line in lines:
        into.write(line)
        yield line


def _batches(records: Iterable[Record]) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _wait_to_lead(store: Store) -> None:
    deadline = time.monotonic() + LEADER_WAIT
    while not store.is_leader():
        if time.monotonic() > deadline:
            raise CommandError("this instance did not become the leader (is a registry running on this store?)", 1)
        time.sleep(0.05)


class _Presence:
    """The apply callback of an import: it only notes whether the store holds a schema
    (keeping no records, so an import runs in constant memory)."""

    def __init__(self) -> None:
        self.schemas = False

    def __call__(self, record: Record) -> None:
        self.schemas = self.schemas or isinstance(record, SchemaRecord | SubjectVersions)


def run_import(args: argparse.Namespace) -> int:
    source, total = _checked_input(args.input)
    with source:
        held = _Presence()
        store = _store(args, writer=True)
        progress = Progress("importing", total)
        try:
            store.open(held)
            if held.schemas and not args.force:
                raise CommandError("the target store already holds schemas; use --force to import anyway", 1)
            _wait_to_lead(store)
            for batch in _batches(read_dump(source)):
                store.append(batch)
                progress.advance(len(batch))
        finally:
            store.close()
            progress.close()
    print(f"imported {progress.count} records", file=sys.stderr)
    return 0
