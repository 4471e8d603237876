"""What each console page shows, gathered through the registry's service methods.

Each function takes the :class:`~registry.service.Registry`, the
:class:`~registry.access.caller.Caller` (who asks, under the one access rule) and the
page's parameters, and returns the template's context. Reads and writes call the same
:class:`Registry` methods as the REST API, with the caller; nothing here changes state
but through them.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import config as cfg
from ..access.caller import Caller, visible
from ..compatibility import CompatibilityResult, Finding
from ..errors import Forbidden, InvalidSchema, RegistryError, VersionNotFound
from ..formats import DEFAULT_SCHEMA_TYPE, FORMATS, get_format
from ..formats.base import SchemaText
from ..schemas import SchemaInput
from ..service import RegisterRequest, Registry
from ..stores.records import SchemaRecord
from ..subjects import DEFAULT_CONTEXT, context_of, parse_subject, resolve_reference_subject
from .diff import Row, change_size, side_by_side
from .highlight import Line, highlight, pretty

# The order the try-a-change page lists the levels in.
LEVELS = (
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    "NONE",
)
TIMELINE_LIMIT = 200


def require(caller: Caller, operation: str, subject: str) -> None:
    """403 unless the access rule lets ``caller`` do ``operation`` on ``subject`` (whether or not it exists)."""
    if not caller.may(operation, subject):
        raise Forbidden(f"User {caller.user} is not permitted to {operation} subject '{parse_subject(subject).qualified}'")


def when(ts: int) -> str:
    if not ts:
        return ""
    return datetime.datetime.fromtimestamp(ts / 1000, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def pretty_json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


# -- a subject --------------------------------------------------------------------------------


@dataclass
class Setting:
    value: str
    source: str  # subject, context, global, server default


def _source(key: str, subject: str) -> str:
    if key == parse_subject(subject).qualified:
        return "subject"
    if key in (cfg.GLOBAL_KEY, cfg.TRUE_GLOBAL_KEY):
        return "global"
    return "context"


def level_setting(registry: Registry, subject: str) -> Setting:
    """The effective level and where it comes from (the first config on the lookup chain)."""
    for key in cfg.lookup_chain(subject):
        found = registry.state.configs.get(key)
        if found is not None:
            level = found.get("compatibilityLevel")
            return Setting(level, _source(key, subject)) if level else Setting(registry.default_level, "server default")
    return Setting(registry.default_level, "server default")


def mode_setting(registry: Registry, subject: str) -> Setting:
    for key in cfg.lookup_chain(subject):
        found = registry.state.modes.get(key)
        if found is not None:
            return Setting(found, _source(key, subject))
    return Setting(cfg.DEFAULT_MODE, "server default")


@dataclass
class TimelineEntry:
    record: SchemaRecord
    date: str
    added: int
    removed: int
    previous: int | None  # the version before it in the timeline, for a diff link


def timeline(records: list[SchemaRecord]) -> list[TimelineEntry]:
    """Newest first, with lines added and removed since the version before."""
    shown = records[-TIMELINE_LIMIT:]
    entries = []
    before: list[str] | None = None
    previous: int | None = None
    if len(shown) < len(records):
        earlier = records[-TIMELINE_LIMIT - 1]
        before, previous = pretty(earlier.schema_type, earlier.schema).splitlines(), earlier.version
    for record in shown:
        lines = pretty(record.schema_type, record.schema).splitlines()
        added, removed = change_size(before, lines) if before is not None else (len(lines), 0)
        entries.append(TimelineEntry(record, when(record.ts), added, removed, previous))
        before, previous = lines, record.version
    return list(reversed(entries))


def referrers(registry: Registry, subject: str) -> list[SchemaRecord]:
    """Every version (of any subject) whose references name a version of ``subject``."""
    state = registry.state
    subj = state.subjects.get(subject)
    numbers = list(subj.versions) if subj is not None else []
    found = {(r.subject, r.version): r for number in numbers for r in state.referrers(subject, number)}
    return [found[key] for key in sorted(found)]


def subject_page(registry: Registry, caller: Caller, subject: str, *, deleted: bool) -> dict:
    require(caller, "read", subject)
    qualified = parse_subject(subject).qualified
    versions = [registry.get_version(subject, v, deleted=True) for v in registry.list_versions(subject, deleted=True)]
    live = [r for r in versions if not r.deleted]
    latest = (live or versions)[-1]
    shown = versions if deleted else live
    used_by = visible(caller, referrers(registry, qualified))
    return {
        "subject": qualified,
        "context": parse_subject(qualified).context,
        "latest": latest,
        "live_count": len(live),
        "deleted_count": len(versions) - len(live),
        "show_deleted": deleted,
        "timeline": timeline(shown),
        "version_numbers": [r.version for r in shown],
        "level": level_setting(registry, qualified),
        "mode": mode_setting(registry, qualified),
        "subject_level": (registry.state.configs.get(qualified) or {}).get("compatibilityLevel", ""),
        "subject_mode": registry.state.modes.get(qualified, ""),
        "levels": cfg.LEVELS,
        "modes": [m for m in cfg.MODES if m != "FORWARD"],
        "references": [(ref, resolve_reference_subject(ref.subject, context_of(qualified))) for ref in latest.references],
        "referenced_by": used_by,
        "metadata": highlight("JSON", pretty_json(latest.metadata)) if latest.metadata else None,
        "rule_set": highlight("JSON", pretty_json(latest.rule_set)) if latest.rule_set else None,
        "may_write": caller.may("write", qualified),
        "may_config": caller.may("config", qualified),
        "may_delete": caller.may("delete", qualified),
    }


# -- a version ----------------------------------------------------------------------------------

FORMS = ("pretty", "raw", "normalized")


def schema_form(registry: Registry, record: SchemaRecord, form: str) -> str:
    """The version's text as stored (``raw``), normalized, or pretty-printed."""
    if form == "raw":
        return record.schema
    if form == "normalized":
        try:
            text = registry.parser.parse_record(record).normalized().canonical_string()
        except RegistryError as exc:
            return f"(cannot normalize: {exc.message})"
        return pretty(record.schema_type, text)
    return pretty(record.schema_type, record.schema)


