"""Which executor runs a rule ``type`` and which action an ``onSuccess``/``onFailure`` names.

As confluent-kafka's ``RuleRegistry``: one global instance shared by every
serde unless a serde is given its own. Unlike confluent-kafka, the built-in
executors (CEL, CEL_FIELD, JSONATA, ENCRYPT, ENCRYPT_PAYLOAD) and the DLQ
action need no ``register()`` call: each is created the first time a rule
names it, from the ``rules`` extra (``pip install schemahub[rules]``).
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass

from .core import RuleAction, RuleError, RuleExecutor

__all__ = ["RuleOverride", "RuleRegistry"]

_BUILTIN_EXECUTORS = {
    "CEL": ("serde.rules.cel", "CelExecutor"),
    "CEL_FIELD": ("serde.rules.cel", "CelFieldExecutor"),
    "JSONATA": ("serde.rules.jsonata", "JsonataExecutor"),
    "ENCRYPT": ("serde.rules.encryption", "FieldEncryptionExecutor"),
    "ENCRYPT_PAYLOAD": ("serde.rules.encryption", "EncryptionExecutor"),
}
_BUILTIN_ACTIONS = {"DLQ": ("serde.rules.dlq", "DlqAction")}


@dataclass(frozen=True)
class RuleOverride:
    """Client-side override of a rule type's actions or ``disabled`` flag."""

    type: str
    on_success: str | None = None
    on_failure: str | None = None
    disabled: bool | None = None


class RuleRegistry:
    def __init__(self, builtins: bool = True) -> None:
        self._executors: dict[str, RuleExecutor] = {}
        self._actions: dict[str, RuleAction] = {}
        self._overrides: dict[str, RuleOverride] = {}
        self._builtins = builtins
        self._configured: list[tuple[dict, dict]] = []  # handed to built-ins created later
        self._lock = threading.Lock()

    def register_executor(self, executor: RuleExecutor) -> None:
        with self._lock:
            self._executors[executor.type()] = executor

    def register_action(self, action: RuleAction) -> None:
        with self._lock:
            self._actions[action.type()] = action

    def register_override(self, override: RuleOverride) -> None:
        with self._lock:
            self._overrides[override.type] = override

    def get_override(self, rule_type: str) -> RuleOverride | None:
        return self._overrides.get(rule_type)

    def get_executor(self, rule_type: str) -> RuleExecutor | None:
        found = self._executors.get(rule_type)
        if found is None and self._builtins and rule_type in _BUILTIN_EXECUTORS:
            self._builtin(self._executors, rule_type, _BUILTIN_EXECUTORS[rule_type])
            found = self._executors[rule_type]
        return found

    def get_action(self, name: str) -> RuleAction | None:
        found = self._actions.get(name)
        if found is None and self._builtins and name in _BUILTIN_ACTIONS:
            self._builtin(self._actions, name, _BUILTIN_ACTIONS[name])
            found = self._actions[name]
        return found

    def _builtin(self, table: dict, name: str, where: tuple[str, str]) -> None:
        with self._lock:
            if name not in table:
                try:
                    module = importlib.import_module(where[0])
                except ImportError as exc:
                    raise RuleError(f"Rule type {name} needs the rules extra (pip install 'schemahub[rules]'): "
                                    f"{exc}") from exc
                instance = getattr(module, where[1])()
                for conf in self._configured:
                    instance.configure(*conf)
                table[name] = instance

    def configure(self, client_conf: dict, rule_conf: dict) -> None:
        """Configure every executor and action, now and when created later."""
        with self._lock:
            if (client_conf, rule_conf) not in self._configured:
                self._configured.append((client_conf, rule_conf))
            members = [*self._executors.values(), *self._actions.values()]
        for member in members:
            member.configure(client_conf, rule_conf)

    def executors(self) -> list[RuleExecutor]:
        with self._lock:
            return list(self._executors.values())

    def actions(self) -> list[RuleAction]:
        with self._lock:
            return list(self._actions.values())

    def clear(self) -> None:
        with self._lock:
            self._executors.clear()
            self._actions.clear()
            self._overrides.clear()

    _global: RuleRegistry | None = None

    @staticmethod
    def get_global_instance() -> RuleRegistry:
        if RuleRegistry._global is None:
            RuleRegistry._global = RuleRegistry()
        return RuleRegistry._global

    @staticmethod
    def register_rule_executor(executor: RuleExecutor) -> None:
        RuleRegistry.get_global_instance().register_executor(executor)

    @staticmethod
    def register_rule_action(action: RuleAction) -> None:
        RuleRegistry.get_global_instance().register_action(action)
