"""Shared helpers for the serde tests (no tests here): real generated Protobuf
classes (protoc via grpc_tools into a temp dir), topic names and records."""

from __future__ import annotations

import importlib
import sys
import uuid
from pathlib import Path

import pytest

COMMON_PROTO = """syntax = "proto3";
package common;

message Money {
  string currency = 1;
  int64 units = 2;
  int32 nanos = 3;
}
"""

ORDER_PROTO = """syntax = "proto3";
package shop;

import "common/money.proto";
import "google/protobuf/timestamp.proto";

enum Status {
  NEW = 0;
  PAID = 1;
}

message Order {
  message Line {
    string sku = 1;
    int32 qty = 2;
  }
  string id = 1;
  common.Money total = 2;
  repeated Line lines = 3;
  map<string, string> tags = 4;
  Status status = 5;
  google.protobuf.Timestamp created = 6;
  oneof contact {
    string email = 7;
    string phone = 8;
  }
  bytes blob = 9;
  double weight = 10;
  int64 big = 11;
}

message Refund {
  string order_id = 1;
  common.Money amount = 2;
}
"""


def compile_protos(out: Path) -> Path:
    """Run protoc (grpc_tools) over the test protos into ``out``; returns the module root."""
    import grpc_tools
    from grpc_tools import protoc

    src = out / "src"
    (src / "common").mkdir(parents=True, exist_ok=True)
    (src / "shop").mkdir(parents=True, exist_ok=True)
    (src / "common" / "money.proto").write_text(COMMON_PROTO)
    (src / "shop" / "order.proto").write_text(ORDER_PROTO)
    gen = out / "gen"
    gen.mkdir(exist_ok=True)
    include = Path(grpc_tools.__file__).parent / "_proto"
    code = protoc.main(["protoc", f"-I{src}", f"-I{include}", f"--python_out={gen}",
                        "common/money.proto", "shop/order.proto"])
    assert code == 0, "protoc failed"
    for pkg in ("common", "shop"):
        (gen / pkg / "__init__.py").touch()
    return gen


@pytest.fixture(scope="session")
def pb(tmp_path_factory: pytest.TempPathFactory):
    """The generated modules: ``pb.order`` (shop/order_pb2) and ``pb.money`` (common/money_pb2)."""
    gen = compile_protos(tmp_path_factory.mktemp("protos"))
    sys.path.insert(0, str(gen))
    try:
        order = importlib.import_module("shop.order_pb2")
        money = importlib.import_module("common.money_pb2")
    finally:
        sys.path.remove(str(gen))

    class Modules:
        pass

    mods = Modules()
    mods.order, mods.money, mods.path = order, money, gen
    return mods


def sample_order(pb, i: int = 1):
    order = pb.order.Order(id=f"o-{i}", status=pb.order.PAID, blob=b"\x00\xffbin", weight=2.5, big=2**40 + i,
                           email=f"u{i}@example.com")
    order.total.currency = "EUR"
    order.total.units = 12 + i
    order.total.nanos = 500
    order.lines.add(sku="a", qty=1)
    order.lines.add(sku="b", qty=i)
    order.tags["gift"] = "yes"
    order.created.seconds = 1_700_000_000 + i
    return order


def topic(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
