"""``schemahub check --registry`` and ``schemahub register``: the working tree
against the live subjects."""

from __future__ import annotations

import re

from confluent_kafka.schema_registry import RegisteredSchema, Schema

from ..formats import DEFAULT_SCHEMA_TYPE, Dependency, ParsedSchema
from ..formats.base import SchemaText
from . import GateError
from .explain import OldVersion, findings, from_messages
from .project import Project, Resolver, SchemaFile, parse_file
from .remote import Incompatible, RemoteRegistry, Unreachable, schema
from .report import Result

_OLD_VERSION = re.compile(r"\{oldSchemaVersion: (\d+)\}")
MAX_REFERENCE_DEPTH = 64


def schema_body(sf: SchemaFile, text: str, references: list[dict]) -> Schema:
    return schema(text, sf.schema_type, references)


def _subject(project: Project, sf: SchemaFile, text: str, parsed: ParsedSchema | None) -> str:
    subject = project.subject(sf, text, parsed)
    if subject is None:
        raise GateError(f"{sf.path}: no subject: the registry needs a [tool.schemahub] schemas entry for this file")
    return subject


class RemoteRefs:
    """Reference lists for the registry: each referenced file's subject and the
    version under which exactly its content is registered."""

    def __init__(self, project: Project, remote: RemoteRegistry, resolver: Resolver, *, register: bool) -> None:
        self.project, self.remote, self.resolver, self.register = project, remote, resolver, register
        self.cache: dict[str, list[dict]] = {}
        self.registered: list[tuple[str, str, RegisteredSchema]] = []  # (file, subject, answer) registered on the way

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
            subject = _subject(self.project, ref_sf, ref_text, ref_parsed)
            body = schema_body(ref_sf, ref_text, self.of(ref_sf, ref_text, (*trail, sf.path)))
            found = self.remote.lookup(subject, body)
            if found is None and self.register:
                response = self.remote.register(subject, body)
                self.registered.append((ref.file, subject, response))
                found = self.remote.lookup(subject, body)
            if found is None or found.version is None:
                raise GateError(
                    f"{sf.path}: reference '{ref.name}' ({ref.file}) is not registered under subject '{subject}' "
                    "with this content; register it first (schemahub register) or pass --register-references"
                )
            refs.append({"name": ref.name, "subject": subject, "version": int(found.version)})
        self.cache[sf.path] = refs
        return refs


def registered_schema(remote: RemoteRegistry, subject: str, version: int, depth: int = 0) -> SchemaText:
    """A registered version parsed with its references (fetched too); GateError when it cannot be."""
    if depth > MAX_REFERENCE_DEPTH:
        raise GateError(f"{subject} version {version}: references nested too deeply")
    found = remote.version(subject, version).schema
    text = found.schema_str or ""
    schema_type = found.schema_type or DEFAULT_SCHEMA_TYPE
    deps = []
    for ref in found.references or []:
        if ref.name is None or ref.subject is None or ref.version is None:
            raise GateError(f"{subject} version {version}: a reference without name, subject or version")
        dep = registered_schema(remote, ref.subject, ref.version, depth + 1)
        deps.append(Dependency(ref.name, dep.schema, ref.subject, ref.version))
    return SchemaText(parse_file(schema_type, f"{subject} version {version}", text, deps, strict=False), text)


def _failed_version(remote: RemoteRegistry, subject: str, messages: list[str], versions: list[int]) -> OldVersion | None:
    """The version the registry's messages are about (``{oldSchemaVersion: N}``, else the latest)."""
    found = next((m for m in map(_OLD_VERSION.match, messages) if m), None)
    number = int(found.group(1)) if found else (max(versions) if versions else None)
    if number is None:
        return None
    try:
        return OldVersion(registered_schema(remote, subject, number))
    except (GateError, TypeError, ValueError):
        return None


def check_file(project: Project, remote: RemoteRegistry, resolver: Resolver, refs: RemoteRefs, sf: SchemaFile,
               result: Result) -> None:
    """Check one file against its subject's live versions; fills ``result``."""
    text = resolver.text(sf.path)
    parsed = resolver.parse(sf.path, text)
    subject = result.subject = _subject(project, sf, text, parsed)
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
        return
    result.against = f"{remote.url} ({len(versions)} live version(s))"
    ok, messages = remote.check(subject, schema_body(sf, text, refs.of(sf, text)))
    result.status = "compatible" if ok else "incompatible"
    result.messages = messages
    if not ok:
        old = _failed_version(remote, subject, messages, versions)
        result.findings = findings(sf.schema_type, from_messages(sf.schema_type, messages), SchemaText(parsed, text), old)


