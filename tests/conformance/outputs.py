"""Output records of a scenario, as both sides report them, and their comparison."""

from __future__ import annotations

from typing import NamedTuple


class Output(NamedTuple):
    """A record written to ``topic`` after input step ``step`` (key and value rendered as text)."""

    step: int
    topic: str
    key: str | None
    value: str | None
    ts: int


def first_difference(ours: list[Output], theirs: list[Output], context: int = 3) -> str | None:
    """``None`` if equal, else a readable account of the first record where the two sides part."""
    if ours == theirs:
        return None
    index = next((i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b), min(len(ours), len(theirs)))
    lo = max(0, index - context)
    lines = [f"first difference at output #{index} ({len(ours)} records here, {len(theirs)} in Kafka Streams)"]
    for i in range(lo, index + context + 1):
        a = ours[i] if i < len(ours) else None
        b = theirs[i] if i < len(theirs) else None
        mark = "  " if a == b else "!!"
        lines.append(f"{mark} #{i}: ours={a}")
        lines.append(f"{mark}      kafka={b}")
    return "\n".join(lines)
