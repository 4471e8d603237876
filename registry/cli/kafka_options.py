"""``schemahub serve --kafka``: the options and the store they open.

The Kafka clients' settings are the same for ``serve``, ``export`` and
``import`` (:func:`add_kafka_client_arguments`, :func:`kafka_connection`):
any librdkafka property, from a properties file (``--kafka-config``) and from
one ``SCHEMAHUB_KAFKA_<PROPERTY>`` environment variable per property (named as
Confluent's images name them: ``SCHEMAHUB_KAFKA_SASL_PASSWORD`` is ``sasl.password``),
the variables winning.
"""

from __future__ import annotations

import argparse
import os
import socket
from typing import Any

from . import CommandError
from .properties import env_properties, read_properties

ENV_PREFIX = "SCHEMAHUB_KAFKA_"
# Variables under that prefix that are options, not client properties.
OPTION_VARIABLES = ("SCHEMAHUB_KAFKA_CONFIG", "SCHEMAHUB_KAFKA_WAIT", "SCHEMAHUB_KAFKA_CACHE")


def boolean(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return value


def add_kafka_client_arguments(group: argparse._ArgumentGroup) -> None:
    """The options every command using the Kafka store shares: client settings and topic settings."""
    env = os.environ.get
    group.add_argument(
        "--kafka-config", default=env("SCHEMAHUB_KAFKA_CONFIG"), metavar="FILE",
        help="librdkafka properties for every Kafka client (security.protocol, sasl.*, ssl.*, ...); a "
             "SCHEMAHUB_KAFKA_<PROPERTY> variable sets one property, e.g. SCHEMAHUB_KAFKA_SASL_PASSWORD "
             "(SCHEMAHUB_KAFKA_CONFIG)",
    )
    group.add_argument(
        "--topic-replication-factor", type=_positive, default=env("SCHEMAHUB_TOPIC_REPLICATION_FACTOR"),
        metavar="N", help="replication factor of the topics the store creates; an existing topic with fewer "
                          "replicas is warned about (SCHEMAHUB_TOPIC_REPLICATION_FACTOR; default: 3, or the number "
                          "of brokers if fewer)",
    )
    group.add_argument(
        "--topic-min-isr", type=_positive, default=env("SCHEMAHUB_TOPIC_MIN_ISR"), metavar="N",
        help="min.insync.replicas of the topics the store creates (SCHEMAHUB_TOPIC_MIN_ISR; default: the broker's)",
    )


def kafka_connection(args: argparse.Namespace) -> tuple[str | None, dict[str, Any]]:
    """Where the Kafka store is (None: not a Kafka store) and the librdkafka settings of its clients,
    secrets included. Settings come from Confluent's ``kafkastore.*`` (``serve --config``), then the
    ``--kafka-config`` file, then the ``SCHEMAHUB_KAFKA_*`` variables; ``--kafka`` names the bootstrap
    servers, else their ``bootstrap.servers``."""
    settings: dict[str, Any] = dict(getattr(args, "confluent_kafka_settings", None) or {})
    if args.kafka_config:
        settings.update(read_properties(args.kafka_config, "--kafka-config"))
    settings.update(env_properties(os.environ, ENV_PREFIX, OPTION_VARIABLES))
    bootstrap = settings.pop("bootstrap.servers", None)
    return (str(args.kafka) if args.kafka else bootstrap or None), settings


def topic_settings(args: argparse.Namespace) -> Any:
    from ..errors import StoreError
    from ..stores.kafka_topics import TopicSettings

    try:
        return TopicSettings(args.topic_replication_factor, args.topic_min_isr)
    except StoreError as exc:
        raise CommandError(f"--topic-replication-factor, --topic-min-isr: {exc}") from None


def add_kafka_arguments(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    group = parser.add_argument_group("Kafka store (instead of --db)")
    group.add_argument(
        "--kafka", default=env("SCHEMAHUB_KAFKA"), metavar="BOOTSTRAP",
        help="Kafka bootstrap servers: keep the registry in the _schemas topic (SCHEMAHUB_KAFKA)",
    )
    add_kafka_client_arguments(group)
    group.add_argument("--topic", default=env("SCHEMAHUB_TOPIC"), help="store topic (SCHEMAHUB_TOPIC)")
    group.add_argument(
        "--dek-registry-topic", default=env("SCHEMAHUB_DEK_REGISTRY_TOPIC"),
        help="DEK Registry topic (SCHEMAHUB_DEK_REGISTRY_TOPIC; default _dek_registry_keys beside _schemas, "
             "TOPIC-dek-registry-keys beside another store topic)",
    )
    group.add_argument(
        "--group-id", default=env("SCHEMAHUB_GROUP_ID"),
        help="leader election group: one per registry cluster, named by /v1/metadata/id (SCHEMAHUB_GROUP_ID)",
    )
    group.add_argument(
        "--advertised-url", default=env("SCHEMAHUB_ADVERTISED_URL"),
        help="URL other instances forward writes to (SCHEMAHUB_ADVERTISED_URL; default http://HOST:PORT)",
    )
    group.add_argument(
        "--kafka-wait", type=float, default=env("SCHEMAHUB_KAFKA_WAIT", "0"), metavar="SECONDS",
        help="how long to keep retrying an unreachable Kafka at startup, saying so (SCHEMAHUB_KAFKA_WAIT)",
    )
    group.add_argument(
        "--compiled-cache", default=env("SCHEMAHUB_COMPILED_CACHE"), metavar="PATH|off",
        help="file keeping what parsing stored schemas produced, so that checks after a restart do not "
             "parse them again; off: none (SCHEMAHUB_COMPILED_CACHE; default: one file per bootstrap and "
             "topic under $XDG_CACHE_HOME/schemahub, ~/.cache/schemahub)",
    )
    group.add_argument(
        "--leader-eligibility", type=boolean, default=env("SCHEMAHUB_LEADER_ELIGIBILITY"),
        metavar="true|false", help="whether this instance may become the leader (SCHEMAHUB_LEADER_ELIGIBILITY)",
    )


def advertised_url(args: argparse.Namespace) -> str:
    """``--advertised-url``, else the listener's scheme, Confluent's ``host.name`` (or the bind address,
    or this machine's name for a wildcard bind) and the port."""
    if args.advertised_url:
        return str(args.advertised_url).rstrip("/")
    scheme = "https" if getattr(args, "tls_cert", None) else "http"
    if getattr(args, "advertised_host", None):
        return f"{scheme}://{args.advertised_host}:{args.port}"
    host = args.host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a wildcard bind is advertised by name
        host = socket.getfqdn()
    return f"{scheme}://{host}:{args.port}"


def compiled_cache(args: argparse.Namespace, bootstrap: str) -> Any:
    """The store's cache of compiled forms: ``--compiled-cache``, else the registry's default file; None for ``off``."""
    from ..stores.compiled_cache import CompiledCache, default_path

    chosen = getattr(args, "compiled_cache", None)
    if chosen is not None and chosen.strip().lower() == "off":
        return None
    return CompiledCache(chosen or default_path(bootstrap, args.topic or "_schemas"))


def open_kafka_store(args: argparse.Namespace, bootstrap: str, settings: dict[str, Any]):
    from ..stores.kafka import KafkaStore

    return KafkaStore(
        bootstrap,
        args.topic,
        group_id=args.group_id,
        advertised_url=advertised_url(args),
        leader_eligible=args.leader_eligibility,
        keys_topic=args.dek_registry_topic,
        connect_wait=args.kafka_wait,
        client_config=settings,
        topic_settings=topic_settings(args),
        compiled_cache=compiled_cache(args, bootstrap),
    )
