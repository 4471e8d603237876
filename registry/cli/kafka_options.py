"""``schemahub serve --kafka``: the options and the store they open."""

from __future__ import annotations

import argparse
import os
import socket


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def add_kafka_arguments(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    group = parser.add_argument_group("Kafka store (instead of --db)")
    group.add_argument(
        "--kafka", default=env("SCHEMAHUB_KAFKA"), metavar="BOOTSTRAP",
        help="Kafka bootstrap servers: keep the registry in the _schemas topic (SCHEMAHUB_KAFKA)",
    )
    group.add_argument("--topic", default=env("SCHEMAHUB_TOPIC", "_schemas"), help="store topic (SCHEMAHUB_TOPIC)")
    group.add_argument(
        "--dek-registry-topic", default=env("SCHEMAHUB_DEK_REGISTRY_TOPIC"),
        help="DEK Registry topic (SCHEMAHUB_DEK_REGISTRY_TOPIC; default _dek_registry_keys beside _schemas, "
             "TOPIC-dek-registry-keys beside another store topic)",
    )
    group.add_argument(
        "--group-id", default=env("SCHEMAHUB_GROUP_ID", "schema-registry"),
        help="leader election group: one per registry cluster (SCHEMAHUB_GROUP_ID)",
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
        "--leader-eligibility", type=_bool, default=env("SCHEMAHUB_LEADER_ELIGIBILITY", "true"),
        metavar="true|false", help="whether this instance may become the leader (SCHEMAHUB_LEADER_ELIGIBILITY)",
    )


def advertised_url(args: argparse.Namespace) -> str:
    if args.advertised_url:
        return str(args.advertised_url).rstrip("/")
    host = args.host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a wildcard bind is advertised by name
        host = socket.getfqdn()
    return f"http://{host}:{args.port}"


def open_kafka_store(args: argparse.Namespace):
    from ..stores.kafka import KafkaStore

    return KafkaStore(
        args.kafka,
        args.topic,
        group_id=args.group_id,
        advertised_url=advertised_url(args),
        leader_eligible=args.leader_eligibility,
        keys_topic=args.dek_registry_topic,
        connect_wait=args.kafka_wait,
    )
