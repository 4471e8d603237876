"""Git access for ``schemahub check --against REF``: files at a revision, renames,
deletions and the history of one file (``git log --follow``)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import GateError


@dataclass(frozen=True)
class Revision:
    commit: str  # full hash
    path: str  # root-relative path of the file in that commit

    @property
    def short(self) -> str:
        return self.commit[:10]


class Git:
    """The git repository holding the project root; paths in and out are root-relative."""

    def __init__(self, root: Path) -> None:
        self.root = root
        try:
            top = self._run("rev-parse", "--show-toplevel", cwd=root).strip()
        except GateError:
            raise GateError(f"{root}: not inside a git repository (needed by --against)") from None
        self.top = Path(top).resolve()
        prefix = root.resolve().relative_to(self.top).as_posix()
        self.prefix = "" if prefix == "." else prefix + "/"

    def _run(self, *args: str, cwd: Path | None = None, check: bool = True) -> str:
        try:
            done = subprocess.run(
                ["git", "-c", "core.quotePath=false", *args],
                cwd=cwd or self.top,
                capture_output=True,
                check=False,
            )
        except FileNotFoundError:
            raise GateError("git is not installed or not on PATH") from None
        if check and done.returncode != 0:
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GateError(f"git {args[0]} failed: {detail[-1] if detail else done.returncode}")
        return done.stdout.decode("utf-8", "replace") if check or done.returncode == 0 else ""

    def _git_path(self, path: str) -> str:
        return self.prefix + path

    def _root_path(self, git_path: str) -> str | None:
        if not git_path.startswith(self.prefix):
            return None
        return git_path[len(self.prefix) :]

    def resolve(self, ref: str) -> str:
        if ref.startswith("-"):
            raise GateError(f"invalid git ref {ref!r}")
        out = self._run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False).strip()
        if not out:
            raise GateError(f"unknown git ref {ref!r} (fetch it first, e.g. actions/checkout with fetch-depth: 0)")
        return out

    def files_at(self, commit: str) -> set[str]:
        out = self._run("ls-tree", "-r", "-z", "--name-only", commit, "--", self.prefix or ".")
        paths = (self._root_path(p) for p in out.split("\0") if p)
        return {p for p in paths if p is not None}

    def show(self, commit: str, path: str) -> str | None:
        done = subprocess.run(
            ["git", "show", f"{commit}:{self._git_path(path)}"], cwd=self.top, capture_output=True, check=False
        )
        if done.returncode != 0:
            return None
        return done.stdout.decode("utf-8", "replace")

    def changes(self, commit: str) -> tuple[dict[str, str], set[str]]:
        """Since ``commit`` in the working tree: ``{new path: old path}`` for
        renames (as git detects them: committed or staged) and deleted paths."""
        out = self._run("diff", "-M", "--name-status", "-z", commit, "--", self.prefix or ".")
        fields = out.split("\0")
        renames: dict[str, str] = {}
        deleted: set[str] = set()
        i = 0
        while i < len(fields) and fields[i]:
            status = fields[i]
            if status[0] in "RC":
                old, new = self._root_path(fields[i + 1]), self._root_path(fields[i + 2])
                if status[0] == "R" and old is not None and new is not None:
                    renames[new] = old
                elif status[0] == "R" and old is not None:
                    deleted.add(old)
                i += 3
            else:
                path = self._root_path(fields[i + 1])
                if status[0] == "D" and path is not None:
                    deleted.add(path)
                i += 2
        return renames, deleted

    def history(self, commit: str, path: str) -> list[Revision]:
        """Every commit up to ``commit`` that changed the file at ``path`` (as
        named in ``commit``), newest first, following renames."""
        out = self._run(
            "log", "--follow", "-M", "--name-status", "-z", "--format=%x01%H", commit, "--", self._git_path(path)
        )
        revisions: list[Revision] = []
        for block in out.split("\x01")[1:]:
            fields = [f for f in block.replace("\n", "\0").split("\0") if f]
            if len(fields) < 3:
                continue
            sha, status, *paths = fields
            if status.startswith("D"):
                continue
            rel = self._root_path(paths[-1])
            if rel is not None:
                revisions.append(Revision(sha, rel))
        return revisions
