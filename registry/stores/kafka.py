"""The Kafka store: the registry lives in Confluent's ``_schemas`` topic.

* The topic has exactly one partition and ``cleanup.policy=compact``; it is
  created that way when absent and refused otherwise.
* A reader thread replays the topic from offset 0 (``read_committed``) and
  applies every record in order; :meth:`KafkaStore.open` returns once it has
  reached the end offset. A SCHEMA record binding an id to a schema other
  than the one it already names is rejected and logged (the last defence
  against duplicate ids, as Confluent's ``validateUpdate``).
* Aborted records stay in the topic, and Confluent's reader does not filter
  them (it reads uncommitted). So every instance that may lead also reads the
  topic uncommitted, as Confluent would, and the leader allocates ids and
  versions above everything that reader has seen (and above its own write
  attempts): an id or version left in an aborted record is never given to
  other content, and Confluent started on the topic at any moment serves every
  acknowledged schema under its id.
* Leader election: eligible instances join the consumer group ``group_id``
  on a one-partition election topic; the member assigned the partition is
  the leader. It opens a transactional producer with the cluster's one fixed
  ``transactional.id`` (which fences any former leader's producer), writes a
  NOOP plus its advertised URL in one transaction, reads its log (both ways)
  up to the NOOP, so it has caught up before allocating ids, and only then
  accepts writes. Followers read the announced URL from the election topic.
* Leadership stays put: only a fresh assignment starts a term. A leader that
  is fenced, or whose election loop stalled longer than the group session
  (SIGSTOP, a frozen VM), steps down and rejoins the group as a new member,
  so the group, not the stale instance, decides who leads.
* :meth:`KafkaStore.append` writes the records in one transaction
  (``acks=all``, idempotent) and returns once the reader has applied the
  last of them (an offset watcher); a deposed leader's commit is fenced, and
  a write refused because leadership moved before anything was written raises
  :class:`LeadershipLost`, which the HTTP layer forwards to the new leader.
* DEK Registry records (KEKs, DEKs) live in their own compacted topic, as
  Confluent's ``_dek_registry_keys`` in its format (``keys_topic``; by default
  that name next to ``_schemas``, ``<topic>-dek-registry-keys`` next to any
  other store topic). The same transactions write both topics; the reader
  applies both, and a new leader catches up with both before it writes (its
  NOOP there is a tombstone of a key in a tenant nobody uses).
* Memory: a content is one object however many versions hold it, its text
  LZ4-compressed (:mod:`.packed`); each reader's bindings hold one entry per
  version and one per id (:mod:`.kafka_bindings`); the replay's garbage goes
  back to the system once it is done (:mod:`.heap`).
"""

from __future__ import annotations

import gc
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar, Token
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from ..errors import LeaderNotKnown, LeadershipLost, StoreError, StoreTimeout
from ..subjects import context_of
from . import kafka_config, kafka_topics, key_records
from .base import Apply, Store
from .compiled_cache import CompiledCache
from .heap import release_free_memory
from .kafka_bindings import Bindings
from .kafka_records import NOOP_KEY, ContentPool, RecordFormatError, decode, encode
from .records import Content, Record, SchemaRecord

log = logging.getLogger("schemahub.kafka")

LEADER_KEY = b"leader"
ABORT_WAIT = 0.25  # seconds a failed write waits for its abort; the next write finishes it
SHARED_RECORDS = 100_000  # records one reader decoded during the replay and the other has not read yet, at most
_UNREAD = object()
FENCED = frozenset({KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH})

# The leadership term a request was admitted under (set by the HTTP layer):
# a write computed under one term must not be appended under another.
_pinned_term: ContextVar[int | None] = ContextVar("schemahub_pinned_term", default=None)


