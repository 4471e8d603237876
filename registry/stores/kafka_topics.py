"""The Kafka store's topics: created as the store needs them, or checked and reported.

A topic of the store has exactly one partition and ``cleanup.policy=compact``.
An absent topic is created so, with the replication factor and
``min.insync.replicas`` asked for (by default the smaller of 3 and the number of
brokers, as Confluent's ``kafkastore.topic.replication.factor``, and the
broker's default). An existing topic's partitions, replication factor,
``cleanup.policy`` and ``min.insync.replicas`` are logged in one line; what
cannot hold the registry is refused in one line, and what is weaker than asked
is warned about. A principal Kafka denies the topic is told which operations it
needs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigEntry, ConfigResource, NewTopic, TopicMetadata

from ..errors import StoreError

log = logging.getLogger("schemahub.kafka")

DEFAULT_REPLICATION = 3
_DENIED = frozenset({KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED})
_SETTLING = frozenset({KafkaError.LEADER_NOT_AVAILABLE, KafkaError.UNKNOWN_TOPIC_OR_PART})
SETTLE_SECONDS = 30.0


class TopicAccessDenied(StoreError):
    """Kafka's ACLs do not let the store's principal use one of its topics."""


@dataclass(frozen=True)
class TopicSettings:
    """What the store asks of its topics when it creates them (None: the default)."""

    replication_factor: int | None = None
    min_insync_replicas: int | None = None

    def __post_init__(self) -> None:
        rf, isr = self.replication_factor, self.min_insync_replicas
        if (rf is not None and rf < 1) or (isr is not None and isr < 1):
            raise StoreError("The topic replication factor and min.insync.replicas must be at least 1")
        if rf is not None and isr is not None and isr > rf:
            raise StoreError(
                f"min.insync.replicas {isr} is more than the replication factor {rf}: no write could succeed"
            )


def _denied(name: str, principal: str | None, err: KafkaError) -> TopicAccessDenied:
    who = f"user {principal}" if principal else "the store's Kafka principal"
    return TopicAccessDenied(
        f"Kafka denies {who} access to topic {name} ({err.str()}): grant it Describe, DescribeConfigs, Read and "
        "Write on the topic (and Create, to let the store create it)"
    )


def ensure_topic(admin: AdminClient, name: str, settings: TopicSettings, principal: str | None = None) -> None:
    """Create topic ``name`` for the store, or check the existing one; StoreError when it cannot serve."""
    metadata = admin.list_topics(timeout=15)
    found = metadata.topics.get(name)
    created = False
    if found is None or found.error is not None:
        if found is None or found.error is None or found.error.code() not in _DENIED:
            created = _create(admin, name, settings, len(metadata.brokers), principal)
        found = _described(admin, name)
    if found.error is not None:
        if found.error.code() in _DENIED:
            raise _denied(name, principal, found.error)
        raise StoreError(f"Cannot use topic {name}: {found.error.str()}")
    partitions = len(found.partitions)
    if partitions != 1:
        raise StoreError(
            f"Topic {name} has {partitions} partitions; the schema store needs exactly 1 partition "
            "(a single ordered log). Use another topic or recreate it with 1 partition."
        )
    configs = _configs(admin, name, principal)
    policy = configs["cleanup.policy"].value if "cleanup.policy" in configs else None
    if policy != "compact":
        raise StoreError(
            f"Topic {name} has cleanup.policy={policy}; the schema store needs cleanup.policy=compact "
            "(otherwise retention deletes schemas). Change the topic config or use another topic."
        )
    replication = len(found.partitions[0].replicas)
    min_isr = int(configs["min.insync.replicas"].value or 1) if "min.insync.replicas" in configs else 1
    log.info(
        "%s topic %s: 1 partition, replication factor %d, min.insync.replicas %d, cleanup.policy compact",
        "created" if created else "using", name, replication, min_isr,
    )
    if min_isr > replication:
        raise StoreError(
            f"Topic {name} has min.insync.replicas={min_isr} but only {replication} replicas: no write could "
            "succeed. Lower min.insync.replicas or add replicas."
        )
    if settings.replication_factor is not None and replication < settings.replication_factor:
        log.warning(
            "the replication factor of topic %s is %d, less than the %d asked for: if this is production, add "
            "brokers and raise the topic's replication factor", name, replication, settings.replication_factor,
        )
    if settings.min_insync_replicas is not None and min_isr != settings.min_insync_replicas:
        log.warning(
            "topic %s has min.insync.replicas=%d, not the %d asked for: change the topic's config to match",
            name, min_isr, settings.min_insync_replicas,
        )


def _described(admin: AdminClient, name: str) -> TopicMetadata:
    """The topic's metadata, once its partitions have leaders (just after its creation they may not)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        found = admin.list_topics(topic=name, timeout=15).topics[name]
        if found.error is None or found.error.code() not in _SETTLING or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _configs(admin: AdminClient, name: str, principal: str | None) -> dict[str, ConfigEntry]:
    """The topic's configuration; the broker asked may not know a topic created a moment ago (or while
    a broker is down) yet, so an unknown topic is asked about again for a while."""
    resource = ConfigResource("topic", name)
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        try:
            return dict(admin.describe_configs([resource])[resource].result(timeout=30))
        except KafkaException as exc:
            err = exc.args[0]
            if err.code() in _DENIED:
                raise _denied(name, principal, err) from None
            if err.code() not in _SETTLING or time.monotonic() > deadline:
                raise StoreError(f"Cannot read the configuration of topic {name}: {err.str()}") from None
        time.sleep(0.1)


def _create(admin: AdminClient, name: str, settings: TopicSettings, brokers: int, principal: str | None) -> bool:
    """Create the topic; False when it exists already (another instance created it meanwhile)."""
    desired = settings.replication_factor or DEFAULT_REPLICATION
    replication = max(1, min(desired, brokers))
    if settings.replication_factor is not None and replication < desired:
        log.warning(
            "creating topic %s with replication factor %d, less than the %d asked for: only %d brokers are up",
            name, replication, desired, brokers,
        )
    config = {"cleanup.policy": "compact"}
    if settings.min_insync_replicas is not None:
        config["min.insync.replicas"] = str(min(settings.min_insync_replicas, replication))
    futures = admin.create_topics([NewTopic(name, 1, replication, config=config)], operation_timeout=30)
    try:
        futures[name].result(timeout=60)
    except KafkaException as exc:
        err = exc.args[0]
        if err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return False
        if err.code() in _DENIED:
            raise _denied(name, principal, err) from None
        raise StoreError(f"Cannot create topic {name}: {err.str()}") from None
    return True
