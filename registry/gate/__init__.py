"""The CI gate: ``schemahub check`` and ``schemahub register``.

Schema files in a project are mapped to subjects (:mod:`.project`), checked
against the live registry (:mod:`.remote`) or against git history
(:mod:`.history`) with the registry's own compatibility engine
(:mod:`registry.compatibility`), and reported as text, JSON or GitHub
workflow commands (:mod:`.report`).
"""


class GateError(Exception):
    """A usage, configuration, parse, git or connection problem: exit code 2."""