def version_page(registry: Registry, caller: Caller, subject: str, version: str, form: str) -> dict:
    require(caller, "read", subject)
    record = registry.get_version(subject, version, deleted=True)
    form = form if form in FORMS else "pretty"
    text = schema_form(registry, record, form)
    versions = registry.list_versions(subject, deleted=True)
    at = versions.index(record.version)
    context = context_of(record.subject)
    return {
        "subject": record.subject,
        "record": record,
        "date": when(record.ts),
        "form": form,
        "forms": FORMS,
        "text": text,
        "lines": highlight(record.schema_type, text),
        "previous": versions[at - 1] if at > 0 else None,
        "next": versions[at + 1] if at + 1 < len(versions) else None,
        "references": [(ref, resolve_reference_subject(ref.subject, context)) for ref in record.references],
        "may_delete": caller.may("delete", record.subject),
    }


# -- compatibility messages at their lines -------------------------------------------------------


@dataclass
class Note:
    """A compatibility message told as a sentence, and the line it concerns when known."""

    message: str  # Confluent's
    sentence: str = ""  # the format's explanation (registry.formats: SchemaFormat.explain)
    error_type: str = ""
    side: str = ""  # "old" or "new": the text the line is in
    line: int | None = None
    column: int | None = None
    version: int | None = None  # the version the old side is


@dataclass
class Verdict:
    level: str
    compatible: bool
    notes: list[Note] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # Confluent's trailing entries (old schema, level)
    effective: bool = False


Sides = Callable[[int | None], tuple[SchemaText, SchemaText | None]]
"""The new schema and text, and the old ones of a previous version (None: not at hand)."""


def explained(finding: Finding, schema_type: str, new: SchemaText, old: SchemaText | None) -> Note:
    """A finding as the format explains it: at the element in the old text when the change
    removed it (the gate's rule: the old file for removals), else in the new text."""
    issue = finding.incompatibility
    assert issue is not None
    note = Note(finding.message, error_type=issue.error_type, version=finding.version)
    try:
        explanation = get_format(schema_type).explain(issue, new, old, new_is_reader=finding.reader != "old")
    except (ValueError, KeyError, IndexError, TypeError, RecursionError):
        return note
    note.sentence = explanation.sentence
    if explanation.old_position is not None and old is not None:
        note.side, position = "old", explanation.old_position
    elif explanation.new_position is not None:
        note.side, position = "new", explanation.new_position
    else:
        return note
    note.line, note.column = position.line, position.column
    return note


def notes_of(result: CompatibilityResult, schema_type: str, sides: Sides) -> tuple[list[Note], list[str]]:
    """The result's messages as explained notes, and Confluent's trailing entries."""
    notes: list[Note] = []
    extra: list[str] = []
    for finding in result.findings:
        if finding.incompatibility is not None:
            notes.append(explained(finding, schema_type, *sides(finding.version)))
        elif finding.message.startswith(("{oldSchema", "{validateFields")):
            extra.append(finding.message)
        else:  # another schema type, reserved fields: Confluent's words are the sentence
            notes.append(Note(finding.message, finding.message, version=finding.version))
    return notes, extra


# -- diff -----------------------------------------------------------------------------------------


def parse_range(text: str) -> tuple[str, str]:
    """``6..7`` → ("6", "7")."""
    first, sep, second = text.partition("..")
    if not sep or not first or not second:
        raise VersionNotFound(text)
    return first, second


