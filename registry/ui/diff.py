"""Two schema texts side by side, line-aligned, with the changed parts of changed lines marked."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

Segment = tuple[bool, str]  # (changed, text)
MAX_INTRALINE = 2000  # characters: longer changed lines are marked whole
MAX_ALIGNED = 20000  # lines on both sides together: longer texts are shown as one change


@dataclass
class Cell:
    number: int
    segments: list[Segment]


@dataclass
class Row:
    kind: str  # equal, replace, delete, insert
    left: Cell | None
    right: Cell | None
    notes: list = field(default_factory=list)  # what the page attaches to this row (compatibility messages)


_WORDS = re.compile(r"\w+|\s+|[^\w\s]")


def _intraline(a: str, b: str) -> tuple[list[Segment], list[Segment]]:
    """The two lines cut into words, spaces and signs, the differing ones marked."""
    if len(a) + len(b) > MAX_INTRALINE:
        return [(True, a)], [(True, b)]
    words_a, words_b = _WORDS.findall(a), _WORDS.findall(b)
    left: list[Segment] = []
    right: list[Segment] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, words_a, words_b, autojunk=False).get_opcodes():
        if i2 > i1:
            left.append((tag != "equal", "".join(words_a[i1:i2])))
        if j2 > j1:
            right.append((tag != "equal", "".join(words_b[j1:j2])))
    return left, right


def _opcodes(old: list[str], new: list[str]) -> Sequence[tuple[str, int, int, int, int]]:
    if len(old) + len(new) > MAX_ALIGNED:
        return [("equal" if old == new else "replace", 0, len(old), 0, len(new))]
    return difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()


def side_by_side(old: list[str], new: list[str]) -> list[Row]:
    """Rows pairing the lines of ``old`` and ``new``; an insertion or deletion leaves the other side empty."""
    rows: list[Row] = []
    for tag, i1, i2, j1, j2 in _opcodes(old, new):
        if tag == "equal":
            for k in range(i2 - i1):
                rows.append(Row("equal", Cell(i1 + k + 1, [(False, old[i1 + k])]), Cell(j1 + k + 1, [(False, new[j1 + k])])))
            continue
        span = max(i2 - i1, j2 - j1)
        for k in range(span):
            a = old[i1 + k] if i1 + k < i2 else None
            b = new[j1 + k] if j1 + k < j2 else None
            if a is not None and b is not None:
                left, right = _intraline(a, b)
                rows.append(Row("replace", Cell(i1 + k + 1, left), Cell(j1 + k + 1, right)))
            elif a is not None:
                rows.append(Row("delete", Cell(i1 + k + 1, [(True, a)]), None))
            else:
                assert b is not None
                rows.append(Row("insert", None, Cell(j1 + k + 1, [(True, b)])))
    return rows


def change_size(old: list[str], new: list[str]) -> tuple[int, int]:
    """Lines added and removed from ``old`` to ``new``."""
    added = removed = 0
    for tag, i1, i2, j1, j2 in _opcodes(old, new):
        if tag != "equal":
            removed += i2 - i1
            added += j2 - j1
    return added, removed
