"""A dev/test Apache Kafka: jars from Maven Central, KRaft nodes as local JVMs.

``ensure_jars()`` fetches the broker's jars once into a cache;
``KafkaCluster(brokers=1 | 3)`` runs a throwaway cluster on 127.0.0.1.
Try it with ``python -m registry.devkafka --brokers 3``.
"""

from registry.devkafka.cluster import KafkaCluster
from registry.devkafka.jars import KAFKA_VERSION, default_cache_root, ensure_jars

__all__ = ["KAFKA_VERSION", "KafkaCluster", "default_cache_root", "ensure_jars"]
