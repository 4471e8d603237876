"""Stateless processors: filter, map, map_values, flat_map, peek, branch and pass-through."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from streams.processor import Processor


class Filter(Processor):
    def __init__(self, predicate: Callable[[Any, Any], bool]) -> None:
        super().__init__()
        self.predicate = predicate

    def process(self, key: Any, value: Any, ts: int) -> None:
        if self.predicate(key, value):
            self.forward(key, value, ts)


class FilterNot(Filter):
    def process(self, key: Any, value: Any, ts: int) -> None:
        if not self.predicate(key, value):
            self.forward(key, value, ts)


class Map(Processor):
    def __init__(self, mapper: Callable[[Any, Any], tuple[Any, Any]]) -> None:
        super().__init__()
        self.mapper = mapper

    def process(self, key: Any, value: Any, ts: int) -> None:
        new_key, new_value = self.mapper(key, value)
        self.forward(new_key, new_value, ts)


class MapValues(Processor):
    def __init__(self, mapper: Callable[[Any], Any]) -> None:
        super().__init__()
        self.mapper = mapper

    def process(self, key: Any, value: Any, ts: int) -> None:
        self.forward(key, self.mapper(value), ts)


class SelectKey(Processor):
    def __init__(self, selector: Callable[[Any, Any], Any]) -> None:
        super().__init__()
        self.selector = selector

    def process(self, key: Any, value: Any, ts: int) -> None:
        self.forward(self.selector(key, value), value, ts)


class FlatMap(Processor):
    def __init__(self, mapper: Callable[[Any, Any], Iterable[tuple[Any, Any]]]) -> None:
        super().__init__()
        self.mapper = mapper

    def process(self, key: Any, value: Any, ts: int) -> None:
        forward = self.forward
        for new_key, new_value in self.mapper(key, value):
            forward(new_key, new_value, ts)


class FlatMapValues(Processor):
    def __init__(self, mapper: Callable[[Any], Iterable[Any]]) -> None:
        super().__init__()
        self.mapper = mapper

    def process(self, key: Any, value: Any, ts: int) -> None:
        forward = self.forward
        for new_value in self.mapper(value):
            forward(key, new_value, ts)


class Peek(Processor):
    def __init__(self, action: Callable[[Any, Any], None]) -> None:
        super().__init__()
        self.action = action

    def process(self, key: Any, value: Any, ts: int) -> None:
        self.action(key, value)
        self.forward(key, value, ts)


class PassThrough(Processor):
    """Forwards unchanged; used for ``merge`` and for ``KTable.to_stream``."""

    def process(self, key: Any, value: Any, ts: int) -> None:
        self.forward(key, value, ts)


class Branch(Processor):
    """Sends each record to the child of the first matching predicate (``None`` = default branch)."""

    def __init__(self, predicates: list[Callable[[Any, Any], bool] | None]) -> None:
        super().__init__()
        self.predicates = predicates

    def connect(self, children: list[Processor]) -> None:
        super().connect(children)
        self.routes = list(zip(self.predicates, [child.process for child in children], strict=False))

    def process(self, key: Any, value: Any, ts: int) -> None:
        for predicate, target in self.routes:
            if predicate is None or predicate(key, value):
                target(key, value, ts)
                return


class NullKeyFilter:
    """Whether a repartition drops null keys; switched off while building if a left/outer join follows."""

    __slots__ = ("drop",)

    def __init__(self) -> None:
        self.drop = True


class KeyFilter(Processor):
    """Before a repartition topic: drops records with a null key unless ``NullKeyFilter`` says otherwise."""

    def __init__(self, null_keys: NullKeyFilter) -> None:
        super().__init__()
        self.null_keys = null_keys

    def init(self, ctx: Any) -> None:
        super().init(ctx)
        self.drop = self.null_keys.drop

    def process(self, key: Any, value: Any, ts: int) -> None:
        if key is not None or not self.drop:
            self.forward(key, value, ts)
