"""The checked project: its ``[tool.schemahub]`` mapping of schema files to subjects.

Configuration lives in ``schemahub.toml`` (top-level keys, or a
``[tool.schemahub]`` table) or in ``pyproject.toml`` under ``[tool.schemahub]``;
the directory holding it is the project root and every path is relative to it::

    [tool.schemahub]
    proto-paths = ["protos"]             # import roots for .proto files (default: the root)

    [[tool.schemahub.schemas]]
    files = "schemas/**/*.avsc"          # glob, relative to the root
    subject = "{stem}-value"             # placeholders: see PLACEHOLDERS
    format = "AVRO"                      # optional: from the extension otherwise
    level = "FULL"                       # optional: the subject's level
    references = [{ name = "acme.Address", file = "schemas/address.avsc" }]

    [tool.schemahub.levels]
    "orders-value" = "FULL_TRANSITIVE"   # per-subject levels, over the entry's ``level``

The first entry whose glob matches a file wins.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..formats import (
    SCHEMA_TYPES,
    Dependency,
    InvalidSchemaError,
    ParsedSchema,
    format_of_file,
    get_format,
    parse_schema,
    schema_type_named,
)
from . import GateError

LEVELS = (
    "NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE",
)
PLACEHOLDERS = {
    "stem": "file name without its extension (orders.avsc → orders)",
    "name": "file name (orders.avsc)",
    "ext": "extension without the dot (avsc)",
    "dir": "name of the directory holding the file",
    "path": "path from the root without the extension (schemas/orders)",
    "record": "the schema's fully qualified record/message name (RecordNameStrategy)",
}
OFFLINE_DEFAULT_LEVEL = "BACKWARD"



def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex matching root-relative posix paths the way ``Path.glob`` does (``**`` spans directories)."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


@dataclass(frozen=True)
class RefSpec:
    """A reference from a schema file: its reference ``name`` and the ``file`` it names."""

    name: str
    file: str


@dataclass
class Entry:
    """One ``[[tool.schemahub.schemas]]`` table: a glob and what its files map to."""

    files: str
    subject: str
    format: str | None
    level: str | None
    references: list[RefSpec]
    regex: re.Pattern[str] = field(repr=False)
    where: str = ""  # "pyproject.toml: schemas entry 2", for messages


@dataclass
class SchemaFile:
    """One schema file of the project, mapped to its subject."""

    path: str  # root-relative posix path
    entry: Entry
    schema_type: str


def _level(value: object, where: str) -> str:
    level = str(value).upper()
    if level not in LEVELS:
        raise GateError(f"{where}: unknown compatibility level {value!r} (one of {', '.join(LEVELS)})")
    return level


def _string(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise GateError(f"{what} must be a string, not {value!r}")
    return value


def _strings(value: object, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GateError(f"{what} must be a list of strings, not {value!r}")
    return value


class Project:
    """The configuration's mapping of files to subjects, levels and references.

    ``implicit`` is a project without configuration (``check --against`` on
    named files): every file maps by its extension, to no subject.
    """

    def __init__(self, root: Path, config_file: Path | None, table: dict, *, implicit: bool = False) -> None:
        self.root = root
        self.config_file = config_file
        self.implicit = implicit
        where = str(config_file or "configuration")
        if not isinstance(table, dict):
            raise GateError(f"{where}: [tool.schemahub] must be a table")
        registry = table.get("registry")
        self.registry_url: str | None = None if registry is None else _string(registry, f"{where}: 'registry'")
        self.proto_paths = _strings(table.get("proto-paths", ["."]), f"{where}: 'proto-paths'")
        levels = table.get("levels", {})
        if not isinstance(levels, dict):
            raise GateError(f"{where}: 'levels' must be a table of subject = level")
        self.levels = {str(s): _level(v, f"{where}: levels.{s}") for s, v in levels.items()}
        schemas = table.get("schemas", [])
        if not isinstance(schemas, list) or not schemas:
            raise GateError(f"{where}: no [[tool.schemahub.schemas]] entries (each needs 'files' and 'subject')")
        self.entries = [self._entry(raw, f"{where}: schemas entry {n}") for n, raw in enumerate(schemas, start=1)]

    @classmethod
    def without_configuration(cls, root: Path) -> Project:
        """The implicit project of ``root``: any file, its format from its extension, no subject."""
        return cls(root, None, {"schemas": [{"files": "**", "subject": ""}]}, implicit=True)

    def _entry(self, raw: object, at: str) -> Entry:
        if not isinstance(raw, dict) or "files" not in raw or "subject" not in raw:
            raise GateError(f"{at} needs 'files' (a glob) and 'subject'")
        fmt = raw.get("format")
        if fmt is not None:
            named = schema_type_named(str(fmt))
            if named is None:
                raise GateError(f"{at}: unknown format {fmt!r} (one of {', '.join(SCHEMA_TYPES)})")
            fmt = named
        subject = _string(raw["subject"], f"{at}: 'subject'")
        self._check_template(subject, at)
        references = raw.get("references", [])
        if not isinstance(references, list):
            raise GateError(f"{at}: 'references' must be a list of {{ name, file }} tables")
        refs = []
        for ref in references:
            if not isinstance(ref, dict) or not isinstance(ref.get("name"), str) or not isinstance(ref.get("file"), str):
                raise GateError(f"{at}: each reference needs 'name' and 'file' (strings)")
            refs.append(RefSpec(ref["name"], _norm(ref["file"])))
        pattern = _norm(_string(raw["files"], f"{at}: 'files'"))
        level = _level(raw["level"], at) if raw.get("level") is not None else None
        return Entry(pattern, subject, fmt, level, refs, glob_regex(pattern), at)

    @staticmethod
    def _check_template(template: str, where: str) -> None:
        for name in re.findall(r"\{([^{}]*)\}", template):
            if name not in PLACEHOLDERS:
                raise GateError(f"{where}: unknown placeholder {{{name}}} in subject (one of {', '.join(PLACEHOLDERS)})")

    # -- files ------------------------------------------------------------

    def relative(self, arg: str) -> str:
        """A command-line path (relative to the current directory) as a root-relative posix path."""
        path = Path(os.path.abspath(arg))
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            raise GateError(f"{arg}: outside the project root {self.root}") from None

    def match(self, path: str) -> SchemaFile | None:
        for entry in self.entries:
            if entry.regex.match(path):
                schema_type = entry.format or format_of_file(path)
                if schema_type is None:
                    suffix = PurePosixPath(path).suffix
                    raise GateError(f"{path}: cannot tell the schema format from '{suffix}'; set 'format' in its entry")
                return SchemaFile(path, entry, schema_type)
        return None

    def require(self, path: str) -> SchemaFile:
        found = self.match(path)
        if found is None:
            raise GateError(f"{path}: no [tool.schemahub] schemas entry matches this file")
        return found

    def discover(self) -> tuple[list[SchemaFile], list[Entry]]:
        """Every file under the root matched by an entry (sorted), and the entries whose glob matches no file."""
        seen: dict[str, SchemaFile] = {}
        empty = []
        for entry in self.entries:
            matched = False
            for found in self.root.glob(entry.files):
                if found.is_file():
                    matched = True
                    rel = found.relative_to(self.root).as_posix()
                    if rel not in seen:
                        match = self.match(rel)
                        if match is not None:
                            seen[rel] = match
            if not matched:
                empty.append(entry)
        return [seen[k] for k in sorted(seen)], empty

    # -- subjects, levels, references -------------------------------------

    def subject(self, sf: SchemaFile, text: str | None = None, parsed: ParsedSchema | None = None) -> str | None:
        """The file's subject; None in a project without configuration."""
        if self.implicit:
            return None
        p = PurePosixPath(sf.path)
        values = {
            "stem": p.stem, "name": p.name, "ext": p.suffix.lstrip("."), "dir": p.parent.name,
            "path": str(p.with_suffix("")),
        }
        if "{record}" in sf.entry.subject:
            record = parsed.record_name() if parsed is not None else None
            if record is None:
                raise GateError(f"{sf.path}: subject uses {{record}} but the schema has no record/message name")
            values["record"] = record
        return sf.entry.subject.format_map(values)

    def declared_level(self, sf: SchemaFile, subject: str) -> str | None:
        return self.levels.get(subject) or sf.entry.level

    def references(self, sf: SchemaFile, text: str) -> list[RefSpec]:
        """Explicit references of ``sf`` plus the files its text names that exist: under
        ``proto-paths`` for a format that imports from roots (Protobuf), else beside the
        file or under the root (JSON Schema ``$ref``s)."""
        refs = list(sf.entry.references)
        named = {r.name for r in refs}
        fmt = get_format(sf.schema_type)
        for name in fmt.referenced_files(text):
            if name in named:
                continue
            if fmt.imports_from_roots:
                candidates = [_norm(str(PurePosixPath(base) / name)) for base in self.proto_paths]
            else:
                candidates = [_norm(str(PurePosixPath(sf.path).parent / name)), _norm(name)]
            found = next((c for c in candidates if (self.root / c).is_file()), None)
            if found is not None:
                refs.append(RefSpec(name, found))
                named.add(name)
        return refs


