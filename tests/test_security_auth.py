"""Authentication (HTTP Basic against a users file) and per-subject authorisation.

In process (TestClient over ``create_app(..., auth=...)``) for the rules on every
route, and against a real ``schemahub serve --auth-file`` for raw, encoded paths
sent byte for byte.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from registry.access.routes import POLICY, PUBLIC
from registry.access.users import AuthFileError, load_auth_file, parse_auth_config, verify_password
from registry.http.api import Api
from registry.http.app import build_router, create_app
from registry.http.auth import basic_credentials
from registry.service import Registry
from registry.stores.sqlite import SQLiteStore
from tests.security_support import ADMIN, AVRO, ORDERS, READER, SecureServer, auth_data, write_auth_file
from tests.server import REPO

PAYMENTS = "payments-value"


@pytest.fixture(scope="module")
def data() -> dict:
    return auth_data()


@pytest.fixture
def secured(tmp_path: Path, data: dict) -> Iterator[TestClient]:
    registry = Registry(SQLiteStore(tmp_path / "auth.db"))
    with TestClient(create_app(registry, auth=parse_auth_config(data))) as client:
        for subject in (PAYMENTS, "orders-value"):
            name = subject.replace("-", "_")
            r = client.post(f"/subjects/{subject}/versions", json={"schema": AVRO % name}, auth=ADMIN)
            assert r.status_code == 200, r.text
        # one schema shared by both teams' subjects
        r = client.post("/subjects/payments-key/versions", json={"schema": '"string"'}, auth=ADMIN)
        r = client.post("/subjects/orders-key/versions", json={"schema": '"string"'}, auth=ADMIN)
        yield client
    registry.close()


def _ids(client: TestClient) -> dict[str, int]:
    return {s: client.get(f"/subjects/{s}/versions/1", auth=ADMIN).json()["id"]
            for s in (PAYMENTS, "orders-value", "payments-key")}


# -- authentication -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/subjects", "/schemas/ids/1", "/config", "/metrics", "/", "/no/such/path"])
def test_no_credentials_is_401(secured: TestClient, path: str) -> None:
    response = secured.get(path)
    assert response.status_code == 401
    assert response.json()["error_code"] == 40101
    assert response.headers["www-authenticate"].startswith('Basic realm="schemahub"')


@pytest.mark.parametrize("auth", [("admin", "wrong"), ("nobody", "admin-secret"), ("admin", ""), ("ADMIN", "admin-secret")])
def test_wrong_credentials_are_401(secured: TestClient, auth: tuple[str, str]) -> None:
    response = secured.get("/subjects", auth=auth)
    assert response.status_code == 401
    assert response.json()["error_code"] == 40101
    assert "www-authenticate" in response.headers


@pytest.mark.parametrize("header", ["Bearer abc", "Basic", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode(),
                                    "Basic " + base64.b64encode(b"\xff\xfe:x").decode()])
def test_malformed_authorization_is_401(secured: TestClient, header: str) -> None:
    response = secured.get("/subjects", headers={"Authorization": header})
    assert response.status_code == 401 and response.json()["error_code"] == 40101


def test_write_to_a_denied_subject_without_credentials_is_401_not_403(secured: TestClient) -> None:
    response = secured.post(f"/subjects/{PAYMENTS}/versions", json={"schema": '"int"'})
    assert response.status_code == 401


def test_health_and_ready_need_no_credentials(secured: TestClient) -> None:
    assert secured.get("/health").json() == {"status": "UP"}
    assert secured.get("/ready").status_code == 200


def test_basic_credentials_parsing() -> None:
    encoded = base64.b64encode("bob:pa:ss wörd".encode()).decode()
    assert basic_credentials(f"Basic {encoded}") == ("bob", "pa:ss wörd")
    assert basic_credentials(f"basic  {encoded} ") == ("bob", "pa:ss wörd")
    assert basic_credentials(None) is None


# -- authorisation: a user limited to orders-* -------------------------------------------


def test_orders_team_works_on_its_subjects(secured: TestClient) -> None:
    r = secured.post("/subjects/orders-new/versions", json={"schema": AVRO % "New"}, auth=ORDERS)
    assert r.status_code == 200, r.text
    assert secured.get("/subjects/orders-new/versions", auth=ORDERS).json() == [1]
    assert secured.post("/subjects/orders-new", json={"schema": AVRO % "New"}, auth=ORDERS).status_code == 200
    assert secured.put("/config/orders-new", json={"compatibility": "NONE"}, auth=ORDERS).status_code == 200
    assert secured.post("/compatibility/subjects/orders-new/versions/latest", json={"schema": AVRO % "New"},
                        auth=ORDERS).json() == {"is_compatible": True}
    assert secured.delete("/subjects/orders-new", auth=ORDERS).json() == [1]


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("GET", "/subjects/{s}/versions", None),
        ("GET", "/subjects/{s}/versions/1", None),
        ("GET", "/subjects/{s}/versions/latest/schema", None),
        ("GET", "/subjects/{s}/versions/1/referencedby", None),
        ("GET", "/subjects/{s}/metadata", None),
        ("POST", "/subjects/{s}", {"schema": AVRO % "payments_value"}),
        ("POST", "/subjects/{s}/versions", {"schema": AVRO % "Other"}),
        ("POST", "/compatibility/subjects/{s}/versions", {"schema": AVRO % "Other"}),
        ("POST", "/compatibility/subjects/{s}/versions/latest", {"schema": AVRO % "Other"}),
        ("DELETE", "/subjects/{s}/versions/1", None),
        ("DELETE", "/subjects/{s}", None),
        ("GET", "/config/{s}", None),
        ("PUT", "/config/{s}", {"compatibility": "NONE"}),
        ("DELETE", "/config/{s}", None),
        ("GET", "/mode/{s}", None),
        ("PUT", "/mode/{s}", {"mode": "READONLY"}),
        ("DELETE", "/mode/{s}", None),
    ],
)
def test_orders_team_cannot_touch_payments(secured: TestClient, method: str, path: str, body: dict | None) -> None:
    response = secured.request(method, path.format(s=PAYMENTS), json=body, auth=ORDERS)
    assert response.status_code == 403, response.text
    assert response.json()["error_code"] == 40301
    # and nothing changed
    assert secured.get(f"/subjects/{PAYMENTS}/versions", auth=ADMIN).json() == [1]


@pytest.mark.parametrize("subject", [
    "Payments-value", "PAYMENTS-VALUE", ":.:payments-value", "payments-value ", "payments%2Dvalue",
    ":.other:orders-value", "orders_value", "xorders-value",
])
def test_other_spellings_are_other_subjects(secured: TestClient, subject: str) -> None:
    """Subjects are case-sensitive and matched in their qualified form: none of these is in orders-*."""
    response = secured.post(f"/subjects/{subject.replace('%', '%25')}/versions",
                            json={"schema": AVRO % "X"}, auth=ORDERS)
    assert response.status_code == 403, (subject, response.text)


def test_lists_show_only_readable_subjects(secured: TestClient) -> None:
    assert secured.get("/subjects", auth=ORDERS).json() == ["orders-key", "orders-value"]
    assert secured.get("/subjects", auth=ADMIN).json() == ["orders-key", "orders-value", "payments-key", PAYMENTS]
    assert secured.get("/subjects?subjectPrefix=pay", auth=ORDERS).json() == []
    assert secured.get("/subjects?offset=1&limit=1", auth=ORDERS).json() == ["orders-value"]
    assert {s["subject"] for s in secured.get("/schemas", auth=ORDERS).json()} == {"orders-key", "orders-value"}
    assert secured.get("/schemas?subjectPrefix=payments", auth=ORDERS).json() == []
    assert secured.get("/subjects?deleted=true", auth=READER).json() == ["orders-key", "orders-value",
                                                                         "payments-key", PAYMENTS]


def test_schemas_by_id(secured: TestClient) -> None:
    ids = _ids(secured)
    # payments' own schema: answered exactly as an unknown id (no existence oracle)
    for path in ("", "/schema", "/subjects", "/versions", f"?subject={PAYMENTS}"):
        response = secured.get(f"/schemas/ids/{ids[PAYMENTS]}{path}", auth=ORDERS)
        assert (response.status_code, response.json()["error_code"]) == (404, 40403), path
    # a schema both use: readable, but the lists show only orders' subjects
    shared = ids["payments-key"]
    assert secured.get(f"/schemas/ids/{shared}", auth=ORDERS).status_code == 200
    assert secured.get(f"/schemas/ids/{shared}/subjects", auth=ORDERS).json() == ["orders-key"]
    assert secured.get(f"/schemas/ids/{shared}/versions", auth=ORDERS).json() == [{"subject": "orders-key", "version": 1}]
    assert secured.get(f"/schemas/ids/{shared}/subjects", auth=ADMIN).json() == ["orders-key", "payments-key"]
    # unknown ids are still 404
    assert secured.get("/schemas/ids/9999", auth=ORDERS).json()["error_code"] == 40403


def test_schemas_by_guid(secured: TestClient) -> None:
    guid = secured.get(f"/subjects/{PAYMENTS}/versions/1", auth=ADMIN).json()["guid"]
    assert secured.get(f"/schemas/guids/{guid}", auth=ORDERS).json()["error_code"] == 40403
    assert secured.get(f"/schemas/guids/{guid}/ids", auth=ORDERS).json()["error_code"] == 40403
    assert secured.get(f"/schemas/guids/{guid}", auth=READER).status_code == 200


def test_global_config_needs_the_global_grant(secured: TestClient) -> None:
    assert secured.get("/config", auth=ORDERS).status_code == 200  # reading global config is open
    for method, path, body in (("PUT", "/config", {"compatibility": "NONE"}), ("DELETE", "/config", None),
                               ("PUT", "/mode", {"mode": "READONLY"}), ("DELETE", "/mode", None),
                               ("DELETE", "/contexts/.x", None)):
        response = secured.request(method, path, json=body, auth=ORDERS)
        assert response.status_code == 403 and response.json()["error_code"] == 40301
    assert secured.put("/config", json={"compatibility": "NONE"}, auth=ADMIN).status_code == 200


def test_reader_by_regex(secured: TestClient) -> None:
    assert secured.get(f"/subjects/{PAYMENTS}/versions", auth=READER).json() == [1]
    assert secured.post(f"/subjects/{PAYMENTS}/versions", json={"schema": AVRO % "Z"}, auth=READER).status_code == 403
    assert secured.delete(f"/subjects/{PAYMENTS}", auth=READER).status_code == 403
    # the regex is a full match: a longer name is not covered
    assert secured.get(f"/subjects/{PAYMENTS}-extra/versions", auth=READER).status_code == 403


def test_every_route_has_a_policy(tmp_path: Path) -> None:
    registry = Registry(SQLiteStore(tmp_path / "routes.db"))
    try:
        served = {(r.method, r.template) for r in build_router(Api(registry)).routes}
    finally:
        registry.close()
    assert sorted(served - set(POLICY) - PUBLIC) == [], "routes without an access rule (they default to admin-only)"


# -- the users file --------------------------------------------------------------------


def test_users_file_holds_no_clear_passwords(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    for name, secret in (ADMIN, ORDERS):
        args = [sys.executable, "-m", "registry.cli", "users", "add", str(path), name, "--password-stdin",
                "--operation", "read", "--subject", "orders-*"]
        subprocess.run(args, input=secret + "\n", text=True, check=True, cwd=REPO, capture_output=True)
    text = path.read_text()
    for _, secret in (ADMIN, ORDERS):
        assert secret not in text
    assert text.count("scrypt$") == 2
    config = load_auth_file(path)
    assert verify_password(ADMIN[1], config.users["admin"])
    assert not verify_password("admin-secreT", config.users["admin"])
    assert config.may("orders-team", "read", "orders-x") and not config.may("orders-team", "write", "orders-x")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    # the same hash twice differs (salted)
    hashed = [subprocess.run([sys.executable, "-m", "registry.cli", "users", "hash", "--password-stdin"],
                             input="same\n", text=True, check=True, cwd=REPO, capture_output=True).stdout.strip()
              for _ in range(2)]
    assert hashed[0] != hashed[1] and all(verify_password("same", h) for h in hashed)


def test_clear_passwords_and_bad_rules_are_refused(tmp_path: Path) -> None:
    with pytest.raises(AuthFileError, match="scrypt"):
        parse_auth_config({"users": {"bob": {"password": "hunter2"}}})
    good = auth_data()
    for broken in (
        {**good, "rules": [{"user": "ghost", "operations": ["read"], "subjects": ["*"]}]},
        {**good, "rules": [{"user": "admin", "operations": ["fly"], "subjects": ["*"]}]},
        {**good, "rules": [{"user": "admin", "operations": ["read"]}]},
        {**good, "rules": [{"user": "admin", "operations": ["read"], "subjects": ["re:("]}]},
        {**good, "extra": 1},
    ):
        with pytest.raises(AuthFileError):
            parse_auth_config(broken)


def test_json_and_toml_files_agree(tmp_path: Path) -> None:
    from registry.access.users import dump_toml

    data = auth_data()
    json_config = load_auth_file(write_auth_file(tmp_path / "users.json", data))
    toml_path = tmp_path / "users.toml"
    toml_path.write_text(dump_toml(data))
    toml_config = load_auth_file(toml_path)
    assert json_config.users == toml_config.users
    assert json_config.rules == toml_config.rules


# -- a real server: raw paths, sent byte for byte -----------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureServer]:
    directory = tmp_path_factory.mktemp("auth-live")
    auth_file = write_auth_file(directory / "users.json")
    with SecureServer(directory / "registry.db", extra_args=("--auth-file", str(auth_file))) as server:
        body = json.dumps({"schema": AVRO % "P"}).encode()
        assert server.raw("POST", f"/subjects/{PAYMENTS}/versions", auth=ADMIN, body=body)[0] == 200
        assert server.raw("POST", "/subjects/orders-value/versions", auth=ADMIN, body=body)[0] == 200
        yield server


def test_live_server_requires_credentials(live: SecureServer) -> None:
    status, body = live.raw("GET", "/subjects")
    assert (status, body["error_code"]) == (401, 40101)
    status, body = live.raw("GET", "/subjects", auth=("admin", "nope"))
    assert (status, body["error_code"]) == (401, 40101)
    assert live.raw("GET", "/subjects", auth=ORDERS) == (200, ["orders-value"])


ENCODED = [
    "/subjects/payments%2Dvalue/versions",  # encoded hyphen decodes to payments-value
    "/subjects/%70%61%79%6D%65%6E%74%73-value/versions",
    "/subjects/payments%252Dvalue/versions",  # double encoding: the literal subject payments%2Dvalue
    "/subjects/PAYMENTS-VALUE/versions",
    "/subjects/Payments-Value/versions",
    "/subjects/:.:payments-value/versions",
    "/subjects/%3A.%3Apayments-value/versions",
    "/subjects/%2E%2E%2Fpayments-value/versions",
    "/subjects/payments-value%00/versions",
]


@pytest.mark.parametrize("path", ENCODED)
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_encoded_paths_cannot_reach_payments(live: SecureServer, path: str, method: str) -> None:
    if method == "DELETE":
        path = path.rsplit("/versions", 1)[0]
    body = json.dumps({"schema": AVRO % "Q"}).encode() if method == "POST" else None
    status, answer = live.raw(method, path, auth=ORDERS, body=body)
    assert status == 403 and answer["error_code"] == 40301, (path, status, answer)
    assert live.raw("GET", f"/subjects/{PAYMENTS}/versions", auth=ADMIN) == (200, [1])


@pytest.mark.parametrize("path", [
    "/subjects/orders-value/../payments-value/versions",
    "/subjects/orders-value/%2E%2E/payments-value/versions",
    "/subjects/orders-x%2F..%2F..%2Fsubjects%2Fpayments-value/versions",
    "/subjects/orders-value/versions/../../payments-value/versions",
    "//subjects/payments-value/versions",
])
def test_dot_segments_never_reach_payments(live: SecureServer, path: str) -> None:
    """A dot segment is not resolved: the path is another route (404), a literal subject the
    user may use (here an empty one, 404), or refused; never payments-value's data."""
    status, answer = live.raw("GET", path, auth=ORDERS)
    assert status in (403, 404), (path, status, answer)
    assert answer != [1]


