"""The Kafka store: the registry lives in Confluent's ``_schemas`` topic.

* The topic has exactly one partition and ``cleanup.policy=compact``; it is
  created that way when absent and refused otherwise.
* A reader thread replays the topic from offset 0 (``read_committed``) and
  applies every record in order; :meth:`KafkaStore.open` returns once it has
  reached the end offset. A SCHEMA record binding an id to a schema other
  than the one it already names is rejected and logged (the last defence
  against duplicate ids, as Confluent's ``validateUpdate``).
* Leader election: eligible instances join the consumer group ``group_id``
  on a one-partition election topic; the member assigned the partition is
  the leader. It opens a transactional producer with the cluster's one fixed
  ``transactional.id`` (which fences any former leader's producer), writes a
  NOOP plus its advertised URL in one transaction, reads its log up to the
  NOOP (so it has caught up before allocating ids) and only then accepts
  writes. Followers read the announced URL from the election topic.
* :meth:`KafkaStore.append` writes the records in one transaction
  (``acks=all``, idempotent) and returns once the reader has applied the
  last of them (an offset watcher); a deposed leader's commit is fenced.
* DEK Registry records (KEKs, DEKs) live in their own compacted topic, as
  Confluent's ``_dek_registry_keys`` in its format (``keys_topic``; by default
  that name next to ``_schemas``, ``<topic>-dek-registry-keys`` next to any
  other store topic). The same transactions write both topics; the reader
  applies both, and a new leader catches up with both before it writes (its
  NOOP there is a tombstone of a key in a tenant nobody uses).
"""

from __future__ import annotations

import gc
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextvars import ContextVar, Token
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from ..errors import LeaderNotKnown, StoreError, StoreTimeout
from ..subjects import context_of
from . import kafka_config, kafka_topics, key_records
from .base import Apply, Store
from .kafka_records import NOOP_KEY, ContentPool, RecordFormatError, decode, encode
from .records import (
    ClearSubjectRecord,
    DeleteSubjectRecord,
    Record,
    SchemaRecord,
    SchemaTombstone,
)

log = logging.getLogger("schemahub.kafka")

LEADER_KEY = b"leader"

# The leadership term a request was admitted under (set by the HTTP layer):
# a write computed under one term must not be appended under another.
_pinned_term: ContextVar[int | None] = ContextVar("schemahub_pinned_term", default=None)


def election_topic_for(group_id: str) -> str:
    safe = re.sub(r"[^a-zA-Z0-9._-]", "_", group_id)[:200]
    return f"_schemahub_leader-{safe}"


class _IdIndex:
    """Which (subject, version) binds each (context, id) to which content."""

    def __init__(self) -> None:
        self.by_version: dict[tuple[str, int], tuple[tuple[str, int], bytes, bool]] = {}
        self.users: dict[tuple[str, int], dict[tuple[str, int], bytes]] = {}
        self.max_ids: dict[str, int] = {}

    def conflict(self, record: SchemaRecord) -> bool:
        users = self.users.get((context_of(record.subject), record.id), {})
        own = (record.subject, record.version)
        key = record.content_key
        return any(content != key for sv, content in users.items() if sv != own)

    def _drop(self, sv: tuple[str, int]) -> None:
        found = self.by_version.pop(sv, None)
        if found is not None:
            users = self.users.get(found[0])
            if users is not None:
                users.pop(sv, None)
                if not users:
                    del self.users[found[0]]

    def apply(self, record: Record) -> None:
        if isinstance(record, SchemaRecord):
            sv = (record.subject, record.version)
            self._drop(sv)
            cid = (context_of(record.subject), record.id)
            self.by_version[sv] = (cid, record.content_key, record.deleted)
            self.users.setdefault(cid, {})[sv] = record.content_key
            if record.id > self.max_ids.get(cid[0], 0):
                self.max_ids[cid[0]] = record.id
        elif isinstance(record, SchemaTombstone):
            self._drop((record.subject, record.version))
        elif isinstance(record, DeleteSubjectRecord):
            for sv, (cid, content, _) in list(self.by_version.items()):
                if sv[0] == record.subject and sv[1] <= record.version:
                    self.by_version[sv] = (cid, content, True)
        elif isinstance(record, ClearSubjectRecord):
            for sv, (_, _, deleted) in list(self.by_version.items()):
                if sv[0] == record.subject and deleted:
                    self._drop(sv)


