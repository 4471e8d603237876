"""A SASL_SSL listener for a dev cluster: TLS certificates made on the spot, SCRAM, PLAIN and
OAUTHBEARER logins.

:class:`CertificateAuthority` issues PEM certificates (a CA of its own, a server
certificate for 127.0.0.1, client certificates); :class:`SaslSsl` is what
:class:`~registry.devkafka.cluster.KafkaCluster` needs to open a ``SASL_SSL``
listener beside the plaintext one: SCRAM-SHA-512 and SCRAM-SHA-256 users (made
when the storage is formatted), PLAIN users (in the listener's JAAS
configuration), OAUTHBEARER clients (tokens from a
:class:`~registry.devkafka.oauth.DevIdentityProvider`, checked by the broker
against its JWKS), the broker's certificate and key, a client certificate
required of every client (mutual TLS, as on clusters that ask for both), and ACLs enforced
(``StandardAuthorizer``: a resource without ACLs stays open to everyone, so a
test denies what it wants denied). :meth:`SaslSsl.client_settings` are the
librdkafka settings of a client of that listener.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from registry.devkafka.oauth import DevIdentityProvider

LISTENER = "SASL_SSL"
ADMIN = ("admin", "admin-secret")
OAUTH_CLIENT = ("svc-kafka", "svc-kafka-secret")
KAFKA_AUDIENCE = "kafka"
SCRAM_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256")
OAUTH_MODULE = "org.apache.kafka.common.security.oauthbearer"


class CertificateAuthority:
    """A throwaway CA writing PEM files into ``directory`` (``<name>.pem``, ``<name>.key``)."""

    def __init__(self, directory: Path, name: str = "ca") -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"schemahub dev {name}")])
        self._name = subject
        self.certificate = (
            _builder(subject, subject, self._key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(self._key, hashes.SHA256())
        )
        self.path = directory / f"{name}.pem"
        self.path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def issue(self, name: str, *, hosts: tuple[str, ...] = (), client: bool = False) -> tuple[Path, Path]:
        """A certificate for ``hosts`` (IP addresses or DNS names), or a client certificate:
        its PEM file and its unencrypted PKCS#8 key file."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = _builder(subject, self._name, key.public_key()).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        certificate = builder.sign(self._key, hashes.SHA256())
        cert_path, key_path = self.directory / f"{name}.pem", self.directory / f"{name}.key"
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        key_path.chmod(0o600)
        return cert_path, key_path


def _builder(subject: x509.Name, issuer: x509.Name, public_key: Any) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=7))
    )


