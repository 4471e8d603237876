"""Locating ``../shared/``, the specification and corpus that sit beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


def shared_path(*parts: str) -> Path:
    """The path of a file under ``../shared/``.

    In CI (``CI`` set) a missing folder fails the test; in a user's plain
    clone it skips with a message that says what is missing.
    """
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"{path} not found: these tests read the corpus from ../shared/ beside the repository"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
