"""``KafkaStreams``: runs a topology against Kafka, one consumer group per application.

Each process joins the group ``application.id``; the partitions it is given become tasks
(partition ``p`` of every source topic is task ``p``, co-located by the ``range`` assignor).
Records are consumed in batches and pushed through the task's processors; state changes, offsets
and (under ``exactly_once_v2``) outputs are committed together every ``commit.interval.ms``:

* ``at_least_once``: changelog writes, producer flush, SQLite write, then the offset commit.
* ``exactly_once_v2``: outputs, changelog writes and offsets in one transaction
  (``send_offsets_to_transaction``); the SQLite file is written only after the commit succeeds.

The inputs of a join reach their task in timestamp order through a ``PartitionGroup``, which
holds records back while another input is still fetching (``max.task.idle.ms``).
"""

from __future__ import annotations

import fcntl
import logging
import signal
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from streams.config import StreamsConfig
from streams.partition_group import PartitionGroup
from streams.processor import Headers
from streams.restore import Restorer
from streams.state_file import Change, StateFile
from streams.task import ErrorPolicy, Task
from streams.topics import prepare_topics
from streams.topology import Topology

log = logging.getLogger("streams")

CREATED, RUNNING, STOPPED = "CREATED", "RUNNING", "STOPPED"
PUNCTUATE_INTERVAL_MS = 100
MAX_BUFFERED_RECORDS = 10_000  # per joined input of a task, before its partition is paused
PURGE_INTERVAL_S = 30.0


