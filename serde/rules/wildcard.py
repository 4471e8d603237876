"""Wildcard paths of ``metadata.tags`` (``com.acme.*.card``, ``**.ssn``), matched in linear time.

``?`` is one character and ``*`` any run of characters within a dot-separated
name; ``**`` any run across names; ``\\`` escapes the next character. Patterns
come from schemas anyone may register, so matching is a dynamic-programming
scan over pattern × text (no backtracking regex).
"""

from __future__ import annotations

from functools import lru_cache

_ANY = "**"
_NAME = "*"
_ONE = "?"


@lru_cache(maxsize=4096)
def _tokens(pattern: str) -> tuple[str | tuple[str], ...]:
    """Literal characters as 1-tuples; ``**``, ``*`` and ``?`` as strings."""
    src = pattern.replace("**.*", "**")
    out: list[str | tuple[str]] = []
    i = 0
    while i < len(src):
        c = src[i]
        if c == "*":
            if i + 1 < len(src) and src[i + 1] == "*":
                out.append(_ANY)
                i += 2
                continue
            out.append(_NAME)
        elif c == "?":
            out.append(_ONE)
        elif c == "\\":
            i += 1
            out.append((src[i] if i < len(src) else "\\",))
        else:
            out.append((c,))
        i += 1
    return tuple(out)


def wildcard_match(text: str, pattern: str) -> bool:
    """Whether ``pattern`` matches all of ``text`` (confluent-kafka's ``wildcard_match``)."""
    tokens = _tokens(pattern)
    # reachable[j]: the first j tokens can match the text read so far
    reachable = [False] * (len(tokens) + 1)
    reachable[0] = True
    for j, tok in enumerate(tokens):
        if reachable[j] and tok in (_ANY, _NAME):
            reachable[j + 1] = True
    for ch in text:
        nxt = [False] * (len(tokens) + 1)
        for j, tok in enumerate(tokens):
            if not reachable[j]:
                continue
            if tok == _ANY or (tok == _NAME and ch != "."):
                nxt[j] = True  # stay on the star, consuming ch
                nxt[j + 1] = True
            elif (tok == _ONE and ch != ".") or (isinstance(tok, tuple) and tok[0] == ch):
                nxt[j + 1] = True
        for j, tok in enumerate(tokens):
            if nxt[j] and tok in (_ANY, _NAME):
                nxt[j + 1] = True
        reachable = nxt
        if not any(reachable):
            return False
    return reachable[-1]
