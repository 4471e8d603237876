"""confluent-kafka's real SchemaRegistryClient against ``schemahub serve`` on 127.0.0.1.

Every method of the client's table (reference/serde-clients.md §3) except
association writes and the DEK registry.
"""

from __future__ import annotations

import json
import uuid

import pytest
from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.schema_registry_client import ConfigCompatibilityLevel, ServerConfig

from tests.server import RegistryServer


def record(name: str, *fields: tuple[str, object]) -> Schema:
    body = {"type": "record", "name": name, "fields": [{"name": n, "type": t} for n, t in fields]}
    return Schema(json.dumps(body), "AVRO")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with RegistryServer(tmp_path_factory.mktemp("client") / "registry.db") as srv:
        yield srv


@pytest.fixture
def client(server: RegistryServer) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": server.url})


def test_register_lookup_and_read_back(client: SchemaRegistryClient) -> None:
    subject = unique("orders-value")
    schema = record("Order", ("id", "string"))
    full = client.register_schema_full_response(subject, schema)
    assert full.schema_id > 0 and full.version == 1 and full.guid
    assert client.register_schema(subject, schema) == full.schema_id

    again = client.lookup_schema(subject, schema)
    assert (again.schema_id, again.version, again.subject) == (full.schema_id, 1, subject)

    by_id = client.get_schema(full.schema_id)
    assert json.loads(by_id.schema_str) == json.loads(schema.schema_str)
    assert by_id.schema_type == "AVRO"
    by_guid = client.get_schema_by_guid(full.guid)
    assert by_guid.schema_str == by_id.schema_str

    latest = client.get_latest_version(subject)
    assert (latest.schema_id, latest.version, latest.guid) == (full.schema_id, 1, full.guid)
    v1 = client.get_version(subject, 1)
    assert v1.schema_id == full.schema_id and v1.subject == subject
    assert client.get_versions(subject) == [1]
    assert subject in client.get_subjects()
    assert client.get_subjects_by_schema_id(full.schema_id) == [subject]
    versions = client.get_schema_versions(full.schema_id)
    assert [(v.subject, v.version) for v in versions] == [(subject, 1)]
    assert set(client.get_schema_types()) == {"AVRO", "PROTOBUF", "JSON"}


def test_same_schema_shares_one_id_across_subjects(client: SchemaRegistryClient) -> None:
    schema = record("Shared", ("x", "int"))
    first = client.register_schema(unique("a"), schema)
    second = client.register_schema(unique("b"), schema)
    assert first == second


def test_subject_with_slash_round_trips(client: SchemaRegistryClient) -> None:
    subject = unique("common/dep.avsc")
    schema_id = client.register_schema(subject, record("Dep", ("d", "long")))
    assert client.get_latest_version(subject).schema_id == schema_id
    assert subject in client.get_subjects()


def test_compatibility_levels_and_checks(client: SchemaRegistryClient) -> None:
    subject = unique("compat")
    client.register_schema(subject, record("C", ("a", "string")))
    assert client.set_compatibility(subject, "FULL") == {"compatibility": "FULL"}
    assert client.get_compatibility(subject) == "FULL"
    breaking = record("C", ("a", "string"), ("b", "string"))
    assert client.test_compatibility(subject, breaking) is False
    assert client.test_compatibility_all_versions(subject, breaking) is False
    fine = Schema(
        json.dumps({"type": "record", "name": "C", "fields": [
            {"name": "a", "type": "string"}, {"name": "b", "type": "string", "default": ""}]}),
        "AVRO",
    )
    assert client.test_compatibility(subject, fine) is True
    assert client.test_compatibility(subject, fine, version=1, verbose=True) is True
    with pytest.raises(SchemaRegistryError) as err:
        client.register_schema(subject, breaking)
    assert err.value.http_status_code == 409 and err.value.error_code == 40901
    assert client.register_schema_full_response(subject, fine).version == 2


def test_config_get_set_delete(client: SchemaRegistryClient) -> None:
    subject = unique("cfg")
    with pytest.raises(SchemaRegistryError) as err:
        client.get_compatibility(subject)
    assert err.value.error_code == 40408
    assert client.get_config().compatibility_level.value in ("BACKWARD", "NONE", "FULL", "FORWARD")
    client.set_config(subject, ServerConfig(compatibility=ConfigCompatibilityLevel.FORWARD_TRANSITIVE, compatibility_group="major"))
    stored = client.get_config(subject)
    assert stored.compatibility_level.value == "FORWARD_TRANSITIVE" and stored.compatibility_group == "major"
    previous = client.delete_config(subject)
    assert previous.compatibility_level.value == "FORWARD_TRANSITIVE"
    with pytest.raises(SchemaRegistryError) as err:
        client.get_config(subject)
    assert err.value.error_code == 40408


