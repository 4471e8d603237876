"""The subjects page's data: an index of every subject, rebuilt only when the state changed,
and search (substring or glob), filters, sort and pages over it.

One row per subject keeps what the page shows (versions, format, last change), so a
page of a 100 000-subject registry filters two sorted lists instead of walking the
state, and a write changes only the rows of the subjects it touched. The
glob matcher splits on ``*`` and matches the pieces left to right, greedily: linear
in the name for each piece, whatever pattern a caller types.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from operator import attrgetter

from ..state import RegistryState, Subject
from ..stores.records import SchemaRecord
from ..subjects import DEFAULT_CONTEXT, parse_subject

PAGE_SIZE = 50
MAX_QUERY = 200
VIEWER_CACHE = 64
RESULT_CACHE = 16
PATCH_LIMIT = 1000  # changed subjects up to which a kept answer is patched rather than recomputed


@dataclass(frozen=True, slots=True)
class SubjectRow:
    name: str  # qualified
    context: str
    live_versions: int
    deleted_versions: int
    schema_type: str  # of the latest version (a live one when there is one)
    changed: int  # epoch milliseconds of the newest version
    order: tuple[bool, str, str]  # default context first, then by context and name
    lowered: str  # the name in lower case, for search
    slot: int  # the subject name's fixed number in this listing (its cached readability)

    @property
    def live(self) -> bool:
        return self.live_versions > 0


@dataclass(frozen=True)
class Query:
    text: str = ""
    schema_type: str = ""
    context: str = ""
    sort: str = "name"  # name, changed
    deleted: bool = False
    page: int = 1


@dataclass(frozen=True)
class Page:
    rows: list[SubjectRow]
    total: int
    page: int
    pages: int
    first: int  # 1-based position of the first row, 0 when there is none


@dataclass(frozen=True)
class _Index:
    generation: int
    by_name: list[SubjectRow]
    by_change: list[SubjectRow]  # newest first


def _order(name: str) -> tuple[bool, str, str]:
    if not name.startswith(":"):  # (most names: in the default context)
        return (False, DEFAULT_CONTEXT, name)
    qs = parse_subject(name)
    return (qs.context != DEFAULT_CONTEXT, qs.context, qs.name)


_Found = tuple[int, int, SchemaRecord, int]
_TS = attrgetter("ts")


def _found(subject: Subject) -> _Found | None:
    """What a subject's row shows, read under the state's lock without a Python step per version:
    (live versions, all versions, the latest version (the newest live one when there is one),
    the newest version's time); None for a subject without versions."""
    versions = subject.versions
    if not versions:
        return None
    latest = subject.latest or versions[subject.numbers[-1]]
    return subject.live_count, len(versions), latest, max(map(_TS, versions.values()))


def _change_key(row: SubjectRow) -> tuple[int, tuple[bool, str, str]]:
    return (-row.changed, row.order)


def _order_key(row: SubjectRow) -> tuple[bool, str, str]:
    return row.order


class SubjectListing:
    """The subjects of one registry state, indexed and kept up to date with its change log.

    A page after a write updates the index for the subjects that changed (found in
    :meth:`RegistryState.changed_since`) instead of walking every subject; each
    viewer's readability of each subject is computed once and kept by slot (the
    access rules do not change while the server runs)."""

    def __init__(self, state: RegistryState) -> None:
        self.state = state
        self._index: _Index | None = None
        self._lock = threading.Lock()
        self._slots: dict[str, int] = {}
        self._readable: OrderedDict[str, bytearray] = OrderedDict()  # viewer -> per slot: 0 unknown, 1 no, 2 yes
        # (viewer, query without its page) -> the index answered over and every matching row
        self._results: OrderedDict[tuple, tuple[_Index, list[SubjectRow]]] = OrderedDict()

    def _row(self, name: str, found: _Found) -> SubjectRow:
        live, total, latest, changed = found
        slot = self._slots.setdefault(name, len(self._slots))
        order = _order(name)
        return SubjectRow(name, order[1], live, total - live, latest.schema_type, changed, order, name.lower(), slot)

    def index(self) -> _Index:
        with self._lock:
            current = self._index
            generation = self.state.generation
            if current is not None and current.generation == generation:
                return current
            changed = self.state.changed_since(current.generation) if current is not None else None
            index = self._update(current, changed) if current is not None and changed is not None else self._build()
            self._index = index
            return index

    def _build(self) -> _Index:
        with self.state.lock:
            generation = self.state.generation
            snapshot = [(name, _found(subject)) for name, subject in self.state.subjects.items()]
        rows = [self._row(name, found) for name, found in snapshot if found is not None]
        rows.sort(key=_order_key)
        return _Index(generation, rows, sorted(rows, key=_change_key))

    def _update(self, current: _Index, names: set[str]) -> _Index:
        with self.state.lock:
            generation = self.state.generation
            fresh = {}
            for name in names:
                subject = self.state.subjects.get(name)
                fresh[name] = _found(subject) if subject is not None else None
        by_name, by_change = list(current.by_name), list(current.by_change)
        for name, found in fresh.items():
            row = self._row(name, found) if found is not None else None
            order = _order(name)
            at = bisect.bisect_left(by_name, order, key=_order_key)
            old = by_name[at] if at < len(by_name) and by_name[at].name == name else None
            if old is not None:
                del by_change[bisect.bisect_left(by_change, _change_key(old), key=_change_key)]
                if row is None:
                    del by_name[at]
                else:
                    by_name[at] = row
            elif row is not None:
                by_name.insert(at, row)
            if row is not None:
                by_change.insert(bisect.bisect_left(by_change, _change_key(row), key=_change_key), row)
        return _Index(generation, by_name, by_change)

    def _flags(self, viewer: str) -> bytearray:
        with self._lock:
            flags = self._readable.get(viewer)
            if flags is None:
                flags = self._readable[viewer] = bytearray()
                while len(self._readable) > VIEWER_CACHE:
                    self._readable.popitem(last=False)
            self._readable.move_to_end(viewer)
            if len(flags) < len(self._slots):
                flags.extend(bytes(len(self._slots) - len(flags)))
            return flags

    def _may(self, flags: bytearray, row: SubjectRow, may_read: Callable[[str], bool]) -> bool:
        flag = flags[row.slot]
        if not flag:
            flag = flags[row.slot] = 2 if may_read(row.name) else 1
        return flag == 2

    def contexts(self, viewer: str | None = None, may_read: Callable[[str], bool] | None = None) -> list[str]:
        """The default context and every context holding a subject the viewer may read."""
        index = self.index()
        flags = self._flags(viewer or "") if may_read is not None else None
        found = [DEFAULT_CONTEXT]
        rows = index.by_name
        at = bisect.bisect_left(rows, (True, "", ""), key=_order_key)
        while at < len(rows):
            context = rows[at].context
            end = bisect.bisect_left(rows, (True, context + "\0", ""), key=_order_key)
            if flags is None or may_read is None or any(self._may(flags, rows[i], may_read) for i in range(at, end)):
                found.append(context)
            at = end
        return found

    def search(self, query: Query, viewer: str | None = None, may_read: Callable[[str], bool] | None = None) -> Page:
        """One page of the subjects matching ``query`` that ``may_read`` allows (all when None).

        The matching rows are kept per (viewer, query): paging is a slice, and after a
        write the last answer is patched for the subjects that changed."""
        index = self.index()
        key = (viewer if may_read is not None else None, replace(query, page=1))
        with self._lock:
            cached = self._results.get(key)
            if cached is not None:
                self._results.move_to_end(key)
        keep = self._keeper(query, viewer, may_read)
        if cached is not None and cached[0] is index:
            found = cached[1]
        else:
            changed = self.state.changed_since(cached[0].generation) if cached is not None else None
            if cached is not None and changed is not None and len(changed) <= PATCH_LIMIT:
                found = _patched(cached[0], cached[1], index, changed, keep, query.sort == "changed")
            else:
                found = [row for row in (index.by_change if query.sort == "changed" else index.by_name) if keep(row)]
            with self._lock:
                self._results[key] = (index, found)
                while len(self._results) > RESULT_CACHE:
                    self._results.popitem(last=False)
        pages = max(1, -(-len(found) // PAGE_SIZE))
        page = min(max(1, query.page), pages)
        start = (page - 1) * PAGE_SIZE
        chunk = found[start : start + PAGE_SIZE]
        return Page(chunk, len(found), page, pages, start + 1 if chunk else 0)

    def _keeper(
        self, query: Query, viewer: str | None, may_read: Callable[[str], bool] | None
    ) -> Callable[[SubjectRow], bool]:
        """Whether a row answers ``query`` for the viewer."""
        matches = matcher(query.text)
        flags = self._flags(viewer or "") if may_read is not None else None
        wanted_type, wanted_context, deleted = query.schema_type, query.context, query.deleted

        def keep(row: SubjectRow) -> bool:
            if not row.live and not deleted:
                return False
            if wanted_type and row.schema_type != wanted_type:
                return False
            if wanted_context and row.context != wanted_context:
                return False
            if matches is not None and not matches(row.lowered):
                return False
            return flags is None or may_read is None or self._may(flags, row, may_read)

        return keep


def _find(rows: list[SubjectRow], name: str) -> SubjectRow | None:
    """The row of ``name`` in rows sorted by name order."""
    at = bisect.bisect_left(rows, _order(name), key=_order_key)
    return rows[at] if at < len(rows) and rows[at].name == name else None


def _patched(
    old_index: _Index, old_found: list[SubjectRow], index: _Index, changed: set[str],
    keep: Callable[[SubjectRow], bool], by_change: bool,
) -> list[SubjectRow]:
    """``old_found`` (the answer over ``old_index``) with the rows of the ``changed`` subjects replaced."""
    sort_key = _change_key if by_change else _order_key
    found = list(old_found)
    for name in changed:
        old = _find(old_index.by_name, name)
        if old is not None:
            at = bisect.bisect_left(found, sort_key(old), key=sort_key)
            if at < len(found) and found[at] is old:
                del found[at]
        new = _find(index.by_name, name)
        if new is not None and keep(new):
            found.insert(bisect.bisect_left(found, sort_key(new), key=sort_key), new)
    return found


def matcher(text: str) -> Callable[[str], bool] | None:
    """A case-insensitive test of lower-cased names: a glob when ``text`` holds ``*`` or ``?``,
    else a substring test; None for an empty query."""
    text = text.strip().lower()[:MAX_QUERY]
    if not text:
        return None
    if "*" not in text and "?" not in text:
        return lambda name: text in name
    pieces = text.split("*")
    compiled = [re.compile("".join("." if ch == "?" else re.escape(ch) for ch in piece), re.DOTALL) for piece in pieces]
    head, tail, middle = compiled[0], compiled[-1], compiled[1:-1]
    head_len, tail_len = len(pieces[0]), len(pieces[-1])
    single = len(pieces) == 1

    def glob(name: str) -> bool:
        if single:
            return head.fullmatch(name) is not None
        if len(name) < head_len + tail_len or not head.match(name):
            return False
        end = len(name) - tail_len
        if not tail.fullmatch(name, end):
            return False
        at = head_len
        for piece in middle:
            found = piece.search(name, at, end)
            if found is None:
                return False
            at = found.end()
        return True

    return glob
