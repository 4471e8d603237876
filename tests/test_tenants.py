"""Issue 12, items 1–4 and 12: what one tenant's credentials reveal of another's schemas.

Three tenants share one registry (``tests/tenants.py``): the admin, the orders team
(read/write on ``orders-*``) and a reader (read on ``re:common-.*``). Every answer that
could carry the payments schema is searched for its secret field name; every answer
about something forbidden is compared with the answer about something missing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from registry.access.users import parse_auth_config
from registry.http.app import create_app
from registry.service import Registry
from registry.stores.records import SchemaRecord
from registry.stores.sqlite import SQLiteStore
from tests.tenants import ADMIN, PAYMENT, READER, SECRET, TEAM, VAULT, order, tenants_data

WITH_REF = json.dumps({"type": "record", "name": "WithRef", "fields": [{"name": "p", "type": "pay.Payment"}]})
PAY_REF = json.dumps({"type": "record", "name": "PayRef", "fields": [{"name": "o", "type": "Order"}]})
COMMON = json.dumps({"type": "record", "name": "Common", "fields": [{"name": "c", "type": "int"}]})


def _ref(subject: str, version: int, name: str = "pay.Payment") -> list[dict]:
    return [{"name": name, "subject": subject, "version": version}]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    registry = Registry(SQLiteStore(tmp_path_factory.mktemp("tenants") / "tenants.db"))
    with TestClient(create_app(registry, auth=parse_auth_config(tenants_data()))) as client:
        def register(subject: str, schema: str, references: list | None = None) -> int:
            body = {"schema": schema, "references": references or []}
            response = client.post(f"/subjects/{subject}/versions", json=body, auth=ADMIN)
            assert response.status_code == 200, response.text
            return response.json()["id"]

        assert register("payments-value", PAYMENT) == 1
        assert register("orders-value", order()) == 2  # id 2 of the default context
        assert register(":.vault:first", '"string"') == 1
        assert register(":.vault:secret", VAULT) == 2  # id 2 of context .vault
        assert register("orders-withref", WITH_REF, _ref("payments-value", 1)) == 3
        assert register("common-types", COMMON) == 4
        assert register("payments-ref", PAY_REF, _ref("orders-value", 1, "Order")) == 5
        shared_id = register("payments-key", '"bytes"')
        assert register("orders-key", '"bytes"') == shared_id == 6
        yield client
    registry.close()


def _no_secret(response) -> None:
    assert SECRET not in response.text, response.text


# -- item 1: an id answers only in the context it is looked up in -----------------------


@pytest.mark.parametrize("path", ["/schemas/ids/2?subject=:.vault:x", "/schemas/ids/2/schema?subject=:.vault:",
                                  "/schemas/ids/2?subject=:.vault:secret", "/schemas/ids/2/subjects?subject=:.vault:",
                                  "/schemas/ids/2/versions?subject=:.vault:secret"])
def test_an_id_of_another_context_is_not_answered(shared: TestClient, path: str) -> None:
    response = shared.get(path, auth=TEAM)
    _no_secret(response)
    assert "Vault" not in response.text and ".vault" not in response.text
    assert shared.get(path, auth=ADMIN).status_code == 200  # the admin sees it


# -- item 2: references need read on the referenced subject --------------------------------


def test_registering_a_reference_to_a_forbidden_subject_is_a_missing_reference(shared: TestClient) -> None:
    answers = []
    for version in (1, 99):  # 1 exists, 99 does not: the answers must not tell them apart
        body = {"schema": WITH_REF, "references": _ref("payments-value", version)}
        response = shared.post("/subjects/orders-leak/versions", json=body, auth=TEAM)
        answers.append((response.status_code, response.json()["error_code"],
                        response.json()["message"].replace(f"version {version}", "version N")))
    assert answers[0] == answers[1]
    assert answers[0][:2] == (422, 42201)
    assert shared.get("/subjects/orders-leak/versions", auth=ADMIN).status_code == 404


@pytest.mark.parametrize("route", ["/subjects/orders-value", "/compatibility/subjects/orders-value/versions",
                                   "/compatibility/subjects/orders-value/versions/latest?verbose=true"])
def test_lookups_and_checks_with_a_forbidden_reference_are_no_existence_oracle(shared: TestClient, route: str) -> None:
    answers = []
    for version in (1, 99):
        body = {"schema": WITH_REF, "references": _ref("payments-value", version)}
        response = shared.post(route, json=body, auth=TEAM)
        answers.append((response.status_code, response.text.replace(f"version {version}", "version N")))
    assert answers[0] == answers[1], answers


def test_a_resolved_version_needs_read_on_its_references(shared: TestClient) -> None:
    for path in ("/subjects/orders-withref/versions/1?format=resolved",
                 "/subjects/orders-withref/versions/1/schema?format=resolved",
                 "/schemas/ids/3?format=resolved", "/schemas?format=resolved&subjectPrefix=orders-withref"):
        response = shared.get(path, auth=TEAM)
        _no_secret(response)
        assert response.status_code == 403, (path, response.text)
        assert SECRET in shared.get(path, auth=ADMIN).text  # the admin may
    stored = shared.get("/subjects/orders-withref/versions/1", auth=TEAM)
    assert stored.status_code == 200 and stored.json()["references"] == _ref("payments-value", 1)
    _no_secret(stored)


def test_the_reader_reads_what_its_regex_allows_and_nothing_else(shared: TestClient) -> None:
    assert shared.get("/subjects/common-types/versions/1", auth=READER).status_code == 200
    assert shared.get("/subjects", auth=READER).json() == ["common-types"]
    assert shared.get("/schemas/ids/4", auth=READER).status_code == 200
    for schema_id in (1, 2, 3, 5, 6):
        response = shared.get(f"/schemas/ids/{schema_id}", auth=READER)
        assert (response.status_code, response.json()["error_code"]) == (404, 40403)
    assert shared.get("/contexts", auth=READER).json() == ["."]


# -- item 3: ids, guids and referencedby name only what the caller may read ---------------------


def test_an_id_answers_only_a_readable_subject(shared: TestClient) -> None:
    for hint in ("orders-nonexistent", "payments-key", ""):
        response = shared.get(f"/schemas/ids/6?subject={hint}", auth=TEAM)
        assert response.status_code == 200
        assert "payments" not in response.text, (hint, response.text)
    assert shared.get("/schemas/ids/6/subjects", auth=TEAM).json() == ["orders-key"]
    missing = shared.get("/schemas/ids/1?subject=orders-nonexistent", auth=TEAM)
    assert (missing.status_code, missing.json()["error_code"]) == (404, 40403)
    assert "payments" not in missing.text


def test_referencedby_lists_only_readable_referrers(shared: TestClient) -> None:
    assert shared.get("/subjects/orders-value/versions/1/referencedby", auth=TEAM).json() == []
    assert shared.get("/subjects/orders-value/versions/1/referencedby", auth=ADMIN).json() == [5]


def test_a_guid_of_a_forbidden_schema_is_missing(shared: TestClient) -> None:
    guid = shared.get("/subjects/payments-value/versions/1", auth=ADMIN).json()["guid"]
    for path in (f"/schemas/guids/{guid}", f"/schemas/guids/{guid}/ids"):
        response = shared.get(path, auth=TEAM)
        assert (response.status_code, response.json()["error_code"]) == (404, 40403)
        _no_secret(response)


def test_cached_answers_are_not_shared_between_tenants(shared: TestClient) -> None:
    for _ in range(2):  # the second round is answered from the response cache
        assert SECRET in shared.get("/schemas/ids/1", auth=ADMIN).text
        assert shared.get("/schemas/ids/1", auth=TEAM).status_code == 404
        assert shared.get("/subjects/orders-withref/versions/1?format=resolved", auth=ADMIN).status_code == 200
        assert shared.get("/subjects/orders-withref/versions/1?format=resolved", auth=TEAM).status_code == 403


# -- item 4: forcing past the compatibility level needs config ---------------------------------


def test_force_needs_config_on_the_subject(shared: TestClient) -> None:
    incompatible = {"schema": '"int"'}
    response = shared.post("/subjects/orders-value/versions?force=true", json=incompatible, auth=TEAM)
    assert (response.status_code, response.json()["error_code"]) == (403, 40301)
    response = shared.post("/subjects/orders-value/versions", json=incompatible, auth=TEAM)
    assert response.status_code == 409  # without force: the level applies
    assert shared.get("/subjects/orders-value/versions", auth=ADMIN).json() == [1]


# -- item 12: races ----------------------------------------------------------------------------


def test_a_stale_answer_cannot_be_cached_after_a_write(tmp_path: Path) -> None:
    """A record applied between the generation check and the store must win: the cached
    answer is dropped. The write is made to happen right as the answer is stored."""
    registry = Registry(SQLiteStore(tmp_path / "race.db"))
    state = registry.state
    newer = SchemaRecord.of("x", 1, 1, "AVRO", '"string"')

    class RacingCache(dict):
        """The response cache, with a write from another thread as each answer is stored."""

        def _race(self) -> None:
            writer = threading.Thread(target=state.apply, args=(newer,))
            writer.start()
            writer.join(0.5)  # the write goes through unless storing holds the state's lock

        def __setitem__(self, key, value) -> None:
            self._race()
            super().__setitem__(key, value)

        def put(self, key, value, size) -> None:
            self._race()
            super().__setitem__(key, value)

    state.response_cache = RacingCache()  # type: ignore[assignment]
    state.cache_response(("k",), b"stale", state.generation)
    threading.Event().wait(0.6)
    assert state.response_cache.get(("k",)) is None
    registry.close()


def test_reads_by_id_under_access_control_while_writing(shared: TestClient) -> None:
    """The access rule reads the state's indexes while the writer changes them: no 500s."""
    errors: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            for path in ("/schemas/ids/2", "/schemas/ids/6/subjects", "/subjects", "/schemas?latestOnly=true"):
                response = shared.get(path, auth=TEAM)
                if response.status_code >= 500:
                    errors.append(response.text)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    try:
        for n in range(60):
            response = shared.post(f"/subjects/orders-race-{n}/versions", json={"schema": order(f"R{n}")}, auth=TEAM)
            assert response.status_code == 200, response.text
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert errors == []