def test_modes(client: SchemaRegistryClient) -> None:
    subject = unique("mode")
    assert client.get_global_mode() == "READWRITE"
    assert client.update_mode(subject, "READONLY") == "READONLY"
    assert client.get_mode(subject) == "READONLY"
    with pytest.raises(SchemaRegistryError) as err:
        client.register_schema(subject, record("M", ("a", "int")))
    assert err.value.error_code == 42205
    assert client.delete_mode(subject) == "READONLY"
    with pytest.raises(SchemaRegistryError) as err:
        client.get_mode(subject)
    assert err.value.error_code == 40409
    assert client.update_global_mode("READWRITE") == "READWRITE"


def test_deletes_and_deleted_listings(client: SchemaRegistryClient) -> None:
    subject = unique("del")
    client.set_compatibility(subject, "NONE")
    client.register_schema(subject, record("D", ("a", "int")))
    client.register_schema(subject, record("D", ("b", "int")))
    assert client.delete_version(subject, 1) == 1
    assert client.get_versions(subject) == [2]
    assert client.get_versions(subject, deleted=True) == [1, 2]
    assert client.get_versions(subject, deleted_only=True) == [1]
    assert client.get_version(subject, 1, deleted=True).version == 1
    assert client.delete_subject(subject) == [2]
    assert subject not in client.get_subjects()
    assert subject in client.get_subjects(deleted=True)
    assert subject in client.get_subjects(deleted_only=True)
    assert client.delete_subject(subject, permanent=True) == [1, 2]
    with pytest.raises(SchemaRegistryError) as err:
        client.get_versions(subject)
    assert err.value.error_code == 40401


def test_references_and_referenced_by(client: SchemaRegistryClient) -> None:
    dep_subject = unique("dep")
    dep = Schema(json.dumps({"type": "record", "name": "Address", "namespace": "shop",
                             "fields": [{"name": "street", "type": "string"}]}), "AVRO")
    dep_id = client.register_schema(dep_subject, dep)
    main = Schema(
        json.dumps({"type": "record", "name": "Customer", "namespace": "shop",
                    "fields": [{"name": "address", "type": "shop.Address"}]}),
        "AVRO",
        [SchemaReference("shop.Address", dep_subject, -1)],
    )
    subject = unique("customer")
    main_id = client.register_schema(subject, main)
    fetched = client.get_schema(main_id)
    assert [(r.name, r.subject, r.version) for r in fetched.references] == [("shop.Address", dep_subject, 1)]
    assert client.get_referenced_by(dep_subject, 1) == [main_id]
    assert dep_id != main_id
    with pytest.raises(SchemaRegistryError) as err:
        client.delete_version(dep_subject, 1)
    assert err.value.error_code == 42206


def test_latest_with_metadata(client: SchemaRegistryClient) -> None:
    subject = unique("meta")
    client.set_compatibility(subject, "NONE")
    from confluent_kafka.schema_registry.schema_registry_client import Metadata, MetadataProperties

    for app in ("one two", "three"):
        schema = Schema(
            json.dumps({"type": "record", "name": "Meta", "fields": [{"name": app.replace(" ", "_"), "type": "int"}]}),
            "AVRO",
            metadata=Metadata(None, MetadataProperties({"app name": app}), None),
        )
        client.register_schema(subject, schema)
    found = client.get_latest_with_metadata(subject, {"app name": "one two"})
    assert found.version == 1
    assert found.schema.metadata.properties.properties == {"app name": "one two"}


def test_contexts_and_associations(client: SchemaRegistryClient) -> None:
    subject = f":.{unique('ctx')}:orders"
    client.register_schema(subject, record("InCtx", ("a", "int")))
    contexts = client.get_contexts()
    assert contexts[0] == "." and subject.split(":")[1] in contexts
    assert client.get_associations_by_resource_name("orders", "-", "topic", ["value"]) == []


def test_errors_come_back_as_confluent_errors(client: SchemaRegistryClient) -> None:
    with pytest.raises(SchemaRegistryError) as err:
        client.get_schema(987654)
    assert (err.value.http_status_code, err.value.error_code) == (404, 40403)
    with pytest.raises(SchemaRegistryError) as err:
        client.get_latest_version(unique("missing"))
    assert err.value.error_code == 40401
    with pytest.raises(SchemaRegistryError) as err:
        client.register_schema(unique("bad"), Schema('{"type": "record", "name": "X"}', "AVRO"))
    assert (err.value.http_status_code, err.value.error_code) == (422, 42201)
