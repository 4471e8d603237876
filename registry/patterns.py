"""Regular expressions that others write, run in linear time (RE2, ``google-re2``).

Python's ``re`` backtracks: ``^(\\w+)+!$`` against 27 word characters takes seconds
of CPU that no timeout can interrupt. Every pattern taken from a schema (JSON
Schema ``patternProperties``) or matched against a name a client sends (``re:``
rules of the users file) runs here instead: RE2 answers in time linear in the
text, with at most :data:`MAX_PROGRAM_BYTES` of memory per pattern. RE2 has no
backreferences or lookaround; a pattern using them does not compile
(:class:`PatternError`, or ``None`` from :func:`compiled`).
"""

from __future__ import annotations

import re2

from .bounded import BoundedCache

MAX_PROGRAM_BYTES = 1 << 20
_CACHE_BYTES = 8 * 1024 * 1024

_options = re2.Options()
_options.log_errors = False  # an invalid pattern is an answer, not a line on stderr
_options.max_mem = MAX_PROGRAM_BYTES

PatternError = re2.error
_compiled: BoundedCache[object] = BoundedCache(_CACHE_BYTES, max_item_bytes=64 * 1024)
_INVALID = object()


def compile_pattern(pattern: str) -> re2._Regexp:
    """The RE2 program for ``pattern``; :class:`PatternError` when RE2 cannot run it."""
    return re2.compile(pattern, _options)


def compiled(pattern: str) -> re2._Regexp | None:
    """``pattern`` compiled (cached, bounded in bytes), or None when RE2 cannot run it."""
    found = _compiled.get(pattern)
    if found is None:
        try:
            found = compile_pattern(pattern)
        except PatternError:
            found = _INVALID
        _compiled.put(pattern, found, 4 * len(pattern) + 1024)
    return None if found is _INVALID else found


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches somewhere in ``text`` (False when RE2 cannot run it)."""
    program = compiled(pattern)
    return program is not None and program.search(text) is not None