def lock_state_dir(state_dir: Path) -> Any:
    """Hold ``<state.dir>/<application.id>/.lock`` for the process lifetime: two processes sharing a
    state directory would share a ``transactional.id`` and fence each other."""
    state_dir.mkdir(parents=True, exist_ok=True)
    handle = (state_dir / ".lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise RuntimeError(f"{state_dir} is in use by another process; give each process its own state.dir") from None
    return handle


def process_id(state_dir: Path) -> str:
    """A stable id per state directory, so a restarted process reuses its ``transactional.id``
    and fences its own unfinished transaction at once."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "process.id"
    if not path.exists():
        path.write_text(uuid.uuid4().hex)
    return path.read_text().strip()


class KafkaStreams:
    """``KafkaStreams(topology, {"application.id": ..., "bootstrap.servers": ...}).run()``."""

    def __init__(self, topology: Topology, config: dict[str, Any] | StreamsConfig) -> None:
        self.topology = topology
        self.config = config if isinstance(config, StreamsConfig) else StreamsConfig.from_dict(config)
        self.state = CREATED
        self.tasks: dict[int, Task] = {}
        self._sources: dict[int, dict[str, Any]] = {}
        self.metrics: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._files: dict[int, StateFile] = {}
        self._checkpoints: dict[int, dict[str, int]] = {}
        self._errors: list[KafkaError] = []
        self._assigned_at = float("inf")
        self._lock: Any = None
        self._groups: dict[int, PartitionGroup] = {}
        self._paused: set[tuple[str, int]] = set()

    def start(self) -> None:
        """Run in a background thread (for tests and embedding; scale out with processes)."""
        self._thread = threading.Thread(target=self.run, kwargs={"install_signal_handlers": False}, daemon=True)
        self._thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Ask the loop to stop, commit and leave the group; waits for a ``start()``-ed thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self, *, idle_timeout_s: float | None = None, install_signal_handlers: bool = True) -> None:
        """Process until ``close()``, SIGTERM/SIGINT or, with ``idle_timeout_s``, that long without records."""
        if install_signal_handlers and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self._stop.set())
        try:
            self._setup()
        except BaseException:
            if self._lock is not None:
                self._lock.close()
            raise
        try:
            self._loop(idle_timeout_s)
        except BaseException:
            self._shutdown(clean=False)
            raise
        self._shutdown(clean=True)

    def _setup(self) -> None:
        cfg = self.config
        app = cfg.application_id
        self.app_dir = cfg.state_dir / app
        self._lock = lock_state_dir(self.app_dir)
        self.process_id = process_id(self.app_dir)
        self.binding = self.topology.bind(app, cfg.default_key_serde, cfg.default_value_serde)
        self.admin = AdminClient(cfg.client(cfg.admin))
        self.partitions = prepare_topics(self.topology, cfg, self.admin)
        self._repartition = {self.binding(t) for t in self.topology.repartition_topics}
        self._next_purge = time.monotonic() + PURGE_INTERVAL_S
        self.changelogs = {s: self.topology.changelog_topic(app, s) for s in self.topology.stores}
        self.error_policy = ErrorPolicy(cfg.dlq_topic, cfg.exception_handler)
        producer_conf: dict[str, Any] = {
            **cfg.client(),
            "partitioner": "murmur2_random",  # Java's default: co-partitioning relies on it
            "linger.ms": 5,
            "enable.idempotence": True,
            "queue.buffering.max.messages": 1_000_000,
            "error_cb": self._on_error,
        }
        if cfg.exactly_once:
            producer_conf["transactional.id"] = f"{app}-{self.process_id}"
            producer_conf["transaction.timeout.ms"] = 10_000
        producer_conf.update(cfg.producer)
        self.producer = Producer(producer_conf)
        consumer_conf: dict[str, Any] = {
            **cfg.client(),
            "group.id": app,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "range",
            "isolation.level": "read_committed" if cfg.exactly_once else "read_uncommitted",
            "error_cb": self._on_error,
        }
        self._joined = sorted({self.binding(t) for group in self.topology.copartition_groups for t in group})
        if self._joined:
            consumer_conf["enable.partition.eof"] = True  # an input known to be at its end holds nothing back
        consumer_conf.update(cfg.consumer)
        self.consumer = Consumer(consumer_conf)
        if cfg.exactly_once:
            self.producer.init_transactions(30)
            self.producer.begin_transaction()
        produce, poll = self.producer.produce, self.producer.poll

        def send(topic: str, key: bytes | None, value: bytes | None, ts: int, headers: Headers | None = None) -> None:
            try:
                produce(topic, value, key, timestamp=ts, headers=headers)
            except BufferError:
                poll(0.1)
                produce(topic, value, key, timestamp=ts, headers=headers)

        self.send = send
        self.restorer = Restorer(cfg.client(), f"{app}-restore", self.error_policy, send, self.metrics)
        topics = [self.binding(t) for t in self.topology.sources]
        self.consumer.subscribe(topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost)
        self.state = RUNNING

    def _on_error(self, err: KafkaError) -> None:
        log.warning("kafka error: %s", err)
        if err.fatal():
            self._errors.append(err)

    def _loop(self, idle_timeout_s: float | None) -> None:
        consumer, tasks = self.consumer, self.tasks
        batch = self.config.max_batch_records
        interval = self.config.commit_interval_ms / 1000
        next_commit = time.monotonic() + interval
        last_punctuate = 0.0
        last_record = time.monotonic()
        processed = 0
        while not self._stop.is_set():
            if self._errors:
                raise KafkaException(self._errors[0])
            msgs = consumer.consume(batch, timeout=0.05)
            ready = self._release(msgs) if self._joined else msgs
            self._process_batch(ready)
            now = time.monotonic()
            processed += len(ready)
            if msgs:
                last_record = now
                self.producer.poll(0)
            elif idle_timeout_s is not None and now - max(last_record, self._assigned_at) > idle_timeout_s:
                break
            if now - last_punctuate >= PUNCTUATE_INTERVAL_MS / 1000:
                last_punctuate = now
                wall = int(time.time() * 1000)
                for task in list(tasks.values()):
                    if task.punctuators:
                        task.punctuate(wall)
            if now >= next_commit:
                self.metrics["processed"] += processed
                processed = 0
                self.commit()
                next_commit = time.monotonic() + interval
        self.metrics["processed"] += processed

    def _release(self, msgs: list[Any]) -> list[Any]:
        """Joined inputs go through their task's :class:`PartitionGroup`; the rest straight on."""
        groups = self._groups
        now = time.monotonic() * 1000
        ready: list[Any] = []
        for msg in msgs:
            group = groups.get(msg.partition())
            if group is None or msg.topic() not in group:
                ready.append(msg)
            elif msg.error() is None:
                group.add(msg)
            elif msg.error().code() == KafkaError._PARTITION_EOF:
                group.reached_end(msg.topic(), now)
            else:
                ready.append(msg)
        for group in groups.values():
            ready += group.drain(now)
        self._pause_full_buffers()
        return ready

    def _pause_full_buffers(self) -> None:
        """Stop fetching an input whose buffer is full while another holds it back; resume it once drained."""
        pause, resume = [], []
        for p, group in self._groups.items():
            for topic in self._joined:
                size, key = group.buffered(topic), (topic, p)
                if size >= MAX_BUFFERED_RECORDS and key not in self._paused:
                    pause.append(key)
                elif size < MAX_BUFFERED_RECORDS // 2 and key in self._paused:
                    resume.append(key)
        if pause:
            self.consumer.pause([TopicPartition(t, p) for t, p in pause])
            self._paused.update(pause)
        if resume:
            self.consumer.resume([TopicPartition(t, p) for t, p in resume])
            self._paused.difference_update(resume)

    def _process_batch(self, msgs: list[Any]) -> None:
        """The per-record path: straight into the task's source; failures go to its error policy."""
        sources = self._sources
        i, n = 0, len(msgs)
        while i < n:
            try:
                while i < n:
                    msg = msgs[i]
                    i += 1
                    if msg.error() is None:
                        sources[msg.partition()][msg.topic()].process_raw(msg.key(), msg.value(), msg.timestamp()[1])
                    elif msg.error().code() != KafkaError._PARTITION_EOF:
                        log.warning("consume error: %s", msg.error())
            except Exception as exc:
                self.tasks[msg.partition()].handle_error(
                    exc, msg.topic(), msg.offset(), msg.key(), msg.value(), msg.timestamp()[1]
                )

    def commit(self) -> None:
        """Changelog, outputs and offsets; then the local SQLite files."""
        changes: dict[int, dict[str, list[Change]]] = {}
        offsets: dict[tuple[int, str], int] = {}

        def delivered(err: KafkaError | None, msg: Any) -> None:
            if err is not None:
                self._errors.append(err)
            else:
                offsets[(msg.partition(), msg.topic())] = msg.offset() + 1

        codecs = self.binding.codecs
        for p, task in self.tasks.items():
            per_store: dict[str, list[Change]] = {}
            for name, store in task.stores.items():
                try:
                    entries = codecs[name].changes(store)
                except Exception as exc:
                    raise RuntimeError(f"store {name!r} of task {p} cannot be written with its serdes: {exc}; "
                                       "give it serdes that fit (Materialized.with_(key_serde, value_serde))") from exc
                if entries:
                    per_store[name] = entries
                    topic = self.changelogs[name]
                    for key, value in entries:
                        self._produce_changelog(topic, p, key, value, delivered)
            if per_store:
                changes[p] = per_store
        positions = self._positions()
        if self.config.exactly_once:
            if positions:
                self.producer.send_offsets_to_transaction(positions, self.consumer.consumer_group_metadata(), 30)
            self.producer.commit_transaction(60)
        else:
            remaining = self.producer.flush(60)
            if remaining:
                raise KafkaException(f"{remaining} records not delivered within 60 s")
        if self._errors:
            raise KafkaException(self._errors[0])
        for p, per_store in changes.items():
            checkpoints = self._checkpoints.setdefault(p, {})
            for name in per_store:
                offset = offsets.get((p, self.changelogs[name]))
                if offset is not None:
                    checkpoints[name] = offset
            self._files[p].write(per_store, checkpoints)
        if not self.config.exactly_once and positions:
            self.consumer.commit(offsets=positions, asynchronous=False)
        if self.config.exactly_once:
            self.producer.begin_transaction()
        self.metrics["commits"] += 1
        if self._repartition and time.monotonic() >= self._next_purge:
            self._next_purge = time.monotonic() + PURGE_INTERVAL_S
            self._purge([tp for tp in positions if tp.topic in self._repartition])

    def _purge(self, committed: list[TopicPartition]) -> None:
        """Delete repartition records below the committed offsets (as Kafka Streams does); async."""
        if committed:
            for future in self.admin.delete_records(committed).values():
                future.add_done_callback(_log_purge_failure)

    def _produce_changelog(self, topic: str, partition: int, key: bytes, value: bytes | None, cb: Any) -> None:
        try:
            self.producer.produce(topic, value, key, partition=partition, on_delivery=cb)
        except BufferError:
            self.producer.poll(0.1)
            self.producer.produce(topic, value, key, partition=partition, on_delivery=cb)

    def _positions(self) -> list[TopicPartition]:
        assigned = self.consumer.assignment()
        if not assigned:
            return []
        positions = [tp for tp in self.consumer.position(assigned) if tp.offset >= 0]
        if not self._groups:
            return positions
        # Records consumed but still buffered are not processed: the commit resumes at the first of them.
        first = {(t, p): o for p, g in self._groups.items() for t, o in g.first_offsets().items()}
        return [TopicPartition(tp.topic, tp.partition, first.get((tp.topic, tp.partition), tp.offset))
                for tp in positions]

    def _open_task(self, partition: int) -> Task:
        state = self._files[partition] = StateFile(self.app_dir / str(partition) / "state.db")
        self._checkpoints[partition] = state.checkpoints()
        codecs = self.binding.codecs
        stores = {name: codec.new_store() for name, codec in codecs.items()}
        started = time.monotonic()
        replayed = self.restorer.restore(state, stores, codecs, self.changelogs, partition)
        if any(replayed.values()):
            self._checkpoints[partition] = state.checkpoints()
            log.info("task %d restored %s in %.2fs", partition, replayed, time.monotonic() - started)
        self.metrics["restored-records"] += sum(replayed.values())
        return Task(self.topology, partition, self.binding, self.send, _wall_ms, stores, self.error_policy)

    def _close_tasks(self, partitions: set[int]) -> None:
        for p in partitions:
            task = self.tasks.pop(p, None)
            self._sources.pop(p, None)
            self._groups.pop(p, None)
            self._paused.difference_update({key for key in self._paused if key[1] == p})
            if task is not None:
                self.metrics.update(task.metrics)
            state = self._files.pop(p, None)
            if state is not None:
                state.close()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for p in sorted({tp.partition for tp in partitions}):
            if p not in self.tasks:
                self.tasks[p] = self._open_task(p)
                self._sources[p] = self.tasks[p].sources
                if self._joined:
                    self._groups[p] = PartitionGroup(p, self._joined, self.config.max_task_idle_ms,
                                                     time.monotonic() * 1000)
        self._assigned_at = time.monotonic()
        log.info("assigned tasks %s", sorted(self.tasks))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if self.tasks:
            self.commit()
        self._close_tasks({tp.partition for tp in partitions})

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if self.config.exactly_once:
            self.producer.abort_transaction(30)
            self.producer.begin_transaction()
        self._close_tasks({tp.partition for tp in partitions})

    def _shutdown(self, clean: bool) -> None:
        """Clean: commit and leave the group. After a failure nothing more is committed: the
        open transaction is aborted (or, at least once, offsets stay where the last commit left them)."""
        try:
            if self.state == RUNNING:
                if clean and self.tasks:
                    self.commit()
                if not clean:
                    self._close_tasks(set(self.tasks))
                self.consumer.close()
                if self.config.exactly_once:
                    try:
                        self.producer.abort_transaction(30)
                    except KafkaException as exc:
                        if clean:
                            raise
                        log.warning("aborting the open transaction failed: %s", exc)
                self.producer.flush(30)
                self.restorer.close()
        finally:
            self._close_tasks(set(self.tasks))
            self._lock.close()
            self.state = STOPPED


def _log_purge_failure(future: Any) -> None:
    if future.exception() is not None:
        log.warning("purging a repartition topic failed: %s", future.exception())


def _wall_ms() -> int:
    return int(time.time() * 1000)
