"""Subject name strategies, with confluent-kafka's names and signatures.

A strategy is ``callable(ctx, record_name) -> subject``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .context import SerializationContext


def topic_subject_name_strategy(ctx: SerializationContext | None, record_name: str | None) -> str | None:
    """``{topic}-{key|value}``."""
    if ctx is None:
        return None
    return ctx.topic + "-" + str(ctx.field)


def topic_record_subject_name_strategy(ctx: SerializationContext | None,
                                       record_name: str | None) -> str | None:
    """``{topic}-{record name}``."""
    if ctx is None or record_name is None:
        return None
    return f"{ctx.topic}-{record_name}"


def record_subject_name_strategy(ctx: SerializationContext | None, record_name: str | None) -> str | None:
    """The fully-qualified record name."""
    return record_name


def reference_subject_name_strategy(ctx: SerializationContext | None, schema_ref: Any) -> str | None:
    """Protobuf dependencies register under their file name (``common/dep.proto``)."""
    return schema_ref.name if schema_ref is not None else None


STRATEGY_TYPES: dict[str, Callable[..., str | None]] = {
    "TOPIC": topic_subject_name_strategy,
    "RECORD": record_subject_name_strategy,
    "TOPIC_RECORD": topic_record_subject_name_strategy,
}

Strategy = Callable[[SerializationContext | None, str | None], str | None]


def resolve_strategy(owner: str, conf: dict[str, Any]) -> tuple[Strategy, bool]:
    """The strategy from ``subject.name.strategy`` / ``.type``; second item: depends on the record name.

    ``ASSOCIATED`` (confluent-kafka's default since 2.14) falls back to TOPIC when the
    registry has no association, which is what every registry without associations
    answers, so it is treated as TOPIC here.
    """
    func = conf.get("subject.name.strategy")
    kind = conf.get("subject.name.strategy.type")
    if func is not None:
        if not callable(func):
            raise ValueError(f"{owner}: subject.name.strategy must be callable")
        return _known(func), func not in (topic_subject_name_strategy, _ck("topic_subject_name_strategy"))
    if kind is None:
        return topic_subject_name_strategy, False
    name = str(getattr(kind, "name", kind)).upper()
    if name == "ASSOCIATED":
        return topic_subject_name_strategy, False
    if name not in STRATEGY_TYPES:
        raise ValueError(f"{owner}: subject.name.strategy.type must be one of TOPIC, RECORD, TOPIC_RECORD, "
                         f"ASSOCIATED, not {kind!r}")
    return STRATEGY_TYPES[name], name != "TOPIC"


def _ck(name: str) -> Any:
    try:
        import confluent_kafka.schema_registry as sr

        return getattr(sr, name)
    except Exception:  # pragma: no cover - confluent-kafka not installed
        return None


def _known(func: Any) -> Strategy:
    """Map confluent-kafka's own strategy functions to ours (same results, our field handling)."""
    for name, ours in (("topic_subject_name_strategy", topic_subject_name_strategy),
                       ("record_subject_name_strategy", record_subject_name_strategy),
                       ("topic_record_subject_name_strategy", topic_record_subject_name_strategy)):
        if func is _ck(name):
            return ours
    return func
