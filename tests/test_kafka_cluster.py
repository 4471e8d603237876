"""A cluster of ``schemahub serve --kafka`` instances on a real broker.

Leader election, forwarding from followers, kill -9 of the leader inside a
transaction under write load from several clients (read back as Confluent
would), a leader SIGSTOPped past its session, a leader restarted on the same
URL, and a 3-broker Kafka cluster losing the broker that leads the topic.
Failover times and write outages are printed, not asserted.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]

from registry.devkafka import KafkaCluster
from registry.errors import RegistryError
from registry.service import RegisterRequest, Registry
from registry.stores.kafka import KafkaStore, election_topic_for
from tests.kafka_store_support import ConfluentView, aborted_records, fresh_topic, kafka_registry, read_topic
from tests.server import RegistryServer

JSON = "application/vnd.schemaregistry.v1+json"
ROUNDS = int(os.environ.get("SCHEMAHUB_CLUSTER_ROUNDS", "5"))
# A hang guard, not a speed claim: failover times are printed (the target: group session + 2 s).
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

    def restart(self, server: RegistryServer) -> RegistryServer:
        """Start a new instance on the URL and with the options of ``server`` (which was stopped)."""
        again = RegistryServer(server.db, port=server.port, extra_args=server.extra_args)
        again.start(timeout=60)
        self.servers[self.servers.index(server)] = again
        return again

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


@dataclass(frozen=True)
class Answer:
    sent: float
    done: float
    target: str
    subject: str
    status: int
    schema_id: int = 0
    name: str = ""


class WriteLoad:
    """Writers registering new schemas through random live instances; every answer is timed."""

    def __init__(self, cluster: Cluster, prefix: str, writers: int = 4) -> None:
        self.cluster = cluster
        self.prefix = prefix
        self.answers: list[Answer] = []
        self.avoid: set[str] = set()  # URLs of instances the writers leave alone
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._counter = iter(range(10**9))
        self._threads = [threading.Thread(target=self._write, args=(k,)) for k in range(writers)]

    def __enter__(self) -> WriteLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _write(self, k: int) -> None:
        while not self._stop.is_set():
            with self._lock:
                n = next(self._counter)
            subject, name = f"{self.prefix}-w{k}-{n}", f"{self.prefix.replace('-', '_')}_W{k}_{n}"
            live = [s for s in self.cluster.servers if s.process and s.process.poll() is None and s.url not in self.avoid]
            target = random.choice(live)
            sent = time.monotonic()
            try:
                answer = _register(target.url, subject, _schema(name), timeout=40)
            except httpx.HTTPError:
                continue  # (the instance was killed under the request: never acknowledged)
            ok = answer.status_code == 200
            found = Answer(
                sent, time.monotonic(), target.url, subject, answer.status_code,
                answer.json()["id"] if ok else 0, name if ok else "",
            )
            with self._lock:
                self.answers.append(found)
            if not ok:
                time.sleep(0.05)

    def acks(self, since: float = 0.0) -> list[Answer]:
        """Acknowledged writes sent at ``since`` or later."""
        with self._lock:
            return [a for a in self.answers if a.status == 200 and a.sent >= since]

    def refusals(self) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if a.status != 200]

    def accepted(self) -> dict[str, tuple[int, str]]:
        return {a.subject: (a.schema_id, a.name) for a in self.acks()}

    def failover(self, fault: float) -> float:
        """Seconds from ``fault`` until a write sent after it was acknowledged."""
        return min(a.done for a in self.acks(fault)) - fault

    def longest_outage(self, since: float) -> float:
        """The longest stretch after ``since`` in which no write was acknowledged."""
        times = sorted([since, *(a.done for a in self.acks() if a.done >= since)])
        return max(b - a for a, b in itertools.pairwise(times))

    def wait_acks(self, count: int, since: float) -> None:
        deadline = time.monotonic() + HANG_GUARD
        while len(self.acks(since)) < count:
            assert time.monotonic() < deadline, "writes did not come back"
            time.sleep(0.1)


def _open_transaction(bootstrap: str, topic: str) -> bool:
    """Whether a transaction has written to ``topic`` and is neither committed nor aborted
    (the high watermark is past the last stable offset)."""
    ends = []
    for isolation in ("read_uncommitted", "read_committed"):
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "probe", "isolation.level": isolation})
        try:
            ends.append(consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1])
        finally:
            consumer.close()
    return ends[0] > ends[1]


def _freeze_mid_transaction(cluster: Cluster, leader: RegistryServer) -> float:
    """SIGSTOP the leader while one of its transactions is open on the store topic: freeze it,
    look, and thaw it to try again if it was between transactions. Answers when it was frozen."""
    assert leader.process is not None
    for _ in range(300):
        leader.process.send_signal(signal.SIGSTOP)
        frozen = time.monotonic()
        if _open_transaction(cluster.bootstrap, cluster.topic):
            return frozen
        leader.process.send_signal(signal.SIGCONT)
        time.sleep(random.uniform(0.0, 0.03))
    raise AssertionError("the leader was never caught inside a transaction")


def _check_confluent_reads(bootstrap: str, topic: str, accepted: dict[str, tuple[int, str]]) -> None:
    """Confluent Schema Registry started on the topic serves every acknowledged schema under its id."""
    view = ConfluentView(bootstrap, topic)
    for subject, (schema_id, name) in accepted.items():
        # (a version written by a leader killed before it answered may come first: the request
        # was retried by the follower that forwarded it, and took the next version)
        ids = {value["id"] for (s, _), value in view.schemas.items() if s == subject}
        assert schema_id in ids, (subject, schema_id, ids)
        resolved = view.resolve(schema_id)
        assert resolved is not None and json.loads(resolved["schema"])["name"] == name, (schema_id, resolved)
    assert view.ids_bound_twice() == [] and view.ignored == 0


def test_leader_killed_mid_transaction(tmp_path: Path, kafka_bootstrap: str) -> None:
    """kill -9 of the leader inside a transaction, ROUNDS times under write load from four clients:
    the aborted records it leaves never lend their ids or versions to other content, as a reader
    that does not filter them (Confluent's) sees; writes come back after the group session."""
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

        failovers, outages = [], []
        for round_no in range(ROUNDS):
            leader = cluster.leader()
            with WriteLoad(cluster, f"r{round_no}") as load:
                load.wait_acks(5, 0)
                fault = _freeze_mid_transaction(cluster, leader)
                leader.kill()
                load.wait_acks(5, fault)
                failovers.append(load.failover(fault))
                outages.append(load.longest_outage(fault - 1.0))
            accepted.update(load.accepted())
            cluster.servers.remove(leader)
            cluster.add()  # a replacement instance replays the topic
        _check_everywhere(cluster.servers, accepted)
        _check_confluent_reads(cluster.bootstrap, cluster.topic, accepted)
        aborted = [key for key in aborted_records(cluster.bootstrap, cluster.topic) if b'"SCHEMA"' in (key or b"")]
        print(
            f"kill -9 mid-transaction: failover {[round(t, 1) for t in failovers]} s, longest write outage "
            f"{[round(t, 1) for t in outages]} s; {len(accepted)} writes acknowledged, {len(aborted)} aborted "
            "SCHEMA records left in the topic"
        )
        assert aborted, "no kill left an aborted record: the test did not exercise them"
    finally:
        cluster.close()


def _announcements(bootstrap: str, group_id: str) -> list[str | None]:
    """The URL of every leader announcement of ``group_id``, in order."""
    urls = []
    for _, key, value in read_topic(bootstrap, election_topic_for(group_id), "read_committed"):
        if key == b"leader":
            urls.append(json.loads(value or b"{}").get("url"))
    return urls


def test_a_paused_leader_steps_down(tmp_path: Path, kafka_bootstrap: str) -> None:
    """A leader SIGSTOPped for 15 s mid-transaction, then resumed, finds it was fenced and paused
    past its session: it rejoins as a follower and never announces itself again while the new
    leader lives. Writes through the other instances flow again once the new leader is elected;
    a write the paused one held goes on to the new leader when it wakes; none is refused."""
    cluster = Cluster(tmp_path, kafka_bootstrap, fresh_topic("pause"))
    try:
        for _ in range(3):
            cluster.add()
        stalled = cluster.leader()
        assert stalled.process is not None
        held: list[tuple[httpx.Response, float]] = []  # (answer, when)
        with WriteLoad(cluster, "p") as load:
            load.avoid.add(stalled.url)  # (a client of a frozen process just waits: see `held`)
            load.wait_acks(5, 0)
            fault = _freeze_mid_transaction(cluster, stalled)
            holder = threading.Thread(
                target=lambda: held.append((_register(stalled.url, "held", _schema("Held"), timeout=60), time.monotonic()))
            )
            holder.start()
            try:
                successor = cluster.leader(timeout=HANG_GUARD, exclude=stalled.url)
                load.wait_acks(5, fault)
                time.sleep(max(0.0, fault + 15.0 - time.monotonic()))
            finally:
                stalled.process.send_signal(signal.SIGCONT)
            resumed = time.monotonic()
            load.avoid.clear()
            holder.join(HANG_GUARD)
            load.wait_acks(20, resumed)
            while not [a for a in load.acks(resumed) if a.target == stalled.url]:  # it serves, as a follower
                assert time.monotonic() - resumed < HANG_GUARD
                time.sleep(0.1)
        refused = max((a.done - a.sent for a in load.refusals()), default=0.0)
        print(
            f"paused leader: failover {load.failover(fault):.1f} s, longest write outage "
            f"{load.longest_outage(fault - 1.0):.1f} s, {len(load.refusals())} writes refused (longest {refused:.1f} s), "
            f"{len(load.acks())} acknowledged; the write held by the paused leader answered "
            f"{held[0][0].status_code if held else None} {held[0][1] - fault if held else 0:.1f} s after the pause began"
        )
        announced = _announcements(cluster.bootstrap, cluster.group)
        assert stalled.url not in announced[announced.index(successor.url):], announced
        assert load.refusals() == []
        assert held and held[0][0].status_code == 200, held
        accepted = {**load.accepted(), "held": (held[0][0].json()["id"], "Held")}
        _check_everywhere(cluster.servers, accepted)
        _check_confluent_reads(cluster.bootstrap, cluster.topic, accepted)
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
        # a write that finds the leader's URL dead keeps trying it: the leader comes back on it
        answers: list[httpx.Response] = []
        writer = threading.Thread(target=lambda: answers.append(_register(follower.url, "t", _schema("T"), timeout=30)))
        writer.start()
        restarted = cluster.restart(leader)
        writer.join(HANG_GUARD)
        assert answers and answers[0].status_code == 200, answers
        assert cluster.leader() is restarted
    finally:
        cluster.close()


def _new_leader(admin: AdminClient, topic: str, lost: int) -> float:
    """When the metadata first names a leader of ``topic`` other than broker ``lost``."""
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        try:
            leader = admin.list_topics(topic, timeout=1).topics[topic].partitions[0].leader
        except (KafkaException, KeyError):
            leader = lost
        if leader not in (lost, -1):
            break
        time.sleep(0.1)
    return time.monotonic()


def test_replicated_topic_survives_losing_a_broker(kafka_cluster3: KafkaCluster) -> None:
    """kill -9 of the broker leading the topic under a steady writer: writes come back (the
    outage is printed; the bound is the transaction timeout), and nothing acknowledged is lost."""
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
        killed = time.monotonic()
        kafka_cluster3.kill(victim)
        moved: list[float] = []  # when Kafka gave the topic another leader: the floor of any outage
        watcher = threading.Thread(target=lambda: moved.append(_new_leader(admin, topic, victim)), daemon=True)
        watcher.start()
        try:
            back = None
            i = 0
            failures: list[str] = []
            while i < 10:
                assert time.monotonic() - killed < 2 * HANG_GUARD, f"no writes after losing one broker: {failures[-3:]}"
                try:
                    accepted[f"b{i}"] = reg.register(f"b{i}", RegisterRequest(_schema(f"B{i}"))).id
                except RegistryError as exc:
                    failures.append(exc.message)
                    time.sleep(0.1)
                    continue
                back = back or time.monotonic()
                i += 1
            assert back is not None
            watcher.join(HANG_GUARD)
            print(
                f"lost broker {victim} (leading the topic): writes back after {back - killed:.1f} s (Kafka gave the "
                f"topic a new leader after {moved[0] - killed if moved else float('nan'):.1f} s), "
                f"{len(failures)} refused on the way ({sorted(set(failures))[:3]})"
            )
            reader = Registry(KafkaStore(bootstrap, topic, group_id=f"reader-{topic}", leader_eligible=False))
            try:
                for subject, schema_id in accepted.items():
                    assert reader.get_version(subject, 1).id == schema_id
            finally:
                reader.close()
        finally:
            kafka_cluster3.start(victim)
