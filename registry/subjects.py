"""Qualified subject names and contexts (``:.ctx:subject``).

A subject lives in a context; the default context is ``.`` and its subjects
carry no prefix. ``:.ctx:`` alone names the context itself (for config and
mode), ``:.__GLOBAL:`` the global context and ``:*:`` every context.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidSubject

DEFAULT_CONTEXT = "."
GLOBAL_CONTEXT = ".__GLOBAL"
WILDCARD = ":*:"
RESERVED_NAMES = frozenset({"__GLOBAL", "__EMPTY"})


@dataclass(frozen=True)
class QualifiedSubject:
    context: str
    name: str

    @property
    def qualified(self) -> str:
        """The canonical spelling: bare in the default context, ``:.ctx:name`` elsewhere."""
        if self.context == DEFAULT_CONTEXT:
            return self.name
        return f":{self.context}:{self.name}"

    @property
    def is_context_only(self) -> bool:
        return self.name == ""


def parse_subject(subject: str) -> QualifiedSubject:
    """Split ``:.ctx:name`` into its context and name (``.`` when unprefixed)."""
    if subject.startswith(":") and subject.count(":") >= 2:
        end = subject.index(":", 1)
        context = subject[1:end]
        name = subject[end + 1 :]
        if context in ("", "."):
            context = DEFAULT_CONTEXT
        elif not context.startswith(".") and context != "*":
            context = "." + context
        return QualifiedSubject(context, name)
    return QualifiedSubject(DEFAULT_CONTEXT, subject)


def _has_control_chars(text: str) -> bool:
    return any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)


def validate_subject(subject: str) -> QualifiedSubject:
    """A subject that can hold schemas; raise 42208 for one that cannot."""
    if not subject or _has_control_chars(subject):
        raise InvalidSubject(subject)
    qs = parse_subject(subject)
    if qs.context in (GLOBAL_CONTEXT, "*") or qs.name in RESERVED_NAMES or not qs.name:
        raise InvalidSubject(subject)
    return qs


def validate_config_subject(subject: str) -> QualifiedSubject:
    """A subject or context that may carry config or mode (``:.ctx:`` allowed)."""
    if not subject or _has_control_chars(subject):
        raise InvalidSubject(subject)
    qs = parse_subject(subject)
    if qs.name in RESERVED_NAMES or qs.context == "*":
        raise InvalidSubject(subject)
    return qs


def context_of(subject: str) -> str:
    if not subject.startswith(":"):
        return DEFAULT_CONTEXT  # (nearly every subject: a replay asks for each)
    return parse_subject(subject).context


def resolve_reference_subject(ref_subject: str, referrer_context: str) -> str:
    """A reference's subject, qualified: unprefixed names live in the referrer's context."""
    qs = parse_subject(ref_subject)
    if ref_subject.startswith(":"):
        return qs.qualified
    return QualifiedSubject(referrer_context, qs.name).qualified
