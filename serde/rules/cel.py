"""CEL and CEL_FIELD executors on ``common-expression-language`` (the Rust ``cel`` crate).

As confluent-kafka's: ``expr`` may start with a guard, ``guard ; expr``; when
the guard is false a CONDITION holds and a TRANSFORM leaves the record as it
is. CEL binds the record as ``message``; CEL_FIELD evaluates once per tagged
primitive field with ``value``, ``fullName``, ``name``, ``typeName``, ``tags``
and ``message`` (the containing record) bound, and a TRANSFORM's result
replaces the field. ``now`` is bound when the expression names it.
Confluent's string checks are available as methods: ``isEmail``,
``isHostname``, ``isIpv4``, ``isIpv6``, ``isUri``, ``isUriRef``, ``isUuid``
(confluent-kafka's decimal, timestamp and variant extensions are not).
Compiled programs are cached per expression.
"""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import threading
import uuid
from collections import OrderedDict
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlparse

import cel
from confluent_kafka.schema_registry.schema_registry_client import RuleKind

from .core import FieldContext, FieldRuleExecutor, FieldTransform, RuleContext, RuleExecutor, rule_kind

__all__ = ["CelExecutor", "CelFieldExecutor"]

_CACHE_SIZE = 1000
_DAYS_SHIFT = datetime.date(1970, 1, 1).toordinal()


def _hostname(host: str) -> bool:
    if not host or len(host) > 253:
        return False
    host = host[:-1] if host.endswith(".") else host
    all_digits = False
    for part in host.split("."):
        if not part or len(part) > 63 or part[0] == "-" or part[-1] == "-":
            return False
        if not all(c.isascii() and (c.isalnum() or c == "-") for c in part):
            return False
        all_digits = part.isdigit()
    return not all_digits


def _email(addr: str) -> bool:
    parsed = parseaddr(addr)[1]
    if addr != parsed or len(addr) > 254:
        return False
    local, at, host = addr.rpartition("@")
    return bool(at) and "@" not in local and 0 < len(local) <= 64 and _hostname(host)


def _ip(text: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def _uri(text: str) -> bool:
    try:
        parts = urlparse(text)
    except ValueError:
        return False
    return bool(parts.scheme) and (bool(parts.netloc) or bool(parts.path))


def _uri_ref(text: str) -> bool:
    try:
        urlparse(text)
    except ValueError:
        return False
    return True


def _uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) == 36


FUNCTIONS = {"isEmail": _email, "isHostname": _hostname, "isIpv4": lambda s: _ip(s, 4),
             "isIpv6": lambda s: _ip(s, 6), "isUri": _uri, "isUriRef": _uri_ref, "isUuid": _uuid}


class _Program:
    __slots__ = ("functions", "program", "uses_now")

    def __init__(self, expr: str) -> None:
        self.program = cel.compile(expr)
        used = set(self.program.functions())
        self.functions = {name: fn for name, fn in FUNCTIONS.items() if name in used}
        self.uses_now = "now" in expr


def to_cel(value: Any) -> Any:
    """Values CEL has no type for, as confluent-kafka binds them (dates as days, UUIDs as text,
    Protobuf messages as maps of their fields)."""
    if hasattr(value, "DESCRIPTOR") and hasattr(value, "ListFields"):
        from ..protobuf import message_to_dict

        return to_cel(message_to_dict(value))
    if isinstance(value, dict):
        return {str(k): to_cel(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_cel(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    if isinstance(value, datetime.date):
        return value.toordinal() - _DAYS_SHIFT
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytearray):
        return bytes(value)
    return value


class CelExecutor(RuleExecutor):
    """``type: CEL``: a condition on, or a transform of, the whole record."""

    def __init__(self) -> None:
        self._programs: OrderedDict[str, _Program] = OrderedDict()
        self._lock = threading.Lock()

    def type(self) -> str:
        return "CEL"

    def transform(self, ctx: RuleContext, message: Any) -> Any:
        return self.execute(ctx, message, {"message": message})

    def execute(self, ctx: RuleContext, message: Any, args: dict[str, Any]) -> Any:
        expr = ctx.rule.expr
        if expr is None:
            return message
        guard, sep, body = expr.partition(";")
        if sep and guard.strip():
            if not self.evaluate(guard, args):
                return True if rule_kind(ctx.rule) == RuleKind.CONDITION else message
        return self.evaluate(body if sep else expr, args)

    def _program(self, expr: str) -> _Program:
        found = self._programs.get(expr)
        if found is None:
            found = _Program(expr)
            with self._lock:
                self._programs[expr] = found
                while len(self._programs) > _CACHE_SIZE:
                    self._programs.popitem(last=False)
        return found

    def evaluate(self, expr: str, args: dict[str, Any]) -> Any:
        program = self._program(expr)
        if program.uses_now and "now" not in args:
            args["now"] = datetime.datetime.now(tz=datetime.UTC)
        context: Any = args if not program.functions else cel.Context(variables=args, functions=program.functions)
        try:
            return program.program.execute(context)
        except (TypeError, ValueError) as exc:  # a value CEL has no type for: convert, then once more
            if "convert" not in str(exc).lower():
                raise
        converted = {name: to_cel(value) for name, value in args.items()}
        context = converted if not program.functions else cel.Context(variables=converted,
                                                                      functions=program.functions)
        return program.program.execute(context)


class CelFieldExecutor(FieldRuleExecutor):
    """``type: CEL_FIELD``: a condition on, or a transform of, each tagged primitive field."""

    def __init__(self) -> None:
        self._executor = CelExecutor()

    def type(self) -> str:
        return "CEL_FIELD"

    def new_transform(self, ctx: RuleContext) -> FieldTransform:
        return self._field

    def _field(self, ctx: RuleContext, field: FieldContext, value: Any) -> Any:
        if not field.is_primitive():
            return value
        args = {"value": value, "fullName": field.full_name, "name": field.name, "typeName": field.type_name(),
                "tags": sorted(field.tags), "message": field.containing_message}
        return self._executor.execute(ctx, value, args)
