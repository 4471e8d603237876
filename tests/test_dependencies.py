"""Every package the code imports is declared in pyproject.toml (issue #18): a dependency
pulled in only by a test extra, or by another package, would be missing on a user's install."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from tests.server import REPO

OWN = {"registry", "serde", "streams"}


def _imported() -> dict[str, set[str]]:
    """Top-level names of third-party modules imported by the shipped code, with a file importing each."""
    found: dict[str, set[str]] = {}
    for package in OWN:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    if top not in OWN and top not in sys.stdlib_module_names and top != "__future__":
                        found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def _declared() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    # the shipped code may use its user-facing extras (rules, aws); never the test extra alone
    requirements = [*project["dependencies"], *(r for name, group in extras.items() if name != "test" for r in group)]
    return {re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def test_every_import_is_declared():
    distributions = packages_distributions()
    declared = _declared()
    missing = {}
    for module, files in _imported().items():
        names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if not names & declared:
            missing[module] = sorted(files)[:3]
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"
