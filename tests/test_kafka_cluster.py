"""A cluster of ``schemahub serve --kafka`` instances on a real broker.

Leader election, forwarding from followers, kill -9 of the leader under write
load from several clients, fencing of a stalled (SIGSTOPped) former leader,
and a 3-broker Kafka cluster losing one broker.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]

from registry.devkafka import KafkaCluster
from registry.service import RegisterRequest, Registry
from registry.stores.kafka import KafkaStore, election_topic_for
from tests.kafka_store_support import fresh_topic, kafka_registry
from tests.server import RegistryServer

JSON = "application/vnd.schemaregistry.v1+json"
ROUNDS = int(os.environ.get("SCHEMAHUB_CLUSTER_ROUNDS", "5"))
# A hang guard, not a speed claim: failover times are printed (the target is 10 s).
HANG_GUARD = 60.0


def _schema(name: str) -> str:
    return json.dumps({"type": "record", "name": name, "fields": [{"name": "f", "type": "string"}]})


def announced_leader(bootstrap: str, group_id: str) -> str | None:
    """The URL in the last leader announcement of ``group_id``'s election topic."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": fresh_topic("peek"), "isolation.level": "read_committed",
         "enable.partition.eof": True, "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(election_topic_for(group_id), 0, OFFSET_BEGINNING)])
    url = None
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == -191:
                    break
                continue
            if msg.key() == b"leader":
                url = json.loads(msg.value() or b"{}").get("url")
    finally:
        consumer.close()
    return url


class Cluster:
    def __init__(self, tmp: Path, bootstrap: str, topic: str) -> None:
        self.tmp = tmp
        self.bootstrap = bootstrap
        self.topic = topic
        self.group = f"group-{topic}"
        self.servers: list[RegistryServer] = []
        self.count = 0

    def add(self, *extra: str) -> RegistryServer:
        self.count += 1
        server = RegistryServer(
            self.tmp / f"node{self.count}.db",
            extra_args=(
                "--kafka", self.bootstrap, "--topic", self.topic, "--group-id", self.group, "--log-level", "info", *extra
            ),
        )
        server.start(timeout=60)
        self.servers.append(server)
        return server

    def leader(self, timeout: float = 20.0, exclude: str | None = None) -> RegistryServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            url = announced_leader(self.bootstrap, self.group)
            for server in self.servers:
                if server.url == url and url != exclude and server.process and server.process.poll() is None:
                    return server
            time.sleep(0.2)
        raise AssertionError("no leader announced")

    def close(self) -> None:
        for server in self.servers:
            if server.process and server.process.poll() is None:
                server.process.send_signal(signal.SIGCONT)
            server.stop()


def _register(url: str, subject: str, schema: str, timeout: float = 20.0, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{url}/subjects/{subject}/versions",
        json={"schema": schema},
        headers={"Content-Type": JSON, **headers},
        timeout=timeout,
    )


def _check_everywhere(servers: list[RegistryServer], accepted: dict[str, tuple[int, str]]) -> None:
    """Every accepted write is on every instance, with its id; no id names two schemas."""
    for server in servers:
        deadline = time.monotonic() + 10
        while True:
            listed = httpx.get(f"{server.url}/schemas", params={"deleted": "true"}, timeout=10).json()
            by_subject = {s["subject"]: s for s in listed}
            missing = [s for s in accepted if s not in by_subject]
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert not missing, f"{server.url} lacks {missing[:5]}"
        for subject, (schema_id, name) in accepted.items():
            assert by_subject[subject]["id"] == schema_id, (server.url, subject)
            assert json.loads(by_subject[subject]["schema"])["name"] == name
        ids: dict[int, str] = {}
        for item in listed:
            name = json.loads(item["schema"])["name"]
            assert ids.setdefault(item["id"], name) == name, f"id {item['id']} bound to two schemas"


