"""The registry's operations as plain functions over a store and its state.

Every HTTP route is a thin wrapper over one method here, so the whole
behaviour can be tested without a server. Reads use the in-memory state;
writes are serialised by one lock, appended to the store (durable) and
visible in the state when ``append`` returns.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from urllib.parse import unquote

from . import config as cfg
from .access.caller import ANYONE, Caller, readable_names, references_readable, visible
from .commits import GroupCommit, Write
from .compatibility import CompatibilityResult, PreviousVersion, check
from .contracts import check_metadata, check_rule_set, merge_metadata, merge_rule_sets, validate_rule_set
from .dek_registry import DekRegistry
from .errors import (
    BadRequest,
    ContextNotEmpty,
    Forbidden,
    IncompatibleSchema,
    InvalidSchema,
    InvalidVersion,
    OperationNotPermitted,
    ReferenceExists,
    RegistryError,
    SchemaNotFound,
    SubjectConfigNotFound,
    SubjectModeNotFound,
    SubjectNotFound,
    SubjectNotSoftDeleted,
    SubjectSoftDeleted,
    VersionNotFound,
    VersionNotSoftDeleted,
    VersionSoftDeleted,
)
from .formats import DEFAULT_SCHEMA_TYPE, ParsedSchema, Reference
from .schemas import SchemaInput, SchemaParser
from .state import RegistryState, Subject
from .stores.base import Store
from .stores.records import (
    ClearSubjectRecord,
    ConfigRecord,
    Content,
    ContextRecord,
    DeleteSubjectRecord,
    ModeRecord,
    Record,
    SchemaRecord,
    SchemaTombstone,
    guid_bytes,
)
from .subjects import (
    DEFAULT_CONTEXT,
    WILDCARD,
    context_of,
    parse_subject,
    validate_config_subject,
    validate_subject,
)

MAX_VERSION = 2**31 - 1


@dataclass(frozen=True)
class RegisterRequest:
    """``RegisterSchemaRequest``: the body of register, lookup and compatibility."""

    schema: str | None
    schema_type: str = DEFAULT_SCHEMA_TYPE
    references: tuple[Reference, ...] = ()
    metadata: dict | None = None
    rule_set: dict | None = None
    id: int | None = None
    version: int | None = None


def parse_version(text: str | int, *, allow_latest: bool = True) -> int:
    """A version path parameter: 1..2^31-1, or ``latest``/``-1`` (returned as -1)."""
    raw = str(text).strip()
    if allow_latest and raw.lower() == "latest":
        return -1
    try:
        value = int(raw)
    except ValueError:
        raise InvalidVersion(str(text)) from None
    if value == -1 and allow_latest:
        return -1
    if value < 1 or value > MAX_VERSION:
        raise InvalidVersion(str(text))
    return value


class Registry:
    def __init__(self, store: Store, *, default_level: str = cfg.DEFAULT_LEVEL, mode_mutability: bool = True) -> None:
        """``default_level``: the compatibility level where none is set (Confluent's
        ``schema.compatibility.level``); ``mode_mutability`` False refuses mode changes (``mode.mutability``)."""
        self.store = store
        self.state = RegistryState()
        self.parser = SchemaParser(self.state, store)
        self.default_level = cfg.parse_level(default_level)
        self.mode_mutability = mode_mutability
        self._commits = GroupCommit(lambda records: self._append(records), store.write_token)
        store.open(self.state.apply)
        self.keys = DekRegistry(self)

    @property
    def write_lock(self) -> AbstractContextManager[None]:
        """Held by every read-check-write sequence other than a registration's, so each sees
        the writes before it: nothing else is queued or appended meanwhile."""
        return self._commits.exclusive()

    def close(self) -> None:
        self.store.close()

    # -- helpers -----------------------------------------------------------

    def _subject(self, subject: str, *, deleted: bool = False) -> Subject:
        """An existing subject; soft-deleted subjects count only when ``deleted``."""
        subj = self.state.subjects.get(parse_subject(subject).qualified)
        if subj is None or not (deleted or subj.has_live()):
            raise SubjectNotFound(subject)
        return subj

    def _version(self, subject: str, version: str | int, *, deleted: bool = False) -> SchemaRecord:
        number = parse_version(version)
        subj = self._subject(subject, deleted=deleted)
        if number == -1:
            latest = next(subj.newest_first(deleted=deleted), None)
            if latest is None:
                raise VersionNotFound(version)
            return latest
        record = subj.versions.get(number)
        if record is None or (record.deleted and not deleted):
            raise VersionNotFound(number)
        return record

    def config_for(self, subject: str | None) -> dict:
        found = cfg.effective(self.state.configs, subject, None)
        return dict(found) if isinstance(found, dict) else {}

    def level_for(self, subject: str | None) -> str:
        return self.config_for(subject).get("compatibilityLevel") or self.default_level

    def mode_for(self, subject: str | None) -> str:
        return str(cfg.effective(self.state.modes, subject, cfg.DEFAULT_MODE))

    def _append(self, records: Sequence[Record]) -> None:
        self.store.append(records)

    def _check_writable(self, subject: str | None) -> None:
        mode = self.mode_for(subject)
        if mode in ("READONLY", "READONLY_OVERRIDE"):
            name = subject if subject is not None else ""
            raise OperationNotPermitted(f"Subject {name} is in read-only mode")

    def _prepare(
        self, subject: str, request: RegisterRequest, normalize: bool | None, caller: Caller = ANYONE
    ) -> tuple[ParsedSchema, SchemaInput, bool]:
        """Parse the request's schema; answer the parsed schema, the stored form and normalize.
        A reference ``caller`` may not read is answered as a missing one."""
        if request.schema is None or request.schema.strip() == "":
            raise InvalidSchema("Empty schema")
        context = context_of(parse_subject(subject).qualified)
        references = self.parser.resolve_references(request.references, context, caller)
        item = SchemaInput(request.schema_type, request.schema, references)
        parsed = self.parser.parse(item, context, strict=True)
        config = self.config_for(subject)
        use_normalize = bool(config.get("normalize")) if normalize is None else normalize
        if use_normalize:
            parsed = parsed.normalized()
            references = tuple(sorted(set(references), key=lambda r: (r.name, r.subject, r.version)))
        return parsed, SchemaInput(request.schema_type, parsed.canonical_string(), references), use_normalize

    def _matching_version(
        self, subj: Subject | None, stored: SchemaInput, request: RegisterRequest, *, deleted: bool, normalize: bool
    ) -> SchemaRecord | None:
        """The newest version holding ``stored`` (and the request's metadata and rule set, when
        given): found in the subject's index of texts; with ``normalize``, versions stored
        before normalization are compared by their normalized form."""
        if subj is None:
            return None

        def wanted(record: SchemaRecord) -> bool:
            return (
                (deleted or not record.deleted)
                and (request.metadata is None or record.metadata == request.metadata)
                and (request.rule_set is None or record.rule_set == request.rule_set)
            )

        for record in subj.with_text(stored.text_key):
            if wanted(record):
                return record
        if normalize:
            for record in subj.newest_first(deleted=deleted):
                if (
                    record.schema_type == stored.schema_type
                    and record.references == stored.references
                    and wanted(record)
                    and self._normalized_text(record) == stored.schema
                ):
                    return record
        return None

    def _normalized_text(self, record: SchemaRecord) -> str | None:
        try:
            return self.parser.parse_record(record).normalized().canonical_string()
        except RegistryError:
            return None

    def _previous_versions(
        self,
        records: Iterable[SchemaRecord],
        group: tuple[str, object] | None,
        *,
        limit: int | None = None,
    ) -> list[PreviousVersion]:
        """``records`` kept when their ``compatibilityGroup`` property equals the new schema's,
        parsed; at most ``limit`` of them (``records`` is consumed no further)."""
        previous: list[PreviousVersion] = []
        for record in records:
            if limit is not None and len(previous) >= limit:
                break
            if group is not None:
                name, value = group
                props = (record.metadata or {}).get("properties") or {}
                if props.get(name) != value:
                    continue
            parsed = self._parsed_previous(record)
            if parsed is not None:
                previous.append(parsed)
        return previous

    def _parsed_previous(self, record: SchemaRecord | None) -> PreviousVersion | None:
        if record is None:
            return None
        try:
            parsed = self.parser.parse_record(record)
        except RegistryError:
            return None
        return PreviousVersion(record.version, parsed, record.schema, record.metadata)

    def _group(self, subject: str, metadata: dict | None) -> tuple[str, object] | None:
        name = self.config_for(subject).get("compatibilityGroup")
        if not name:
            return None
        return name, ((metadata or {}).get("properties") or {}).get(name)

    def _check(
        self,
        subject: str,
        parsed: ParsedSchema,
        metadata: dict | None,
        candidates: Iterable[SchemaRecord],
        level: str | None = None,
    ) -> CompatibilityResult:
        """Confluent's ``isCompatibleWithPrevious``: ``candidates`` are the versions to
        check, newest first (read only as far as the level needs); the reserved-field rules
        look at the first of them before the ``compatibilityGroup`` filter, the level's checks
        at the filtered ones. ``level`` replaces the subject's effective level."""
        config = self.config_for(subject)
        level = level or self.level_for(subject)
        validate_fields = bool(config.get("validateFields"))
        transitive = level.endswith("_TRANSITIVE")
        remaining = iter(candidates)
        first = next(remaining, None)
        previous = self._previous_versions(
            itertools.chain((first,) if first is not None else (), remaining),
            self._group(subject, metadata),
            limit=0 if level == "NONE" else None if transitive else 1,
        )
        latest = self._parsed_previous(first) if validate_fields else None
        return check(
            parsed,
            previous,
            level,
            policy=str(config.get("compatibilityPolicy") or "STRICT").upper(),
            validate_fields=validate_fields,
            new_metadata=metadata,
            latest=latest,
        )

    def _apply_data_contract(
        self, subject: str, request: RegisterRequest, latest: SchemaRecord | None
    ) -> tuple[dict | None, dict | None]:
        # Confluent's maybeSetMetadataRuleSet: merge(merge(default, specific), override), where the
        # specific value is the request's, else the latest version's.
        config = self.config_for(subject)
        metadata = request.metadata if request.metadata is not None else (latest.metadata if latest else None)
        rule_set = request.rule_set if request.rule_set is not None else (latest.rule_set if latest else None)
        metadata = merge_metadata(merge_metadata(config.get("defaultMetadata"), metadata), config.get("overrideMetadata"))
        rule_set = merge_rule_sets(merge_rule_sets(config.get("defaultRuleSet"), rule_set), config.get("overrideRuleSet"))
        return metadata or None, rule_set or None

    # -- subjects and versions --------------------------------------------

    def register(
        self,
        subject: str,
        request: RegisterRequest,
        *,
        normalize: bool | None = None,
        force: bool = False,
        caller: Caller = ANYONE,
    ) -> SchemaRecord:
        record, write = self.register_queued(subject, request, normalize=normalize, force=force, caller=caller)
        if write is not None:
            self.durable(write)
        return record

    def register_queued(
        self,
        subject: str,
        request: RegisterRequest,
        *,
        normalize: bool | None = None,
        force: bool = False,
        caller: Caller = ANYONE,
    ) -> tuple[SchemaRecord, Write | None]:
        """:meth:`register` up to its wait: the version it answers and, for a new one, its queued
        write, to pass to :meth:`durable` before answering (the CPU work apart from the wait)."""
        qs = validate_subject(subject)
        qualified = qs.qualified
        validate_rule_set(request.rule_set)
        subj = self.state.subjects.get(qualified)
        if request.schema is None and (request.metadata is not None or request.rule_set is not None):
            latest = subj.latest_live() if subj else None
            if latest is None:
                raise InvalidSchema("Empty schema")
            request = replace(
                request, schema=latest.schema, schema_type=latest.schema_type, references=latest.references
            )
        parsed, stored, use_normalize = self._prepare(subject, request, normalize, caller)
        existing = self._matching_version(subj, stored, request, deleted=False, normalize=use_normalize)
        if existing is not None and request.id in (None, existing.id) and request.version in (None, existing.version):
            return existing, None
        with self._commits.deciding(qualified):
            return self._register_locked(qualified, subject, request, parsed, stored, force)

    def durable(self, write: Write) -> None:
        """Return once ``write`` (from :meth:`register_queued`) is durable and applied."""
        self._commits.wait(write)

    def _register_locked(
        self,
        qualified: str,
        subject: str,
        request: RegisterRequest,
        parsed: ParsedSchema,
        stored: SchemaInput,
        force: bool,
    ) -> tuple[SchemaRecord, Write | None]:
        """Decide a registration (under :meth:`GroupCommit.deciding`): the version it answers
        and, for a new one, its queued write; the state is read together with what the writes
        queued before it decided (``pending``)."""
        pending = self._commits.pending
        mode = self.mode_for(qualified)
        if mode in ("READONLY", "READONLY_OVERRIDE"):
            raise OperationNotPermitted(f"Subject {subject} is in read-only mode")
        importing = mode in ("IMPORT", "FORWARD")
        if request.id is not None and request.id >= 0 and not importing:
            raise OperationNotPermitted(f"Subject {subject} is not in import mode")
        if request.id is None and mode == "IMPORT":
            raise OperationNotPermitted(f"Subject {subject} is not in read-write mode")
        context = context_of(qualified)
        subj = self.state.subjects.get(qualified)
        latest = subj.latest_live() if subj else None
        metadata, rule_set = self._apply_data_contract(subject, request, latest)
        content = Content.of(stored.schema_type, stored.schema, stored.references, metadata, rule_set)
        key = content.key
        if subj is not None:
            for record in subj.with_text(stored.text_key):
                if not record.deleted and record.content_key == key and request.id in (None, record.id):
                    return record, None
        new_version = max(subj.max_version() if subj is not None else 0, self.store.version_high_water(qualified)) + 1
        if request.version is not None and request.version > 0:
            if not importing and request.version != new_version:
                raise InvalidSchema("Version is not one more than previous version")
            new_version = request.version
        if importing and subj is not None and new_version in subj.versions:
            existing = subj.versions[new_version]
            if existing.content_key != key:
                raise OperationNotPermitted(
                    f"Overwrite new schema with id {existing.id} in context {context} is not permitted."
                )
        schema_id = self.state.id_for_content(context, key)
        if schema_id is None:
            schema_id = pending.content_ids.get((context, key))
        if request.id is not None and request.id >= 0:
            holder = self.state.schema_by_id(context, request.id)
            held = holder.content_key if holder is not None else pending.ids.get((context, request.id))
            if held is not None and held != key:
                raise OperationNotPermitted(
                    f"Overwrite new schema with id {request.id} in context {context} is not permitted."
                )
            schema_id = request.id
        retried = self.store.unacknowledged_version(qualified, key)
        if retried is not None and request.version is None and request.id is None and schema_id in (None, retried[1]):
            new_version, schema_id = retried
        if not importing and not force:
            result = self._check(subject, parsed, metadata, subj.newest_first() if subj is not None else ())
            if not result.is_compatible:
                raise IncompatibleSchema(subject, result.messages)
        if schema_id is None:
            high_water = max(self.store.id_high_water().get(context, 0), pending.max_ids.get(context, 0))
            schema_id = self.state.next_id(context, high_water)
        records: list[Record] = []
        if context != DEFAULT_CONTEXT and context not in self.state.contexts and context not in pending.contexts:
            records.append(ContextRecord(context))
        for record in sorted(self.state.users_of(context, schema_id), key=_version_number):
            if (
                record.subject == qualified
                and record.deleted
                and not self.state.is_referenced(qualified, record.version)
                and (qualified, record.version) not in pending.referenced
            ):
                records.append(SchemaTombstone(qualified, record.version))
        content = self.state.content_for(context, key) or content
        new = SchemaRecord(qualified, new_version, schema_id, content, False, int(time.time() * 1000))
        records.append(new)
        self.parser.remember(new, parsed)
        basis = self.parser.compiled_basis(content, context) if self.store.keeps_compiled else None
        compiled = parsed.compiled() if basis is not None and content.source is None else None
        if compiled is not None and basis is not None:
            self.store.keep_compiled(content, compiled, basis)
        return new, self._commits.submit(records)

    def lookup(
        self,
        subject: str,
        request: RegisterRequest,
        *,
        normalize: bool | None = None,
        deleted: bool = False,
        caller: Caller = ANYONE,
    ) -> SchemaRecord:
        subj = self._subject(subject, deleted=deleted)
        _, stored, use_normalize = self._prepare(subject, request, normalize, caller)
        found = self._matching_version(subj, stored, request, deleted=deleted, normalize=use_normalize)
        if found is None:
            raise SchemaNotFound("Schema not found")
        return found

    def get_version(self, subject: str, version: str | int, *, deleted: bool = False) -> SchemaRecord:
        return self._version(subject, version, deleted=deleted)

    def list_versions(
        self, subject: str, *, deleted: bool = False, deleted_only: bool = False, deleted_as_negative: bool = False
    ) -> list[int]:
        subj = self._subject(subject, deleted=deleted or deleted_only or deleted_as_negative)
        if deleted_only:
            return [r.version for r in subj.all() if r.deleted]
        if deleted_as_negative:
            return [-r.version if r.deleted else r.version for r in subj.all()]
        return [r.version for r in (subj.all() if deleted else subj.live())]

    def list_subjects(
        self, *, prefix: str | None = None, deleted: bool = False, deleted_only: bool = False, caller: Caller = ANYONE
    ) -> list[str]:
        prefix = WILDCARD if prefix is None else prefix
        names = []
        for name, subj in sorted(self.state.subjects.items(), key=lambda item: _subject_order(item[0])):
            live = subj.has_live()
            if deleted_only:
                if not subj.has_deleted():
                    continue
            elif not (live or deleted):
                continue
            if not _matches_prefix(name, prefix):
                continue
            names.append(name)
        return readable_names(caller, names)

    def referenced_by(
        self, subject: str, version: str | int, *, deleted: bool = False, caller: Caller = ANYONE
    ) -> list[int]:
        record = self._version(subject, version, deleted=True)
        referrers = visible(caller, self.state.referrers(record.subject, record.version))
        ids = {r.id for r in referrers if deleted or not r.deleted}
        return sorted(ids)

    def latest_with_metadata(self, subject: str, properties: dict[str, str], *, deleted: bool = False) -> SchemaRecord:
        subj = self._subject(subject, deleted=deleted)
        for record in subj.newest_first(deleted=deleted):
            props = (record.metadata or {}).get("properties") or {}
            if all(_property_matches(props, k, v) for k, v in properties.items()):
                return record
        raise SchemaNotFound("Schema not found")

    def delete_version(self, subject: str, version: str | int, *, permanent: bool = False) -> int:
        number = parse_version(version)
        with self._commits.exclusive():
            self._check_writable(subject)
            subj = self._subject(subject, deleted=True)
            if number == -1:
                latest = subj.latest_live()
                if latest is None:
                    raise VersionNotFound(version)
                record = latest
            else:
                found = subj.versions.get(number)
                if found is None:
                    raise VersionNotFound(number)
                record = found
            referrers = [
                r for r in self.state.referrers(record.subject, record.version) if permanent or not r.deleted
            ]
            if referrers:
                raise ReferenceExists(record.subject, record.version)
            if permanent:
                if not record.deleted:
                    raise VersionNotSoftDeleted(subject, record.version)
                self._append([SchemaTombstone(record.subject, record.version)])
            else:
                if record.deleted:
                    raise VersionSoftDeleted(subject, record.version)
                self._append([record.soft_deleted()])
            return record.version

    def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        with self._commits.exclusive():
            self._check_writable(subject)
            subj = self._subject(subject, deleted=True)
            qualified = subj.name
            versions = subj.all()
            for record in versions:
                if any(permanent or not r.deleted for r in self.state.referrers(qualified, record.version)):
                    raise ReferenceExists(qualified, record.version)
            if permanent:
                if subj.has_live():
                    raise SubjectNotSoftDeleted(subject)
                records: list[Record] = [SchemaTombstone(qualified, r.version) for r in reversed(versions)]
                if qualified in self.state.configs:
                    records.append(ConfigRecord(qualified, None))
                if qualified in self.state.modes:
                    records.append(ModeRecord(qualified, None))
                self._append(records)
                return [r.version for r in versions]
            if not subj.has_live():
                raise SubjectSoftDeleted(subject)
            live = [r.version for r in subj.live()]
            self._append([DeleteSubjectRecord(qualified, max(live))])
            return live

    # -- schemas by id ------------------------------------------------------

    def _context_for_hint(self, subject: str | None) -> str:
        if not subject:
            return DEFAULT_CONTEXT
        return parse_subject(subject).context

    def _visible_users(self, context: str, schema_id: int, caller: Caller) -> list[SchemaRecord]:
        """The versions using ``schema_id`` in ``context`` that ``caller`` may read, by subject and version."""
        return visible(caller, sorted(self.state.users_of(context, schema_id), key=_coordinates))

    def schema_by_id(self, schema_id: int, *, subject: str | None = None, caller: Caller = ANYONE) -> SchemaRecord:
        """The version answering ``GET /schemas/ids/{id}``: looked up in the hint's context, then
        the default one; the hint subject's own newest version when it uses the id, else the first
        live version by subject and version (else the first); only versions ``caller`` may read
        count, so a forbidden id is a missing one. Picked without sorting: read on every GET by id."""
        context = self._context_for_hint(subject)
        users = visible(caller, self.state.users_of(context, schema_id))
        if not users and context != DEFAULT_CONTEXT:
            users = visible(caller, self.state.users_of(DEFAULT_CONTEXT, schema_id))
        if not users:
            raise SchemaNotFound(f"Schema {schema_id} not found")
        if subject:
            qualified = parse_subject(subject).qualified
            same = [r for r in users if r.subject == qualified]
            if same:
                live = [r for r in same if not r.deleted]
                return max(live or same, key=_coordinates)
        live = [r for r in users if not r.deleted]
        return min(live or users, key=_coordinates)

    def _id_users(self, schema_id: int, subject: str | None, deleted: bool, caller: Caller) -> list[SchemaRecord]:
        users = self._visible_users(self._context_for_hint(subject), schema_id, caller)
        if not users:
            raise SchemaNotFound("Schema not found")
        return [r for r in users if deleted or not r.deleted]

    def subjects_for_id(
        self, schema_id: int, *, subject: str | None = None, deleted: bool = False, caller: Caller = ANYONE
    ) -> list[str]:
        seen: list[str] = []
        for record in self._id_users(schema_id, subject, deleted, caller):
            if record.subject not in seen:
                seen.append(record.subject)
        return seen

    def versions_for_id(
        self, schema_id: int, *, subject: str | None = None, deleted: bool = False, caller: Caller = ANYONE
    ) -> list[SchemaRecord]:
        return self._id_users(schema_id, subject, deleted, caller)

    def ids_for_guid(self, guid: str, *, caller: Caller = ANYONE) -> list[tuple[int, str]]:
        """The ids (and contexts) carrying ``guid`` through a version ``caller`` may read."""
        digest = guid_bytes(guid)
        ids = self.state.ids_for_guid(digest) if digest is not None else []
        found = [(schema_id, context) for context, schema_id in ids if self._visible_users(context, schema_id, caller)]
        if not found:
            raise SchemaNotFound("Schema not found")
        return found

    def schema_by_guid(self, guid: str, *, caller: Caller = ANYONE) -> SchemaRecord:
        schema_id, context = self.ids_for_guid(guid, caller=caller)[0]
        users = self._visible_users(context, schema_id, caller)
        return next((r for r in users if not r.deleted), users[0])

    def list_schemas(
        self, *, prefix: str = "", deleted: bool = False, latest_only: bool = False, caller: Caller = ANYONE
    ) -> list[SchemaRecord]:
        found = []
        for name, subj in sorted(self.state.subjects.items(), key=lambda item: _subject_order(item[0])):
            if not _matches_prefix(name, prefix or "") or not caller.may_read(name):
                continue
            records = subj.all() if deleted else subj.live()
            if latest_only:
                records = records[-1:]
            found.extend(records)
        return found

    # -- rendering ----------------------------------------------------------

    def schema_text(self, record: SchemaRecord, fmt: str | None, *, caller: Caller = ANYONE) -> str:
        """The stored text, or the schema rendered in ``format=`` when asked. ``resolved``
        inlines referenced schemas: 403 unless ``caller`` may read all of them."""
        if not fmt:
            return record.schema
        fmt = fmt.strip().lower()
        if fmt == "resolved" and not references_readable(caller, self.state, record):
            raise Forbidden(f"User {caller.user} is not permitted to read a schema that version "
                            f"{record.version} of the subject references")
        return self.parser.parse_record(record).formatted(fmt)

    # -- compatibility -----------------------------------------------------

    def check_compatibility(
        self,
        subject: str,
        request: RegisterRequest,
        *,
        version: str | None = None,
        normalize: bool | None = None,
        verbose: bool = False,
        level: str | None = None,
        caller: Caller = ANYONE,
    ) -> CompatibilityResult:
        """Check ``request`` against the subject's versions (only ``version`` when given)
        under its effective level, or under ``level`` (a what-if: every level at once)."""
        qs = validate_subject(subject)
        subj = self.state.subjects.get(qs.qualified)
        number = parse_version(version) if version is not None else None
        if number is not None and number != -1:
            if subj is None or not subj.has_live():
                raise SubjectNotFound(subject)
            record = subj.versions.get(number)
            if record is None or record.deleted:
                raise VersionNotFound(number)
        try:
            parsed, _, _ = self._prepare(subject, request, normalize, caller)
        except InvalidSchema as exc:
            if verbose:
                return CompatibilityResult(False, [exc.message])
            raise
        live: Iterable[SchemaRecord] = subj.newest_first() if subj is not None else ()
        if number is not None:
            # Only that version, even for a *_TRANSITIVE level (compat-rules §0.2); the
            # compatibilityGroup filter applies after the version is chosen.
            live = itertools.islice(live, 1) if number == -1 else [subj.versions[number]] if subj else []
        return self._check(subject, parsed, request.metadata, live, cfg.parse_level(level) if level else None)

    # -- config and mode ---------------------------------------------------

    def get_config(self, subject: str | None, *, default_to_global: bool = False) -> dict:
        if subject is None:
            found = cfg.effective(self.state.configs, None, None)
            config = dict(found) if isinstance(found, dict) else {}
            config.setdefault("compatibilityLevel", self.default_level)
            return _ordered_config(config)
        validate_config_subject(subject)
        key = cfg.config_key(subject)
        if key in self.state.configs:
            return _ordered_config(self.state.configs[key])
        if default_to_global:
            config = self.config_for(subject)
            config.setdefault("compatibilityLevel", self.default_level)
            return _ordered_config(config)
        raise SubjectConfigNotFound(subject)

    def set_config(self, subject: str | None, update: dict) -> dict:
        """Store ``update`` (ConfigUpdateRequest fields) over the existing config; echo the request."""
        if subject is not None:
            validate_config_subject(subject)
        key = cfg.config_key(subject)
        level = update.get("compatibility", update.get("compatibilityLevel"))
        stored = dict(self.state.configs.get(key, {}))
        echo: dict = {}
        if level is not None:
            stored["compatibilityLevel"] = cfg.parse_level(level)
            echo["compatibility"] = stored["compatibilityLevel"]
        for name in cfg.CONFIG_FIELDS:
            if name == "compatibilityLevel" or name not in update or update[name] is None:
                continue
            value = _checked_config_field(name, update[name])
            if value is None or value == "":
                continue
            if name == "compatibilityPolicy":
                value = str(value).upper()
            stored[name] = value
            echo[name] = value
        with self._commits.exclusive():
            self._check_writable(subject)
            self._append([ConfigRecord(key, stored)])
        return echo

    def delete_config(self, subject: str | None) -> dict:
        key = cfg.config_key(subject)
        if subject is not None:
            validate_config_subject(subject)
        with self._commits.exclusive():
            previous = self.state.configs.get(key)
            if previous is None:
                if subject is not None:
                    raise SubjectNotFound(subject)
                previous = {"compatibilityLevel": self.default_level}
            else:
                self._append([ConfigRecord(key, None)])
        return _ordered_config(previous)

    def get_mode(self, subject: str | None, *, default_to_global: bool = False) -> str:
        if subject is None:
            return self.mode_for(None)
        validate_config_subject(subject)
        key = cfg.config_key(subject)
        if key in self.state.modes:
            return self.state.modes[key]
        if default_to_global:
            return self.mode_for(subject)
        raise SubjectModeNotFound(subject)

    def set_mode(self, subject: str | None, mode: object, *, force: bool = False) -> str:
        value = cfg.parse_mode(mode)
        self._check_mode_mutability()
        if subject is not None:
            qs = validate_config_subject(subject)
            if value == "FORWARD" and not qs.is_context_only:
                raise OperationNotPermitted("Forward mode only supported on global level")
        key = cfg.config_key(subject)
        with self._commits.exclusive():
            records: list[Record] = []
            if value == "IMPORT" and self.mode_for(subject) != "IMPORT" and not force:
                scope = [s for s in self.state.subjects.values() if _in_scope(s.name, subject)]
                if any(s.has_live() for s in scope):
                    raise OperationNotPermitted("Cannot import since found existing subjects")
                for s in scope:
                    records.extend(SchemaTombstone(s.name, v) for v in sorted(s.versions, reverse=True))
                    records.append(ClearSubjectRecord(s.name))
            records.append(ModeRecord(key, value))
            self._append(records)
        return value

    def _check_mode_mutability(self) -> None:
        if not self.mode_mutability:
            raise OperationNotPermitted("Mode changes are not allowed")

    def delete_mode(self, subject: str | None) -> str:
        self._check_mode_mutability()
        if subject is not None:
            validate_config_subject(subject)
        key = cfg.config_key(subject)
        with self._commits.exclusive():
            previous = self.state.modes.get(key)
            if previous is None:
                if subject is not None:
                    raise SubjectNotFound(subject)
                return cfg.DEFAULT_MODE
            self._append([ModeRecord(key, None)])
            return previous

    # -- contexts ----------------------------------------------------------

    def contexts(self, *, caller: Caller = ANYONE) -> list[str]:
        """The default context and the others; for a restricted caller, only those holding
        a subject it may read."""
        others = sorted(c for c in list(self.state.contexts) if c != DEFAULT_CONTEXT)
        if caller.restricted:
            readable = {context_of(s) for s in readable_names(caller, list(self.state.subjects))}
            others = [c for c in others if c in readable]
        return [DEFAULT_CONTEXT, *others]

    def delete_context(self, context: str) -> None:
        name = context if context.startswith(".") else "." + context
        with self._commits.exclusive():
            if name not in self.state.contexts or name == DEFAULT_CONTEXT:
                raise SubjectNotFound(context) if name != DEFAULT_CONTEXT else ContextNotEmpty(context)
            if any(context_of(s) == name for s in self.state.subjects):
                raise ContextNotEmpty(context)
            self._append([ContextRecord(name, deleted=True)])


