"""Configuration checking shared by the serdes and the registry client.

Each component declares its known keys with defaults; :func:`take` merges the
user's dict over them, type-checks booleans and rejects any key it does not
know with a ValueError naming the key and listing the accepted ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_REQUIRED = object()


def take(owner: str, defaults: Mapping[str, Any], conf: Mapping[str, Any] | None,
         *, booleans: tuple[str, ...] = ()) -> dict[str, Any]:
    """``defaults`` updated with ``conf``; unknown keys and non-bool booleans raise ValueError."""
    if conf is not None and not isinstance(conf, Mapping):
        raise TypeError(f"{owner}: conf must be a dict, not {type(conf).__name__}")
    merged = dict(defaults)
    unknown = []
    for key, value in (conf or {}).items():
        if key not in defaults:
            unknown.append(key)
        else:
            merged[key] = value
    if unknown:
        known = ", ".join(sorted(defaults))
        raise ValueError(
            f"{owner}: unknown configuration key{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(k) for k in unknown)}; known keys are: {known}"
        )
    for key in booleans:
        if not isinstance(merged[key], bool):
            raise ValueError(f"{owner}: {key} must be a boolean value, not {merged[key]!r}")
    return merged


def check_rules_disabled(owner: str, conf: dict[str, Any]) -> None:
    """Data-contract validation rules are accepted only in their default (disabled) state."""
    execution = conf.get("validation.rules.execution")
    if execution is not None and str(getattr(execution, "name", execution)).upper() not in ("DISABLED", "0"):
        raise ValueError(f"{owner}: validation.rules.execution is not supported by schemahub serde (use DISABLED)")
    if conf.get("validation.rules.executor") is not None:
        raise ValueError(f"{owner}: validation.rules.executor is not supported by schemahub serde")