def _norm(path: str) -> str:
    parts: list[str] = []
    for part in PurePosixPath(path.replace("\\", "/")).parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return "/".join(parts)


def load(config: str | None = None, start: Path | None = None, *, implicit: bool = False) -> Project:
    """The project whose configuration is ``config``, or the nearest one above ``start``;
    with ``implicit``, the project of ``start`` without configuration when none is found."""
    if config is not None:
        path = Path(config).resolve()
        if not path.is_file():
            raise GateError(f"{config}: configuration file not found")
        return _from_file(path, required=True)  # type: ignore[return-value]
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        for name in ("schemahub.toml", "pyproject.toml"):
            candidate = directory / name
            if candidate.is_file():
                project = _from_file(candidate, required=name == "schemahub.toml")
                if project is not None:
                    return project
    if implicit:
        return Project.without_configuration(here)
    raise GateError("no schemahub.toml or pyproject.toml with [tool.schemahub] found here or above "
                    "(only check --against REF FILES… needs none)")


def _from_file(path: Path, *, required: bool) -> Project | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GateError(f"{path}: cannot read configuration: {exc}") from None
    table = data.get("tool", {}).get("schemahub")
    if table is None and path.name != "pyproject.toml":
        table = data
    if table is None:
        if required:
            raise GateError(f"{path}: no [tool.schemahub] table")
        return None
    return Project(path.parent, path, table)


