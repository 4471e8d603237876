"""Turning request schemas and stored records into parsed schemas.

References are resolved against the state (``version: -1`` becomes the
concrete latest version), each dependency parsed once, and parsed schemas
cached by content (a stored record by its text key, so a hit reads no text)
in caches bounded in bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

from .access.caller import ANYONE, Caller, may_use_reference
from .bounded import BoundedCache
from .errors import InvalidSchema
from .formats import SCHEMA_TYPES, Dependency, InvalidSchemaError, ParsedSchema, Reference, get_format
from .state import RegistryState
from .stores.base import Store
from .stores.records import Content, SchemaRecord, content_key
from .subjects import context_of, resolve_reference_subject

MAX_REFERENCE_DEPTH = 64
# Parsed schemas kept, in estimated bytes (text length times the format's memory_per_char):
# stored versions (what writers registered: the hot path of checks and renderings, keyed by
# their text key so that a hit reads no text) and, separately, schemas that requests send
# (any reader can send new ones).
STORED_CACHE_BYTES = 256 * 1024 * 1024
REQUEST_CACHE_BYTES = 32 * 1024 * 1024
DEPTHS_SIZE = 100_000


@dataclass(frozen=True)
class SchemaInput:
    """A schema as a request gives it."""

    schema_type: str
    schema: str
    references: tuple[Reference, ...] = ()

    @cached_property
    def text_key(self) -> bytes:
        """:attr:`Content.text_key` of this schema."""
        return content_key(self.schema_type, self.schema, self.references, None, None)


class SchemaParser:
    """Parses request schemas and stored records; ``store`` keeps stored records' compiled forms."""

    def __init__(self, state: RegistryState, store: Store) -> None:
        self.state = state
        self.store = store
        self._stored: BoundedCache[ParsedSchema] = BoundedCache(
            STORED_CACHE_BYTES, max_item_bytes=STORED_CACHE_BYTES // 4
        )
        self._requested: BoundedCache[ParsedSchema] = BoundedCache(REQUEST_CACHE_BYTES)
        self._depths: dict[tuple[str, int, bytes], int] = {}

    def resolve_references(
        self, references: tuple[Reference, ...], context: str, caller: Caller = ANYONE
    ) -> tuple[Reference, ...]:
        """The references with ``-1`` replaced by the latest version; missing ones are 42201,
        and so are those ``caller`` may not read (the same answer: no existence oracle)."""
        resolved = []
        for ref in references:
            subject = resolve_reference_subject(ref.subject, context)
            subj = self.state.subjects.get(subject) if may_use_reference(caller, self.state, ref, context) else None
            version = ref.version
            if version == -1:
                latest = subj.latest_live() if subj else None
                if latest is None:
                    raise InvalidSchema(f"Invalid schema: reference {ref.name} to subject {ref.subject} not found")
                version = latest.version
            if subj is None or version not in subj.versions:
                raise InvalidSchema(
                    f"Invalid schema: reference {ref.name} to subject {ref.subject} version {ref.version} not found"
                )
            resolved.append(Reference(ref.name, ref.subject, version))
            # The parse cache hides depth from parse(): bound the stored graph here.
            if 1 + self.reference_depth(subj.versions[version]) > MAX_REFERENCE_DEPTH:
                raise InvalidSchema(f"Invalid schema: references nested deeper than {MAX_REFERENCE_DEPTH}")
        return tuple(resolved)

    def reference_depth(self, record: SchemaRecord, limit: int = MAX_REFERENCE_DEPTH) -> int:
        """Levels of references below a stored ``record`` (0 for none); stops counting past ``limit``."""
        if not record.references:
            return 0
        memo = (record.subject, record.version, record.content_key)
        known = self._depths.get(memo)
        if known is not None:
            return known
        if record.references and limit <= 0:
            return 1  # at least one level more than allowed
        deepest = 0
        context = context_of(record.subject)
        for ref in record.references:
            subj = self.state.subjects.get(resolve_reference_subject(ref.subject, context))
            target = subj.versions.get(ref.version) if subj else None
            if target is not None:
                deepest = max(deepest, 1 + self.reference_depth(target, limit - 1))
            if deepest > limit:
                return deepest
        if len(self._depths) >= DEPTHS_SIZE:
            self._depths.clear()
        self._depths[memo] = deepest
        return deepest

    def parse(self, item: SchemaInput, context: str, *, strict: bool = True, depth: int = 0) -> ParsedSchema:
        """Parse ``item`` with its (already resolved) references; 42201 on any error."""
        if item.schema_type not in SCHEMA_TYPES:
            raise InvalidSchema(f"Invalid schema type {item.schema_type}")
        if depth > MAX_REFERENCE_DEPTH:
            raise InvalidSchema(f"Invalid schema: references nested deeper than {MAX_REFERENCE_DEPTH}")
        key = (item.schema_type, item.schema, item.references, context)
        return self._parse(key, self._requested if strict else self._stored, item, context, strict, depth)

    def _parse(
        self,
        key: tuple,
        cache: BoundedCache[ParsedSchema],
        item: SchemaInput,
        context: str,
        strict: bool,
        depth: int,
        content: Content | None = None,
    ) -> ParsedSchema:
        """Parse ``item`` (a stored ``content``: from the compiled form its store keeps, when
        there is one, and keeping the compiled form there when there is not)."""
        cached = cache.get(key)
        if cached is not None:
            return cached
        dependencies = [self._dependency(ref, context, depth) for ref in item.references]
        schema_format = get_format(item.schema_type)
        basis = self.compiled_basis(content, context) if content is not None and self.store.keeps_compiled else None
        compiled = self.store.compiled(content, basis) if content is not None and basis is not None else None
        parsed = schema_format.parse_compiled(item.schema, compiled, dependencies) if compiled else None
        if parsed is None:
            try:
                parsed = schema_format.parse(item.schema, dependencies, strict=strict)
            except InvalidSchemaError as exc:
                raise InvalidSchema(str(exc) or "Invalid schema") from exc
            except RecursionError as exc:
                raise InvalidSchema("Invalid schema: nested too deeply") from exc
            produced = parsed.compiled() if basis is not None else None
            if produced is not None and content is not None and basis is not None:
                self.store.keep_compiled(content, produced, basis)
        cache.put(key, parsed, len(item.schema) * (1 + parsed.memory_per_char))
        return parsed

    def compiled_basis(self, content: Content, context: str) -> bytes | None:
        """What a compiled form of ``content`` in ``context`` is made from: its key, or a digest
        of its key and those of the contents its references resolve to (None: one is missing)."""
        if not content.references:
            return content.key
        digest = hashlib.sha256(content.key)
        for ref in content.references:
            subj = self.state.subjects.get(resolve_reference_subject(ref.subject, context))
            record = subj.versions.get(ref.version) if subj else None
            if record is None:
                return None
            name = ref.name.encode("utf-8", "surrogatepass")
            digest.update(len(name).to_bytes(8, "big") + name + record.content.key)
        return digest.digest()

    def _dependency(self, ref: Reference, context: str, depth: int) -> Dependency:
        subject = resolve_reference_subject(ref.subject, context)
        subj = self.state.subjects.get(subject)
        record = subj.versions.get(ref.version) if subj else None
        if record is None:
            raise InvalidSchema(
                f"Invalid schema: reference {ref.name} to subject {ref.subject} version {ref.version} not found"
            )
        schema = self.parse_record(record, depth=depth + 1)
        return Dependency(name=ref.name, schema=schema, subject=ref.subject, version=ref.version)

    def remember(self, record: SchemaRecord, parsed: ParsedSchema) -> None:
        """Keep ``parsed`` (what registering ``record`` parsed) as the parse of the stored record."""
        key = (record.content.text_key, context_of(record.subject))
        self._stored.put(key, parsed, len(record.schema) * (1 + parsed.memory_per_char))

    def parse_record(self, record: SchemaRecord, *, depth: int = 0) -> ParsedSchema:
        """A stored record, parsed leniently."""
        context = context_of(record.subject)
        key = (record.content.text_key, context)
        cached = self._stored.get(key)
        if cached is not None:
            return cached
        if depth > MAX_REFERENCE_DEPTH:
            raise InvalidSchema(f"Invalid schema: references nested deeper than {MAX_REFERENCE_DEPTH}")
        item = SchemaInput(record.schema_type, record.schema, record.references)
        return self._parse(key, self._stored, item, context, False, depth, record.content)
