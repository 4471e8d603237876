"""Access control through a follower of a Kafka-store cluster (issue 8, Must show 1).

Two ``schemahub serve --kafka ... --auth-file`` instances on one fresh topic and
group, with the same users file: ``admin`` may do everything, ``orders`` may
read, write, delete and configure ``orders-*`` only. Everything ``orders`` does
goes through the FOLLOWER, whose writes are forwarded to the leader with the
caller's Authorization: allowed writes land on both instances, denied ones are
403 (40301) on the follower and would be 403 on the leader too, and the leader
never stores them.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from registry.access.users import hash_password
from tests.kafka_store_support import fresh_topic
from tests.security_support import SecureServer

ADMIN = ("admin", "admin-secret")
ORDERS = ("orders", "orders-secret")
PAYMENTS = "payments-value"
FORWARDED_HEADER = "X-Schemahub-Forwarded"  # what a follower adds when it forwards


def _avro(name: str) -> bytes:
    schema = {"type": "record", "name": name, "fields": [{"name": "id", "type": "long"}]}
    return json.dumps({"schema": json.dumps(schema)}).encode()


def _call(server: SecureServer, method: str, raw_path: str, *, auth: tuple[str, str] | None = None,
          body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
    """One request with the path sent byte for byte; (status, parsed body, lower-cased headers)."""
    sent = {"Content-Type": "application/vnd.schemaregistry.v1+json", **(headers or {})}
    if auth:
        sent["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, raw_path, body=body, headers=sent)
        response = conn.getresponse()
        payload = response.read()
        answer_headers = {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()
    try:
        parsed: Any = json.loads(payload) if payload else None
    except ValueError:
        parsed = {"raw": payload.decode("latin-1")}
    return response.status, parsed, answer_headers


def _is_leader(server: SecureServer) -> bool:
    status, metrics, _ = _call(server, "GET", "/metrics", auth=ADMIN)
    text = metrics["raw"] if isinstance(metrics, dict) else ""
    return status == 200 and "\nschemahub_leader 1" in "\n" + text


def _eventually(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Iterator[tuple[SecureServer, SecureServer]]:
    directory = tmp_path_factory.mktemp("auth-cluster")
    auth_file = directory / "users.json"
    auth_file.write_text(json.dumps({
        "users": {name: {"password": hash_password(secret)} for name, secret in (ADMIN, ORDERS)},
        "rules": [
            {"user": "admin", "operations": ["*"], "subjects": ["*"], "global": True},
            {"user": "orders", "operations": ["read", "write", "delete", "config"], "subjects": ["orders-*"]},
        ],
    }), encoding="utf-8")
    topic = fresh_topic("authcluster")
    servers: list[SecureServer] = []
    try:
        for n in (1, 2):
            server = SecureServer(directory / f"node{n}.db")
            server.extra_args = ("--kafka", kafka_bootstrap, "--topic", topic, "--group-id", f"group-{topic}",
                                 "--advertised-url", server.url, "--auth-file", str(auth_file))
            servers.append(server)
            server.start(timeout=60)
        # exactly one leader, and both instances ready (caught up, leader known)
        assert _eventually(lambda: [_is_leader(s) for s in servers].count(True) == 1
                           and all(_call(s, "GET", "/ready")[0] == 200 for s in servers), timeout=30), \
            "no single leader"
        leader = next(s for s in servers if _is_leader(s))
        follower = next(s for s in servers if s is not leader)
        # admin's payments-value, registered on the leader, replicated to the follower
        status, answer, _ = _call(leader, "POST", f"/subjects/{PAYMENTS}/versions", auth=ADMIN, body=_avro("Payment"))
        assert status == 200, answer
        assert _eventually(lambda: _call(follower, "GET", f"/subjects/{PAYMENTS}/versions", auth=ADMIN)[:2]
                           == (200, [1])), "payments-value never reached the follower"
        yield leader, follower
    finally:
        for server in servers:
            server.stop()


def _payments_untouched(*servers: SecureServer) -> None:
    """payments-value still holds admin's one version and no other subject/schema was
    created by the refused requests, on every instance (the leader included)."""
    for server in servers:
        assert _call(server, "GET", f"/subjects/{PAYMENTS}/versions?deleted=true", auth=ADMIN)[:2] == (200, [1])
        status, subjects, _ = _call(server, "GET", "/subjects?deleted=true", auth=ADMIN)
        assert status == 200 and PAYMENTS in subjects
        assert not [s for s in subjects if s.lower().startswith("payments") and s not in (PAYMENTS, "payments-key")], subjects
        status, schemas, _ = _call(server, "GET", "/schemas?deleted=true", auth=ADMIN)
        assert status == 200
        assert not [s for s in schemas if "Intruder" in s["schema"] and "payments" in s["subject"].lower()
                    and not s["subject"].startswith("orders-")], schemas
        assert _call(server, "GET", f"/config/{PAYMENTS}", auth=ADMIN)[1].get("compatibilityLevel") != "NONE"


def test_orders_registers_its_subject_through_the_follower(cluster: tuple[SecureServer, SecureServer]) -> None:
    leader, follower = cluster
    status, answer, _ = _call(follower, "POST", "/subjects/orders-value/versions", auth=ORDERS, body=_avro("Order"))
    assert status == 200, answer  # the leader accepted it: the caller's Authorization was forwarded
    schema_id = answer["id"]
    for server in (follower, leader):
        assert _eventually(lambda server=server: _call(server, "GET", "/subjects/orders-value/versions", auth=ORDERS)[:2]
                           == (200, [1])), server.url
        status, version, _ = _call(server, "GET", "/subjects/orders-value/versions/1", auth=ORDERS)
        assert status == 200 and version["id"] == schema_id
    # config and delete of its own subject work through the follower too
    body = json.dumps({"compatibility": "FULL"}).encode()
    assert _call(follower, "PUT", "/config/orders-value", auth=ORDERS, body=body)[:2] == (200, {"compatibility": "FULL"})
    assert _eventually(lambda: _call(leader, "GET", "/config/orders-value", auth=ORDERS)[1]
                       == {"compatibilityLevel": "FULL"})
    assert _call(follower, "POST", "/subjects/orders-gone/versions", auth=ORDERS, body=_avro("Gone"))[0] == 200
    assert _call(follower, "DELETE", "/subjects/orders-gone", auth=ORDERS)[:2] == (200, [1])


DENIED = [
    ("POST", "/subjects/{s}/versions", _avro("Intruder")),
    ("POST", "/subjects/{s}", _avro("Payment")),
    ("GET", "/subjects/{s}/versions", None),
    ("GET", "/subjects/{s}/versions/1", None),
    ("GET", "/subjects/{s}/versions/latest/schema", None),
    ("DELETE", "/subjects/{s}/versions/1", None),
    ("DELETE", "/subjects/{s}", None),
    ("GET", "/config/{s}", None),
    ("PUT", "/config/{s}", json.dumps({"compatibility": "NONE"}).encode()),
    ("DELETE", "/config/{s}", None),
    ("PUT", "/mode/{s}", json.dumps({"mode": "READONLY"}).encode()),
]
SPELLINGS = [
    PAYMENTS,
    "payments%2Dvalue",  # decodes to payments-value
    "%70%61%79%6D%65%6E%74%73-value",
    "payments%252Dvalue",  # double encoding: the literal subject payments%2Dvalue
    "Payments-value",
    "PAYMENTS-VALUE",
    "%3A.%3Apayments-value",  # the default context, qualified
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_orders_cannot_touch_payments_through_the_follower(cluster: tuple[SecureServer, SecureServer],
                                                           spelling: str) -> None:
    leader, follower = cluster
    for method, template, body in DENIED:
        path = template.format(s=spelling)
        status, answer, _ = _call(follower, method, path, auth=ORDERS, body=body)
        assert status == 403 and answer["error_code"] == 40301, (method, path, status, answer)
        # a client claiming to be a forwarding follower is checked all the same
        status, answer, _ = _call(follower, method, path, auth=ORDERS, body=body, headers={FORWARDED_HEADER: "2"})
        assert status == 403 and answer["error_code"] == 40301, (method, path, status, answer)
    _payments_untouched(leader, follower)


def test_an_encoded_dot_segment_is_a_literal_subject_on_the_leader(cluster: tuple[SecureServer, SecureServer]) -> None:
    """``orders-x%2F..%2Fpayments-value`` is forwarded as sent and decoded once on the leader:
    the literal subject ``orders-x/../payments-value`` (in orders-*), never payments-value."""
    leader, follower = cluster
    status, answer, _ = _call(follower, "POST", "/subjects/orders-x%2F..%2Fpayments-value/versions", auth=ORDERS,
                              body=_avro("Intruder"))
    assert status == 200, answer
    status, subjects, _ = _call(leader, "GET", "/subjects", auth=ADMIN)
    assert "orders-x/../payments-value" in subjects, subjects
    assert _call(leader, "GET", f"/subjects/{PAYMENTS}/versions/1", auth=ADMIN)[1]["schema"].count("Payment") == 1
    assert _call(leader, "GET", f"/subjects/{PAYMENTS}/versions", auth=ADMIN)[:2] == (200, [1])
    assert _call(leader, "DELETE", "/subjects/orders-x%2F..%2Fpayments-value", auth=ORDERS)[:2] == (200, [1])
    assert _call(leader, "DELETE", "/subjects/orders-x%2F..%2Fpayments-value?permanent=true", auth=ORDERS)[0] == 200
    # the follower applies the hard delete a moment later (reads there are eventually consistent)
    assert _eventually(lambda: "orders-x/../payments-value"
                       not in _call(follower, "GET", "/subjects?deleted=true", auth=ADMIN)[1]), "delete never replicated"


def test_payments_schema_by_id_is_missing_on_the_follower(cluster: tuple[SecureServer, SecureServer]) -> None:
    """A schema id the user may not read is answered as an unknown one (no existence oracle)."""
    _, follower = cluster
    schema_id = _call(follower, "GET", f"/subjects/{PAYMENTS}/versions/1", auth=ADMIN)[1]["id"]
    for path in (f"/schemas/ids/{schema_id}", f"/schemas/ids/{schema_id}/subjects",
                 f"/schemas/ids/{schema_id}?subject={PAYMENTS}"):
        status, answer, _ = _call(follower, "GET", path, auth=ORDERS)
        assert status == 404 and answer["error_code"] == 40403, (path, answer)


def test_lists_on_the_follower_omit_payments(cluster: tuple[SecureServer, SecureServer]) -> None:
    _, follower = cluster
    status, admin_view, _ = _call(follower, "GET", "/subjects", auth=ADMIN)
    assert status == 200 and PAYMENTS in admin_view
    for path in ("/subjects", "/subjects?deleted=true", "/subjects?subjectPrefix=pay"):
        status, subjects, _ = _call(follower, "GET", path, auth=ORDERS)
        assert status == 200 and all(s.startswith("orders-") for s in subjects), (path, subjects)
    status, schemas, _ = _call(follower, "GET", "/schemas?deleted=true", auth=ORDERS)
    assert status == 200 and {s["subject"] for s in schemas} <= {"orders-value", "orders-gone"}


@pytest.mark.parametrize("auth", [None, ("orders", "wrong"), ("nobody", "orders-secret")])
def test_no_or_bad_credentials_on_the_follower_is_401(cluster: tuple[SecureServer, SecureServer],
                                                      auth: tuple[str, str] | None) -> None:
    leader, follower = cluster
    for method, path, body in (("GET", "/subjects", None), ("GET", f"/subjects/{PAYMENTS}/versions", None),
                               ("POST", f"/subjects/{PAYMENTS}/versions", _avro("Intruder")),
                               ("POST", "/subjects/orders-value/versions", _avro("Intruder")),
                               ("DELETE", f"/subjects/{PAYMENTS}", None)):
        status, answer, headers = _call(follower, method, path, auth=auth, body=body)
        assert status == 401 and answer["error_code"] == 40101, (method, path, status, answer)
        assert headers["www-authenticate"].startswith("Basic ")
    _payments_untouched(leader, follower)


def test_the_leader_checks_forwarded_writes_with_the_callers_identity(
        cluster: tuple[SecureServer, SecureServer]) -> None:
    """What a follower sends on (the caller's Authorization plus the hop header) is
    judged on the leader as the caller: orders is refused, admin is not."""
    leader, follower = cluster
    forwarded = {FORWARDED_HEADER: "1"}
    for method, template, body in DENIED:
        if method == "GET" or template == "/subjects/{s}":
            continue
        path = template.format(s=PAYMENTS)
        status, answer, _ = _call(leader, method, path, auth=ORDERS, body=body, headers=forwarded)
        assert status == 403 and answer["error_code"] == 40301, (method, path, status, answer)
        status, answer, _ = _call(leader, method, path, body=body, headers=forwarded)
        assert status == 401 and answer["error_code"] == 40101, (method, path, status, answer)
    _payments_untouched(leader, follower)
    # the same forwarded shape as orders on its own subject, and as admin on payments: accepted
    status, answer, _ = _call(leader, "POST", "/subjects/orders-key/versions", auth=ORDERS, body=_avro("OrderKey"),
                              headers=forwarded)
    assert status == 200, answer
    status, answer, _ = _call(follower, "POST", "/subjects/payments-key/versions", auth=ADMIN, body=_avro("PayKey"))
    assert status == 200, answer  # admin through the follower: forwarded and accepted as admin
    assert _eventually(lambda: _call(leader, "GET", "/subjects/payments-key/versions", auth=ADMIN)[:2] == (200, [1]))
    assert _call(follower, "GET", "/subjects/payments-key/versions", auth=ORDERS)[0] == 403
