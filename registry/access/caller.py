"""The one read rule: what a caller may see, applied where each answer is chosen.

A stored version is visible to a caller when the caller may ``read`` its subject
(qualified: ``:.ctx:name`` outside the default context). Everything else follows:

- a schema id or guid answers only through a visible version *in the context the
  answer comes from*; with none, it is missing (40403), exactly like an unknown id;
- lists (subjects, schemas, an id's subjects and versions, referencedby, contexts)
  hold only what is visible;
- a reference, given in a request (register, lookup, compatibility check) or
  resolved into an answer (``format=resolved``), needs ``read`` on the referenced
  subject and, transitively, on everything that one references; a forbidden
  reference in a request is answered as a missing one (42201).

:data:`ANYONE` is the caller when access control is off. The registry's read
operations (:mod:`registry.service`) take a :class:`Caller` and call these
functions; the HTTP layer only says who is asking.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..subjects import context_of, parse_subject, resolve_reference_subject

if TYPE_CHECKING:
    from ..formats import Reference
    from ..state import RegistryState
    from ..stores.records import SchemaRecord
    from .users import AuthConfig


@dataclass(frozen=True)
class Caller:
    """Who asks: ``user`` (in ``groups``, from a bearer token) under ``config``, or anyone when
    ``config`` is None."""

    user: str | None = None
    config: AuthConfig | None = None
    groups: frozenset[str] = frozenset()

    def may(self, operation: str, subject: str) -> bool:
        """Whether the caller may do ``operation`` on ``subject`` (any spelling)."""
        if self.config is None:
            return True
        qualified = parse_subject(subject).qualified
        return self.user is not None and self.config.may(self.user, operation, qualified, self.groups)

    def may_read(self, subject: str) -> bool:
        return self.may("read", subject)

    def may_global(self, operation: str) -> bool:
        if self.config is None:
            return True
        return self.user is not None and self.config.may_global(self.user, operation, self.groups)

    @property
    def restricted(self) -> bool:
        """Whether answers can differ from caller to caller."""
        return self.config is not None

    @property
    def cache_key(self) -> str | None:
        """What a response cache must key on besides the request: answers differ per user and groups."""
        if self.config is None:
            return None
        return self.user if not self.groups else "\0".join([self.user or "", *sorted(self.groups)])


ANYONE = Caller()


def visible(caller: Caller, records: Iterable[SchemaRecord]) -> list[SchemaRecord]:
    """The records whose subject ``caller`` may read, in order."""
    if not caller.restricted:
        return list(records)
    return [r for r in records if caller.may_read(r.subject)]


def readable_names(caller: Caller, subjects: Iterable[str]) -> list[str]:
    """The (qualified) subject names ``caller`` may read, in order."""
    if not caller.restricted:
        return list(subjects)
    return [s for s in subjects if caller.may_read(s)]


def may_use_reference(caller: Caller, state: RegistryState, ref: Reference, context: str) -> bool:
    """Whether ``caller`` may read the subject ``ref`` names (resolved in ``context``) and,
    when that version exists, everything it references in turn."""
    if not caller.restricted:
        return True
    subject = resolve_reference_subject(ref.subject, context)
    if not caller.may_read(subject):
        return False
    subj = state.subjects.get(subject)
    record = subj.versions.get(ref.version) if subj is not None and ref.version != -1 else None
    if record is None and subj is not None and ref.version == -1:
        record = subj.latest_live()
    return record is None or references_readable(caller, state, record)


def references_readable(caller: Caller, state: RegistryState, record: SchemaRecord) -> bool:
    """Whether ``caller`` may read every subject ``record`` references, transitively."""
    if not caller.restricted or not record.references:
        return True
    seen: set[tuple[str, int]] = set()
    pending = [record]
    while pending:
        current = pending.pop()
        context = context_of(current.subject)
        for ref in current.references:
            subject = resolve_reference_subject(ref.subject, context)
            if (subject, ref.version) in seen:
                continue
            seen.add((subject, ref.version))
            if not caller.may_read(subject):
                return False
            subj = state.subjects.get(subject)
            target = subj.versions.get(ref.version) if subj is not None else None
            if target is not None:
                pending.append(target)
    return True
