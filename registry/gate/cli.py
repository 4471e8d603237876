"""``schemahub check`` and ``schemahub register``: the CI gate's subcommands.

Exit codes: 0 everything compatible (or registered), 1 at least one breaking
change or removal, 2 usage, configuration, parse, git or connection errors.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable

from ..compatibility import PreviousVersion, check
from ..formats import ParsedSchema
from . import GateError
from .history import Git, Revision
from .project import OFFLINE_DEFAULT_LEVEL, Project, Resolver, SchemaFile, load
from .remote import Connection, RegistryError, RemoteRegistry, Unreachable
from .report import Result, exit_code, render_github, render_json, render_text, workflow_command

FORMATS = ("text", "json", "github")


def add_parser(commands: argparse._SubParsersAction) -> None:
    check_p = commands.add_parser(
        "check",
        help="reject breaking schema changes (against the registry or a git ref)",
        description="Check schema files for compatibility: against the live registry (--registry) or against "
        "the same files at a git ref (--against). Exit 0: compatible; 1: breaking change; 2: error.",
    )
    source = check_p.add_mutually_exclusive_group()
    source.add_argument("--registry", metavar="URL", help="registry URL (also SCHEMAHUB_REGISTRY_URL or 'registry' in the config)")
    source.add_argument("--against", metavar="GIT_REF", help="compare with the files at this git ref, no server needed")
    check_p.add_argument("--transitive", action="store_true", help="with --against: every earlier version in git history")
    check_p.add_argument("--allow-removal", action="store_true", help="with --against: deleted schema files do not fail")
    check_p.add_argument(
        "--register-references", action="store_true",
        help="with --registry: register referenced files that are not registered yet (otherwise an error)",
    )
    _common(check_p)
    check_p.set_defaults(func=run_check)

    register_p = commands.add_parser(
        "register",
        help="register schema files under their subjects (the deploy step)",
        description="Register each schema file (references first) and print its id and version.",
    )
    register_p.add_argument("--registry", metavar="URL", help="registry URL (also SCHEMAHUB_REGISTRY_URL or 'registry' in the config)")
    register_p.add_argument("--dry-run", action="store_true", help="change nothing: say what would be registered")
    _common(register_p)
    register_p.set_defaults(func=run_register)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", metavar="FILES", help="schema files (default: every mapped file)")
    parser.add_argument("--config", metavar="PATH", help="schemahub.toml or pyproject.toml (default: nearest one)")
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    conn = parser.add_argument_group("registry connection")
    conn.add_argument("--basic-auth", metavar="USER:PASSWORD",
                     help="HTTP Basic credentials (also SCHEMAHUB_REGISTRY_AUTH, or user:password@ in the URL)")
    conn.add_argument("--ca-cert", metavar="PATH", help="CA bundle that signed the registry's certificate "
                     "(also SCHEMAHUB_REGISTRY_CA; default: the system trust store)")
    conn.add_argument("--client-cert", metavar="PATH", help="client certificate (PEM, may hold the key too) "
                     "for a registry that requires one (also SCHEMAHUB_REGISTRY_CERT)")
    conn.add_argument("--client-key", metavar="PATH", help="the client certificate's key, if in its own file "
                     "(also SCHEMAHUB_REGISTRY_KEY)")


def _connection(args: argparse.Namespace) -> Connection:
    def pick(flag: str | None, variable: str) -> str | None:
        return flag or os.environ.get(variable) or None  # an empty variable (unset CI secret) is no value

    return Connection(
        basic_auth=pick(args.basic_auth, "SCHEMAHUB_REGISTRY_AUTH"),
        ca_cert=pick(args.ca_cert, "SCHEMAHUB_REGISTRY_CA"),
        client_cert=pick(args.client_cert, "SCHEMAHUB_REGISTRY_CERT"),
        client_key=pick(args.client_key, "SCHEMAHUB_REGISTRY_KEY"),
    )


# -- plumbing shared by both commands ------------------------------------------------


def _emit(results: list[Result], fmt: str, command: str) -> int:
    render = {"text": render_text, "json": render_json, "github": render_github}[fmt]
    print(render(results, command), flush=True)
    return exit_code(results)


def _fail(message: str, fmt: str, command: str) -> int:
    """A run-stopping error: one line (a workflow command in github format), exit 2."""
    if fmt == "github":
        print(workflow_command("error", message, title=f"schemahub {command}"), flush=True)
    else:
        if fmt == "json":
            import json

            print(json.dumps({"command": command, "ok": False, "exit_code": 2, "error": message}), flush=True)
        print(f"schemahub {command}: error: {message}", file=sys.stderr, flush=True)
    return 2


def _registry_url(args: argparse.Namespace, project: Project) -> str | None:
    return args.registry or os.environ.get("SCHEMAHUB_REGISTRY_URL") or project.registry_url


def _worktree_reader(project: Project) -> Callable[[str], str | None]:
    def read(path: str) -> str | None:
        try:
            return (project.root / path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    return read


def _annotation_prefix(project: Project) -> str:
    """Annotations name files relative to the repository root (GitHub's workspace)."""
    try:
        return Git(project.root).prefix
    except GateError:
        return ""


def _targets(args: argparse.Namespace, project: Project) -> tuple[list[SchemaFile], list[str]]:
    """The files to look at, and the explicitly named ones missing from the working tree."""
    if not args.files:
        return project.discover(), []
    present, missing = [], []
    for arg in args.files:
        path = project.relative(arg)
        if (project.root / path).is_file():
            present.append(project.require(path))
        else:
            missing.append(path)
    return present, missing


def _schema_body(sf: SchemaFile, text: str, references: list[dict]) -> dict:
    body: dict = {"schema": text}
    if sf.schema_type != "AVRO":
        body["schemaType"] = sf.schema_type
    if references:
        body["references"] = references
    return body


class _RemoteRefs:
    """Reference lists for the registry: each referenced file's subject and the
    version under which exactly its content is registered."""

    def __init__(self, project: Project, remote: RemoteRegistry, resolver: Resolver, *, register: bool) -> None:
        self.project, self.remote, self.resolver, self.register = project, remote, resolver, register
        self.cache: dict[str, list[dict]] = {}
        self.registered: list[tuple[str, str, dict]] = []  # (file, subject, response) registered on the way

    def of(self, sf: SchemaFile, text: str, trail: tuple[str, ...] = ()) -> list[dict]:
        if sf.path in self.cache:
            return self.cache[sf.path]
        refs = []
        for ref in self.project.references(sf, text):
            ref_sf = self.project.match(ref.file)
            if ref_sf is None:
                raise GateError(
                    f"{sf.path}: referenced file {ref.file} has no subject: add a [tool.schemahub] schemas entry for it"
                )
            if ref.file in trail:
                raise GateError(f"{sf.path}: circular reference through {ref.file}")
            ref_text = self.resolver.text(ref.file)
            ref_parsed = self.resolver.parse(ref.file, ref_text, strict=False)
            subject = self.project.subject(ref_sf, ref_text, ref_parsed)
            body = _schema_body(ref_sf, ref_text, self.of(ref_sf, ref_text, (*trail, sf.path)))
            found = self.remote.lookup(subject, body)
            if found is None and self.register:
                response = self.remote.register(subject, body)
                self.registered.append((ref.file, subject, response))
                found = self.remote.lookup(subject, body)
            if found is None:
                raise GateError(
                    f"{sf.path}: reference '{ref.name}' ({ref.file}) is not registered under subject '{subject}' "
                    "with this content; register it first (schemahub register) or pass --register-references"
                )
            refs.append({"name": ref.name, "subject": subject, "version": int(found["version"])})
        self.cache[sf.path] = refs
        return refs


# -- check ---------------------------------------------------------------------------


def run_check(args: argparse.Namespace) -> int:
    try:
        project = load(args.config)
        if args.against is not None:
            if args.register_references:
                raise GateError("--register-references only applies with --registry")
            results = _check_git(args, project)
        else:
            if args.transitive or args.allow_removal:
                raise GateError("--transitive and --allow-removal only apply with --against GIT_REF")
            url = _registry_url(args, project)
            if not url:
                raise GateError("give --registry URL (or SCHEMAHUB_REGISTRY_URL) or --against GIT_REF")
            results = _check_registry(args, project, url)
    except GateError as exc:
        return _fail(str(exc), args.format, "check")
    return _emit(results, args.format, "check")


def _check_registry(args: argparse.Namespace, project: Project, url: str) -> list[Result]:
    present, missing = _targets(args, project)
    if missing:
        raise GateError(f"{missing[0]}: file not found")
    prefix = _annotation_prefix(project)
    resolver = Resolver(project, _worktree_reader(project))
    remote = RemoteRegistry(url, connection=_connection(args))
    results: list[Result] = []
    try:
        refs = _RemoteRefs(project, remote, resolver, register=args.register_references)
        for sf in present:
            result = Result(sf.path, "error", annotation_path=prefix + sf.path, schema_type=sf.schema_type)
            results.append(result)
            try:
                text = result.text = resolver.text(sf.path)
                parsed = resolver.parse(sf.path, text)
                subject = result.subject = project.subject(sf, text, parsed)
                versions = remote.versions(subject)
                level = result.level = remote.level(subject)
                declared = project.declared_level(sf, subject)
                if declared and declared != level:
                    result.warnings.append(
                        f"the configuration declares {declared} for {subject} but the registry enforces {level}; "
                        "`schemahub register` sets the declared level"
                    )
                if not versions:
                    result.status = "new"
                    result.notes.append("subject does not exist in the registry yet")
                    continue
                result.against = f"{remote.url} ({len(versions)} live version(s))"
                ok, messages = remote.check(subject, _schema_body(sf, text, refs.of(sf, text)))
                result.status = "compatible" if ok else "incompatible"
                result.messages = messages
            except Unreachable:
                raise
            except GateError as exc:
                result.status = "error"
                result.messages = [str(exc)]
        for file, subject, response in refs.registered:
            results.append(Result(file, "registered", subject=subject, id=response.get("id"),
                                  notes=["registered as a reference (--register-references)"]))
    finally:
        remote.close()
    return results


def _effective_level(level: str, transitive: bool) -> str:
    if transitive and level != "NONE" and not level.endswith("_TRANSITIVE"):
        return level + "_TRANSITIVE"
    return level


def _check_git(args: argparse.Namespace, project: Project) -> list[Result]:
    git = Git(project.root)
    commit = git.resolve(args.against)
    renames, deleted = git.changes(commit)
    at_ref = git.files_at(commit)
    present, missing = _targets(args, project)
    if args.files:
        for path in missing:
            if path not in at_ref:
                raise GateError(f"{path}: file not found (neither in the working tree nor at {args.against})")
        removals = missing
    else:
        removals = sorted(p for p in deleted if project.match(p) is not None)
    worktree = Resolver(project, _worktree_reader(project))
    read_worktree = _worktree_reader(project)
    resolvers: dict[str, Resolver] = {}

    def resolver_at(sha: str) -> Resolver:
        if sha not in resolvers:
            # A referenced file missing in that commit is read from the working tree.
            resolvers[sha] = Resolver(project, lambda p: git.show(sha, p) or read_worktree(p))
        return resolvers[sha]

    results: list[Result] = []
    for sf in present:
        result = Result(sf.path, "error", annotation_path=git.prefix + sf.path, schema_type=sf.schema_type)
        results.append(result)
        try:
            text = result.text = worktree.text(sf.path)
            parsed = worktree.parse(sf.path, text)
            subject = result.subject = project.subject(sf, text, parsed)
            declared = project.declared_level(sf, subject) or OFFLINE_DEFAULT_LEVEL
            transitive = args.transitive or declared.endswith("_TRANSITIVE")
            level = result.level = _effective_level(declared, args.transitive)
            old_path = renames.get(sf.path, sf.path)
            if old_path not in at_ref:
                result.status = "new"
                result.notes.append(f"not present at {args.against}")
                continue
            if old_path != sf.path:
                result.notes.append(f"renamed from {old_path}")
            revisions = git.history(commit, old_path) if transitive else []
            if not revisions or revisions[0].path != old_path:
                revisions = [Revision(commit, old_path), *revisions]
            previous: list[tuple[Revision, str, ParsedSchema]] = []  # oldest first
            for n, rev in enumerate(reversed(revisions)):
                is_ref = n == len(revisions) - 1
                old_text = git.show(rev.commit, rev.path)
                if old_text is None or (previous and previous[-1][1] == old_text):
                    continue
                try:
                    old = resolver_at(rev.commit).parse(rev.path, old_text, strict=False)
                except GateError as exc:
                    if is_ref:
                        raise GateError(f"{exc} (at {args.against})") from None
                    result.warnings.append(f"skipped unparseable version at {rev.short}: {exc}")
                    continue
                previous.append((rev, old_text, old))
            versions = [PreviousVersion(i, schema, text_) for i, (_, text_, schema) in enumerate(previous, 1)]
            if transitive:
                result.against = f"{len(versions)} version(s) of {old_path} up to {args.against}"
            else:
                result.against = f"{args.against} ({commit[:10]}:{old_path})"
            outcome = check(parsed, list(reversed(versions)), level)
            result.status = "compatible" if outcome.is_compatible else "incompatible"
            result.messages = outcome.messages
            for m in outcome.messages:
                found = re.match(r"\{oldSchemaVersion: (\d+)\}", m)
                if found and 1 <= int(found.group(1)) <= len(previous):
                    rev = previous[int(found.group(1)) - 1][0]
                    result.notes.append(f"oldSchemaVersion {found.group(1)} is {rev.path} at commit {rev.short}")
        except GateError as exc:
            result.status = "error"
            result.messages = [str(exc)]
    for path in removals:
        old_text = git.show(commit, path) or ""
        result = Result(path, "removed", annotation_path=git.prefix + path)
        removed = project.match(path)
        if removed is not None:
            try:
                parsed = resolver_at(commit).parse(path, old_text, strict=False)
                result.subject = project.subject(removed, old_text, parsed)
            except GateError:
                pass
        result.messages = [f"{path} existed at {args.against} and has been deleted"]
        if args.allow_removal:
            result.status = "compatible"
            result.notes.append("removal allowed (--allow-removal)")
        results.append(result)
    return results


# -- register ------------------------------------------------------------------------


def run_register(args: argparse.Namespace) -> int:
    try:
        project = load(args.config)
        url = _registry_url(args, project)
        if not url:
            raise GateError("give --registry URL (or SCHEMAHUB_REGISTRY_URL)")
        results = _register(args, project, url)
    except GateError as exc:
        return _fail(str(exc), args.format, "register")
    return _emit(results, args.format, "register")


def _register(args: argparse.Namespace, project: Project, url: str) -> list[Result]:
    present, missing = _targets(args, project)
    if missing:
        raise GateError(f"{missing[0]}: file not found")
    resolver = Resolver(project, _worktree_reader(project))
    # References first: a depth-first order over the files and what they reference.
    ordered: list[SchemaFile] = []
    seen: set[str] = set()

    def visit(sf: SchemaFile, trail: tuple[str, ...]) -> None:
        if sf.path in seen:
            return
        if sf.path in trail:
            raise GateError(f"{sf.path}: circular reference")
        for ref in project.references(sf, resolver.text(sf.path)):
            ref_sf = project.match(ref.file)
            if ref_sf is None:
                raise GateError(f"{sf.path}: referenced file {ref.file} has no subject mapping")
            visit(ref_sf, (*trail, sf.path))
        seen.add(sf.path)
        ordered.append(sf)

    for sf in present:
        visit(sf, ())
    prefix = _annotation_prefix(project)
    remote = RemoteRegistry(url, connection=_connection(args))
    results: list[Result] = []
    pending: set[str] = set()  # would be registered in a dry run
    try:
        refs = _RemoteRefs(project, remote, resolver, register=False)
        for sf in ordered:
            result = Result(sf.path, "error", annotation_path=prefix + sf.path, schema_type=sf.schema_type)
            results.append(result)
            try:
                text = result.text = resolver.text(sf.path)
                parsed = resolver.parse(sf.path, text)
                subject = result.subject = project.subject(sf, text, parsed)
                level = result.level = remote.level(subject)
                declared = project.declared_level(sf, subject)
                if declared and declared != level:
                    if args.dry_run:
                        result.notes.append(f"would set the subject's level to {declared} (now {level})")
                    else:
                        remote.set_level(subject, declared)
                        result.notes.append(f"subject level set to {declared} (was {level})")
                    result.level = declared
                waiting = [r.file for r in project.references(sf, text) if r.file in pending]
                if waiting:
                    result.status = "would-register"
                    result.notes.append(f"after its references ({', '.join(waiting)}); not checked")
                    pending.add(sf.path)
                    continue
                body = _schema_body(sf, text, refs.of(sf, text))
                found = remote.lookup(subject, body)
                if found is not None:
                    result.status, result.id, result.version = "unchanged", found.get("id"), found.get("version")
                    continue
                if args.dry_run:
                    ok, messages = remote.check(subject, body)
                    result.status = "would-register" if ok else "incompatible"
                    result.messages = messages
                    if ok:
                        pending.add(sf.path)
                    continue
                try:
                    response = remote.register(subject, body)
                except RegistryError as exc:
                    if exc.status != 409:
                        raise
                    _, result.messages = remote.check(subject, body)
                    result.status = "incompatible"
                    continue
                result.status, result.id = "registered", response.get("id")
                found = remote.lookup(subject, body)
                result.version = response.get("version") or (found or {}).get("version")
            except Unreachable:
                raise
            except GateError as exc:
                result.status = "error"
                result.messages = [str(exc)]
    finally:
        remote.close()
    return results
