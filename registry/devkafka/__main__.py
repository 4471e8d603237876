"""``python -m registry.devkafka [--brokers 1|3] [--sasl-ssl]``: run a dev Kafka cluster until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from types import FrameType

from registry.devkafka.cluster import KafkaCluster
from registry.devkafka.config import write_properties
from registry.devkafka.jars import KAFKA_VERSION


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m registry.devkafka", description=__doc__)
    parser.add_argument("--brokers", type=int, choices=(1, 3), default=1, help="nodes to run (default 1)")
    parser.add_argument("--version", default=KAFKA_VERSION, help=f"Kafka version (default {KAFKA_VERSION})")
    parser.add_argument("--cache", default=None, help="jar cache root (default $SCHEMAHUB_KAFKA_CACHE or .cache/kafka)")
    parser.add_argument("--sasl-ssl", action="store_true",
                        help="also a SASL_SSL listener (SCRAM user admin); prints a --kafka-config file for it")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    started = time.monotonic()
    print(f"starting Kafka {args.version} with {args.brokers} node(s)...", file=sys.stderr, flush=True)
    with KafkaCluster(args.brokers, version=args.version, cache_dir=args.cache, sasl_ssl=args.sasl_ssl) as cluster:
        print(f"ready in {time.monotonic() - started:.1f}s; logs in {cluster.work_dir}", file=sys.stderr)
        print(cluster.bootstrap, flush=True)
        if args.sasl_ssl and cluster.work_dir is not None:
            settings = cluster.client_settings()
            config = cluster.work_dir / "sasl-ssl-client.properties"
            write_properties(config, {k: v for k, v in settings.items() if k != "bootstrap.servers"})
            print(f"SASL_SSL: --kafka {settings['bootstrap.servers']} --kafka-config {config}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping...", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
