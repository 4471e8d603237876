"""Serializers, deserializers and serdes in confluent-kafka's calling convention.

Any callable ``(obj, SerializationContext) -> bytes`` (or the reverse) fits: confluent-kafka's
``StringSerializer``/``IntegerSerializer``/``AvroSerializer`` and our ``serde`` package alike.
``None`` always maps to ``None`` (a tombstone) without calling the serde. A ``Serde`` pairs a
serializer with its deserializer (Kafka Streams' ``Serde``); ``Serdes`` has the built-in ones, which
are also the names ``default.key.serde`` / ``default.value.serde`` accept. None of them can run code
found in the bytes they read.
"""

from __future__ import annotations

import struct
import types
from collections.abc import Callable
from typing import Any, NamedTuple

import orjson
from confluent_kafka.serialization import (
    DoubleDeserializer,
    DoubleSerializer,
    IntegerDeserializer,
    IntegerSerializer,
    MessageField,
    SerializationContext,
    SerializationError,
    StringDeserializer,
)

Serializer = Callable[[Any, SerializationContext], "bytes | None"]
Deserializer = Callable[["bytes | None", SerializationContext], Any]

KEY = MessageField.KEY
VALUE = MessageField.VALUE


class Serde(NamedTuple):
    """A serializer and the deserializer that reads what it writes; a ``(ser, de)`` tuple also works."""

    serializer: Serializer
    deserializer: Deserializer


def encoder(serializer: Serializer | None, topic: str, field: MessageField) -> Callable[[Any], bytes | None]:
    """``obj -> bytes`` for one topic and field; with no serializer the object must already be bytes."""
    if serializer is None:
        return _identity
    ctx = SerializationContext(topic, field)

    def encode(obj: Any) -> bytes | None:
        return None if obj is None else serializer(obj, ctx)

    return encode


def decoder(deserializer: Deserializer | None, topic: str, field: MessageField) -> Callable[[bytes | None], Any]:
    """``bytes -> obj`` for one topic and field; with no deserializer the bytes pass through."""
    if deserializer is None:
        return _identity
    ctx = SerializationContext(topic, field)

    def decode(data: bytes | None) -> Any:
        return None if data is None else deserializer(data, ctx)

    return decode


def _identity(obj: Any) -> Any:
    return obj


class StringSerializer:
    """UTF-8, refusing anything but ``str`` (confluent-kafka's would call ``.encode`` on any object)."""

    def __call__(self, obj: Any, ctx: SerializationContext | None = None) -> bytes | None:
        if obj is None:
            return None
        if not isinstance(obj, str):
            raise SerializationError(f"the string serde writes str, not {type(obj).__name__} ({obj!r:.80})")
        return obj.encode("utf-8")


class JSONSerializer:
    """UTF-8 JSON with sorted object keys, so equal values always give the same bytes."""

    def __call__(self, obj: Any, ctx: SerializationContext | None = None) -> bytes | None:
        if obj is None:
            return None
        try:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
        except TypeError as exc:
            raise SerializationError(f"the JSON serde cannot write {type(obj).__name__} ({obj!r:.80}): {exc}") from None


class JSONDeserializer:
    def __call__(self, data: bytes | None, ctx: SerializationContext | None = None) -> Any:
        if data is None:
            return None
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise SerializationError(f"not JSON: {exc}") from None


_LONG = struct.Struct(">q")


class LongSerializer:
    """Java's ``LongSerializer``: 8 bytes, big-endian, signed."""

    def __call__(self, obj: Any, ctx: SerializationContext | None = None) -> bytes | None:
        if obj is None:
            return None
        if not isinstance(obj, int) or isinstance(obj, bool):
            raise SerializationError(f"the long serde writes int, not {type(obj).__name__} ({obj!r:.80})")
        try:
            return _LONG.pack(obj)
        except struct.error as exc:
            raise SerializationError(str(exc)) from None


class LongDeserializer:
    def __call__(self, data: bytes | None, ctx: SerializationContext | None = None) -> Any:
        if data is None:
            return None
        if len(data) != 8:
            raise SerializationError(f"a long is 8 bytes, got {len(data)}")
        return _LONG.unpack(data)[0]


