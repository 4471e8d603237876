"""Serde throughput: ours next to confluent-kafka's, and Avro next to bare fastavro.

    .venv/bin/python bench/serde.py [--records 5000] [--rounds 11]

Starts ``schemahub serve`` (SQLite in a temporary folder), then for each format
serializes and deserializes the same records with our serdes and with
confluent-kafka's (each with its own registry client against that server) and,
for Avro, with bare fastavro ``schemaless_writer``/``schemaless_reader`` plus the
5-byte header (the ceiling). Prints records/s (best of ``--rounds``) and ratios.
Records: an 8-field order (Avro and JSON Schema with validation on both ways;
Protobuf through a protoc-generated class).

Data contracts (Avro, schema from the registry with ``use.latest.version``):
a CEL condition (``message.quantity > 0 && message.price >= 0.0``) on write, and
one field (``customer``, tagged PII in the schema's metadata) encrypted with
AES256_GCM under a local-kms KEK, written and read; confluent-kafka runs its own
executors (``CelExecutor``, ``FieldEncryptionExecutor``) against the same
registry, which also serves as the DEK Registry.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import io
import json
import struct
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from confluent_kafka.schema_registry import SchemaRegistryClient as CKClient
from confluent_kafka.schema_registry.avro import AvroDeserializer as CKAvroDe
from confluent_kafka.schema_registry.avro import AvroSerializer as CKAvroSer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer as CKJsonDe
from confluent_kafka.schema_registry.json_schema import JSONSerializer as CKJsonSer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer as CKProtoDe
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer as CKProtoSer
from confluent_kafka.serialization import MessageField as CKField
from confluent_kafka.serialization import SerializationContext as CKContext
from fastavro import parse_schema, schemaless_reader, schemaless_writer

import serde
from tests.server import RegistryServer

AVRO_SCHEMA = {
    "type": "record", "name": "Order", "namespace": "bench",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "customer", "type": "string"},
        {"name": "sku", "type": "string"},
        {"name": "quantity", "type": "int"},
        {"name": "price", "type": "double"},
        {"name": "ts", "type": "long"},
        {"name": "paid", "type": "boolean"},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}

JSON_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#", "title": "Order", "type": "object",
    "properties": {
        "id": {"type": "string"}, "customer": {"type": "string"}, "sku": {"type": "string", "maxLength": 32},
        "quantity": {"type": "integer", "minimum": 1}, "price": {"type": "number", "minimum": 0},
        "ts": {"type": "integer"}, "paid": {"type": "boolean"}, "note": {"type": ["string", "null"]},
    },
    "required": ["id", "customer", "sku", "quantity", "price", "ts", "paid"],
    "additionalProperties": False,
}

PROTO = """syntax = "proto3";
package bench;

