"""Java ``.properties`` files and property-named environment variables.

:func:`parse_properties` reads the format as ``java.util.Properties.load`` does
(ISO 8859-1 text, ``#``/``!`` comments, ``=``, ``:`` or blanks between key and
value, a trailing backslash continuing a line, ``\\uXXXX`` and the other escapes).
:func:`env_properties` maps environment variables onto property names as
Confluent's container images do: after the prefix, ``_`` is ``.``, ``__`` is
``-`` and ``___`` is ``_``, and the name is lower-cased
(``SCHEMA_REGISTRY_KAFKASTORE_SSL_KEY_PASSWORD`` is ``kafkastore.ssl.key.password``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from . import CommandError

MAX_BYTES = 1024 * 1024  # a properties file is configuration, not data

_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
_UNDERSCORES = re.compile(r"_+")


def _logical_lines(text: str) -> Iterable[str]:
    """Lines with continuations joined (the continuation's leading blanks dropped), comments left out."""
    pending: list[str] = []
    for natural in text.splitlines():
        line = natural.lstrip(" \t\f") if pending else natural
        if not pending and (not line.strip(" \t\f") or line.lstrip(" \t\f")[:1] in ("#", "!")):
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2:
            pending.append(line[:-1])
            continue
        pending.append(line)
        yield "".join(pending)
        pending = []
    if pending:
        yield "".join(pending)


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "\\" or i + 1 == len(text):
            out.append(char)
            i += 1
            continue
        code = text[i + 1]
        if code == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
            out.append(chr(int(text[i + 2 : i + 6], 16)))
            i += 6
            continue
        out.append(_ESCAPES.get(code, code))
        i += 2
    return "".join(out)


def _split(line: str) -> tuple[str, str]:
    """``(key, value)`` of one logical line, both still escaped."""
    line = line.lstrip(" \t\f")
    i = 0
    while i < len(line) and line[i] not in "=: \t\f":
        i += 2 if line[i] == "\\" else 1
    key, rest = line[:i], line[i:].lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    return key, rest


def parse_properties(text: str) -> dict[str, str]:
    """The properties ``text`` holds, later keys winning."""
    found: dict[str, str] = {}
    for line in _logical_lines(text):
        key, value = _split(line)
        found[_unescape(key)] = _unescape(value)
    return found


def read_properties(path: str | Path, option: str) -> dict[str, str]:
    """The properties in file ``path``; CommandError (naming ``option``) when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise CommandError(f"{option} {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise CommandError(f"{option} {path}: larger than {MAX_BYTES // 1024} KiB, not a properties file")
    return parse_properties(data.decode("latin-1"))  # as Properties.load(InputStream): ISO 8859-1, \\uXXXX escapes


def property_name(variable: str, prefix: str) -> str:
    """The property an environment variable names (Confluent's container convention)."""
    rest = variable[len(prefix) :]
    return _UNDERSCORES.sub(lambda m: {1: ".", 2: "-", 3: "_"}.get(len(m.group()), m.group()), rest).lower()


def env_properties(environ: Mapping[str, str], prefix: str, skip: Iterable[str] = ()) -> dict[str, str]:
    """Properties from the variables named ``prefix`` + a property name, except those in ``skip``."""
    left_out = set(skip)
    return {
        property_name(name, prefix): value
        for name, value in sorted(environ.items())
        if name.startswith(prefix) and len(name) > len(prefix) and name not in left_out
    }
