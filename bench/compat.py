"""Transitive BACKWARD compatibility checks against 500 stored versions, next to the ``avro`` package.

    .venv/bin/python bench/compat.py [--versions 500] [--repeat 5]

For each of (a) a 100-field Avro record, (b) a 50-message Protobuf file and
(c) a 200-property JSON Schema, registers ``--versions`` distinct versions in
one subject of a :class:`registry.service.Registry` over a temporary SQLite
store (compatibility NONE), sets BACKWARD_TRANSITIVE and times
``Registry.check_compatibility`` of a new version that is compatible with all
of them (the worst case: every version is checked):

- ``cold``: the first check after the registry opened the store (stored
  versions not yet parsed, nothing of them cached; the process warmed up by
  parsing one unrelated schema of the format: module imports, protoc's first
  run). A SQLite store keeps what parsing Protobuf produced (compiled files and
  message fingerprints) when versions are registered, so this reads them back;
- ``engine``: parsed schemas cached, the pair-verdict cache cleared, i.e.
  the engines' own speed for a new version against warm history;
- ``repeat``: the same check again (everything cached).

Next to it, in the same run, Apache Avro's Python checker
(``avro.compatibility.ReaderWriterCompatibilityChecker``) on the same Avro
new schema and 500 stored schemas: once with each schema parsed beforehand
(``avro.schema.parse`` outside the timing, the fair baseline) and once
including the parses. Ratios are ``avro time / our time``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from registry import compatibility
from registry.schemas import SchemaInput
from registry.service import RegisterRequest, Registry
from registry.stores.sqlite import SQLiteStore

AVRO_TYPES = ("int", "long", "string", "double", "boolean", "float", "bytes")


# -- schema histories --------------------------------------------------------


def avro_version(i: int | None) -> str:
    """A 100-field record; stored version ``i`` adds its own optional field, the new one another."""
    fields = [{"name": f"f{n}", "type": AVRO_TYPES[n % len(AVRO_TYPES)]} for n in range(100)]
    extra = f"v{i}" if i is not None else "added"
    fields.append({"name": extra, "type": ["null", "string"], "default": None})
    return json.dumps({"type": "record", "name": "Wide", "namespace": "bench.avro", "fields": fields})


PROTO_SCALARS = ("int32", "int64", "string", "bool", "double", "bytes")


def proto_version(i: int | None) -> str:
    """A file of 50 messages (5 fields each, some message-typed); version ``i`` adds a field to M0."""
    lines = ['syntax = "proto3";', "package bench.proto;", ""]
    for m in range(50):
        lines.append(f"message M{m} {{")
        for f in range(5):
            kind = f"M{m + 1}" if f == 4 and m < 49 else PROTO_SCALARS[(m + f) % len(PROTO_SCALARS)]
            lines.append(f"  {kind} f{f} = {f + 1};")
        if m == 0:
            tag, name = (100 + i, f"v{i}") if i is not None else (99, "added")
            lines.append(f"  string {name} = {tag};")
        lines.append("}")
    return "\n".join(lines) + "\n"


JSON_TYPES = ("string", "integer", "number", "boolean")


def json_version(i: int | None) -> str:
    """A 200-property object (open content model); version ``i`` caps p0's length at 1000+i,
    the new version drops the cap (a relaxation, compatible with every version)."""
    props: dict = {f"p{n}": {"type": JSON_TYPES[n % len(JSON_TYPES)]} for n in range(200)}
    if i is not None:
        props["p0"] = {"type": "string", "maxLength": 1000 + i}
    return json.dumps({"type": "object", "properties": props, "required": ["p1", "p2"]})


# -- timing -----------------------------------------------------------------


def ms(fn: Callable[[], object], repeat: int = 1) -> float:
    """Median wall time of ``fn`` in milliseconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


WARM_UP = {
    "AVRO": '{"type":"record","name":"WarmUp","fields":[{"name":"a","type":"int"}]}',
    "PROTOBUF": 'syntax = "proto3";\nmessage WarmUp { int32 a = 1; }\n',
    "JSON": '{"type":"object","properties":{"a":{"type":"integer"}}}',
}
MAKERS: dict[str, Callable[[int | None], str]] = {"AVRO": avro_version, "PROTOBUF": proto_version, "JSON": json_version}


