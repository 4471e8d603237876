"""``schemahub serve --config schema-registry.properties``: Confluent Schema Registry's settings.

The properties come from the file and from ``SCHEMA_REGISTRY_*`` environment
variables, named as Confluent's container image names them
(``SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS`` is ``kafkastore.bootstrap.servers``;
a variable wins over the file). Each property that applies sets what the
matching ``serve`` option sets, unless that option or its ``SCHEMAHUB_*``
variable is given; the ``kafkastore.*`` client settings become librdkafka
settings (under ``--kafka-config`` and ``SCHEMAHUB_KAFKA_*``, which win). Every
other property is listed, one line each, with the reason it is ignored; none is
fatal. A value that cannot work (a keystore that does not open, a listener that
is not a URL) is a one-line error.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import CommandError
from .keystores import KeystoreError, key_and_chain_pem, trusted_pem
from .properties import property_name, read_properties

log = logging.getLogger("schemahub.config")

ENV_PREFIX = "SCHEMA_REGISTRY_"
# The image's variables that are not registry properties (JVM and log4j settings).
IMAGE_VARIABLES = (
    "SCHEMA_REGISTRY_OPTS", "SCHEMA_REGISTRY_HEAP_OPTS", "SCHEMA_REGISTRY_JMX_OPTS",
    "SCHEMA_REGISTRY_JVM_PERFORMANCE_OPTS", "SCHEMA_REGISTRY_LOG4J_OPTS", "SCHEMA_REGISTRY_LOG4J_ROOT_LOGLEVEL",
    "SCHEMA_REGISTRY_LOG4J_LOGGERS", "SCHEMA_REGISTRY_TOOLS_LOG4J_LOGLEVEL", "SCHEMA_REGISTRY_TOOLS_LOG4J_OPTS",
    "SCHEMA_REGISTRY_CLASSPATH",
)

# Java client settings under kafkastore.* that librdkafka takes under the same name.
_SAME_NAME = (
    "security.protocol", "sasl.mechanism", "sasl.kerberos.service.name", "sasl.kerberos.kinit.cmd",
    "sasl.kerberos.min.time.before.relogin", "sasl.oauthbearer.token.endpoint.url", "sasl.oauthbearer.scope",
    "client.id", "metadata.max.age.ms", "reconnect.backoff.ms", "reconnect.backoff.max.ms", "retry.backoff.ms",
    "socket.connection.setup.timeout.ms", "connections.max.idle.ms",
)

# Why a property is ignored: exact names first, then the longest matching prefix.
_IGNORED: dict[str, str] = {
    "kafkastore.connection.url": "ZooKeeper is not used: give kafkastore.bootstrap.servers",
    "kafkastore.group.id": "each instance's readers use a group of their own; the election group is "
                           "schema.registry.group.id",
    "kafkastore.timeout.ms": "writes wait up to 10 s for Kafka (not configurable)",
    "kafkastore.init.timeout.ms": "the start waits up to 60 s to read the topic (see --kafka-wait for the broker)",
    "kafkastore.write.max.retries": "a write is one Kafka transaction; a failed one is answered 50x, not retried",
    "kafkastore.checkpoint.dir": "no local checkpoint: the topic is replayed at start",
    "kafkastore.checkpoint.version": "no local checkpoint: the topic is replayed at start",
    "kafkastore.update.handlers": "Java classes",
    "kafkastore.topic.skip.validation": "the topic is always checked (1 partition, compacted)",
    "kafkastore.sasl.login.callback.handler.class": "a Java class: librdkafka fetches OAUTHBEARER tokens itself "
                                                    "from sasl.oauthbearer.token.endpoint.url",
    "kafkastore.sasl.kerberos.ticket.renew.jitter": "Java's Kerberos login; librdkafka runs kinit",
    "kafkastore.sasl.kerberos.ticket.renew.window.factor": "Java's Kerberos login; librdkafka runs kinit",
    "kafkastore.ssl.keymanager.algorithm": "a Java security provider setting (OpenSSL here)",
    "kafkastore.ssl.trustmanager.algorithm": "a Java security provider setting (OpenSSL here)",
    "kafkastore.ssl.provider": "a Java security provider setting (OpenSSL here)",
    "kafkastore.ssl.protocol": "OpenSSL negotiates TLS 1.2 or 1.3",
    "kafkastore.ssl.enabled.protocols": "OpenSSL negotiates TLS 1.2 or 1.3",
    "kafkastore.ssl.cipher.suites": "Java cipher suite names (OpenSSL's differ: set ssl.cipher.suites in "
                                    "--kafka-config)",
    "authentication.method": "Basic users come from --auth-file (schemahub users), not a JAAS realm",
    "authentication.realm": "Basic users come from --auth-file (schemahub users), not a JAAS realm",
    "authentication.roles": "access rules come from --auth-file",
    "inter.instance.protocol": "forwarding uses the URL each instance advertises (host.name and the listener)",
    "schema.registry.inter.instance.protocol": "forwarding uses the URL each instance advertises",
    "inter.instance.listener.name": "forwarding uses the URL each instance advertises",
    "leader.election.delay": "an eligible instance joins the election once it has replayed the topic",
    "leader.election.sticky": "leadership always stays put until its holder leaves the group",
    "leader.connect.timeout.ms": "forwarding has its own timeouts",
    "leader.read.timeout.ms": "forwarding has its own timeouts",
    "kafkagroup.session.timeout.ms": "the election group's session is 6 s",
    "schema.providers": "Java classes: AVRO, PROTOBUF and JSON are built in",
    "debug": "use --log-level debug",
    "host.port": "the advertised port is the listener's",
    "listener.protocol.map": "one listener, named by its scheme",
    "ssl.keystore.reload": "certificates are read at start",
    "ssl.keymanager.algorithm": "a Java security provider setting (OpenSSL here)",
    "ssl.trustmanager.algorithm": "a Java security provider setting (OpenSSL here)",
    "ssl.provider": "a Java security provider setting (OpenSSL here)",
    "ssl.protocol": "Python's ssl negotiates TLS 1.2 or 1.3",
    "ssl.enabled.protocols": "Python's ssl negotiates TLS 1.2 or 1.3",
    "ssl.cipher.suites": "Java cipher suite names",
    "ssl.endpoint.identification.algorithm": "a server setting with no use here",
}
_IGNORED_PREFIXES: dict[str, str] = {
    "zookeeper.": "ZooKeeper is not used",
    "metrics.": "metrics are at /metrics in Prometheus' format",
    "confluent.": "a Confluent Platform (commercial) feature",
    "resource.extension": "Java extensions",
    "rest.servlet.": "Java servlet settings",
    "schema.registry.resource.extension": "Java extensions",
    "access.control.": "CORS is not served",
    "response.": "responses follow the Accept header",
    "schema.cache.": "schemas are kept in memory, parsed once",
    "schema.search.": "listing limits are fixed",
    "subject.search.": "listing limits are fixed",
    "context.search.": "listing limits are fixed",
    "kafkastore.sasl.kerberos.": "Java's Kerberos login; librdkafka runs kinit",
    "kafkastore.": "a Java client setting librdkafka does not take (give librdkafka's in --kafka-config)",
}
UNKNOWN = "not a setting schemahub knows"


@dataclass
class ConfluentSettings:
    """What the properties set: ``serve`` options (by their ``dest``), librdkafka settings
    (``bootstrap.servers`` too) and the ignored properties with their reasons."""

    options: dict[str, Any] = field(default_factory=dict)
    kafka: dict[str, str] = field(default_factory=dict)
    ignored: dict[str, str] = field(default_factory=dict)


def _bool(name: str, value: str) -> bool:
    text = value.strip().lower()
    if text not in ("true", "false"):
        raise CommandError(f"{name}={value}: expected true or false")
    return text == "true"


def _int(name: str, value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise CommandError(f"{name}={value}: expected a whole number") from None


def _level(name: str, value: str) -> str:
    from ..config import LEVELS

    level = value.strip().upper()
    if level not in LEVELS:
        raise CommandError(f"{name}={value}: expected one of {', '.join(LEVELS)}")
    return level


_JAAS_OPTION = re.compile(r'([A-Za-z_][\w.]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;"]+)')
_JAAS_HEAD = re.compile(r"\s*([\w.$]+)\s+(required|requisite|sufficient|optional)\b")


def parse_jaas(text: str, name: str = "sasl.jaas.config") -> tuple[str, dict[str, str]]:
    """``(login module's class name, options)`` of a one-module JAAS configuration."""
    head = _JAAS_HEAD.match(text)
    if head is None:
        raise CommandError(f"{name}: expected '<LoginModule class> required key=\"value\" ...;'")
    options = {}
    for match in _JAAS_OPTION.finditer(text, head.end()):
        value = match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        options[match.group(1)] = value
    return head.group(1).rsplit(".", 1)[-1], options


def _jaas_settings(module: str, options: dict[str, str], name: str) -> dict[str, str]:
    if module in ("PlainLoginModule", "ScramLoginModule"):
        return {"sasl.username": options.get("username", ""), "sasl.password": options.get("password", "")}
    if module == "OAuthBearerLoginModule":
        settings = {"sasl.oauthbearer.method": "oidc"}
        for jaas, librdkafka in (("clientId", "client.id"), ("clientSecret", "client.secret"), ("scope", "scope")):
            if jaas in options:
                settings[f"sasl.oauthbearer.{librdkafka}"] = options[jaas]
        extensions = [f"{k[len('extension_'):]}={v}" for k, v in options.items() if k.startswith("extension_")]
        if extensions:
            settings["sasl.oauthbearer.extensions"] = ",".join(extensions)
        return settings
    if module == "Krb5LoginModule":
        settings = {}
        if "keyTab" in options:
            settings["sasl.kerberos.keytab"] = options["keyTab"]
        if "principal" in options:
            settings["sasl.kerberos.principal"] = options["principal"]
        return settings
    raise CommandError(f"{name}: login module {module} is not known (PLAIN, SCRAM, OAUTHBEARER or Kerberos)")


class _Reading:
    """One pass over the properties: each one taken is applied, the rest are ignored."""

    def __init__(self, props: Mapping[str, str]) -> None:
        self.props = props
        self.taken: set[str] = set()
        self.result = ConfluentSettings()

    def take(self, *names: str) -> str | None:
        """The value of the first of ``names`` given (all of them count as applied)."""
        found = None
        for name in names:
            if name in self.props:
                self.taken.add(name)
                if found is None:
                    found = self.props[name]
        return found

    def option(self, dest: str, *names: str, convert: Callable[[str, str], Any] | None = None) -> None:
        value = self.take(*names)
        if value is not None:
            self.result.options[dest] = convert(names[0], value) if convert else value.strip()

    def ignore(self, name: str, why: str) -> None:
        self.taken.add(name)
        self.result.ignored[name] = why


def _listener(reading: _Reading) -> str | None:
    """Host and port from ``listeners`` (the first one); the scheme, http or https."""
    listeners = reading.take("listeners")
    legacy_port = reading.take("port")
    if not listeners:
        if legacy_port is not None:
            reading.result.options["port"] = _int("port", legacy_port)
        return None
    first, *others = [item.strip() for item in listeners.split(",") if item.strip()] or [""]
    try:
        url = urlsplit(first)
        port = url.port
    except ValueError:
        port = None
    if url.scheme.lower() not in ("http", "https") or port is None:
        raise CommandError(f"listeners={listeners}: expected http://HOST:PORT or https://HOST:PORT")
    if others:
        reading.result.ignored[f"listeners ({', '.join(others)})"] = f"one listener per process: serving {first}"
    reading.result.options["host"] = url.hostname or "0.0.0.0"  # noqa: S104 - Confluent's empty host binds all
    reading.result.options["port"] = port
    return url.scheme.lower()


def _https(reading: _Reading, scheme: str | None, keep: Callable[[str, str], str]) -> None:
    """The HTTPS listener's keystore and, for client certificates, its truststore."""
    names = [n for n in reading.props if n.startswith("ssl.") and n not in _IGNORED]
    if scheme != "https":
        for name in names:
            reading.ignore(name, "the listener is not https")
        return
    location = reading.take("ssl.keystore.location")
    if location is None:
        raise CommandError("listeners is https but ssl.keystore.location is not given")
    try:
        key, chain = key_and_chain_pem(
            location, reading.take("ssl.keystore.password"), reading.take("ssl.key.password"),
            reading.take("ssl.keystore.type"),
        )
        required = (reading.take("ssl.client.authentication") or "").upper() == "REQUIRED"
        required = _bool("ssl.client.auth", reading.take("ssl.client.auth") or "false") or required
        trust = reading.take("ssl.truststore.location")
        trusted = trusted_pem(trust, reading.take("ssl.truststore.password"), reading.take("ssl.truststore.type")) \
            if required and trust else None
    except KeystoreError as exc:
        raise CommandError(f"ssl.*: {exc}") from None
    if required and trusted is None:
        raise CommandError("ssl.client.authentication=REQUIRED needs ssl.truststore.location")
    reading.result.options["tls_cert"] = keep("listener-chain.pem", chain)
    reading.result.options["tls_key"] = keep("listener-key.pem", key)
    if trusted is not None:
        reading.result.options["tls_client_ca"] = keep("listener-clients-ca.pem", trusted)
    for name in names:
        if name not in reading.taken:
            reading.ignore(name, "not used by the HTTPS listener here")


def _bootstrap(servers: str, protocol: str) -> str:
    """Confluent's endpoint list as bootstrap servers: the endpoints of ``protocol`` (or without one)."""
    chosen = []
    for endpoint in (item.strip() for item in servers.split(",")):
        scheme, sep, address = endpoint.partition("://")
        if not sep:
            chosen.append(endpoint)
        elif scheme.upper() == protocol.upper():
            chosen.append(address)
    if not chosen:
        raise CommandError(f"kafkastore.bootstrap.servers={servers} has no {protocol} endpoint")
    return ",".join(chosen)


def _kafka(reading: _Reading) -> None:
    """librdkafka settings from ``kafkastore.*`` (Java client names)."""
    kafka = reading.result.kafka
    protocol = (reading.take("kafkastore.security.protocol") or "PLAINTEXT").strip().upper()
    servers = reading.take("kafkastore.bootstrap.servers")
    if servers:
        kafka["bootstrap.servers"] = _bootstrap(servers, protocol)
    if protocol != "PLAINTEXT":
        kafka["security.protocol"] = protocol
    for name in _SAME_NAME:
        value = reading.take(f"kafkastore.{name}")
        if value is not None and name != "security.protocol":
            kafka[name] = value
    if "sasl.oauthbearer.token.endpoint.url" in kafka:
        kafka["sasl.oauthbearer.method"] = "oidc"
    jaas = reading.take("kafkastore.sasl.jaas.config")
    if jaas:
        kafka.update(_jaas_settings(*parse_jaas(jaas, "kafkastore.sasl.jaas.config"), "kafkastore.sasl.jaas.config"))
    algorithm = reading.take("kafkastore.ssl.endpoint.identification.algorithm")
    if algorithm is not None:
        kafka["ssl.endpoint.identification.algorithm"] = algorithm.strip().lower() or "none"
    try:
        trust = reading.take("kafkastore.ssl.truststore.location")
        password = reading.take("kafkastore.ssl.truststore.password")
        kind = reading.take("kafkastore.ssl.truststore.type")
        if trust:
            kafka["ssl.ca.pem"] = trusted_pem(trust, password, kind)
        inline = reading.take("kafkastore.ssl.truststore.certificates")
        if inline:
            kafka["ssl.ca.pem"] = inline
        _kafka_keystore(reading, kafka)
    except KeystoreError as exc:
        raise CommandError(f"kafkastore.ssl.*: {exc}") from None


def _kafka_keystore(reading: _Reading, kafka: dict[str, str]) -> None:
    location = reading.take("kafkastore.ssl.keystore.location")
    password = reading.take("kafkastore.ssl.keystore.password")
    key_password = reading.take("kafkastore.ssl.key.password")
    kind = (reading.take("kafkastore.ssl.keystore.type") or "").upper()
    inline_key, inline_chain = reading.take("kafkastore.ssl.keystore.key"), reading.take(
        "kafkastore.ssl.keystore.certificate.chain")
    if inline_key and inline_chain:
        kafka["ssl.key.pem"], kafka["ssl.certificate.pem"] = inline_key, inline_chain
        if key_password:
            kafka["ssl.key.password"] = key_password
    elif location:
        kafka["ssl.key.pem"], kafka["ssl.certificate.pem"] = key_and_chain_pem(location, password, key_password, kind)


def _registry(reading: _Reading) -> None:
    reading.option("topic", "kafkastore.topic")
    reading.option("topic_replication_factor", "kafkastore.topic.replication.factor", convert=_int)
    reading.option("group_id", "schema.registry.group.id")
    reading.option("leader_eligibility", "leader.eligibility", "master.eligibility", convert=_bool)
    reading.option("default_compatibility", "schema.compatibility.level", "avro.compatibility.level", convert=_level)
    reading.option("mode_mutability", "mode.mutability", convert=_bool)
    reading.option("advertised_host", "host.name")


def read_confluent(props: Mapping[str, str], keep: Callable[[str, str], str]) -> ConfluentSettings:
    """Translate Confluent Schema Registry ``props``; ``keep(name, text)`` stores a PEM file and
    answers its path (the HTTPS listener needs files)."""
    reading = _Reading(props)
    scheme = _listener(reading)
    _kafka(reading)
    _registry(reading)
    _https(reading, scheme, keep)
    for name in props:
        if name not in reading.taken:
            reading.result.ignored[name] = _ignored_reason(name)
    return reading.result


def _ignored_reason(name: str) -> str:
    if name in _IGNORED:
        return _IGNORED[name]
    prefixes = [p for p in _IGNORED_PREFIXES if name.startswith(p)]
    return _IGNORED_PREFIXES[max(prefixes, key=len)] if prefixes else UNKNOWN


class _PemFiles:
    """PEM files written for this process only (a private folder, removed at exit)."""

    def __init__(self) -> None:
        self.folder: Path | None = None

    def keep(self, name: str, text: str) -> str:
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="schemahub-tls-"))
            atexit.register(shutil.rmtree, self.folder, True)
        path = self.folder / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(text)
        return str(path)


