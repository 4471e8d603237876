"""``schemahub export`` / ``schemahub import``: move a registry between stores.

A dump is JSON lines, one ``_schemas`` message per line:
``{"key": {...Confluent key...}, "value": {...} | null}``. Export writes the
current state (every version, soft-deleted ones flagged, configs, modes,
contexts); import appends those records as they are, so ids, versions,
deletes, configs and modes are kept. Run import against a stopped registry.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import IO

from ..state import RegistryState
from ..stores.base import Store
from ..stores.kafka_records import decode, encode
from ..stores.records import ConfigRecord, ContextRecord, ModeRecord, Record


def _add_store_args(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--db", default=os.environ.get("SCHEMAHUB_DB"), help="SQLite database file")
    where.add_argument("--kafka", default=os.environ.get("SCHEMAHUB_KAFKA"), metavar="BOOTSTRAP")
    parser.add_argument("--topic", default=os.environ.get("SCHEMAHUB_TOPIC", "_schemas"))
    parser.add_argument("--group-id", default=os.environ.get("SCHEMAHUB_GROUP_ID", "schema-registry"))


def add_parser(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser("export", help="write a registry as JSON lines (Confluent _schemas messages)")
    _add_store_args(export)
    export.add_argument("--output", "-o", default="-", help="file to write (default stdout)")
    export.set_defaults(func=run_export)
    imp = commands.add_parser("import", help="load an export into a store, keeping ids and versions")
    _add_store_args(imp)
    imp.add_argument("--input", "-i", default="-", help="file to read (default stdin)")
    imp.add_argument("--force", action="store_true", help="import even if the target already holds schemas")
    imp.set_defaults(func=run_import)


def _store(args: argparse.Namespace, *, writer: bool) -> Store:
    if args.kafka:
        from ..stores.kafka import KafkaStore

        return KafkaStore(args.kafka, args.topic, group_id=args.group_id, leader_eligible=writer)
    if not args.db:
        raise SystemExit("give --db PATH or --kafka BOOTSTRAP")
    from ..stores.sqlite import SQLiteStore

    return SQLiteStore(args.db)


def snapshot(state: RegistryState) -> Iterator[Record]:
    """The records that rebuild ``state``: contexts, every version, configs, modes."""
    for context in sorted(state.contexts):
        if context != ".":
            yield ContextRecord(context)
    for name in sorted(state.subjects):
        yield from state.subjects[name].all()
    for key in sorted(state.configs):
        yield ConfigRecord(key, state.configs[key])
    for key in sorted(state.modes):
        yield ModeRecord(key, state.modes[key])


def write_dump(records: Iterable[Record], out: IO[str]) -> int:
    count = 0
    for record in records:
        key, value = encode(record)
        line = {"key": json.loads(key), "value": None if value is None else json.loads(value)}
        out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
    return count


def read_dump(lines: Iterable[str]) -> Iterator[Record]:
    for _number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        item = json.loads(line)
        key = json.dumps(item["key"], separators=(",", ":")).encode()
        value = None if item.get("value") is None else json.dumps(item["value"], ensure_ascii=False).encode()
        record = decode(key, value)
        if record is not None:
            yield record


def run_export(args: argparse.Namespace) -> int:
    state = RegistryState()
    store = _store(args, writer=False)
    store.open(state.apply)
    try:
        out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
        try:
            count = write_dump(snapshot(state), out)
        finally:
            if out is not sys.stdout:
                out.close()
    finally:
        store.close()
    print(f"exported {count} records", file=sys.stderr)
    return 0


def run_import(args: argparse.Namespace) -> int:
    source = sys.stdin if args.input == "-" else open(args.input, encoding="utf-8")
    try:
        records = list(read_dump(source))
    finally:
        if source is not sys.stdin:
            source.close()
    state = RegistryState()
    store = _store(args, writer=True)
    store.open(state.apply)
    try:
        if state.subjects and not args.force:
            print("the target store already holds schemas; use --force to import anyway", file=sys.stderr)
            return 1
        deadline = time.monotonic() + 60
        while not store.is_leader():
            if time.monotonic() > deadline:
                print("this instance did not become the leader (is a registry running on it?)", file=sys.stderr)
                return 1
            time.sleep(0.05)
        for start in range(0, len(records), 500):
            store.append(records[start : start + 500])
    finally:
        store.close()
    print(f"imported {len(records)} records", file=sys.stderr)
    return 0
