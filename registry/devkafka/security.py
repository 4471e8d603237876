"""A SASL_SSL listener for a dev cluster: TLS certificates made on the spot, SCRAM users.

:class:`CertificateAuthority` issues PEM certificates (a CA of its own, a server
certificate for 127.0.0.1, client certificates); :class:`SaslSsl` is what
:class:`~registry.devkafka.cluster.KafkaCluster` needs to open a ``SASL_SSL``
listener beside the plaintext one: SCRAM-SHA-512 and SCRAM-SHA-256 users (made
when the storage is formatted) and PLAIN users (in the listener's JAAS
configuration), the broker's certificate and key, and ACLs enforced
(``StandardAuthorizer``: a resource without ACLs stays open to everyone, so
a test denies what it wants denied). :meth:`SaslSsl.client_settings` are the
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

LISTENER = "SASL_SSL"
ADMIN = ("admin", "admin-secret")
SCRAM_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256")


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
    super_users: tuple[str, ...] = ("ANONYMOUS", ADMIN[0])
    ca: CertificateAuthority | None = None
    keystore: Path | None = None

    def prepare(self, directory: Path, host: str) -> None:
        """Make the CA and the broker's certificate (for ``host`` and ``localhost``)."""
        self.ca = CertificateAuthority(directory / "tls")
        cert, key = self.ca.issue("broker", hosts=(host, "localhost"))
        self.keystore = directory / "tls" / "broker-keystore.pem"  # Kafka's PEM keystore: key, then chain
        self.keystore.write_bytes(key.read_bytes() + cert.read_bytes())
        self.keystore.chmod(0o600)

    @property
    def ca_file(self) -> Path:
        if self.ca is None:
            raise RuntimeError("the listener has not been prepared")
        return self.ca.path

    def broker_properties(self) -> dict[str, str]:
        """What a node's ``server.properties`` adds for this listener (besides its address)."""
        if self.keystore is None:
            raise RuntimeError("the listener has not been prepared")
        name = LISTENER.lower()
        plain = " ".join(f'user_{user}="{password}"' for user, password in self.plain_users.items())
        props = {
            "sasl.enabled.mechanisms": ",".join((*SCRAM_MECHANISMS, "PLAIN")),
            f"listener.name.{name}.plain.sasl.jaas.config":
                f"org.apache.kafka.common.security.plain.PlainLoginModule required {plain};",
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.keystore),
            "ssl.client.auth": "none",
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
        self, bootstrap: str, user: str = ADMIN[0], password: str | None = None, mechanism: str = "SCRAM-SHA-512"
    ) -> dict[str, str]:
        """librdkafka settings of a client logging in as ``user`` on ``bootstrap`` (this listener)."""
        known = self.plain_users if mechanism == "PLAIN" else self.scram_users
        return {
            "bootstrap.servers": bootstrap,
            "security.protocol": LISTENER,
            "sasl.mechanism": mechanism,
            "sasl.username": user,
            "sasl.password": known.get(user, "") if password is None else password,
            "ssl.ca.location": str(self.ca_file),
        }
