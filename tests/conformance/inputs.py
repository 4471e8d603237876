"""Seeded input for the conformance scenarios: the same steps are fed to Kafka Streams and to us.

The mix is chosen to reach the corners where implementations differ: out-of-order and late records,
duplicate keys and timestamps, null keys and values (tombstones for tables), records exactly on
window, grace and join-window edges, and wall-clock advances.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import NamedTuple


class Pipe(NamedTuple):
    topic: str
    key: str | None
    value: str | None
    ts: int


class Advance(NamedTuple):
    ms: int


Step = Pipe | Advance


@dataclass(frozen=True)
class InputSpec:
    """``unit`` is the scenario's time scale (window size, gap or join difference), ``grace`` its grace."""

    topics: tuple[str, ...] = ("in",)
    unit: int = 10
    grace: int = 0
    steps: int = 120
    keys: tuple[str, ...] = ("a", "b", "c", "d")
    null_keys: float = 0.05
    null_values: float = 0.08


def generate(spec: InputSpec, seed: int) -> list[Step]:
    """``spec.steps`` steps drawn from ``random.Random(seed)``."""
    rng = random.Random(seed)
    unit, grace = spec.unit, spec.grace
    behind = [unit - 1, unit, unit + 1, unit + grace - 1, unit + grace, unit + grace + 1, 2 * unit + grace]
    steps: list[Step] = []
    now = 2 * unit + grace
    for _ in range(spec.steps):
        if rng.random() < 0.04:
            steps.append(Advance(rng.choice((1, 100, 1_000, 5_000))))
            continue
        kind = rng.random()
        if kind < 0.40:
            ts = now + rng.randint(0, unit)
        elif kind < 0.50:
            ts = now
        elif kind < 0.65:
            ts = now - rng.randint(1, unit)
        elif kind < 0.78:
            ts = now - rng.choice(behind)
        elif kind < 0.88:
            ts = (now // unit + 1) * unit + rng.choice((-1, 0, grace - 1, grace))
        else:
            ts = now - rng.randint(unit + grace, 3 * unit + grace + 1)
        ts = max(0, ts)
        now = max(now, ts)
        key = None if rng.random() < spec.null_keys else rng.choice(spec.keys)
        value = None if rng.random() < spec.null_values else str(rng.randint(0, 99))
        steps.append(Pipe(rng.choice(spec.topics), key, value, ts))
    return steps
