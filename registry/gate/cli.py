"""``schemahub check`` and ``schemahub register``: the CI gate's subcommands.

Exit codes: 0 everything compatible (or registered), 1 at least one breaking
change or removal, 2 usage, configuration, parse, git or connection errors,
and a configured glob or a named file that matches nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from . import GateError
from .history import Git
from .offline import GitCheck, GitOptions
from .online import Registration, check_registry, references_first
from .project import Project, Resolver, SchemaFile, load
from .remote import Connection, RemoteRegistry
from .report import Result, exit_code, render_github, render_json, render_text, workflow_command
from .sarif import render_sarif
from .summary import write_step_summary

FORMATS = ("text", "json", "github", "sarif")


def add_parser(commands: argparse._SubParsersAction) -> None:
    check_p = commands.add_parser(
        "check",
        help="reject breaking schema changes (against the registry or a git ref)",
        description="Check schema files for compatibility: against the live registry (--registry) or against "
        "the same files at a git ref (--against; needs no configuration when FILES are named). "
        "Exit 0: compatible; 1: breaking change; 2: error.",
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
    parser.add_argument("--config", metavar="PATH", help="schemahub.toml or pyproject.toml (default: the nearest one)")
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="output: text, json, github (workflow commands) or sarif (code scanning)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="also print Confluent's message under each finding, and the version checked against")
    parser.add_argument("--allow-empty", action="store_true",
                        help="pass when a configured glob matches no file (otherwise exit 2: a typo checks nothing)")
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


# -- output ----------------------------------------------------------------------------


def _emit(results: list[Result], args: argparse.Namespace, command: str) -> int:
    if args.format == "text":
        print(render_text(results, command, verbose=args.verbose), flush=True)
    elif args.format == "json":
        print(render_json(results, command), flush=True)
    elif args.format == "github":
        print(render_github(results, command, verbose=args.verbose), flush=True)
    else:
        print(render_sarif(results, command), flush=True)
    write_step_summary(results, command)
    return exit_code(results)


def _fail(message: str, args: argparse.Namespace, command: str) -> int:
    """A run-stopping error: one line (a workflow command in github format), exit 2."""
    if args.format == "github":
        print(workflow_command("error", message, title=f"schemahub {command}"), flush=True)
    else:
        if args.format == "json":
            print(json.dumps({"command": command, "ok": False, "exit_code": 2, "error": message}), flush=True)
        elif args.format == "sarif":
            print(render_sarif([], command, error=message), flush=True)
        print(f"schemahub {command}: error: {message}", file=sys.stderr, flush=True)
    write_step_summary([], command, error=message)
    return 2


# -- plumbing shared by both commands ---------------------------------------------------


def _registry_url(args: argparse.Namespace, project: Project) -> str | None:
    return args.registry or os.environ.get("SCHEMAHUB_REGISTRY_URL") or project.registry_url


def _worktree_reader(project: Project) -> Callable[[str], str | None]:
    def read(path: str) -> str | None:
        try:
            data = (project.root / path).read_bytes()
        except OSError:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GateError(f"{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8") from None

    return read


def _annotation_prefix(project: Project) -> str:
    """Annotations name files relative to the repository root (GitHub's workspace)."""
    try:
        return Git(project.root).prefix
    except GateError:
        return ""


def _named(args: argparse.Namespace, project: Project) -> tuple[list[SchemaFile], list[str]]:
    """The named files present in the working tree, and those missing from it."""
    present, missing = [], []
    for arg in args.files:
        path = project.relative(arg)
        if (project.root / path).is_file():
            present.append(project.require(path))
        else:
            missing.append(path)
    return present, missing


def _discovered(args: argparse.Namespace, project: Project, removals: Sequence[str] = ()) -> list[SchemaFile]:
    """Every mapped file; a glob that matches nothing (and no removed file) stops the run."""
    if project.implicit:
        raise GateError("name the schema files to check: there is no schemahub.toml or pyproject.toml "
                        "with [tool.schemahub] here or above")
    present, empty = project.discover()
    empty = [e for e in empty if not any(e.regex.match(p) for p in removals)]
    if empty and not args.allow_empty:
        entry = empty[0]
        raise GateError(f"{entry.where}: files = {entry.files!r} matches no file (a typo?); "
                        "pass --allow-empty if that is expected")
    return present


# -- check ---------------------------------------------------------------------------


def run_check(args: argparse.Namespace) -> int:
    try:
        project = load(args.config, implicit=args.against is not None and bool(args.files))
        if args.against is not None:
            if args.register_references:
                raise GateError("--register-references only applies with --registry")
            results = _check_git(args, project)
        else:
            if args.transitive or args.allow_removal:
                raise GateError("--transitive and --allow-removal only apply with --against GIT_REF")
            results = _check_registry(args, project)
    except GateError as exc:
        return _fail(str(exc), args, "check")
    return _emit(results, args, "check")


def _check_git(args: argparse.Namespace, project: Project) -> list[Result]:
    worktree = Resolver(project, _worktree_reader(project))
    run = GitCheck(project, GitOptions(args.against, args.transitive, args.allow_removal), worktree)
    if args.files:
        present, missing = _named(args, project)
        removals = run.removals(missing)
    else:
        removals = run.removals(None)
        present = _discovered(args, project, removals)
    return run.run(present, removals)


def _remote(args: argparse.Namespace, project: Project, command: str) -> RemoteRegistry:
    url = _registry_url(args, project)
    if not url:
        alternative = " or --against GIT_REF" if command == "check" else ""
        raise GateError(f"give --registry URL (or SCHEMAHUB_REGISTRY_URL){alternative}")
    return RemoteRegistry(url, connection=_connection(args))


def _present(args: argparse.Namespace, project: Project) -> list[SchemaFile]:
    if not args.files:
        return _discovered(args, project)
    present, missing = _named(args, project)
    if missing:
        raise GateError(f"{missing[0]}: file not found")
    return present


def _check_registry(args: argparse.Namespace, project: Project) -> list[Result]:
    present = _present(args, project)
    resolver = Resolver(project, _worktree_reader(project))
    remote = _remote(args, project, "check")
    try:
        return check_registry(project, remote, resolver, present, _annotation_prefix(project),
                              register_references=args.register_references)
    finally:
        remote.close()


# -- register ------------------------------------------------------------------------


def run_register(args: argparse.Namespace) -> int:
    try:
        project = load(args.config)
        present = _present(args, project)
        resolver = Resolver(project, _worktree_reader(project))
        ordered = references_first(project, resolver, present)
        remote = _remote(args, project, "register")
        try:
            results = Registration(project, remote, resolver, dry_run=args.dry_run).run(
                ordered, _annotation_prefix(project)
            )
        finally:
            remote.close()
    except GateError as exc:
        return _fail(str(exc), args, "register")
    return _emit(results, args, "register")