message Order {
  string id = 1;
  string customer = 2;
  string sku = 3;
  int32 quantity = 4;
  double price = 5;
  int64 ts = 6;
  bool paid = 7;
  string note = 8;
}
"""


def records(n: int) -> list[dict]:
    base = int(datetime.datetime(2024, 1, 1).timestamp() * 1000)
    return [{"id": f"order-{i:08d}", "customer": f"customer-{i % 977}", "sku": f"SKU-{i % 131:05d}",
             "quantity": 1 + i % 7, "price": 9.99 + (i % 100) / 4, "ts": base + i * 1000, "paid": i % 3 == 0,
             "note": None if i % 2 else f"note {i}"} for i in range(n)]


def proto_class(folder: Path):
    import grpc_tools
    from grpc_tools import protoc

    src, gen = folder / "src", folder / "gen"
    (src / "bench").mkdir(parents=True)
    gen.mkdir()
    (src / "bench" / "order.proto").write_text(PROTO)
    include = Path(grpc_tools.__file__).parent / "_proto"
    assert protoc.main(["protoc", f"-I{src}", f"-I{include}", f"--python_out={gen}", "bench/order.proto"]) == 0
    sys.path.insert(0, str(gen))
    return importlib.import_module("bench.order_pb2").Order


def _pass(func, items: list, ctx) -> float:
    start = time.perf_counter()
    if ctx is None:
        for item in items:
            func(item)
    else:
        for item in items:
            func(item, ctx)
    return time.perf_counter() - start


def rates(cases: dict, rounds: int) -> dict:
    """Best records/s per case over ``rounds`` interleaved passes (each case once per round, so
    background noise hits all alike). A case is ``(func, items, ctx)``; ``func(item)`` or
    ``func(item, ctx)`` is called directly, with no wrapper in between."""
    for func, items, ctx in cases.values():
        _pass(func, items[:200], ctx)  # warm caches (registration, schema fetch)
    best = {name: float("inf") for name in cases}
    for _ in range(rounds):
        for name, (func, items, ctx) in cases.items():
            best[name] = min(best[name], _pass(func, items, ctx))
    return {name: len(cases[name][1]) / best[name] for name in cases}


def contract_rows(url: str, data: list[dict], rounds: int) -> list[tuple[str, str, float, str]]:
    """CEL-condition and encrypted-field throughput, ours next to confluent-kafka's executors."""
    from confluent_kafka.schema_registry import Schema
    from confluent_kafka.schema_registry.rule_registry import RuleRegistry
    from confluent_kafka.schema_registry.rules.cel.cel_executor import CelExecutor
    from confluent_kafka.schema_registry.rules.encryption.encrypt_executor import FieldEncryptionExecutor
    from confluent_kafka.schema_registry.rules.encryption.localkms.local_driver import LocalKmsDriver
    from confluent_kafka.schema_registry.schema_registry_client import Metadata, RuleSet

    LocalKmsDriver.register()
    secret = {"secret": "bench-secret"}
    latest = {"auto.register.schemas": False, "use.latest.version": True, "subject.name.strategy.type": "TOPIC"}
    cases = {
        "cel": RuleSet.from_dict({"domainRules": [{"name": "valid", "kind": "CONDITION", "mode": "WRITE",
                                                   "type": "CEL", "expr": "message.quantity > 0 && message.price >= 0.0"}]}),
        "encrypt": RuleSet.from_dict({"domainRules": [{"name": "pii", "kind": "TRANSFORM", "mode": "WRITEREAD",
                                                       "type": "ENCRYPT", "tags": ["PII"], "params": {
                                                           "encrypt.kek.name": "bench-kek", "encrypt.kms.type": "local-kms",
                                                           "encrypt.kms.key.id": "bench-key"}}]}),
    }
    metadata = Metadata.from_dict({"tags": {"bench.Order.customer": ["PII"]}})
    registrar = CKClient({"url": url})
    rows = []
    for name, rule_set in cases.items():
        topic = f"bench-{name}"
        registrar.register_schema(f"{topic}-value", Schema(json.dumps(AVRO_SCHEMA), "AVRO", rule_set=rule_set,
                                                          metadata=metadata))
        ck_rules = RuleRegistry()
        ck_rules.register_executor(CelExecutor())
        ck_rules.register_executor(FieldEncryptionExecutor())
        ctx, ck_ctx = serde.SerializationContext(topic, serde.MessageField.VALUE), CKContext(topic, CKField.VALUE)
        ours = serde.AvroSerializer(serde.SchemaRegistryClient({"url": url}), None, conf=latest, rule_conf=secret)
        theirs = CKAvroSer(CKClient({"url": url}), None, conf=latest, rule_conf=secret, rule_registry=ck_rules)
        # confluent-kafka encrypts the caller's dict in place: it gets a copy of each record (≈0.2 µs)
        r = rates({"ow": (ours, data, ctx), "kw": (lambda rec, c, ser=theirs: ser(dict(rec), c), data, ck_ctx)},
                  rounds)
        ow, cw = r["ow"], r["kw"]
        label = "CEL condition" if name == "cel" else "1 encrypted field"
        rows.append(("avro", f"write, {label}", ow, f"{ow / cw:.2f}x confluent ({cw:,.0f}/s)"))
        if name == "encrypt":
            frames = [ours(rec, ctx) for rec in data]
            ours_de = serde.AvroDeserializer(serde.SchemaRegistryClient({"url": url}), conf={
                "subject.name.strategy.type": "TOPIC"}, rule_conf=secret)
            ck_de = CKAvroDe(CKClient({"url": url}), conf={"subject.name.strategy.type": "TOPIC"}, rule_conf=secret,
                             rule_registry=ck_rules)
            assert ours_de(frames[0], ctx) == ck_de(frames[0], ck_ctx) == data[0]
            r = rates({"or": (ours_de, frames, ctx), "kr": (ck_de, frames, ck_ctx)}, rounds)
            orr, cr = r["or"], r["kr"]
            rows.append(("avro", f"read, {label}", orr, f"{orr / cr:.2f}x confluent ({cr:,.0f}/s)"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    data = records(args.records)
    rows: list[tuple[str, str, float, str]] = []

    with tempfile.TemporaryDirectory() as tmp, RegistryServer(Path(tmp) / "bench.db") as server:
        ours_client = serde.SchemaRegistryClient({"url": server.url})
        ck_client = CKClient({"url": server.url})
        # confluent-kafka's deserializers get their own client, as in a consumer process
        # (a shared one caches the register response's schema text for Protobuf).
        ck_reader = CKClient({"url": server.url})
        ctx = serde.SerializationContext("bench-avro", serde.MessageField.VALUE)
        ck_ctx = CKContext("bench-avro", CKField.VALUE)

        # -- Avro ---------------------------------------------------------
        schema_str = json.dumps(AVRO_SCHEMA)
        ours_ser = serde.AvroSerializer(ours_client, schema_str)
        ck_ser = CKAvroSer(ck_client, schema_str)
        ours_de = serde.AvroDeserializer(ours_client)
        ck_de = CKAvroDe(ck_reader)
        parsed = parse_schema(AVRO_SCHEMA)
        frames = [ours_ser(r, ctx) for r in data]
        assert frames == [ck_ser(r, ck_ctx) for r in data]
        header = frames[0][:5]
        unpack = struct.Struct(">I").unpack_from

        def bare_write(record):
            buf = io.BytesIO()
            buf.write(header)
            schemaless_writer(buf, parsed, record)
            return buf.getvalue()

        def bare_read(frame):
            if frame[0] != 0:
                raise ValueError("magic")
            unpack(frame, 1)
            buf = io.BytesIO(frame)
            buf.seek(5)
            return schemaless_reader(buf, parsed, None)

        assert [bare_read(f) for f in frames[:10]] == [ours_de(f, ctx) for f in frames[:10]]
        r = rates({"cw": (bare_write, data, None), "ow": (ours_ser, data, ctx), "kw": (ck_ser, data, ck_ctx)},
                  args.rounds)
        ceiling_w, ow, cw = r["cw"], r["ow"], r["kw"]
        r = rates({"cr": (bare_read, frames, None), "or": (ours_de, frames, ctx), "kr": (ck_de, frames, ck_ctx)},
                  args.rounds)
        ceiling_r, orr, cr = r["cr"], r["or"], r["kr"]
        rows += [("avro", "serialize", ow, f"{ow / cw:.2f}x confluent, {ow / ceiling_w:.2f}x ceiling "
                  f"(confluent {cw:,.0f}/s = {cw / ceiling_w:.2f}x, ceiling {ceiling_w:,.0f}/s)"),
                 ("avro", "deserialize", orr, f"{orr / cr:.2f}x confluent, {orr / ceiling_r:.2f}x ceiling "
                  f"(confluent {cr:,.0f}/s = {cr / ceiling_r:.2f}x, ceiling {ceiling_r:,.0f}/s)")]

        # -- Protobuf -------------------------------------------------------
        order_cls = proto_class(Path(tmp) / "proto")
        messages = [order_cls(**{k: v for k, v in r.items() if v is not None}) for r in data]
        pctx, pck_ctx = serde.SerializationContext("bench-proto", serde.MessageField.VALUE), \
            CKContext("bench-proto", CKField.VALUE)
        ours_pser, ck_pser = serde.ProtobufSerializer(order_cls, ours_client), CKProtoSer(order_cls, ck_client)
        pframes = [ours_pser(m, pctx) for m in messages]
        assert pframes == [ck_pser(m, pck_ctx) for m in messages]
        ours_pde = serde.ProtobufDeserializer(order_cls, None, ours_client)
        ours_dyn = serde.ProtobufDeserializer(None, None, ours_client)
        ck_pde = CKProtoDe(order_cls, {}, ck_reader)
        assert ours_pde(pframes[1], pctx) == ck_pde(pframes[1], pck_ctx) == messages[1]
        r = rates({"ow": (ours_pser, messages, pctx), "kw": (ck_pser, messages, pck_ctx)}, args.rounds)
        ow, cw = r["ow"], r["kw"]
        r = rates({"or": (ours_pde, pframes, pctx), "kr": (ck_pde, pframes, pck_ctx),
                   "dyn": (ours_dyn, pframes, pctx)}, args.rounds)
        orr, cr, dyn = r["or"], r["kr"], r["dyn"]
        rows += [("protobuf", "serialize", ow, f"{ow / cw:.2f}x confluent ({cw:,.0f}/s)"),
                 ("protobuf", "deserialize", orr, f"{orr / cr:.2f}x confluent ({cr:,.0f}/s)"),
                 ("protobuf", "deserialize, no class", dyn, f"{dyn / cr:.2f}x confluent (with class)")]

        # -- JSON Schema ------------------------------------------------------
        jctx, jck_ctx = serde.SerializationContext("bench-json", serde.MessageField.VALUE), \
            CKContext("bench-json", CKField.VALUE)
        jschema = json.dumps(JSON_SCHEMA)
        ours_jser, ck_jser = serde.JSONSerializer(jschema, ours_client), CKJsonSer(jschema, ck_client)
        jframes = [ours_jser(r, jctx) for r in data]
        assert jframes == [ck_jser(r, jck_ctx) for r in data]
        ours_jde = serde.JSONDeserializer(None, schema_registry_client=ours_client)
        ck_jde = CKJsonDe(None, schema_registry_client=ck_reader)
        assert ours_jde(jframes[3], jctx) == ck_jde(jframes[3], jck_ctx) == data[3]
        r = rates({"ow": (ours_jser, data, jctx), "kw": (ck_jser, data, jck_ctx)}, args.rounds)
        ow, cw = r["ow"], r["kw"]
        r = rates({"or": (ours_jde, jframes, jctx), "kr": (ck_jde, jframes, jck_ctx)}, args.rounds)
        orr, cr = r["or"], r["kr"]
        rows += [("json", "serialize+validate", ow, f"{ow / cw:.2f}x confluent ({cw:,.0f}/s)"),
                 ("json", "deserialize+validate", orr, f"{orr / cr:.2f}x confluent ({cr:,.0f}/s)")]

        rows += contract_rows(server.url, data, args.rounds)

    print(f"{args.records} records x {args.rounds} rounds (best), 8-field order record")
    print(f"{'format':<9} {'operation':<23} {'ours rec/s':>12}  ratios")
    for fmt, op, value, note in rows:
        print(f"{fmt:<9} {op:<23} {value:>12,.0f}  {note}")


if __name__ == "__main__":
    main()
