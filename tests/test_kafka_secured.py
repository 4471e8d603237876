"""The Kafka store, serdes and streams on the session broker's SASL_SSL listener (SCRAM-SHA-512,
certificates made for the session), and what a person is told when the settings are wrong.

The listener requires a client certificate (mutual TLS) besides the SASL login.

* ``schemahub serve`` with a wrong password, a CA that did not sign the broker's certificate,
  an unreachable bootstrap, a topic its user is denied, a client certificate of another CA or a
  bootstrap host the broker's certificate does not name: one line, a non-zero exit, no secret.
* Three ``schemahub serve --kafka`` instances over SASL_SSL, configured three ways and logging in
  three ways (Confluent's ``schema-registry.properties`` with a JKS truststore, a PKCS12 keystore
  and a SCRAM-SHA-512 JAAS configuration; ``--kafka-config`` with SASL PLAIN; ``SCHEMAHUB_KAFKA_*``
  variables with OAUTHBEARER tokens from a token endpoint, which the broker checks against the
  identity provider's JWKS): the topic created by the first, checked and reported by the others;
  writes forwarded to the leader, a ``kill -9`` of the leader under writes, every acknowledged
  write everywhere, ``/v1/metadata/id`` naming the Kafka cluster and the group; ignored
  properties listed, no secret in any log.
* Write permission revoked while an instance runs: writes answered with 50x JSON, reads go on.
* A serde producer → consumer round trip and a streams application over SASL_SSL.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)
from confluent_kafka.serialization import StringDeserializer, StringSerializer
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

import serde
from registry.devkafka import KafkaCluster
from registry.devkafka.config import write_properties
from registry.devkafka.security import CertificateAuthority
from serde import AvroDeserializer, AvroSerializer, DeserializingConsumer, SerializingProducer
from streams import KafkaStreams, Serdes, StreamsBuilder
from tests.kafka_store_support import fresh_topic
from tests.server import RegistryServer, free_port
from tests.test_kafka_cluster import _register, _schema, announced_leader
from tests.test_kafka_startup import _one_line, _serve

LIMITED = ("limited", "limited-secret")
DENIED_PREFIX = "denied-"


@pytest.fixture(scope="module")
def secured(kafka_secured: KafkaCluster) -> KafkaCluster:
    """The session broker, with a user ``limited`` that Kafka denies every topic named ``denied-*``."""
    admin = AdminClient(kafka_secured.client_settings())
    upsert = UserScramCredentialUpsertion(
        LIMITED[0], ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), LIMITED[1].encode()
    )
    for future in admin.alter_user_scram_credentials([upsert]).values():
        future.result(30)
    deny = AclBinding(ResourceType.TOPIC, DENIED_PREFIX, ResourcePatternType.PREFIXED, f"User:{LIMITED[0]}", "*",
                      AclOperation.ALL, AclPermissionType.DENY)
    for future in admin.create_acls([deny]).values():
        future.result(30)
    return kafka_secured


def _settings_file(path: Path, settings: dict[str, str]) -> Path:
    write_properties(path, {k: v for k, v in settings.items() if k != "bootstrap.servers"})
    return path


# -- one line per mistake --------------------------------------------------------------------------


MISTAKES = ["wrong password", "wrong CA", "unreachable bootstrap", "denied topic", "untrusted client certificate",
            "host the certificate does not name"]


@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_mistake_is_one_line_and_no_secret(secured: KafkaCluster, tmp_path: Path, mistake: str) -> None:
    settings = secured.client_settings()
    bootstrap, topic = settings["bootstrap.servers"], fresh_topic("secured")
    if mistake == "wrong password":
        settings = secured.client_settings(password="not-the-Secret-42")
    elif mistake == "wrong CA":
        settings["ssl.ca.location"] = str(CertificateAuthority(tmp_path / "other", "other-ca").path)
    elif mistake == "untrusted client certificate":  # the broker requires one its CA signed
        cert, key = CertificateAuthority(tmp_path / "other", "other-ca").issue("client", client=True)
        settings.update({"ssl.certificate.location": str(cert), "ssl.key.location": str(key)})
    elif mistake == "host the certificate does not name":  # the broker's certificate names 127.0.0.1 only
        bootstrap = bootstrap.replace("127.0.0.1", "localhost")
    elif mistake == "unreachable bootstrap":
        bootstrap = f"127.0.0.1:{free_port()}"
    else:  # a topic provisioned beforehand that the user may not use
        settings = secured.client_settings(*LIMITED)
        topic = DENIED_PREFIX + topic
        _topics(secured, topic)
    config = _settings_file(tmp_path / "kafka.properties", settings)
    line = _one_line(_serve("--kafka", bootstrap, "--kafka-config", str(config), "--topic", topic))
    assert settings["sasl.password"] not in line
    expected = {
        "wrong password": f"schemahub serve: error: Kafka at {bootstrap} refused the login: SASL authentication error",
        "wrong CA": f"schemahub serve: error: TLS with Kafka at {bootstrap} failed: ",
        "unreachable bootstrap": f"schemahub serve: error: Cannot reach Kafka at {bootstrap}: ",
        "denied topic": f"schemahub serve: error: Kafka denies user {LIMITED[0]} access to topic {topic} ",
        "untrusted client certificate": f"schemahub serve: error: TLS with Kafka at {bootstrap} failed: ",
        "host the certificate does not name": f"schemahub serve: error: TLS with Kafka at {bootstrap} failed: ",
    }[mistake]
    assert line.startswith(expected), line
    hint = {
        "wrong password": "Check sasl.mechanism, sasl.username and sasl.password",
        "wrong CA": "Check ssl.ca.location",  # after librdkafka's words, which vary by timing
        "unreachable bootstrap": "Connection refused",
        "denied topic": "Topic authorization failed",
        "untrusted client certificate": "bad certificate",  # the broker's TLS alert
        "host the certificate does not name": "Check ssl.ca.location",  # (librdkafka's words vary by timing)
    }[mistake]
    assert hint in line, line
    if "TLS" in expected:
        assert "name the host in the bootstrap address, and ssl.certificate.location and ssl.key.location" in line


# -- a cluster of three, configured three ways --------------------------------------------------


def _jks_truststore(ca: Path, path: Path, password: str) -> Path:
    keytool = shutil.which("keytool") or str(Path(shutil.which("java") or "java").resolve().parent / "keytool")
    subprocess.run(
        [keytool, "-importcert", "-noprompt", "-alias", "ca", "-file", str(ca), "-keystore", str(path),
         "-storetype", "JKS", "-storepass", password],
        check=True, capture_output=True, timeout=60,
    )
    return path


def _pkcs12_keystore(certificate: tuple[Path, Path], path: Path, password: str) -> Path:
    cert, key = certificate
    private = serialization.load_pem_private_key(key.read_bytes(), None)
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"client", private, x509.load_pem_x509_certificate(cert.read_bytes()),  # type: ignore[arg-type]
        None, serialization.BestAvailableEncryption(password.encode())))
    return path


def _confluent_properties(path: Path, cluster: KafkaCluster, topic: str, group: str, port: int) -> Path:
    """A Confluent schema-registry.properties for the SASL_SSL listener, with properties schemahub ignores."""
    assert cluster.sasl_ssl is not None and cluster.sasl_ssl.client_certificate is not None
    truststore = _jks_truststore(cluster.sasl_ssl.ca_file, path.with_name("truststore.jks"), "trust-pass")
    keystore = _pkcs12_keystore(cluster.sasl_ssl.client_certificate, path.with_name("keystore.p12"), "key-pass")
    path.write_text(
        "# Confluent Schema Registry, as an operator wrote it\n"
        f"listeners=http://127.0.0.1:{port}\n"
        "host.name=127.0.0.1\n"
        f"kafkastore.bootstrap.servers=SASL_SSL://{cluster.secured_bootstrap}\n"
        "kafkastore.security.protocol=SASL_SSL\n"
        "kafkastore.sasl.mechanism=SCRAM-SHA-512\n"
        "kafkastore.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n"
        '    username="admin" password="admin-secret";\n'
        f"kafkastore.ssl.truststore.location={truststore}\n"
        "kafkastore.ssl.truststore.password=trust-pass\n"
        "kafkastore.ssl.truststore.type=JKS\n"
        f"kafkastore.ssl.keystore.location={keystore}\n"
        "kafkastore.ssl.keystore.password=key-pass\n"
        "kafkastore.ssl.keystore.type=PKCS12\n"
        f"kafkastore.topic={topic}\n"
        "kafkastore.topic.replication.factor=1\n"
        f"schema.registry.group.id={group}\n"
        "leader.eligibility=true\n"
        "schema.compatibility.level=full_transitive\n"
        "kafkastore.checkpoint.dir=/var/lib/schema-registry\n"
        "confluent.license=xyz\n"
        "some.unknown.setting=1\n"
    )
    return path


@pytest.fixture
def servers() -> Iterator[list[RegistryServer]]:
    started: list[RegistryServer] = []
    yield started
    for server in started:
        server.stop()


def _leader(cluster: KafkaCluster, group: str, servers: list[RegistryServer], timeout: float = 30.0) -> RegistryServer:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        url = announced_leader(cluster.bootstrap, group)  # (read over the plaintext listener)
        for server in servers:
            if server.url == url and server.process and server.process.poll() is None:
                return server
        time.sleep(0.2)
    raise AssertionError("no leader announced")


def test_three_instances_over_sasl_ssl(secured: KafkaCluster, tmp_path: Path, servers: list[RegistryServer]) -> None:
    topic = fresh_topic("secured-cluster")
    group = f"group-{topic}"
    settings = secured.client_settings()
    plain, oauth = secured.client_settings(mechanism="PLAIN"), secured.client_settings(mechanism="OAUTHBEARER")
    port = free_port()
    confluent = RegistryServer(
        tmp_path / "a.db", port=port,
        extra_args=("--config", str(_confluent_properties(tmp_path / "schema-registry.properties", secured, topic,
                                                           group, port)), "--log-level", "info"),
    )
    servers.append(confluent.start(timeout=60))
    assert _leader(secured, group, servers) is confluent
    config = _settings_file(tmp_path / "kafka.properties", plain)
    servers.append(RegistryServer(
        tmp_path / "b.db", extra_args=("--kafka", settings["bootstrap.servers"], "--kafka-config", str(config),
                                       "--topic", topic, "--group-id", group, "--log-level", "info",
                                       "--topic-replication-factor", "3", "--topic-min-isr", "2"),
    ).start(timeout=60))
    variables = {f"SCHEMAHUB_KAFKA_{name.upper().replace('.', '_')}": value
                 for name, value in oauth.items() if name != "bootstrap.servers"}
    identity_provider = secured.sasl_ssl.identity_provider  # type: ignore[union-attr]
    grants = identity_provider.grants
    servers.append(RegistryServer(
        tmp_path / "c.db", extra_args=("--topic", topic, "--group-id", group, "--log-level", "info"),
        env={"SCHEMAHUB_KAFKA": settings["bootstrap.servers"], **variables},
    ).start(timeout=60))
    assert identity_provider.grants > grants  # C's clients logged in with tokens from the endpoint

    accepted: dict[str, int] = {}
    for i, server in enumerate(servers * 2):  # the followers forward to the leader
        subject = f"secured-{i}"
        answer = _register(server.url, subject, _schema(f"S{i}"))
        assert answer.status_code == 200, answer.text
        accepted[subject] = answer.json()["id"]
    level = httpx.get(f"{confluent.url}/config", timeout=10).json()["compatibilityLevel"]
    assert level == "FULL_TRANSITIVE"  # schema.compatibility.level

    admin = AdminClient(settings)
    kafka_cluster = admin.describe_cluster().result().cluster_id
    for server in servers:
        scope = httpx.get(f"{server.url}/v1/metadata/id", timeout=10).json()["scope"]
        assert scope == {"path": [], "clusters": {"kafka-cluster": kafka_cluster, "schema-registry-cluster": group}}

    survivors = servers[1:]
    during: dict[str, int] = {}  # writes acknowledged while the leader dies and another takes over
    stop = threading.Event()

    def write_through_followers() -> None:
        for n in itertools.count():
            if stop.is_set():
                return
            try:
                answer = _register(survivors[n % 2].url, f"during-{n}", _schema(f"During{n}"), timeout=40)
            except httpx.HTTPError:
                continue
            if answer.status_code == 200:
                during[f"during-{n}"] = answer.json()["id"]

    writer = threading.Thread(target=write_through_followers)
    writer.start()
    try:
        confluent.kill()  # kill -9 of the leader, under writes
        successor = _leader(secured, group, survivors, timeout=60)
        for server in survivors:
            answer = _register(server.url, f"after-{server.port}", _schema(f"After{server.port}"), timeout=40)
            assert answer.status_code == 200, answer.text
            accepted[f"after-{server.port}"] = answer.json()["id"]
    finally:
        stop.set()
        writer.join()
    assert during
    accepted.update(during)
    for server in survivors:
        listed = {s["subject"]: s["id"] for s in httpx.get(f"{server.url}/schemas", timeout=10).json()}
        assert {s: listed.get(s) for s in accepted} == accepted, server.url
    assert successor in survivors

    log = confluent.log_path.read_text()
    ignored = [line for line in log.splitlines() if ": ignoring " in line]
    assert any("ignoring kafkastore.checkpoint.dir: no local checkpoint" in line for line in ignored), ignored
    assert any("ignoring confluent.license: a Confluent Platform (commercial) feature" in line for line in ignored)
    assert any("ignoring some.unknown.setting: not a setting schemahub knows" in line for line in ignored)
    assert len(ignored) == 3, ignored
    assert f"created topic {topic}: 1 partition, replication factor 1, min.insync.replicas 1" in log
    follower_log = servers[1].log_path.read_text()  # B asked for more than the topic A created has
    assert f"using topic {topic}: 1 partition, replication factor 1, min.insync.replicas 1" in follower_log
    assert f"the replication factor of topic {topic} is 1, less than the 3 asked for" in follower_log
    assert f"topic {topic} has min.insync.replicas=1, not the 2 asked for" in follower_log
    for server, secret in zip(servers, ("admin-secret", plain["sasl.password"], oauth["sasl.oauthbearer.client.secret"]),
                              strict=True):
        text = server.log_path.read_text()
        assert secret not in text and "trust-pass" not in text and "key-pass" not in text
        assert "-----BEGIN" not in text  # (the keystore's key and the certificates, as PEM text)
        assert "password=***" in text or "secret=***" in text  # the settings in effect, secrets hidden


def test_a_permission_revoked_at_run_time_is_a_json_5xx(secured: KafkaCluster, tmp_path: Path,
                                                       servers: list[RegistryServer]) -> None:
    """Kafka denies the registry's user write access to its topic while it runs: writes are answered
    with Confluent-style 50x JSON (never a traceback, never a success), reads go on."""
    topic = fresh_topic("revoked")
    config = _settings_file(tmp_path / "kafka.properties", secured.client_settings(*LIMITED))
    server = RegistryServer(tmp_path / "r.db", extra_args=(
        "--kafka", secured.secured_bootstrap, "--kafka-config", str(config), "--topic", topic,
        "--group-id", f"group-{topic}")).start(timeout=60)
    servers.append(server)
    accepted = _register(server.url, "before", _schema("Before"))
    assert accepted.status_code == 200, accepted.text
    deny = AclBinding(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, f"User:{LIMITED[0]}", "*",
                      AclOperation.WRITE, AclPermissionType.DENY)
    admin = AdminClient(secured.client_settings())
    for future in admin.create_acls([deny]).values():
        future.result(30)
    deadline = time.monotonic() + 60  # (a hang guard: the broker applies the ACL within moments)
    for n in itertools.count():
        answer = _register(server.url, f"after-{n}", _schema(f"After{n}"), timeout=40)
        if answer.status_code != 200:
            break
        assert time.monotonic() < deadline, "writes still succeed after the ACL denies them"
    assert answer.status_code in (500, 503) and answer.headers["content-type"].startswith("application/"), answer.text
    body = answer.json()
    assert body["error_code"] // 100 == answer.status_code and topic in body["message"], body
    listed = httpx.get(f"{server.url}/subjects", timeout=10)
    assert listed.status_code == 200 and "before" in listed.json()
    assert "Traceback" not in server.log_path.read_text()


# -- serdes and streams -----------------------------------------------------------------------------


def _topics(cluster: KafkaCluster, *names: str, partitions: int = 1) -> None:
    admin = AdminClient(cluster.client_settings())
    for future in admin.create_topics([NewTopic(n, partitions, 1) for n in names]).values():
        future.result(30)


def test_serde_round_trip_over_sasl_ssl(secured: KafkaCluster, live_registry: RegistryServer) -> None:
    topic = f"secured-serde-{uuid.uuid4().hex[:8]}"
    _topics(secured, topic)
    client = serde.SchemaRegistryClient({"url": live_registry.url})
    schema = json.dumps({"type": "record", "name": "Payment", "fields": [{"name": "amount", "type": "int"}]})
    producer = SerializingProducer({**secured.client_settings(), "key.serializer": StringSerializer(),
                                    "value.serializer": AvroSerializer(client, schema)})
    for i in range(3):
        producer.produce(topic, key=f"k{i}", value={"amount": i})
    assert producer.flush(30) == 0
    consumer = DeserializingConsumer({
        **secured.client_settings(), "group.id": f"g-{topic}", "auto.offset.reset": "earliest",
        "key.deserializer": StringDeserializer(), "value.deserializer": AvroDeserializer(client),
    })
    consumer.subscribe([topic])
    got: list = []
    deadline = time.monotonic() + 30
    while len(got) < 3 and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None:
            got.append((msg.key(), msg.value()))
    consumer.close()
    assert got == [(f"k{i}", {"amount": i}) for i in range(3)]


def test_streams_application_over_sasl_ssl(secured: KafkaCluster, tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:8]
    source, counts = f"secured-in-{suffix}", f"secured-counts-{suffix}"
    _topics(secured, source, counts, partitions=2)
    settings = secured.client_settings()
    producer = SerializingProducer({**settings, "key.serializer": StringSerializer(),
                                    "value.serializer": StringSerializer()})
    for i in range(30):
        producer.produce(source, key=f"k{i % 3}", value=str(i))
    assert producer.flush(30) == 0
    text, long = Serdes.string(), Serdes.long()
    builder = StreamsBuilder()
    builder.stream(source, text.deserializer, text.deserializer).group_by_key().count(name="counts").to_stream().to(
        counts, text.serializer, long.serializer)
    app = KafkaStreams(builder.build(), {
        "application.id": f"secured-app-{suffix}", "bootstrap.servers": settings.pop("bootstrap.servers"),
        "state.dir": str(tmp_path), "processing.guarantee": "exactly_once_v2", **settings,
    })
    app.run(idle_timeout_s=3, install_signal_handlers=False)
    reader = Consumer({**secured.client_settings(), "group.id": f"r-{suffix}", "auto.offset.reset": "earliest",
                       "isolation.level": "read_committed"})
    reader.subscribe([counts])
    latest: dict[str, int] = {}
    deadline = time.monotonic() + 30
    while sum(latest.values()) < 30 and time.monotonic() < deadline:
        msg = reader.poll(0.5)
        if msg is not None and msg.error() is None:
            latest[msg.key().decode()] = long.deserializer(msg.value(), None)
    reader.close()
    assert latest == {"k0": 10, "k1": 10, "k2": 10}
