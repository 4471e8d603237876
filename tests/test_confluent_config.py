"""Confluent Schema Registry's settings as ``schemahub serve`` reads them: the properties format,
``SCHEMA_REGISTRY_*`` variables as Confluent's image names them, JAAS configurations, keystores
(JKS made by keytool, PKCS12, PEM), the HTTPS listener from ``ssl.*``, and ``mode.mutability``."""

from __future__ import annotations

import argparse
import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import load_pem_x509_certificate

from registry.cli import CommandError
from registry.cli.confluent_config import apply_confluent_config, parse_jaas, read_confluent
from registry.cli.keystores import KeystoreError, key_and_chain_pem, trusted_pem
from registry.cli.properties import env_properties, parse_properties
from registry.devkafka.security import CertificateAuthority
from registry.errors import OperationNotPermitted
from registry.service import Registry
from registry.stores.kafka_config import redact, shown
from registry.stores.sqlite import SQLiteStore
from tests.security_support import SecureServer
from tests.server import free_port


def test_properties_as_java_reads_them() -> None:
    text = (
        "# comment\n! also a comment\n  key1 = value one  \nkey2:value2\nkey3 value3\n"
        "multi = first \\\n        second\\\n  third\nescaped\\ key = a\\tb\\u00e9\\\\\nempty=\nkey1=later wins\n"
    )
    assert parse_properties(text) == {
        "key1": "later wins", "key2": "value2", "key3": "value3", "multi": "first secondthird",
        "escaped key": "a\tbé\\", "empty": "",
    }


def test_environment_variables_as_confluent_images_name_them() -> None:
    environ = {
        "SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS": "b:9092",
        "SCHEMA_REGISTRY_SCHEMA__REGISTRY_X": "dash",  # __ is -
        "SCHEMA_REGISTRY_SOME___UNDERSCORE": "under",  # ___ is _
        "SCHEMA_REGISTRY_HEAP_OPTS": "-Xmx1g",
        "OTHER": "x",
    }
    assert env_properties(environ, "SCHEMA_REGISTRY_", ["SCHEMA_REGISTRY_HEAP_OPTS"]) == {
        "kafkastore.bootstrap.servers": "b:9092", "schema-registry.x": "dash", "some_underscore": "under",
    }


def test_jaas_configurations_become_librdkafka_settings() -> None:
    keep = lambda name, text: name  # noqa: E731 - no files in this test
    scram = read_confluent({
        "kafkastore.bootstrap.servers": "PLAINTEXT://a:9092,SASL_SSL://b:9093,c:9094",
        "kafkastore.security.protocol": "SASL_SSL", "kafkastore.sasl.mechanism": "SCRAM-SHA-256",
        "kafkastore.sasl.jaas.config": 'org.apache.kafka.common.security.scram.ScramLoginModule required '
                                       'username="svc" password="p\\"w;d";',
        "kafkastore.ssl.endpoint.identification.algorithm": "",
    }, keep)
    assert scram.kafka == {
        "bootstrap.servers": "b:9093,c:9094", "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": "svc", "sasl.password": 'p"w;d', "ssl.endpoint.identification.algorithm": "none",
    }
    oauth = read_confluent({
        "kafkastore.security.protocol": "SASL_SSL", "kafkastore.sasl.mechanism": "OAUTHBEARER",
        "kafkastore.sasl.oauthbearer.token.endpoint.url": "https://idp/token",
        "kafkastore.sasl.login.callback.handler.class": "org.apache.kafka.common.security.oauthbearer."
                                                        "OAuthBearerLoginCallbackHandler",
        "kafkastore.sasl.jaas.config": "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule "
                                       "required clientId=registry clientSecret=s3cret scope=kafka "
                                       "extension_logicalCluster=lkc-1;",
    }, keep)
    assert oauth.kafka == {
        "security.protocol": "SASL_SSL", "sasl.mechanism": "OAUTHBEARER", "sasl.oauthbearer.method": "oidc",
        "sasl.oauthbearer.token.endpoint.url": "https://idp/token", "sasl.oauthbearer.client.id": "registry",
        "sasl.oauthbearer.client.secret": "s3cret", "sasl.oauthbearer.scope": "kafka",
        "sasl.oauthbearer.extensions": "logicalCluster=lkc-1",
    }
    assert "a Java class" in oauth.ignored["kafkastore.sasl.login.callback.handler.class"]
    assert parse_jaas('x.y.PlainLoginModule required username=u password="p";') == (
        "PlainLoginModule", {"username": "u", "password": "p"})
    with pytest.raises(CommandError, match="login module DigestLoginModule is not known"):
        read_confluent({"kafkastore.sasl.jaas.config": "DigestLoginModule required;"}, keep)


