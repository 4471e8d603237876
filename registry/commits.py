"""Group commit: concurrent registrations appended to the store together.

A registration decides its records under the write lock, against the state and
against what the registrations queued before it decided (:class:`Pending`: not
durable yet, so not in the state), queues them and releases the lock. The first
of the queued writers to wait while no append is under way appends every queued
write (one store transaction: one fsync, one Kafka transaction) and, once the
append returned (each record durable and applied), every writer in it is
answered. A registration into a subject with a queued record waits for that
record first, and every other write runs alone (:meth:`GroupCommit.exclusive`),
so a decision needs from the queue only its ids, contents, contexts and the
versions its records reference.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from .stores.records import ContextRecord, Record, SchemaRecord
from .subjects import context_of, resolve_reference_subject


@dataclass(eq=False)
class Write:
    """Records queued together by one writer; ``token`` groups writes that may share an
    append (the store's :meth:`~registry.stores.base.Store.write_token`)."""

    records: list[Record]
    token: object = None
    done: bool = False
    error: BaseException | None = None


@dataclass
class Pending:
    """What queued writes decided, read by the next decisions."""

    subjects: set[str] = field(default_factory=set)
    content_ids: dict[tuple[str, bytes], int] = field(default_factory=dict)
    ids: dict[tuple[str, int], bytes] = field(default_factory=dict)  # (context, id) -> content key
    max_ids: dict[str, int] = field(default_factory=dict)
    contexts: set[str] = field(default_factory=set)
    referenced: set[tuple[str, int]] = field(default_factory=set)

    @classmethod
    def of(cls, writes: Iterable[Write]) -> Pending:
        pending = cls()
        for write in writes:
            pending.add(write)
        return pending

    def add(self, write: Write) -> None:
        for record in write.records:
            if isinstance(record, ContextRecord):
                self.contexts.add(record.context)
            elif isinstance(record, SchemaRecord):
                self._add_version(record)

    def _add_version(self, record: SchemaRecord) -> None:
        ctx = context_of(record.subject)
        self.subjects.add(record.subject)
        self.content_ids.setdefault((ctx, record.content_key), record.id)
        self.ids[(ctx, record.id)] = record.content_key
        self.max_ids[ctx] = max(self.max_ids.get(ctx, 0), record.id)
        self.contexts.add(ctx)
        for ref in record.references:
            self.referenced.add((resolve_reference_subject(ref.subject, ctx), ref.version))


class GroupCommit:
    """The write lock, the queue of decided writes and the one append under way."""

    def __init__(self, append: Callable[[Sequence[Record]], None], token: Callable[[], object]) -> None:
        self._append = append
        self._token = token
        self._cond = threading.Condition()
        self._queue: list[Write] = []
        self._appending: list[Write] = []  # the writes of the append under way
        self.pending = Pending()  # what the queued and appending writes decided
        self.batches = 0  # appends made, each of one or more writes

    @contextmanager
    def deciding(self, subject: str) -> Iterator[None]:
        """Hold the write lock to decide a registration into ``subject``, none of whose
        records is queued any more."""
        with self._cond:
            self._cond.wait_for(lambda: subject not in self.pending.subjects)
            yield

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the write lock with nothing queued and no append under way."""
        with self._cond:
            self._cond.wait_for(lambda: not self._queue and not self._appending)
            yield

    def submit(self, records: Sequence[Record]) -> Write:
        """Queue ``records`` (under :meth:`deciding`); :meth:`wait` for them next."""
        write = Write(list(records), self._token())
        self._queue.append(write)
        self.pending.add(write)
        return write

    def wait(self, write: Write) -> None:
        """Return once ``write`` is durable and applied (appending it, and the writes queued
        with it, when no append is under way); raise what the append raised."""
        with self._cond:
            while not write.done:
                if not self._appending:  # ``write`` is still queued: append it and its company
                    batch = [w for w in self._queue if w.token == write.token]
                    self._queue = [w for w in self._queue if w.token != write.token]
                    self._appending = batch
                    break
                self._cond.wait()
            else:
                if write.error is not None:
                    raise write.error
                return
        error: BaseException | None = None
        try:
            self._append([record for w in batch for record in w.records])
        except BaseException as exc:
            error = exc
        with self._cond:
            finished = batch
            if error is not None:  # what was queued meanwhile was decided on top of the failed writes
                finished = batch + self._queue
                self._queue = []
            for w in finished:
                w.done = True
                w.error = error
            self._appending = []
            self.batches += 1
            self.pending = Pending.of(self._queue)
            self._cond.notify_all()
        if error is not None:
            raise error