@dataclass
class SaslSsl:
    """The SASL_SSL listener's users and TLS files (made by :meth:`prepare`)."""

    scram_users: dict[str, str] = field(default_factory=lambda: dict([ADMIN]))
    plain_users: dict[str, str] = field(default_factory=lambda: dict([ADMIN]))
    oauth_clients: dict[str, tuple[str, tuple[str, ...]]] = field(
        default_factory=lambda: {OAUTH_CLIENT[0]: (OAUTH_CLIENT[1], ())})
    super_users: tuple[str, ...] = ("ANONYMOUS", ADMIN[0])
    ca: CertificateAuthority | None = None
    keystore: Path | None = None
    client_certificate: tuple[Path, Path] | None = None  # PEM certificate and key the clients present
    identity_provider: DevIdentityProvider | None = None

    def prepare(self, directory: Path, host: str) -> None:
        """Make the CA, the broker's certificate (for ``host`` only: a client that reaches it by
        another name fails hostname verification) and the clients' certificate; start the identity
        provider of the OAUTHBEARER clients."""
        self.identity_provider = DevIdentityProvider(self.oauth_clients, [KAFKA_AUDIENCE])
        self.ca = CertificateAuthority(directory / "tls")
        cert, key = self.ca.issue("broker", hosts=(host,))
        self.keystore = directory / "tls" / "broker-keystore.pem"  # Kafka's PEM keystore: key, then chain
        self.keystore.write_bytes(key.read_bytes() + cert.read_bytes())
        self.keystore.chmod(0o600)
        self.client_certificate = self.ca.issue("client", client=True)

    @property
    def ca_file(self) -> Path:
        if self.ca is None:
            raise RuntimeError("the listener has not been prepared")
        return self.ca.path

    def jvm_options(self) -> list[str]:
        """The broker JVM's options: Kafka 4 fetches only the OAuth URLs it is told it may."""
        if self.identity_provider is None:
            raise RuntimeError("the listener has not been prepared")
        return [f"-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls={self.identity_provider.jwks_url}"]

    def broker_properties(self) -> dict[str, str]:
        """What a node's ``server.properties`` adds for this listener (besides its address)."""
        if self.keystore is None or self.identity_provider is None:
            raise RuntimeError("the listener has not been prepared")
        name = LISTENER.lower()
        plain = " ".join(f'user_{user}="{password}"' for user, password in self.plain_users.items())
        props = {
            "sasl.enabled.mechanisms": ",".join((*SCRAM_MECHANISMS, "PLAIN", "OAUTHBEARER")),
            f"listener.name.{name}.plain.sasl.jaas.config":
                f"org.apache.kafka.common.security.plain.PlainLoginModule required {plain};",
            f"listener.name.{name}.oauthbearer.sasl.jaas.config": f"{OAUTH_MODULE}.OAuthBearerLoginModule required;",
            f"listener.name.{name}.oauthbearer.sasl.server.callback.handler.class":
                f"{OAUTH_MODULE}.OAuthBearerValidatorCallbackHandler",
            "sasl.oauthbearer.jwks.endpoint.url": self.identity_provider.jwks_url,
            "sasl.oauthbearer.expected.audience": KAFKA_AUDIENCE,
            "sasl.oauthbearer.expected.issuer": self.identity_provider.issuer,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.keystore),
            f"listener.name.{name}.ssl.client.auth": "required",  # (a SASL_SSL listener ignores ssl.client.auth)
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_file),
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "true",
            "super.users": ";".join(f"User:{user}" for user in self.super_users),
        }
        for mechanism in SCRAM_MECHANISMS:
            props[f"listener.name.{name}.{mechanism.lower()}.sasl.jaas.config"] = (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            )
        return props

    def format_arguments(self) -> list[str]:
        """The storage tool's arguments creating the SCRAM users."""
        args: list[str] = []
        for user, password in self.scram_users.items():
            for mechanism in SCRAM_MECHANISMS:
                args += ["--add-scram", f"{mechanism}=[name={user},password={password}]"]
        return args

    def client_settings(
        self, bootstrap: str, user: str | None = None, password: str | None = None, mechanism: str = "SCRAM-SHA-512"
    ) -> dict[str, str]:
        """librdkafka settings of a client logging in as ``user`` on ``bootstrap`` (this listener): a
        SCRAM or PLAIN user (``admin`` by default), or an OAUTHBEARER client (``svc-kafka`` by default)
        fetching its tokens from the identity provider; every client presents the clients' certificate."""
        if self.client_certificate is None:
            raise RuntimeError("the listener has not been prepared")
        cert, key = self.client_certificate
        settings = {"bootstrap.servers": bootstrap, "security.protocol": LISTENER, "sasl.mechanism": mechanism,
                    "ssl.ca.location": str(self.ca_file), "ssl.certificate.location": str(cert),
                    "ssl.key.location": str(key)}
        if mechanism == "OAUTHBEARER":
            assert self.identity_provider is not None
            client = user or OAUTH_CLIENT[0]
            secret = self.oauth_clients.get(client, ("", ()))[0] if password is None else password
            return {**settings, "sasl.oauthbearer.method": "oidc", "sasl.oauthbearer.client.id": client,
                    "sasl.oauthbearer.client.secret": secret,
                    "sasl.oauthbearer.token.endpoint.url": self.identity_provider.token_url}
        known = self.plain_users if mechanism == "PLAIN" else self.scram_users
        user = user or ADMIN[0]
        return {**settings, "sasl.username": user, "sasl.password": known.get(user, "") if password is None else password}

    def close(self) -> None:
        """Stop the identity provider."""
        if self.identity_provider is not None:
            self.identity_provider.close()
            self.identity_provider = None