def test_cluster_forwarding_and_leader_failover(tmp_path: Path, kafka_bootstrap: str) -> None:
    cluster = Cluster(tmp_path, kafka_bootstrap, fresh_topic("cluster"))
    try:
        for _ in range(3):
            cluster.add()
        leader = cluster.leader()
        follower = next(s for s in cluster.servers if s is not leader)
        accepted: dict[str, tuple[int, str]] = {}

        # register through a follower: forwarded with its headers, readable there at once
        answer = _register(follower.url, "via-follower", _schema("ViaFollower"), **{"X-Request-ID": "req-1"})
        assert answer.status_code == 200, answer.text
        accepted["via-follower"] = (answer.json()["id"], "ViaFollower")
        assert httpx.get(f"{follower.url}/subjects/via-follower/versions/1").status_code == 200
        no_body = httpx.post(f"{follower.url}/subjects/x/versions", content=b"{", headers={"Content-Type": JSON})
        assert no_body.status_code == 400  # the leader's answer, passed back

        lock = threading.Lock()
        failover_times = []
        for round_no in range(ROUNDS):
            leader = cluster.leader()
            stop = threading.Event()
            counter = iter(range(10**9))

            def writer(k: int, stop: threading.Event = stop, counter: Iterator[int] = counter, round_no: int = round_no) -> None:
                while not stop.is_set():
                    n = next(counter)
                    subject, name = f"r{round_no}-w{k}-{n}", f"R{round_no}_W{k}_{n}"
                    target = random.choice([s for s in cluster.servers if s.process and s.process.poll() is None])
                    try:
                        answer = _register(target.url, subject, _schema(name))
                    except httpx.HTTPError:
                        continue
                    if answer.status_code == 200:
                        with lock:
                            accepted[subject] = (answer.json()["id"], name)
                    else:
                        time.sleep(0.05)

            writers = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
            for thread in writers:
                thread.start()
            try:
                time.sleep(1.0)
                leader.kill()
                killed_at = time.monotonic()
                survivor = next(s for s in cluster.servers if s is not leader and s.process.poll() is None)
                while True:
                    probe = _register(survivor.url, f"probe-{round_no}", _schema(f"Probe{round_no}"))
                    if probe.status_code == 200:
                        break
                    assert time.monotonic() - killed_at < HANG_GUARD, probe.text
                    time.sleep(0.1)
                failover = time.monotonic() - killed_at
                failover_times.append(failover)
                accepted[f"probe-{round_no}"] = (probe.json()["id"], f"Probe{round_no}")
                time.sleep(1.0)
            finally:
                stop.set()
                for thread in writers:
                    thread.join()
            cluster.servers.remove(leader)
            cluster.add()  # a replacement instance replays the topic
            _check_everywhere(cluster.servers, accepted)
        print(f"failover times: {[round(t, 1) for t in failover_times]}; {len(accepted)} writes accepted")
        assert len(accepted) > ROUNDS * 10
    finally:
        cluster.close()


def test_a_stalled_former_leader_cannot_append(tmp_path: Path, kafka_bootstrap: str) -> None:
    cluster = Cluster(tmp_path, kafka_bootstrap, fresh_topic("fence"))
    try:
        cluster.add()
        cluster.add()
        stalled = cluster.leader()
        other = next(s for s in cluster.servers if s is not stalled)
        assert _register(stalled.url, "before", _schema("Before")).status_code == 200
        assert stalled.process is not None
        stalled.process.send_signal(signal.SIGSTOP)
        try:
            cluster.leader(timeout=30, exclude=stalled.url)
            answer = _register(other.url, "during", _schema("During"))
            assert answer.status_code == 200, answer.text
        finally:
            stalled.process.send_signal(signal.SIGCONT)
        # the woken former leader handles this itself (a forwarded request is never forwarded again)
        late = _register(stalled.url, "late", _schema("Late"), timeout=30, **{"X-Schemahub-Forwarded": "2"})
        assert late.status_code == 500 and late.json()["error_code"] in (50001, 50004), late.text
        time.sleep(1.0)
        for server in cluster.servers:
            assert httpx.get(f"{server.url}/subjects/late/versions").status_code == 404
        accepted = {"before": (1, "Before"), "during": (2, "During")}
        _check_everywhere(cluster.servers, accepted)
        # and it serves again, as a follower
        assert _register(stalled.url, "after", _schema("After")).status_code == 200
    finally:
        cluster.close()


def test_ineligible_instance_never_leads(tmp_path: Path, kafka_bootstrap: str) -> None:
    cluster = Cluster(tmp_path, kafka_bootstrap, fresh_topic("inelig"))
    try:
        follower = cluster.add("--leader-eligibility", "false")
        answer = _register(follower.url, "s", _schema("S"), timeout=30)
        assert answer.status_code == 500 and answer.json()["error_code"] == 50004
        leader = cluster.add()
        assert cluster.leader() is leader
        assert _register(follower.url, "s", _schema("S")).status_code == 200
        leader.kill()
        answer = _register(follower.url, "t", _schema("T"), timeout=30)
        assert answer.status_code == 500 and answer.json()["error_code"] in (50003, 50004)
    finally:
        cluster.close()


def test_replicated_topic_survives_losing_a_broker(kafka_cluster3: KafkaCluster) -> None:
    bootstrap = kafka_cluster3.bootstrap
    topic = fresh_topic("replicated")
    accepted: dict[str, int] = {}
    with kafka_registry(bootstrap, topic) as reg:
        admin = AdminClient({"bootstrap.servers": bootstrap})
        partition = admin.list_topics(topic, timeout=10).topics[topic].partitions[0]
        assert len(partition.replicas) == 3
        for i in range(10):
            accepted[f"a{i}"] = reg.register(f"a{i}", RegisterRequest(_schema(f"A{i}"))).id
        victim = partition.leader
        kafka_cluster3.kill(victim)
        try:
            deadline = time.monotonic() + 60
            i = 0
            while i < 10 and time.monotonic() < deadline:
                try:
                    accepted[f"b{i}"] = reg.register(f"b{i}", RegisterRequest(_schema(f"B{i}"))).id
                    i += 1
                except Exception:
                    time.sleep(0.5)
            assert i == 10, "no writes after losing one broker"
            reader = Registry(KafkaStore(bootstrap, topic, group_id=f"reader-{topic}", leader_eligible=False))
            try:
                for subject, schema_id in accepted.items():
                    assert reader.get_version(subject, 1).id == schema_id
            finally:
                reader.close()
        finally:
            kafka_cluster3.start(victim)