def test_list_through_the_live_server(live: SecureServer) -> None:
    status, schemas = live.raw("GET", "/schemas", auth=ORDERS)
    assert status == 200 and {s["subject"] for s in schemas} == {"orders-value"}
    status, subjects = live.raw("GET", "/schemas/ids/1/subjects", auth=ORDERS)
    assert (status, subjects) == (200, ["orders-value"])


def test_contexts_list_only_those_with_a_readable_subject(tmp_path: Path, data: dict) -> None:
    from registry.access.users import hash_password

    data = {**data, "users": {**data["users"], "ctx": {"password": hash_password("ctx-secret")}},
            "rules": [*data["rules"], {"user": "ctx", "operations": ["read"], "subjects": [":.orders:*"]}]}
    registry = Registry(SQLiteStore(tmp_path / "contexts.db"))
    with TestClient(create_app(registry, auth=parse_auth_config(data))) as client:
        for subject in (":.orders:orders-value", ":.payments:payments-value"):
            assert client.post(f"/subjects/{subject}/versions", json={"schema": '"string"'}, auth=ADMIN).status_code == 200
        assert client.get("/contexts", auth=ADMIN).json() == [".", ".orders", ".payments"]
        assert client.get("/contexts", auth=("ctx", "ctx-secret")).json() == [".", ".orders"]
        assert client.get("/contexts", auth=ORDERS).json() == ["."]
        assert client.get("/contexts?contextPrefix=.p", auth=("ctx", "ctx-secret")).json() == []
    registry.close()
