"""``schemahub check --against REF``: the working tree against git history, in-process."""

from __future__ import annotations

from dataclasses import dataclass

from ..compatibility import PreviousVersion, check
from ..formats import ParsedSchema
from ..formats.base import SchemaText
from . import GateError
from .explain import OldVersion, findings
from .history import Git, Revision
from .project import OFFLINE_DEFAULT_LEVEL, Project, Resolver, SchemaFile
from .report import Result


@dataclass(frozen=True)
class GitOptions:
    against: str
    transitive: bool = False
    allow_removal: bool = False


@dataclass(frozen=True)
class _Version:
    """An earlier version of a file: the revision, its text and its parsed schema."""

    revision: Revision
    text: str
    schema: ParsedSchema


def effective_level(level: str, transitive: bool) -> str:
    if transitive and level != "NONE" and not level.endswith("_TRANSITIVE"):
        return level + "_TRANSITIVE"
    return level


class GitCheck:
    """One ``check --against`` run over the given files (and the removals since the ref)."""

    def __init__(self, project: Project, options: GitOptions, worktree: Resolver) -> None:
        self.project, self.options, self.worktree = project, options, worktree
        self.git = Git(project.root)
        self.commit = self.git.resolve(options.against)
        self.renames, self.deleted = self.git.changes(self.commit)
        self.at_ref = self.git.files_at(self.commit)
        self._resolvers: dict[str, Resolver] = {}

    def removals(self, named: list[str] | None) -> list[str]:
        """Mapped files deleted since the ref: among ``named`` (missing named files), or all of them."""
        if named is not None:
            for path in named:
                if path not in self.at_ref:
                    raise GateError(f"{path}: file not found (neither in the working tree nor at {self.options.against})")
            return named
        return sorted(p for p in self.deleted if self.project.match(p) is not None)

    def resolver_at(self, sha: str) -> Resolver:
        if sha not in self._resolvers:
            # A referenced file missing in that commit is read from the working tree.
            worktree = self.worktree.read
            self._resolvers[sha] = Resolver(self.project, lambda p: self.git.show(sha, p) or worktree(p))
        return self._resolvers[sha]

    def run(self, present: list[SchemaFile], removals: list[str]) -> list[Result]:
        results = [self.check_file(sf) for sf in present]
        return results + [self.removal(path) for path in removals]

    def check_file(self, sf: SchemaFile) -> Result:
        result = Result(sf.path, "error", annotation_path=self.git.prefix + sf.path, schema_type=sf.schema_type)
        try:
            self._check(sf, result)
        except GateError as exc:
            result.status, result.messages = "error", [str(exc)]
        return result

    def _check(self, sf: SchemaFile, result: Result) -> None:
        against = self.options.against
        text = self.worktree.text(sf.path)
        parsed = self.worktree.parse(sf.path, text)
        subject = result.subject = self.project.subject(sf, text, parsed)
        declared = (self.project.declared_level(sf, subject) if subject else sf.entry.level) or OFFLINE_DEFAULT_LEVEL
        transitive = self.options.transitive or declared.endswith("_TRANSITIVE")
        level = result.level = effective_level(declared, self.options.transitive)
        old_path = self.renames.get(sf.path, sf.path)
        if old_path not in self.at_ref:
            result.status = "new"
            result.notes.append(f"not present at {against}")
            return
        if old_path != sf.path:
            result.notes.append(f"renamed from {old_path}")
        previous = self._previous(old_path, transitive, result)
        if transitive:
            result.against = f"{len(previous)} version(s) of {old_path} up to {against}"
        else:
            result.against = f"{against} ({self.commit[:10]}:{old_path})"
        versions = [PreviousVersion(i, v.schema, v.text) for i, v in enumerate(previous, 1)]
        outcome = check(parsed, list(reversed(versions)), level)
        result.status = "compatible" if outcome.is_compatible else "incompatible"
        result.messages = outcome.messages
        number = next((f.version for f in outcome.findings if f.version is not None), None)
        if number is not None:
            failed = previous[number - 1]
            result.notes.append(f"oldSchemaVersion {number} is {failed.revision.path} at commit {failed.revision.short}")
            label = against if failed.revision.commit == self.commit else failed.revision.short
            old = OldVersion(SchemaText(failed.schema, failed.text), f"{label}:{self.git.prefix}{failed.revision.path}")
            result.findings = findings(sf.schema_type, outcome.findings, SchemaText(parsed, text), old)

    def _previous(self, old_path: str, transitive: bool, result: Result) -> list[_Version]:
        """The distinct earlier versions to check against, oldest first."""
        revisions = self.git.history(self.commit, old_path) if transitive else []
        if not revisions or revisions[0].path != old_path:
            revisions = [Revision(self.commit, old_path), *revisions]
        previous: list[_Version] = []
        for n, rev in enumerate(reversed(revisions)):
            is_ref = n == len(revisions) - 1
            old_text = self.git.show(rev.commit, rev.path)
            if old_text is None or (previous and previous[-1].text == old_text):
                continue
            try:
                old = self.resolver_at(rev.commit).parse(rev.path, old_text, strict=False)
            except GateError as exc:
                if is_ref:
                    raise GateError(f"{exc} (at {self.options.against})") from None
                result.warnings.append(f"skipped unparseable version at {rev.short}: {exc}")
                continue
            previous.append(_Version(rev, old_text, old))
        return previous

    def removal(self, path: str) -> Result:
        old_text = self.git.show(self.commit, path) or ""
        result = Result(path, "removed", annotation_path=self.git.prefix + path)
        removed = self.project.match(path)
        if removed is not None:
            try:
                parsed = self.resolver_at(self.commit).parse(path, old_text, strict=False)
                result.subject = self.project.subject(removed, old_text, parsed)
            except GateError:
                pass
        result.messages = [f"{path} existed at {self.options.against} and has been deleted"]
        if self.options.allow_removal:
            result.status = "compatible"
            result.notes.append("removal allowed (--allow-removal)")
        return result