def populate(schema_type: str, db: Path, versions: int) -> None:
    """Register ``versions`` versions under NONE, then set BACKWARD_TRANSITIVE."""
    registry = Registry(SQLiteStore(db))
    subject = f"bench-{schema_type.lower()}"
    registry.set_config(subject, {"compatibility": "NONE"})
    for i in range(versions):
        registry.register(subject, RegisterRequest(schema=MAKERS[schema_type](i), schema_type=schema_type))
    registry.set_config(subject, {"compatibility": "BACKWARD_TRANSITIVE"})
    registry.close()


def bench_format(schema_type: str, make: Callable[[int | None], str], versions: int, repeat: int,
                 folder: Path) -> dict[str, float]:
    db = folder / f"{schema_type.lower()}.db"
    subject = f"bench-{schema_type.lower()}"
    # Registered by another process, so that no parse or compile cache of this one is warm:
    # "cold" is a registry just (re)started over the stored history.
    subprocess.run([sys.executable, __file__, "--populate", schema_type, str(db), "--versions", str(versions)],
                   check=True)
    compatibility.clear_cache()
    registry = Registry(SQLiteStore(db))
    registry.parser.parse(SchemaInput(schema_type, WARM_UP[schema_type]), ".")
    request = RegisterRequest(schema=make(None), schema_type=schema_type)

    def check() -> None:
        result = registry.check_compatibility(subject, request, verbose=True)
        assert result.is_compatible, result.messages

    cold = ms(check)

    def engine() -> None:
        compatibility.clear_cache()
        check()

    uncached = ms(engine, repeat)
    check()
    warm = ms(check, repeat * 4)
    registry.close()
    return {"cold": cold, "engine": uncached, "repeat": warm}


def bench_avro_package(versions: int, repeat: int) -> dict[str, float]:
    import avro.schema
    from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

    new_text = avro_version(None)
    old_texts = [avro_version(i) for i in range(versions)]

    def check(new, olds) -> None:
        # Newest first, as a transitive check walks them.
        for old in reversed(olds):
            result = ReaderWriterCompatibilityChecker().get_compatibility(new, old)
            assert result.compatibility is SchemaCompatibilityType.compatible

    new = avro.schema.parse(new_text)
    olds = [avro.schema.parse(t) for t in old_texts]
    parsed = ms(lambda: check(new, olds), repeat)
    with_parse = ms(lambda: check(avro.schema.parse(new_text), [avro.schema.parse(t) for t in old_texts]), repeat)
    return {"parsed": parsed, "with_parse": with_parse}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--populate", nargs=2, metavar=("TYPE", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.populate:
        populate(args.populate[0], Path(args.populate[1]), args.versions)
        return

    cases = (
        ("AVRO", "100-field Avro record", avro_version),
        ("PROTOBUF", "50-message Protobuf file", proto_version),
        ("JSON", "200-property JSON Schema", json_version),
    )
    results = {}
    with tempfile.TemporaryDirectory(prefix="schemahub-bench-") as tmp:
        for schema_type, label, make in cases:
            results[schema_type] = (label, bench_format(schema_type, make, args.versions, args.repeat, Path(tmp)))
    baseline = bench_avro_package(args.versions, args.repeat)

    print(f"\nBACKWARD_TRANSITIVE check of a new version against {args.versions} stored versions "
          f"(ms per check, median)\n")
    header = f"{'schema':<28}{'cold':>10}{'engine':>10}{'repeat':>10}"
    print(header)
    print("-" * len(header))
    for label, r in results.values():
        print(f"{label:<28}{r['cold']:>10.1f}{r['engine']:>10.1f}{r['repeat']:>10.2f}")
    print()
    print(f"avro {_avro_version()} ReaderWriterCompatibilityChecker, same {args.versions} Avro schemas:")
    print(f"  schemas parsed beforehand: {baseline['parsed']:.1f} ms;  including avro.schema.parse: "
          f"{baseline['with_parse']:.1f} ms")
    ours = results["AVRO"][1]
    print()
    print("Avro speed-up over the avro package (avro time / our time):")
    print(f"  engine (warm parses, verdict cache cleared) vs parsed baseline: "
          f"{baseline['parsed'] / ours['engine']:.1f}x")
    print(f"  repeat (everything cached)               vs parsed baseline: "
          f"{baseline['parsed'] / ours['repeat']:.1f}x")
    print(f"  cold (first check, parses 500 stored)    vs baseline incl. parse: "
          f"{baseline['with_parse'] / ours['cold']:.1f}x")


def _avro_version() -> str:
    import avro

    return getattr(avro, "__version__", "")


if __name__ == "__main__":
    main()
