"""JSONATA executor on ``jsonata-python`` (the implementation confluent-kafka uses).

The rule's ``expr`` transforms the whole record, typically a migration rule
(UPGRADE/DOWNGRADE) between major versions; compiled expressions are cached.
Expressions come from schemas anyone may register, so each evaluation runs
in its own frame with a time limit and a recursion limit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import jsonata

from .core import RuleContext, RuleError, RuleExecutor

__all__ = ["JsonataExecutor"]

_CACHE_SIZE = 1000
TIMEOUT_MS = 5000
MAX_DEPTH = 500


class JsonataExecutor(RuleExecutor):
    def __init__(self) -> None:
        self._compiled: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def type(self) -> str:
        return "JSONATA"

    def transform(self, ctx: RuleContext, message: Any) -> Any:
        expr = ctx.rule.expr
        if expr is None:
            raise RuleError(f"Rule {ctx.rule.name}: JSONATA needs an expr")
        compiled = self._compiled.get(expr)
        if compiled is None:
            compiled = jsonata.Jsonata(expr)
            with self._lock:
                self._compiled[expr] = compiled
                while len(self._compiled) > _CACHE_SIZE:
                    self._compiled.popitem(last=False)
        frame = compiled.create_frame()
        frame.set_runtime_bounds(TIMEOUT_MS, MAX_DEPTH)
        return compiled.evaluate(message, frame)