def apply_confluent_config(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> None:
    """Fill the options not given from ``--config`` and the ``SCHEMA_REGISTRY_*`` variables, set
    ``args.confluent_kafka_settings`` and log each ignored property (one line each)."""
    origins: dict[str, str] = {}
    props: dict[str, str] = {}
    if getattr(args, "config", None):
        props.update(read_properties(args.config, "--config"))
        origins.update(dict.fromkeys(props, str(args.config)))
    for variable, value in sorted(environ.items()):
        if variable.startswith(ENV_PREFIX) and len(variable) > len(ENV_PREFIX) and variable not in IMAGE_VARIABLES:
            name = property_name(variable, ENV_PREFIX)
            props[name], origins[name] = value, variable
    if not props:
        return
    settings = read_confluent(props, _PemFiles().keep)
    for dest, value in settings.options.items():
        if getattr(args, dest, None) is None:
            setattr(args, dest, value)
    args.confluent_kafka_settings = settings.kafka
    for name, why in sorted(settings.ignored.items()):
        origin = origins.get(name.split(" ")[0], "")
        log.warning("%s: ignoring %s: %s", origin or "Confluent settings", name, why)
    for var in environ:
        if var in IMAGE_VARIABLES:
            log.warning("%s: ignoring it: a JVM or log4j setting of Confluent's image", var)