def _checked_config_field(name: str, value: object) -> object:
    """A config field of the right JSON type (400 otherwise), as Confluent's typed config reads it."""
    if name in ("defaultMetadata", "overrideMetadata"):
        return check_metadata(value, name)
    if name in ("defaultRuleSet", "overrideRuleSet"):
        checked = check_rule_set(value, name)
        validate_rule_set(checked)
        return checked
    if name in ("normalize", "validateFields", "validateRules"):
        if not isinstance(value, bool):
            raise BadRequest(f"Field '{name}' must be a boolean")
        return value
    if not isinstance(value, str):
        raise BadRequest(f"Field '{name}' must be a string")
    return value


def _version_number(record: SchemaRecord) -> int:
    return record.version


def _coordinates(record: SchemaRecord) -> tuple[str, int]:
    return record.subject, record.version


def _property_matches(properties: dict, key: str, value: str) -> bool:
    """Exact match, or after one more percent-decoding: confluent-kafka encodes
    ``key``/``value`` twice."""
    if properties.get(key) == value:
        return True
    return properties.get(unquote(key)) == unquote(value)


def _matches_prefix(subject: str, prefix: str) -> bool:
    """``:*:`` matches every context; other prefixes match within their context."""
    if prefix == WILDCARD:
        return True
    if prefix.startswith(WILDCARD):
        return parse_subject(subject).name.startswith(prefix[len(WILDCARD) :])
    wanted = parse_subject(prefix)
    actual = parse_subject(subject)
    return actual.context == wanted.context and actual.name.startswith(wanted.name)


def _subject_order(subject: str) -> tuple[bool, str, str]:
    """Default-context subjects first, then each context's, each by name."""
    qs = parse_subject(subject)
    return (qs.context != DEFAULT_CONTEXT, qs.context, qs.name)


def _in_scope(subject: str, scope: str | None) -> bool:
    if scope is None:
        return True
    qs = parse_subject(scope)
    if qs.is_context_only:
        return context_of(subject) == qs.context
    return parse_subject(subject).qualified == qs.qualified


def _ordered_config(config: dict) -> dict:
    return {name: config[name] for name in cfg.CONFIG_FIELDS if config.get(name) not in (None, "", [], {})}