def test_secrets_are_never_shown() -> None:
    settings = {"sasl.username": "svc", "sasl.password": "hunter2", "ssl.key.password": "k", "ssl.ca.location": "/ca",
                "sasl.oauthbearer.client.secret": "cs", "sasl.jaas.config": "x"}
    text = shown(settings)
    assert "hunter2" not in text and "cs" not in text.split("client.secret=")[1][:3]
    assert "sasl.username=svc" in text and "sasl.password=***" in text and "ssl.ca.location=/ca" in text
    assert redact("login failed for hunter2 with cs", settings) == "login failed for *** with ***"
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    assert shown({"ssl.ca.pem": pem * 2, "ssl.key.pem": "-----BEGIN PRIVATE KEY-----\nMIIE\n"}) == (
        "ssl.ca.pem=<PEM, 2 block(s)>, ssl.key.pem=***")  # one line, no key


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[CertificateAuthority, Path, Path]:
    ca = CertificateAuthority(tmp_path_factory.mktemp("tls"))
    cert, key = ca.issue("registry", hosts=("127.0.0.1",))
    return ca, cert, key


def _pkcs12(path: Path, cert: Path, key: Path, password: str) -> Path:
    private = serialization.load_pem_private_key(key.read_bytes(), None)
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"registry", private, load_pem_x509_certificate(cert.read_bytes()),  # type: ignore[arg-type]
        None, serialization.BestAvailableEncryption(password.encode())))
    return path


def test_keystores_of_each_kind(tls, tmp_path: Path) -> None:
    ca, cert, key = tls
    assert trusted_pem(ca.path) == ca.path.read_text()
    store = _pkcs12(tmp_path / "k.p12", cert, key, "store-pass")
    key_text, chain = key_and_chain_pem(store, "store-pass", kind="PKCS12")
    assert chain == cert.read_text() and "PRIVATE KEY" in key_text
    with pytest.raises(KeystoreError, match="wrong password"):
        key_and_chain_pem(store, "nope", kind="PKCS12")
    pem_store = tmp_path / "keystore.pem"
    pem_store.write_text(key.read_text() + cert.read_text())
    assert key_and_chain_pem(pem_store, kind="PEM")[1] == cert.read_text()
    keytool = shutil.which("keytool") or str(Path(shutil.which("java") or "java").resolve().parent / "keytool")
    jks = tmp_path / "trust.jks"
    subprocess.run([keytool, "-importcert", "-noprompt", "-alias", "ca", "-file", str(ca.path), "-keystore", str(jks),
                    "-storetype", "JKS", "-storepass", "changeit"], check=True, capture_output=True, timeout=60)
    assert trusted_pem(jks, "changeit", "JKS") == ca.path.read_text()
    with pytest.raises(KeystoreError, match="wrong password"):
        trusted_pem(jks, "wrong", "JKS")


def test_https_listener_from_confluent_ssl_settings(tls, tmp_path: Path) -> None:
    ca, cert, key = tls
    store = _pkcs12(tmp_path / "registry.p12", cert, key, "listener-pass")
    config = tmp_path / "schema-registry.properties"
    config.write_text(  # (--port, given by the test, wins over the listener's port)
        f"listeners=https://127.0.0.1:{free_port()}\nssl.keystore.location={store}\nssl.keystore.type=PKCS12\n"
        "ssl.keystore.password=listener-pass\nssl.key.password=listener-pass\nssl.cipher.suites=TLS_X\n"
        "mode.mutability=false\nschema.compatibility.level=none\n"
    )
    context = ssl.create_default_context(cafile=str(ca.path))
    with SecureServer(tmp_path / "r.db", extra_args=("--config", str(config)), tls=context) as server:
        assert httpx.get(f"{server.url}/config", verify=context).json()["compatibilityLevel"] == "NONE"
        refused = httpx.put(f"{server.url}/mode", json={"mode": "READONLY"}, verify=context)
        assert refused.status_code == 422 and refused.json() == {
            "error_code": 42205, "message": "Mode changes are not allowed"}
    log = server.log_path.read_text()
    assert "ignoring ssl.cipher.suites: Java cipher suite names" in log and "listener-pass" not in log


def test_a_setting_that_cannot_work_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "schema-registry.properties"
    config.write_text("listeners=https://0.0.0.0:8081\n")
    args = argparse.Namespace(config=str(config))
    with pytest.raises(CommandError, match="listeners is https but ssl.keystore.location is not given"):
        apply_confluent_config(args, {})
    config.write_text("listeners=ftp://x\n")
    with pytest.raises(CommandError, match="expected http://HOST:PORT"):
        apply_confluent_config(args, {})


def test_options_and_their_variables_win_over_confluent_settings(tmp_path: Path) -> None:
    config = tmp_path / "schema-registry.properties"
    config.write_text("listeners=http://0.0.0.0:8085\nkafkastore.topic=from-file\nhost.name=reg1\n")
    args = argparse.Namespace(config=str(config), port=9000, host=None, topic=None)
    apply_confluent_config(args, {"SCHEMA_REGISTRY_KAFKASTORE_TOPIC": "from-env"})
    assert (args.port, args.host, args.topic, args.advertised_host) == (9000, "0.0.0.0", "from-env", "reg1")


def test_mode_mutability_false_refuses_mode_changes(tmp_path: Path) -> None:
    registry = Registry(SQLiteStore(tmp_path / "r.db"), mode_mutability=False)
    try:
        for change in (lambda: registry.set_mode(None, "READONLY"), lambda: registry.delete_mode("s")):
            with pytest.raises(OperationNotPermitted, match="Mode changes are not allowed"):
                change()
        assert registry.get_mode(None) == "READWRITE"
    finally:
        registry.close()
