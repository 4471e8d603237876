"""Every Avro case of the shared corpus, checked against the Avro format's verdicts.

The corpus (``../shared/corpus/extracted/avro-cases.jsonl``) records Confluent's
verdict for a new schema against one or more old ones at a compatibility
level, and for some cases the exact error types and locations.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from registry.formats.avro import AvroFormat, AvroSchema
from registry.formats.base import Incompatibility, InvalidSchemaError
from tests.shared import shared_path

CORPUS = ("corpus", "extracted", "avro-cases.jsonl")
FORMAT = AvroFormat()


def _read_cases() -> list[dict[str, Any]]:
    try:
        path = shared_path(*CORPUS)
    except pytest.skip.Exception:
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


CASES = _read_cases()


def _case_id(index: int, case: dict[str, Any]) -> str:
    test_name = case["source"].rsplit(":", 1)[-1]
    return f"{index:03d}-{case['level']}-{test_name}"[:90]


def _check(case: dict[str, Any]) -> list[Incompatibility]:
    """The case's incompatibilities at its level (FULL: old-reads-new first)."""
    level = case["level"]
    new = FORMAT.parse(case["reader_or_new"])
    history = case.get("history_old_to_new") or [case["writer_or_old"]]
    olds: list[AvroSchema] = [FORMAT.parse(text) for text in history]
    if level == "NONE":
        return []
    if not level.endswith("_TRANSITIVE"):
        olds = olds[-1:]
    found: list[Incompatibility] = []
    for old in reversed(olds):
        if level.startswith(("FORWARD", "FULL")):
            found += old.incompatibilities(new)
        if level.startswith(("BACKWARD", "FULL")):
            found += new.incompatibilities(old)
    return found


def _skip_reason_disagreement(case: dict[str, Any]) -> str | None:
    """A ``skip_reason`` case is asserted as its reason says: a schema Java rejects."""
    reason = case["skip_reason"]
    if "rejects it at parse time" not in reason and "42201" not in reason:
        return f"unhandled skip_reason: {reason}"
    rejected = []
    for key in ("reader_or_new", "writer_or_old"):
        try:
            FORMAT.parse(case[key])
        except InvalidSchemaError:
            rejected.append(key)
    return None if rejected else "expected an InvalidSchemaError (422/42201), but both schemas parsed"


def disagreement(case: dict[str, Any]) -> str | None:
    """None when the format agrees with the case, else what differs."""
    if "skip_reason" in case:
        return _skip_reason_disagreement(case)
    try:
        found = _check(case)
    except InvalidSchemaError as exc:
        return f"unexpected InvalidSchemaError: {exc}"
    if (not found) != case["expected_compatible"]:
        messages = [i.render("new", "old") for i in found]
        return f"expected compatible={case['expected_compatible']}, got {messages}"
    expected = case.get("expected_errors")
    if expected:
        got = [(i.error_type, i.location) for i in found]
        want = [(e["type"], e["location"]) for e in expected]
        if got != want:
            return f"errors {got} != expected {want}"
        for incompatibility, error in zip(found, expected, strict=False):
            if f"additionalInfo:'{error['message']}'" not in incompatibility.render("new", "old"):
                return f"message of {incompatibility.render('new', 'old')} lacks {error['message']!r}"
    return None


@pytest.mark.parametrize("case", CASES, ids=[_case_id(i, c) for i, c in enumerate(CASES)])
def test_case(case: dict[str, Any]) -> None:
    problem = disagreement(case)
    assert problem is None, f"{case['source']}: {case.get('description', '')}: {problem}"


def test_corpus_agreement() -> None:
    cases = [json.loads(line) for line in shared_path(*CORPUS).read_text().splitlines() if line.strip()]
    agreeing = sum(disagreement(case) is None for case in cases)
    print(f"avro corpus: {agreeing}/{len(cases)} agree")
    assert agreeing == len(cases), f"avro corpus: {agreeing}/{len(cases)} agree"


def test_verdicts_match_python_avro_port() -> None:
    """Cross-check: Apache Avro's Python port of SchemaCompatibility gives the same pair verdicts."""
    from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
    from avro.schema import parse as avro_parse

    shared_path(*CORPUS)
    cases = [c for c in CASES if "skip_reason" not in c]
    assert cases
    for case in cases:
        reader, writer = case["reader_or_new"], case["writer_or_old"]
        ours = not FORMAT.parse(reader).incompatibilities(FORMAT.parse(writer))
        result = ReaderWriterCompatibilityChecker().get_compatibility(avro_parse(reader), avro_parse(writer))
        theirs = result.compatibility is SchemaCompatibilityType.compatible
        assert ours == theirs, f"{case['source']}: ours={ours}, python avro={theirs}"