class KafkaStore(Store):
    def __init__(
        self,
        bootstrap: str,
        topic: str = "_schemas",
        *,
        group_id: str = "schema-registry",
        advertised_url: str | None = None,
        leader_eligible: bool = True,
        init_timeout: float = 60.0,
        write_timeout: float = 10.0,
        session_timeout_ms: int = 6000,
        connect_wait: float = 0.0,
        client_config: dict[str, Any] | None = None,
        keys_topic: str | None = None,
        topic_settings: kafka_topics.TopicSettings | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.keys_topic = keys_topic or ("_dek_registry_keys" if topic == "_schemas" else f"{topic}-dek-registry-keys")
        self.group_id = group_id
        self.election_topic = election_topic_for(group_id)
        self.transactional_id = f"schemahub-{group_id}-{topic}"
        self.advertised_url = advertised_url
        self.leader_eligible = leader_eligible
        self.init_timeout = init_timeout
        self.write_timeout = write_timeout
        self.session_timeout_ms = session_timeout_ms
        self.instance = uuid.uuid4().hex
        self.connect_wait = connect_wait
        self._client_config = kafka_config.client_config(bootstrap, client_config)
        self.topic_settings = topic_settings or kafka_topics.TopicSettings()
        self.cluster_id: str | None = None  # the Kafka cluster's, once open
        self._apply: Apply | None = None
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._position = 0  # next offset of the topic to apply: everything before is applied
        self._keys_position = 0  # the same for the keys topic
        self._seen_end = -1  # the topic's end offset as of the reader's last fetch (-1: unknown yet)
        self._index = _IdIndex()
        self._contents: ContentPool | None = None  # during the replay at open
        self._leader: tuple[str | None, str | None] = (None, None)  # announced (url, instance)
        self._term = 0
        self._ready_term: int | None = None
        self._assigned = False  # this member holds the election partition
        self._producer: Producer | None = None
        self._reader: Consumer | None = None
        self._offsets: Consumer | None = None
        self._offsets_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self.rejected = 0  # SCHEMA records refused on replay

    # -- setup ---------------------------------------------------------------

    def _admin(self) -> AdminClient:
        return AdminClient(dict(self._client_config))

    def _ensure_topic(self, admin: AdminClient, name: str) -> None:
        kafka_topics.ensure_topic(admin, name, self.topic_settings, self._client_config.get("sasl.username"))

    def open(self, apply: Apply) -> None:
        self._apply = apply
        kafka_config.reach_cluster(self._client_config, self.connect_wait)
        admin = self._admin()
        self.cluster_id = admin.list_topics(timeout=15).cluster_id
        self._ensure_topic(admin, self.topic)
        self._ensure_topic(admin, self.keys_topic)
        self._ensure_topic(admin, self.election_topic)
        log.info("Kafka cluster %s: %s", self.cluster_id, kafka_config.shown(self._client_config))
        reader = Consumer(
            {
                **self._client_config,
                "group.id": f"schemahub-reader-{self.instance}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": 10,
            }
        )
        self._reader = reader
        try:
            end = self.end_offset(self.init_timeout)
            keys_end = self.end_offset(self.init_timeout, self.keys_topic)
        except KafkaException as exc:
            reader.close()
            raise StoreError(f"Cannot read the end offset of {self.topic}: {exc.args[0].str()}") from None
        self._seen_end = end
        reader.assign(
            [TopicPartition(self.topic, 0, OFFSET_BEGINNING), TopicPartition(self.keys_topic, 0, OFFSET_BEGINNING),
             TopicPartition(self.election_topic, 0, OFFSET_BEGINNING)]
        )
        # The replay shares equal contents (one key derivation each) and builds millions of
        # objects none of which is cyclic: the collector would walk them again and again.
        self._contents = ContentPool()
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._spawn("schemahub-reader", self._read_loop)
            started = time.monotonic()
            replayed = self._wait_replayed(end) and self._wait_keys(keys_end, self.init_timeout)
        finally:
            self._contents = None
            if collecting:
                gc.enable()
        if not replayed:
            self.close()
            raise StoreError(f"Could not read {self.topic} up to offset {end}: no record in {self.init_timeout:.0f}s")
        log.info("replayed %s up to offset %d in %.2fs", self.topic, end, time.monotonic() - started)
        if self.leader_eligible:
            self._spawn("schemahub-election", self._election_loop)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    # -- reading -------------------------------------------------------------

    def _read_loop(self) -> None:
        reader = self._reader
        assert reader is not None
        partition = TopicPartition(self.topic, 0)
        while not self._stop.is_set():
            try:
                first = reader.poll(0.1)  # (consume() would wait for a full batch)
                seen_end = int(reader.get_watermark_offsets(partition, cached=True)[1])
                if seen_end >= 0:
                    self._seen_end = seen_end
                if first is None:
                    continue
                messages = [first, *reader.consume(999, 0)]
            except (KafkaException, RuntimeError) as exc:  # pragma: no cover - consumer closed under us
                log.warning("reader: %s", exc)
                continue
            position = keys_position = None
            for msg in messages:
                err = msg.error()
                offset = int(msg.offset() or 0)
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        if msg.topic() == self.topic:
                            position = max(position or 0, offset)
                        elif msg.topic() == self.keys_topic:
                            keys_position = max(keys_position or 0, offset)
                    else:
                        log.warning("reader: %s", err.str())
                    continue
                if msg.topic() == self.election_topic:
                    self._on_leader_record(msg.key(), msg.value())
                    continue
                if msg.topic() == self.keys_topic:
                    self._on_key_record(offset, msg.key(), msg.value())
                    keys_position = max(keys_position or 0, offset + 1)
                    continue
                self._on_record(offset, msg.key(), msg.value())
                position = max(position or 0, offset + 1)
            if position is not None or keys_position is not None:
                with self._cond:
                    if position is not None and position > self._position:
                        self._position = position
                    if keys_position is not None and keys_position > self._keys_position:
                        self._keys_position = keys_position
                    self._cond.notify_all()

    def _on_record(self, offset: int, key: bytes | None, value: bytes | None) -> None:
        try:
            record = decode(key, value, self._contents)
        except RecordFormatError as exc:
            log.warning("skipping %s offset %d: %s", self.topic, offset, exc)
            return
        if record is None:
            return
        if isinstance(record, SchemaRecord) and self._index.conflict(record):
            self.rejected += 1
            log.error(
                "rejecting SCHEMA record at %s offset %d: id %d in context %s is already bound to a different "
                "schema (subject %s version %d)",
                self.topic, offset, record.id, context_of(record.subject), record.subject, record.version,
            )
            return
        self._index.apply(record)
        assert self._apply is not None
        try:
            self._apply(record)
        except Exception:  # a bad record must not stop the reader
            log.exception("cannot apply %s offset %d", self.topic, offset)

    def _on_key_record(self, offset: int, key: bytes | None, value: bytes | None) -> None:
        try:
            record = key_records.decode_message(key, value)
        except RecordFormatError as exc:
            log.warning("skipping %s offset %d: %s", self.keys_topic, offset, exc)
            return
        if record is None:
            return
        assert self._apply is not None
        try:
            self._apply(record)
        except Exception:  # a bad record must not stop the reader
            log.exception("cannot apply %s offset %d", self.keys_topic, offset)

    def _on_leader_record(self, key: bytes | None, value: bytes | None) -> None:
        if key != LEADER_KEY:
            return
        try:
            body = json.loads(value) if value else {}
        except ValueError:
            return
        with self._cond:
            self._leader = (body.get("url"), body.get("instance"))
            self._cond.notify_all()

    def _wait_replayed(self, offset: int) -> bool:
        """Wait until every record before ``offset`` is applied, as long as records keep being
        applied: false after ``init_timeout`` seconds without one (a large topic takes longer)."""
        with self._cond:
            while self._position < offset and not self._stop.is_set():
                if not self._cond.wait_for(self._moved_from(self._position), self.init_timeout):
                    return False
            return self._position >= offset

    def _moved_from(self, position: int) -> Callable[[], bool]:
        return lambda: self._position != position or self._stop.is_set()

    def _wait_position(self, offset: int, timeout: float) -> bool:
        """Wait until every record before ``offset`` is applied."""
        with self._cond:
            return self._cond.wait_for(lambda: self._position >= offset or self._stop.is_set(), timeout) and (
                self._position >= offset
            )

    def _wait_keys(self, offset: int, timeout: float) -> bool:
        """Wait until every keys-topic record before ``offset`` is applied."""
        with self._cond:
            return self._cond.wait_for(lambda: self._keys_position >= offset or self._stop.is_set(), timeout) and (
                self._keys_position >= offset
            )

    def end_offset(self, timeout: float, topic: str | None = None) -> int:
        """A topic's current end offset (a consumer of its own: the reader's is busy polling)."""
        with self._offsets_lock:
            if self._offsets is None:
                self._offsets = Consumer(
                    {
                        **self._client_config,
                        "group.id": f"schemahub-offsets-{self.instance}",
                        "enable.auto.commit": False,
                    }
                )
            partition = TopicPartition(topic or self.topic, 0)
            try:
                return int(self._offsets.get_watermark_offsets(partition, timeout=timeout)[1])
            finally:
                self._offsets.poll(0)  # serves its log lines

    def replay_lag(self) -> int | None:
        """Offsets between the topic's end, as the reader's last fetch saw it, and the next record to
        apply; no network call, so a metrics scrape never waits on the broker."""
        if self._reader is None or self._closed or self._seen_end < 0:
            return None
        with self._cond:
            return max(0, self._seen_end - self._position)

    def sync(self, timeout: float = 5.0) -> bool:
        """Wait until this instance has applied the topic up to its current end offset."""
        if self._reader is None or self._closed:
            return False
        try:
            end = self.end_offset(timeout)
        except (KafkaException, RuntimeError):
            return False
        return self._wait_position(end, timeout)

    # -- leadership ----------------------------------------------------------

    def _election_loop(self) -> None:
        consumer = Consumer(
            {
                **self._client_config,
                "group.id": self.group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "latest",
                "session.timeout.ms": self.session_timeout_ms,
                "heartbeat.interval.ms": max(500, self.session_timeout_ms // 6),
                "partition.assignment.strategy": "cooperative-sticky",  # joins do not move leadership
                "client.id": f"schemahub-{self.instance[:8]}",
            }
        )

        def on_assign(_: Consumer, partitions: list[TopicPartition]) -> None:
            if partitions:
                with self._cond:
                    self._assigned = True
                self._start_term("assigned the election partition")

        def on_revoke(_: Consumer, partitions: list[TopicPartition]) -> None:
            if partitions:
                with self._cond:
                    self._assigned = False
                self._step_down("election partition revoked")

        consumer.subscribe([self.election_topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
        try:
            while not self._stop.is_set():
                consumer.poll(0.05)
        finally:
            self._resign()
            try:
                consumer.close()
            except KafkaException:
                pass

    def _step_down(self, why: str) -> None:
        with self._cond:
            was = self._ready_term is not None
            self._term += 1
            self._ready_term = None
        if was:
            log.info("no longer the leader: %s", why)

    def _retake(self, why: str, delay: float = 0.0) -> None:
        """Drop the current producer; lead again with a new one if still assigned."""
        self._step_down(why)
        with self._cond:
            self._producer = None
            assigned = self._assigned and not self._stop.is_set()
        if assigned:  # (after a pause when fenced: a stalled former leader learns of its revocation meanwhile)
            self._start_term("retaking leadership", delay)

    def _start_term(self, why: str, delay: float = 0.0) -> None:
        with self._cond:
            self._term += 1
            term = self._term
        log.info("%s: becoming leader (term %d)", why, term)
        threading.Thread(
            target=self._become_leader, args=(term, delay), name="schemahub-leader", daemon=True
        ).start()

    def _become_leader(self, term: int, wait: float = 0.0) -> None:
        if wait and self._stop.wait(wait):
            return
        delay = 0.2
        while not self._stop.is_set():
            with self._cond:
                if self._term != term:
                    return
            try:
                producer = self._new_producer()
                producer.init_transactions(self.write_timeout)  # fences every former leader's producer
                noop, keys_noop = self._commit(
                    producer,
                    [(self.topic, NOOP_KEY, None), (self.keys_topic, key_records.NOOP_KEY, None),
                     (self.election_topic, LEADER_KEY, self._announcement())],
                )
            except (KafkaException, StoreError) as exc:
                log.warning("cannot take leadership yet (%s); retrying", exc)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            caught_up = self._wait_position(noop + 1, self.init_timeout) and self._wait_keys(
                keys_noop + 1, self.init_timeout)
            if not caught_up:
                log.warning("leader could not catch up with %s; retrying", self.topic)
                continue
            with self._cond:
                if self._term != term:
                    return
                self._producer = producer
                self._ready_term = term
                self._cond.notify_all()
            log.info("leader ready (term %d) at %s offset %d", term, self.topic, noop)
            return

    def _announcement(self, url: str | None = "") -> bytes:
        return json.dumps(
            {"url": self.advertised_url if url == "" else url, "instance": self.instance, "ts": int(time.time() * 1000)}
        ).encode()

    def _resign(self) -> None:
        """On a clean stop, withdraw the announcement so followers stop forwarding here."""
        with self._cond:
            producer = self._producer if self._ready_term is not None else None
        self._step_down("stopping")
        if producer is not None:
            try:
                self._commit(producer, [(self.election_topic, LEADER_KEY, self._announcement(None))], timeout=3.0)
            except (KafkaException, StoreError):
                pass

    def _new_producer(self) -> Producer:
        return Producer(
            {
                **self._client_config,
                "transactional.id": self.transactional_id,
                "acks": "all",
                "enable.idempotence": True,
                "transaction.timeout.ms": 10000,
                "linger.ms": 0,
                "retry.backoff.ms": 20,
            }
        )

    def _commit(
        self, producer: Producer, messages: list[tuple[str, bytes, bytes | None]], timeout: float | None = None
    ) -> tuple[int, int]:
        """Write ``messages`` in one transaction; answer the offset of the first one on the store topic
        and on the keys topic (-1 for none)."""
        timeout = self.write_timeout if timeout is None else timeout
        offsets: list[int] = []
        key_offsets: list[int] = []
        failures: list[str] = []

        def delivered(err: KafkaError | None, msg: Any) -> None:
            if err is not None:
                failures.append(err.str())
            elif msg.topic() == self.topic:
                offsets.append(msg.offset())
            elif msg.topic() == self.keys_topic:
                key_offsets.append(msg.offset())

        producer.begin_transaction()
        try:
            for topic, key, value in messages:
                producer.produce(topic, key=key, value=value, on_delivery=delivered)
            producer.commit_transaction(timeout)
        except KafkaException as exc:
            err = exc.args[0]
            if err.txn_requires_abort():
                try:
                    producer.abort_transaction(timeout)
                except KafkaException:
                    pass
            raise
        if failures:
            raise StoreError(f"Error while writing to {self.topic}: {failures[0]}")
        return (min(offsets) if offsets else -1), (min(key_offsets) if key_offsets else -1)

    # -- the Store interface -------------------------------------------------

    def cluster_ids(self) -> dict[str, str]:
        clusters = {"schema-registry-cluster": self.group_id}
        return {"kafka-cluster": self.cluster_id, **clusters} if self.cluster_id else clusters

    def is_leader(self) -> bool:
        with self._cond:
            return self._ready_term is not None

    def leader_url(self) -> str | None:
        with self._cond:
            if self._ready_term is not None:
                return self.advertised_url
            url, instance = self._leader
            if instance == self.instance:
                return None  # our own announcement, but we are not (or not yet) ready
            return url

    def pin_term(self) -> Token:
        """Admit the current request under this leadership term (see :meth:`append`)."""
        with self._cond:
            return _pinned_term.set(self._ready_term)

    @staticmethod
    def unpin(token: Token) -> None:
        _pinned_term.reset(token)

    def write_token(self) -> object:
        """The term this request was admitted under: one append holds writes of one term."""
        return _pinned_term.get()

    def id_high_water(self) -> dict[str, int]:
        return dict(self._index.max_ids)

    def append(self, records: Sequence[Record]) -> None:
        if self._apply is None or self._closed:
            raise StoreError("Store is not open")
        if not records:
            return
        with self._write_lock:
            with self._cond:
                term, producer = self._ready_term, self._producer
            if term is None or producer is None:
                raise LeaderNotKnown()
            pinned = _pinned_term.get()
            if pinned is not None and pinned != term:
                raise StoreError("Leadership changed while the request was being handled; retry")
            offsets: list[int] = []
            key_offsets: list[int] = []
            failures: list[str] = []

            def delivered(err: KafkaError | None, msg: Any) -> None:
                if err is not None:
                    failures.append(err.str())
                elif msg.topic() == self.keys_topic:
                    key_offsets.append(msg.offset())
                else:
                    offsets.append(msg.offset())

            try:
                producer.begin_transaction()
                for record in records:
                    if isinstance(record, key_records.KEY_RECORDS):
                        key, value = key_records.encode(record)
                        producer.produce(self.keys_topic, key=key, value=value, on_delivery=delivered)
                    else:
                        key, value = encode(record)
                        producer.produce(self.topic, key=key, value=value, on_delivery=delivered)
                producer.commit_transaction(self.write_timeout)
            except KafkaException as exc:
                err = exc.args[0]
                clean = False
                if err.txn_requires_abort() and not err.fatal():
                    try:
                        producer.abort_transaction(self.write_timeout)
                        clean = True
                    except KafkaException:
                        pass
                if not clean:
                    # fenced, fatal, or a commit whose outcome is unknown: this producer is done.
                    # Take leadership again with a new one if the group still wants us (its
                    # init_transactions settles the open transaction; the NOOP catches up).
                    fenced = err.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED)
                    self._retake(f"transaction failed: {err.str()}", delay=2.0 if fenced else 0.0)
                if err.code() == KafkaError._TIMED_OUT or (err.retriable() and not err.fatal()):
                    raise StoreTimeout(f"Write to {self.topic} timed out: {err.str()}") from None
                raise StoreError(f"Error while writing to {self.topic}: {err.str()}") from None
            if failures or not (offsets or key_offsets):
                raise StoreError(f"Error while writing to {self.topic}: {failures[0] if failures else 'no offset'}")
            if offsets and not self._wait_position(max(offsets) + 1, self.write_timeout):
                raise StoreTimeout(f"Write to {self.topic} at offset {max(offsets)} was not read back in time")
            if key_offsets and not self._wait_keys(max(key_offsets) + 1, self.write_timeout):
                raise StoreTimeout(f"Write to {self.keys_topic} at offset {max(key_offsets)} was not read back in time")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=15)
        for consumer in (self._reader, self._offsets):
            if consumer is not None:
                try:
                    consumer.close()
                except (KafkaException, RuntimeError):
                    pass
        self._producer = None