def diff_page(registry: Registry, caller: Caller, subject: str, first: str, second: str, level: str | None) -> dict:
    require(caller, "read", subject)
    old = registry.get_version(subject, first, deleted=True)
    new = registry.get_version(subject, second, deleted=True)
    effective = registry.level_for(old.subject)
    level = level if level in cfg.LEVELS else effective
    old_text, new_text = pretty(old.schema_type, old.schema), pretty(new.schema_type, new.schema)
    rows = side_by_side(old_text.splitlines(), new_text.splitlines())
    verdict = Verdict(level, True, effective=level == effective)
    problem = None
    if old.deleted:
        problem = f"Version {old.version} is soft-deleted: compatibility is only checked against live versions."
    else:
        request = RegisterRequest(new.schema, new.schema_type, new.references, metadata=new.metadata)
        try:
            result = registry.check_compatibility(
                old.subject, request, version=str(old.version), level=level, caller=caller
            )
        except RegistryError as exc:
            problem = exc.message
        else:
            texts = (
                SchemaText(registry.parser.parse_record(new), new_text),
                SchemaText(registry.parser.parse_record(old), old_text),
            )
            verdict.compatible = result.is_compatible
            verdict.notes, verdict.extra = notes_of(result, new.schema_type, lambda version: texts)
    _attach(rows, verdict.notes)
    return {
        "subject": old.subject,
        "old": old,
        "new": new,
        "rows": rows,
        "verdict": verdict,
        "problem": problem,
        "levels": cfg.LEVELS,
        "effective_level": effective,
        "version_numbers": registry.list_versions(subject, deleted=True),
        "changed": sum(1 for row in rows if row.kind != "equal"),
    }


def _attach(rows: list[Row], notes: list[Note]) -> None:
    """Each placed note onto the row showing its line."""
    where: dict[tuple[str, int], Row] = {}
    for row in rows:
        if row.left is not None:
            where.setdefault(("old", row.left.number), row)
        if row.right is not None:
            where.setdefault(("new", row.right.number), row)
    for note in notes:
        if note.line is not None and (note.side, note.line) in where:
            where[(note.side, note.line)].notes.append(note)


# -- try a change ---------------------------------------------------------------------------------


@dataclass
class Trial:
    """A proposed schema, checked under every level."""

    schema_type: str
    text: str
    verdicts: list[Verdict]
    lines: list[Line]
    line_notes: dict[int, list[Note]]
    error: str | None = None
    error_line: int | None = None


def latest_live(registry: Registry, subject: str) -> SchemaRecord | None:
    subj = registry.state.subjects.get(parse_subject(subject).qualified)
    return subj.latest_live() if subj is not None else None


def try_page(registry: Registry, caller: Caller, subject: str) -> dict:
    require(caller, "read", subject)
    latest = latest_live(registry, subject)
    return {
        "subject": parse_subject(subject).qualified,
        "latest": latest,
        "schema_type": latest.schema_type if latest else DEFAULT_SCHEMA_TYPE,
        "formats": FORMATS,
        "text": pretty(latest.schema_type, latest.schema) if latest else "",
        "trial": None,
        "may_write": caller.may("write", subject),
        "level": level_setting(registry, subject),
    }


def trial(registry: Registry, caller: Caller, subject: str, request: RegisterRequest) -> Trial:
    """``request`` checked under every level against the subject's live versions."""
    text = request.schema or ""
    lines = highlight(request.schema_type, text)
    effective = registry.level_for(parse_subject(subject).qualified)
    try:
        results = [
            (level, registry.check_compatibility(subject, request, level=level, caller=caller)) for level in LEVELS
        ]
    except InvalidSchema as exc:
        return Trial(request.schema_type, text, [], lines, {}, exc.message, _error_line(exc.message))
    qualified = parse_subject(subject).qualified
    context = context_of(qualified)
    references = registry.parser.resolve_references(request.references, context, caller)
    new = SchemaText(registry.parser.parse(SchemaInput(request.schema_type, text, references), context), text)
    subj = registry.state.subjects.get(qualified)
    olds: dict[int | None, SchemaText | None] = {}

    def sides(version: int | None) -> tuple[SchemaText, SchemaText | None]:
        if version not in olds:
            record = subj.versions.get(version) if subj is not None and version is not None else None
            olds[version] = (
                SchemaText(registry.parser.parse_record(record), pretty(record.schema_type, record.schema))
                if record is not None else None
            )
        return new, olds[version]

    verdicts = []
    line_notes: dict[int, list[Note]] = {}
    for level, result in results:
        notes, extra = notes_of(result, request.schema_type, sides)
        verdicts.append(Verdict(level, result.is_compatible, notes, extra, level == effective))
        for note in notes:
            if note.side == "new" and note.line is not None:
                known = line_notes.setdefault(note.line, [])
                if all(n.message != note.message for n in known):
                    known.append(note)
    return Trial(request.schema_type, text, verdicts, lines, line_notes)


def _error_line(message: str) -> int | None:
    """A line number a parser put in its message (``line 3``, ``:3:``), if any."""
    import re

    found = re.search(r"\bline:? (\d{1,7})\b|:(\d{1,7}):\d{1,7}", message)
    if found is None:
        return None
    return int(found.group(1) or found.group(2))


def context_label(context: str) -> str:
    return "default" if context == DEFAULT_CONTEXT else context