def election_topic_for(group_id: str) -> str:
    safe = re.sub(r"[^a-zA-Z0-9._-]", "_", group_id)[:200]
    return f"_schemahub_leader-{safe}"


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
        compiled_cache: CompiledCache | None = None,
    ) -> None:
        """``compiled_cache``: where to keep what parsing stored schemas produced (the topic keeps
        only texts), so that a check after a restart does not parse every version again."""
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
        self.connect_wait = connect_wait
        self.instance = uuid.uuid4().hex
        self._client_config = kafka_config.client_config(bootstrap, client_config)
        self.topic_settings = topic_settings or kafka_topics.TopicSettings()
        self.cluster_id: str | None = None  # the Kafka cluster's, once open
        self._apply: Apply | None = None
        self._cond = threading.Condition()  # (an RLock underneath)
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._position = 0  # next offset of the topic to apply: everything before is applied
        self._keys_position = 0  # the same for the keys topic
        self._seen_end = -1  # the topic's end offset as of the reader's last fetch (-1: unknown yet)
        self._index = Bindings()  # the committed records
        self._seen = Bindings()  # every record, aborted ones too, and this leader's write attempts
        self._seen_position = 0  # next offset the uncommitted reader will read
        self._contents: ContentPool | None = None  # during the replay at open
        self._shared: dict[int, Record | None] | None = None  # during the replay: decoded records by offset
        self._leader: tuple[str | None, str | None] = (None, None)  # announced (url, instance)
        self._term = 0
        self._ready_term: int | None = None
        self._assigned = False  # this member holds the election partition
        self._announced_at = -1  # offset of this term's announcement in the election topic (-1: not read yet)
        self._alive_at: float | None = None  # when the election loop last ran (None: not running)
        self._rejoin = threading.Event()  # leave the election group and join again as a new member
        self._retake = threading.Event()  # take leadership again with a new producer, if still assigned
        self._producer: Producer | None = None
        self._unfinished: str | None = None  # "abort" or "commit": the producer's last transaction is open
        self._reader: Consumer | None = None
        self._uncommitted: Consumer | None = None
        self._offsets: Consumer | None = None
        self._offsets_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self.rejected = 0  # SCHEMA records refused on replay
        self._compiled_cache = compiled_cache
        self.keeps_compiled = compiled_cache is not None

    # -- setup ---------------------------------------------------------------

    def _admin(self) -> AdminClient:
        return AdminClient(dict(self._client_config))

    def _ensure_topic(self, admin: AdminClient, name: str) -> None:
        kafka_topics.ensure_topic(admin, name, self.topic_settings, self._client_config.get("sasl.username"))

    def _consumer(self, name: str, isolation: str) -> Consumer:
        return Consumer(
            {
                **self._client_config,
                "group.id": f"schemahub-{name}-{self.instance}",
                "enable.auto.commit": False,
                "isolation.level": isolation,
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": 10,
            }
        )

    def open(self, apply: Apply) -> None:
        self._apply = apply
        kafka_config.reach_cluster(self._client_config, self.connect_wait)
        admin = self._admin()
        self.cluster_id = admin.list_topics(timeout=15).cluster_id
        self._ensure_topic(admin, self.topic)
        self._ensure_topic(admin, self.keys_topic)
        self._ensure_topic(admin, self.election_topic)
        log.info("Kafka cluster %s: %s", self.cluster_id, kafka_config.shown(self._client_config))
        self._reader = self._consumer("reader", "read_committed")
        try:
            end = self.end_offset(self.init_timeout)
            keys_end = self.end_offset(self.init_timeout, self.keys_topic)
        except KafkaException as exc:
            self.close()
            raise StoreError(f"Cannot read the end offset of {self.topic}: {exc.args[0].str()}") from None
        self._seen_end = end
        self._reader.assign(
            [TopicPartition(name, 0, OFFSET_BEGINNING) for name in (self.topic, self.keys_topic, self.election_topic)]
        )
        # The replay shares equal contents (one key derivation and one compressed text each) and
        # builds millions of objects none of which is cyclic: the collector would walk them again
        # and again. What it freed (decoded messages, fetch buffers) goes back to the system after.
        self._contents = ContentPool(packed=True)
        self._shared = {} if self.leader_eligible else None
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._spawn("schemahub-reader", self._read_committed)
            if self.leader_eligible:
                self._uncommitted = self._consumer("uncommitted", "read_uncommitted")
                self._uncommitted.assign([TopicPartition(self.topic, 0, OFFSET_BEGINNING)])
                self._spawn("schemahub-uncommitted", self._read_uncommitted)
            started = time.monotonic()
            replayed = self._wait_replayed(end) and self._wait_keys(keys_end, self.init_timeout)
        finally:
            self._contents = self._shared = None
            if collecting:
                gc.enable()
        release_free_memory()
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

    def _consume(
        self,
        consumer: Consumer,
        handlers: Mapping[str, Callable[[int, bytes | None, bytes | None], None]],
        advance: Callable[[dict[str, int]], None],
        tracked: frozenset[str],
    ) -> None:
        """Poll ``consumer`` until the store stops: each message goes to its topic's handler; the next
        offset to read of each ``tracked`` topic goes to ``advance``."""
        while not self._stop.is_set():
            try:
                first = consumer.poll(0.1)  # (consume() would wait for a full batch)
                if consumer is self._reader:
                    seen_end = int(consumer.get_watermark_offsets(TopicPartition(self.topic, 0), cached=True)[1])
                    if seen_end >= 0:
                        self._seen_end = seen_end
                if first is None:
                    continue
                messages = [first, *consumer.consume(999, 0)]
            except (KafkaException, RuntimeError) as exc:  # pragma: no cover - consumer closed under us
                log.warning("reader: %s", exc)
                continue
            positions: dict[str, int] = {}
            for msg in messages:
                err = msg.error()
                topic = msg.topic() or ""
                offset = int(msg.offset() or 0)
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        if topic in tracked:
                            positions[topic] = max(positions.get(topic, 0), offset)
                    else:
                        log.warning("reader: %s", err.str())
                    continue
                handlers[topic](offset, msg.key(), msg.value())
                if topic in tracked:
                    positions[topic] = max(positions.get(topic, 0), offset + 1)
            if positions:
                advance(positions)

    def _read_committed(self) -> None:
        assert self._reader is not None
        handlers = {
            self.topic: self._on_record, self.keys_topic: self._on_key_record, self.election_topic: self._on_election_record
        }
        self._consume(self._reader, handlers, self._advance, frozenset({self.topic, self.keys_topic}))

    def _read_uncommitted(self) -> None:
        assert self._uncommitted is not None
        self._consume(self._uncommitted, {self.topic: self._on_uncommitted}, self._advance_seen, frozenset({self.topic}))

    def _advance(self, positions: dict[str, int]) -> None:
        with self._cond:
            self._position = max(self._position, positions.get(self.topic, 0))
            self._keys_position = max(self._keys_position, positions.get(self.keys_topic, 0))
            self._cond.notify_all()

    def _advance_seen(self, positions: dict[str, int]) -> None:
        with self._cond:
            self._seen_position = max(self._seen_position, positions.get(self.topic, 0))
            self._cond.notify_all()

    def _decode(self, offset: int, key: bytes | None, value: bytes | None) -> Record | None:
        """The record at ``offset``; during the replay both readers read every committed record,
        and the one reading it second takes what the first decoded."""
        shared = self._shared
        contents = self._contents or ContentPool(packed=True)
        if shared is None:
            return decode(key, value, contents)
        record = shared.pop(offset, _UNREAD)
        if record is _UNREAD:
            record = decode(key, value, contents)
            if len(shared) < SHARED_RECORDS:
                shared[offset] = record
        return record  # type: ignore[return-value]

    def _on_record(self, offset: int, key: bytes | None, value: bytes | None) -> None:
        try:
            record = self._decode(offset, key, value)
        except RecordFormatError as exc:
            log.warning("skipping %s offset %d: %s", self.topic, offset, exc)
            return
        if record is None:
            return
        if isinstance(record, SchemaRecord):
            if self._index.conflict(record):
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

    def _on_uncommitted(self, offset: int, key: bytes | None, value: bytes | None) -> None:
        """Bind what Confluent's reader would bind, aborted records included (and refuse what it refuses)."""
        try:
            record = self._decode(offset, key, value)
        except RecordFormatError:
            return
        if record is not None and not (isinstance(record, SchemaRecord) and self._seen.conflict(record)):
            self._seen.apply(record)

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

    def _on_election_record(self, offset: int, key: bytes | None, value: bytes | None) -> None:
        if key != LEADER_KEY:
            return
        try:
            body = json.loads(value) if value else {}
        except ValueError:
            return
        url, instance = body.get("url"), body.get("instance")
        with self._cond:
            self._leader = (url, instance)
            self._cond.notify_all()
            if instance == self.instance:
                self._announced_at = offset
                return
            superseded = self._ready_term is not None and -1 < self._announced_at < offset
        if superseded:  # announced after ours, so its init_transactions fenced our producer
            self._lose_leadership(f"{url} announced itself the leader")

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

    def _wait_position(self, offset: int, timeout: float, *, uncommitted: bool = False) -> bool:
        """Wait until every record before ``offset`` is applied (and, if ``uncommitted``, also seen
        by the uncommitted reader)."""

        def reached() -> bool:
            return self._position >= offset and (not uncommitted or self._seen_position >= offset)

        with self._cond:
            return self._cond.wait_for(lambda: reached() or self._stop.is_set(), timeout) and reached()

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
            try:
                partition = TopicPartition(topic or self.topic, 0)
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
        """Be a member of the election group; join again as a new member when asked to."""
        while not self._stop.is_set():
            self._rejoin.clear()
            consumer = self._group_member()
            try:
                with self._cond:
                    self._alive_at = time.monotonic()
                while not self._stop.is_set() and not self._rejoin.is_set():
                    consumer.poll(0.05)
                    self._after_poll()
            finally:
                if self._stop.is_set():
                    self._resign()
                else:
                    self._step_down("rejoining the election group as a new member")
                with self._cond:
                    self._alive_at = None
                try:
                    consumer.close()
                except (KafkaException, RuntimeError):
                    pass
                with self._cond:
                    self._assigned = False

    def _group_member(self) -> Consumer:
        consumer = Consumer(
            {
                **self._client_config,
                "group.id": self.group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "latest",
                "session.timeout.ms": self.session_timeout_ms,
                "heartbeat.interval.ms": max(100, self.session_timeout_ms // 20),  # members see a rebalance soon
                "partition.assignment.strategy": "cooperative-sticky",  # joins do not move leadership
                "client.id": f"schemahub-{self.instance[:8]}",
            }
        )

        def on_assign(_: Consumer, partitions: list[TopicPartition]) -> None:
            if partitions:
                with self._cond:
                    self._assigned = True
                    leading = self._ready_term
                if leading is not None:  # (back after a lost membership: the producer still holds)
                    log.info("assigned the election partition again: leading on (term %d)", leading)
                else:
                    self._start_term("assigned the election partition")

        def on_revoke(_: Consumer, partitions: list[TopicPartition]) -> None:
            if partitions:
                with self._cond:
                    self._assigned = False
                self._step_down("election partition revoked")

        def on_lost(_: Consumer, partitions: list[TopicPartition]) -> None:
            # No heartbeat was answered for a session, e.g. the group coordinator's broker died, and
            # librdkafka rejoins. The group may still count on us: lead on until another leader's
            # announcement or fencing says otherwise (a pause past the session is caught by _stalled).
            log.warning("election group membership lost; rejoining, leading on until fenced")

        consumer.subscribe([self.election_topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
        return consumer

    def _after_poll(self) -> None:
        """Note that the election loop runs; retake leadership if a write asked for it."""
        with self._cond:
            if self._stalled():
                return
            self._alive_at = time.monotonic()
            retake = self._retake.is_set() and self._assigned and self._ready_term is None
            self._retake.clear()
        if retake:
            self._start_term("retaking leadership with a new producer")
        if self._write_lock.acquire(blocking=False):  # serve the producer's log lines between writes
            try:
                producer = self._producer
                if producer is not None:
                    self._serve(producer)
            finally:
                self._write_lock.release()

    def _serve(self, producer: Producer) -> None:
        """Serve the producer's callbacks (its log lines). A fatal error is raised here too (e.g. the
        end of a transaction refused after a lost broker): leadership is taken again with a new producer
        while the group assigns us, instead of the error ending the calling thread."""
        try:
            producer.poll(0)
        except KafkaException as exc:
            self._renew_producer(producer, f"producer failed: {exc.args[0].str()}")

    def _stalled(self) -> bool:
        """Whether the election loop has not run for longer than the group session (the process was
        paused): the group has moved on, so step down and rejoin as a new member. Call holding ``_cond``."""
        if self._alive_at is None:
            return False
        gap = time.monotonic() - self._alive_at
        if gap <= self.session_timeout_ms / 1000:
            return False
        self._alive_at = None
        self._rejoin.set()
        self._step_down(f"paused for {gap:.1f}s, longer than the group session")
        return True

    def _step_down(self, why: str) -> None:
        with self._cond:
            was = self._ready_term is not None
            self._term += 1
            self._ready_term = None
            producer, self._producer = self._producer, None
        if was:
            log.warning("no longer the leader: %s", why)
        if producer is not None:
            self._retire(producer)

    def _lose_leadership(self, why: str) -> None:
        """Another instance holds the transactional id: step down and let the group decide again."""
        self._step_down(why)
        self._rejoin.set()

    def _start_term(self, why: str) -> None:
        self._step_down("a new term begins")  # its producer fences ours: stop using it first
        with self._cond:
            self._term += 1
            term = self._term
            self._announced_at = -1
        log.info("%s: becoming leader (term %d)", why, term)
        threading.Thread(target=self._become_leader, args=(term,), name="schemahub-leader", daemon=True).start()

    def _in_term(self, term: int) -> bool:
        with self._cond:
            return self._term == term and not self._stop.is_set() and not self._rejoin.is_set()

    def _become_leader(self, term: int) -> None:
        producer: Producer | None = None
        initialized = False
        delay = 0.2
        while self._in_term(term):
            try:
                if producer is None:
                    producer = self._new_producer()
                    initialized = False
                if not initialized:
                    producer.init_transactions(self.write_timeout)  # fences every former leader's producer
                    initialized = True
                noop, keys_noop = self._commit(
                    producer,
                    [(self.topic, NOOP_KEY, None), (self.keys_topic, key_records.NOOP_KEY, None),
                     (self.election_topic, LEADER_KEY, self._announcement())],
                )
            except (KafkaException, StoreError) as exc:
                err = exc.args[0] if isinstance(exc, KafkaException) else None
                if err is not None and err.code() in FENCED:
                    self._retire(producer)
                    self._lose_leadership(f"fenced while taking leadership: {err.str()}")
                    return
                if err is None or err.fatal() or initialized:  # (a NOOP transaction in an unknown state, too)
                    self._retire(producer)
                    producer = None
                log.warning("cannot take leadership yet (%s); retrying", err.str() if err is not None else exc)
                if self._stop.wait(delay):
                    break
                delay = min(delay * 2, 2.0)
                continue
            caught_up = self._wait_position(noop + 1, self.init_timeout, uncommitted=True) and self._wait_keys(
                keys_noop + 1, self.init_timeout
            )
            if not caught_up:
                log.warning("leader could not catch up with %s; retrying", self.topic)
                continue
            with self._cond:
                if self._in_term(term):
                    self._producer, producer = producer, None
                    self._unfinished = None
                    self._ready_term = term
                    self._cond.notify_all()
                    log.info("leader ready (term %d) at %s offset %d", term, self.topic, noop)
                    return
            break
        self._retire(producer)

    def _announcement(self, url: str | None = "") -> bytes:
        return json.dumps(
            {"url": self.advertised_url if url == "" else url, "instance": self.instance, "ts": int(time.time() * 1000)}
        ).encode()

    def _resign(self) -> None:
        """On a clean stop, withdraw the announcement so followers stop forwarding here."""
        with self._cond:
            producer = self._producer if self._ready_term is not None else None
            self._producer = None
        self._step_down("stopping")
        if producer is not None:
            try:
                self._commit(producer, [(self.election_topic, LEADER_KEY, self._announcement(None))], timeout=3.0)
            except (KafkaException, StoreError):
                pass
            self._retire(producer)

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
            if instance == self.instance or url == self.advertised_url:
                return None  # ours (maybe from before a restart on the same URL), but we are not (yet) ready
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
        merged = self._index.high_water()
        for context, top in self._seen.high_water().items():
            merged[context] = max(merged.get(context, 0), top)
        return merged

    def version_high_water(self, subject: str) -> int:
        return self._seen.max_version(subject)

    def unacknowledged_version(self, subject: str, content_key: bytes) -> tuple[int, int] | None:
        latest = self._seen.latest(subject)
        if latest is None:
            return None
        version, schema_id, content, deleted = latest
        if deleted or content != content_key or self._index.has(subject, version):
            return None
        return version, schema_id

    def _writable(self) -> Producer:
        """The producer of the current term, if this instance may write under it."""
        pinned = _pinned_term.get()
        with self._cond:
            if self._ready_term is not None:
                self._stalled()
            term, producer = self._ready_term, self._producer
            if term is None or producer is None:
                if pinned is not None:
                    raise LeadershipLost()
                raise LeaderNotKnown()
            if pinned is not None and pinned != term:
                raise LeadershipLost()
            return producer

    def append(self, records: Sequence[Record]) -> None:
        if self._apply is None or self._closed:
            raise StoreError("Store is not open")
        if not records:
            return
        with self._write_lock:
            producer = self._writable()
            try:
                self._settle(producer)
            except KafkaException as exc:
                raise self._write_failed(producer, exc.args[0]) from None
            for record in records:  # an aborted attempt keeps its ids and versions from other content
                self._seen.apply(record)
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
                self._commit_transaction(producer)
            except KafkaException as exc:
                raise self._write_failed(producer, exc.args[0]) from None
            self._serve(producer)
            if failures or not (offsets or key_offsets):
                raise StoreError(f"Error while writing to {self.topic}: {failures[0] if failures else 'no offset'}")
            if offsets and not self._wait_position(max(offsets) + 1, self.write_timeout):
                raise StoreTimeout(f"Write to {self.topic} at offset {max(offsets)} was not read back in time")
            if key_offsets and not self._wait_keys(max(key_offsets) + 1, self.write_timeout):
                raise StoreTimeout(f"Write to {self.keys_topic} at offset {max(key_offsets)} was not read back in time")

    def _settle(self, producer: Producer) -> None:
        """Finish the transaction an earlier write left open (its abort or commit did not complete
        in time), with the same producer: a second producer of the transactional id would only
        contend with it at the coordinator."""
        unfinished, self._unfinished = self._unfinished, None
        try:
            if unfinished == "abort":
                producer.abort_transaction(self.write_timeout)
            elif unfinished == "commit":
                self._commit_transaction(producer)
        except KafkaException as exc:
            err = exc.args[0]
            if unfinished == "abort" and err.retriable() and not err.fatal():
                # (e.g. its markers wait for a lost broker's partitions to move): the next write calls
                # it again; committing instead would conflict with the abort in progress
                self._leave_open(producer, "abort")
                raise StoreTimeout(f"Write to {self.topic} timed out finishing an earlier abort: {err.str()}") from None
            raise

    def _commit_transaction(self, producer: Producer) -> None:
        """Commit, resuming a commit that timed out while there is time left, and at least once
        more: a process paused past the timeout learns the real outcome (often: fenced)."""
        deadline = time.monotonic() + self.write_timeout
        tries = 0
        while True:
            tries += 1
            try:
                producer.commit_transaction(max(1.0, deadline - time.monotonic()))
                return
            except KafkaException as exc:
                err = exc.args[0]
                resumable = err.retriable() and not err.fatal() and not err.txn_requires_abort()
                if not resumable or (tries > 1 and time.monotonic() >= deadline):
                    raise

    def _write_failed(self, producer: Producer, err: KafkaError) -> Exception:
        """Settle the producer after a failed write (call holding the write lock); answer the error
        to raise. The producer stays unless it is fatally broken."""
        if err.code() in FENCED:  # another producer holds the transactional id: nothing of ours committed
            if self._current(producer):  # (not our own next term's)
                self._lose_leadership(f"fenced: {err.str()}")
            return LeadershipLost()
        if err.fatal() or not (err.txn_requires_abort() or err.retriable()):
            # The election loop takes leadership again with a new producer if the group still
            # assigns us (its init_transactions settles the open transaction; the NOOP catches up).
            self._renew_producer(producer, f"transaction failed: {err.str()}")
        elif err.txn_requires_abort():
            try:
                producer.abort_transaction(ABORT_WAIT)
            except KafkaException as exc:
                if exc.args[0].code() in FENCED or exc.args[0].fatal():
                    return self._write_failed(producer, exc.args[0])
                self._leave_open(producer, "abort")  # (e.g. its coordinator moves with a lost broker)
        else:
            self._leave_open(producer, "commit")  # the outcome is unknown until the commit is resumed
        if err.code() == KafkaError._TIMED_OUT or (err.retriable() and not err.fatal()):
            return StoreTimeout(f"Write to {self.topic} timed out: {err.str()}")
        return StoreError(f"Error while writing to {self.topic}: {err.str()}")

    def _leave_open(self, producer: Producer, unfinished: str) -> None:
        with self._cond:
            if self._producer is producer:
                self._unfinished = unfinished

    def _current(self, producer: Producer) -> bool:
        with self._cond:
            return self._producer is producer

    def _renew_producer(self, producer: Producer, why: str) -> None:
        if self._current(producer):
            self._step_down(why)
            self._retake.set()

    def _retire(self, producer: Producer | None) -> None:
        """Close a producer this instance no longer writes with, once no write uses it, off the
        caller's thread (closing a client can wait on its brokers)."""
        if producer is None:
            return

        def close() -> None:  # (destroyed when this thread lets go of it)
            with self._write_lock:
                try:
                    producer.purge(blocking=False)
                except (KafkaException, RuntimeError):
                    pass

        threading.Thread(target=close, name="schemahub-retire", daemon=True).start()

    def compiled(self, content: Content, basis: bytes) -> bytes | None:
        return self._compiled_cache.get(content, basis) if self._compiled_cache is not None else None

    def keep_compiled(self, content: Content, compiled: bytes, basis: bytes) -> None:
        if self._compiled_cache is not None:
            self._compiled_cache.keep(content, compiled, basis)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._compiled_cache is not None:
            self._compiled_cache.close()
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=15)
        for consumer in (self._reader, self._uncommitted, self._offsets):
            if consumer is not None:
                try:
                    consumer.close()
                except (KafkaException, RuntimeError):
                    pass
        self._producer = None
