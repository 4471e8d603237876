"""Starting ``schemahub serve --kafka`` where it cannot work: one clear line, a non-zero exit,
never a traceback; and Kafka client log lines that repeat are shown once a minute."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from registry.stores.kafka_config import RepeatFilter
from tests.kafka_store_support import fresh_topic
from tests.server import REPO, free_port


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    """``schemahub serve`` as an operator runs it (default log level), until it gives up."""
    return subprocess.run(
        [sys.executable, "-m", "registry.cli", "serve", "--port", str(free_port()), *args],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = (done.stdout + done.stderr).splitlines()
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert len(lines) == 1, lines
    return lines[0]


def test_an_unreachable_bootstrap_is_one_line() -> None:
    line = _one_line(_serve("--kafka", f"127.0.0.1:{free_port()}"))
    assert line.startswith("schemahub serve: error: Cannot reach Kafka at 127.0.0.1:") and "Connection refused" in line
    assert "--kafka-wait SECONDS" in line



@pytest.mark.parametrize("properties, expected", [
    ("sasl.pasword=hunter2\n", 'No such configuration property: "sasl.pasword"'),
    ("security.protocol=hunter2\nsasl.password=hunter2\n",
     'Invalid value "***" for configuration property "security.protocol"'),
])
def test_a_setting_librdkafka_refuses_is_one_line_without_secrets(tmp_path: Path, properties: str,
                                                                  expected: str) -> None:
    config = tmp_path / "kafka.properties"
    config.write_text(properties)
    line = _one_line(_serve("--kafka", f"127.0.0.1:{free_port()}", "--kafka-config", str(config)))
    assert line.startswith(f"schemahub serve: error: Kafka client settings: {expected}"), line
    assert "Check --kafka-config and the SCHEMAHUB_KAFKA_* variables" in line and "hunter2" not in line


def test_topic_settings_that_cannot_work_are_one_line() -> None:
    line = _one_line(_serve("--kafka", f"127.0.0.1:{free_port()}", "--topic-replication-factor", "2",
                            "--topic-min-isr", "3"))
    assert line == ("schemahub serve: error: --topic-replication-factor, --topic-min-isr: min.insync.replicas 3 is "
                    "more than the replication factor 2: no write could succeed"), line

def test_waiting_for_kafka_says_so_then_gives_up() -> None:
    done = _serve("--kafka", f"127.0.0.1:{free_port()}", "--kafka-wait", "2")
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    *waiting, last = done.stderr.splitlines()
    assert waiting and all("is not reachable yet" in line and "retrying for up to" in line for line in waiting), waiting
    assert last.startswith("schemahub serve: error: Cannot reach Kafka")


def test_a_topic_that_cannot_hold_the_registry_is_one_line(kafka_bootstrap: str) -> None:
    wide, plain = fresh_topic("wide"), fresh_topic("plain")
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    futures = admin.create_topics(
        [NewTopic(wide, 3, 1, config={"cleanup.policy": "compact"}), NewTopic(plain, 1, 1, config={"cleanup.policy": "delete"})]
    )
    for future in futures.values():
        future.result(timeout=60)
    line = _one_line(_serve("--kafka", kafka_bootstrap, "--topic", wide))
    assert line.startswith(f"schemahub serve: error: Topic {wide} has 3 partitions; the schema store needs exactly 1")
    line = _one_line(_serve("--kafka", kafka_bootstrap, "--topic", plain))
    assert line.startswith(f"schemahub serve: error: Topic {plain} has cleanup.policy=delete; the schema store needs")


def test_repeated_client_lines_are_shown_once_a_window() -> None:
    now = [0.0]
    repeat = RepeatFilter(window=60.0, clock=lambda: now[0])

    def line(text: str, level: int = logging.ERROR) -> logging.LogRecord:
        args = ("FAIL", "rdkafka#consumer-1", f"[thrd:127.0.0.1:9092/bootstrap]: {text}")
        return logging.LogRecord("schemahub.kafka.client", level, __file__, 1, "%s [%s] %s", args, None)

    refused = "127.0.0.1:9092/bootstrap: Connect to ipv4#127.0.0.1:9092 failed: Connection refused (after {}ms in state CONNECT)"
    assert repeat.filter(line(refused.format(0)))
    shown = [repeat.filter(line(refused.format(ms))) for ms in range(1, 300)]  # differ only in numbers
    assert not any(shown)
    assert repeat.filter(line("Disconnected"))  # another line is shown at once
    assert repeat.filter(line(refused.format(0), logging.WARNING))  # so is the same text at another level
    now[0] = 61.0
    later = line(refused.format(7))
    assert repeat.filter(later)
    assert later.getMessage().endswith("(299 similar lines in the last 60s not shown)")