class BytesSerializer:
    def __call__(self, obj: Any, ctx: SerializationContext | None = None) -> bytes | None:
        if obj is None:
            return None
        if not isinstance(obj, (bytes, bytearray, memoryview)):
            raise SerializationError(f"the bytes serde writes bytes, not {type(obj).__name__}")
        return bytes(obj)


class BytesDeserializer:
    def __call__(self, data: bytes | None, ctx: SerializationContext | None = None) -> Any:
        return data


_BUILT_IN: dict[str, Serde] = {
    "string": Serde(StringSerializer(), StringDeserializer()),
    "json": Serde(JSONSerializer(), JSONDeserializer()),
    "long": Serde(LongSerializer(), LongDeserializer()),
    "integer": Serde(IntegerSerializer(), IntegerDeserializer()),
    "double": Serde(DoubleSerializer(), DoubleDeserializer()),
    "bytes": Serde(BytesSerializer(), BytesDeserializer()),
}


class Serdes:
    """The built-in serdes (Kafka Streams' ``Serdes``), by the names the config keys accept."""

    @staticmethod
    def string() -> Serde:
        """UTF-8 text (the default key serde)."""
        return _BUILT_IN["string"]

    @staticmethod
    def json() -> Serde:
        """UTF-8 JSON, object keys sorted (the default value serde)."""
        return _BUILT_IN["json"]

    @staticmethod
    def long() -> Serde:
        """8-byte big-endian signed integers (Java's ``Long``; counts are stored with it)."""
        return _BUILT_IN["long"]

    @staticmethod
    def integer() -> Serde:
        """4-byte big-endian signed integers (Java's ``Integer``, confluent-kafka's ``IntegerSerializer``)."""
        return _BUILT_IN["integer"]

    @staticmethod
    def double() -> Serde:
        return _BUILT_IN["double"]

    @staticmethod
    def bytes() -> Serde:
        """The bytes as they are."""
        return _BUILT_IN["bytes"]

    @staticmethod
    def named(name: str) -> Serde:
        """A built-in serde by name: ``string``, ``json``, ``long``, ``integer``, ``double``, ``bytes``."""
        try:
            return _BUILT_IN[name]
        except KeyError:
            raise ValueError(f"unknown serde {name!r}; built-in serdes are {sorted(_BUILT_IN)}") from None

    @staticmethod
    def name_of(deserializer: Deserializer | None) -> str | None:
        """The built-in name of a serde reading like ``deserializer``, if there is one."""
        if deserializer is None:
            return None
        for name, serde in _BUILT_IN.items():
            if same_encoding(serde.deserializer, deserializer):
                return name
        return None

    @staticmethod
    def reading(deserializer: Deserializer | None) -> Serde | None:
        """The built-in serde reading like ``deserializer`` (``StringDeserializer()`` is ``string``), if any."""
        name = Serdes.name_of(deserializer)
        return None if name is None else _BUILT_IN[name]


def as_serde(serde: Serde | tuple[Serializer, Deserializer] | str) -> Serde:
    """A ``Serde`` from a serde, a ``(serializer, deserializer)`` pair or a built-in name."""
    if isinstance(serde, str):
        return Serdes.named(serde)
    if isinstance(serde, tuple) and len(serde) == 2 and all(callable(part) for part in serde):
        return Serde(*serde)
    raise TypeError(f"a serde is a Serde, a (serializer, deserializer) pair or a built-in name, not {serde!r}")


def same_encoding(a: Deserializer, b: Deserializer) -> bool:
    """Whether two deserializers are known to read the same bytes the same way.

    The same object, or instances of one class with equal settings (``StringDeserializer('utf_8')``
    twice). Functions are only equal to themselves: two lambdas are never known to agree.
    """
    if a is b:
        return True
    if isinstance(a, (types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.LambdaType)):
        return a == b
    if type(a) is not type(b):
        return False
    settings = getattr(a, "__dict__", None)
    return settings is not None and settings == getattr(b, "__dict__", None)


def describe(deserializer: Deserializer) -> str:
    """How a deserializer is named in error messages."""
    name = Serdes.name_of(deserializer)
    if name is not None:
        return f"Serdes.{name}()"
    return getattr(deserializer, "__qualname__", None) or type(deserializer).__qualname__