# -- parsing with references ---------------------------------------------------


class Resolver:
    """Parses schema files with their references, reading text through ``read``
    (the working tree, or a git revision). ``read`` returns None for a missing file."""

    def __init__(self, project: Project, read: Callable[[str], str | None]) -> None:
        self.project = project
        self.read = read
        self._deps: dict[str, tuple[Dependency, ...]] = {}

    def text(self, path: str) -> str:
        text = self.read(path)
        if text is None:
            raise GateError(f"{path}: file not found")
        return text

    def schema_type(self, path: str) -> str:
        sf = self.project.match(path)
        if sf is not None:
            return sf.schema_type
        schema_type = format_of_file(path)
        if schema_type is None:
            raise GateError(f"{path}: cannot tell the schema format of this referenced file")
        return schema_type

    def dependencies(self, path: str, text: str, trail: tuple[str, ...] = ()) -> tuple[Dependency, ...]:
        if path in trail:
            raise GateError(f"{path}: circular reference ({' → '.join((*trail, path))})")
        if path in self._deps:
            return self._deps[path]
        sf = self.project.match(path)
        if sf is None:
            sf = SchemaFile(path, Entry(path, "", None, None, [], glob_regex(path)), self.schema_type(path))
        deps = []
        for ref in self.project.references(sf, text):
            ref_text = self.read(ref.file)
            if ref_text is None:
                raise GateError(f"{path}: referenced file {ref.file} (reference '{ref.name}') not found")
            ref_deps = self.dependencies(ref.file, ref_text, (*trail, path))
            parsed = parse_file(self.schema_type(ref.file), ref.file, ref_text, ref_deps, strict=False)
            deps.append(Dependency(ref.name, parsed))
        self._deps[path] = tuple(deps)
        return self._deps[path]

    def parse(self, path: str, text: str, *, strict: bool = True) -> ParsedSchema:
        return parse_file(self.schema_type(path), path, text, self.dependencies(path, text), strict=strict)


def parse_file(
    schema_type: str, path: str, text: str, deps: Sequence[Dependency] = (), *, strict: bool = True
) -> ParsedSchema:
    try:
        return parse_schema(schema_type, text, deps, strict=strict)
    except InvalidSchemaError as exc:
        message = " ".join(str(exc).split())
        raise GateError(f"{path}: invalid {schema_type} schema: {message}") from None
    except RecursionError:
        raise GateError(f"{path}: invalid {schema_type} schema: nested too deeply") from None