def check_registry(project: Project, remote: RemoteRegistry, resolver: Resolver, present: list[SchemaFile],
                   prefix: str, *, register_references: bool) -> list[Result]:
    results: list[Result] = []
    refs = RemoteRefs(project, remote, resolver, register=register_references)
    for sf in present:
        result = Result(sf.path, "error", annotation_path=prefix + sf.path, schema_type=sf.schema_type)
        results.append(result)
        try:
            check_file(project, remote, resolver, refs, sf, result)
        except Unreachable:
            raise
        except GateError as exc:
            result.status, result.messages = "error", [str(exc)]
    for file, subject, response in refs.registered:
        results.append(Result(file, "registered", subject=subject, id=response.schema_id,
                              notes=["registered as a reference (--register-references)"]))
    return results


# -- register ------------------------------------------------------------------------


def references_first(project: Project, resolver: Resolver, files: list[SchemaFile]) -> list[SchemaFile]:
    """``files`` and what they reference, each after its references (depth first)."""
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

    for sf in files:
        visit(sf, ())
    return ordered


class Registration:
    """One ``register`` run: files in reference order, each looked up, checked or registered."""

    def __init__(self, project: Project, remote: RemoteRegistry, resolver: Resolver, *, dry_run: bool) -> None:
        self.project, self.remote, self.resolver, self.dry_run = project, remote, resolver, dry_run
        self.refs = RemoteRefs(project, remote, resolver, register=False)
        self.pending: set[str] = set()  # would be registered in a dry run

    def run(self, ordered: list[SchemaFile], prefix: str) -> list[Result]:
        results = []
        for sf in ordered:
            result = Result(sf.path, "error", annotation_path=prefix + sf.path, schema_type=sf.schema_type)
            results.append(result)
            try:
                self.register(sf, result)
            except Unreachable:
                raise
            except GateError as exc:
                result.status, result.messages = "error", [str(exc)]
        return results

    def _level(self, sf: SchemaFile, subject: str, result: Result) -> None:
        level = result.level = self.remote.level(subject)
        declared = self.project.declared_level(sf, subject)
        if declared and declared != level:
            if self.dry_run:
                result.notes.append(f"would set the subject's level to {declared} (now {level})")
            else:
                self.remote.set_level(subject, declared)
                result.notes.append(f"subject level set to {declared} (was {level})")
            result.level = declared

    def register(self, sf: SchemaFile, result: Result) -> None:
        text = self.resolver.text(sf.path)
        parsed = self.resolver.parse(sf.path, text)
        subject = result.subject = _subject(self.project, sf, text, parsed)
        self._level(sf, subject, result)
        waiting = [r.file for r in self.project.references(sf, text) if r.file in self.pending]
        if waiting:
            result.status = "would-register"
            result.notes.append(f"after its references ({', '.join(waiting)}); not checked")
            self.pending.add(sf.path)
            return
        body = schema_body(sf, text, self.refs.of(sf, text))
        found = self.remote.lookup(subject, body)
        if found is not None:
            result.status, result.id, result.version = "unchanged", found.schema_id, found.version
            return
        if self.dry_run:
            ok, messages = self.remote.check(subject, body)
            result.status = "would-register" if ok else "incompatible"
            if ok:
                self.pending.add(sf.path)
            self._incompatible(result, subject, messages, SchemaText(parsed, text), ok)
            return
        try:
            response = self.remote.register(subject, body)
        except Incompatible:
            _, messages = self.remote.check(subject, body)
            result.status = "incompatible"
            self._incompatible(result, subject, messages, SchemaText(parsed, text), False)
            return
        result.status, result.id = "registered", response.schema_id
        found = self.remote.lookup(subject, body) if response.version is None else response
        result.version = found.version if found is not None else None

    def _incompatible(self, result: Result, subject: str, messages: list[str], new: SchemaText, ok: bool) -> None:
        result.messages = messages
        if not ok and result.schema_type:
            old = _failed_version(self.remote, subject, messages, self.remote.versions(subject))
            result.findings = findings(result.schema_type, from_messages(result.schema_type, messages), new, old)
