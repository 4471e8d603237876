"""Protobuf compatibility against the shared corpus: every extracted case's
verdict, and every Confluent diff-file case's ordered difference list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from registry.formats.base import Dependency, InvalidSchemaError
from registry.formats.protobuf import ProtobufFormat, ProtobufSchema
from registry.formats.protobuf_protoc import compile_text
from tests.shared import SHARED, shared_path

FORMAT = ProtobufFormat()
RESOURCES = ("corpus", "schema-registry", "protobuf-provider", "src", "test", "resources")
TYPES = ("corpus", "schema-registry", "protobuf-types", "src", "main", "proto")
DIFF_FILES = ("diff-schema-examples.json", "diff-schema-examples-with-meta.json")


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _extracted() -> list[dict]:
    path = SHARED / "corpus" / "extracted" / "protobuf-cases.jsonl"
    return _lines(path) if path.exists() else []


def _diff_cases() -> list[tuple[str, int, dict]]:
    out = []
    for name in DIFF_FILES:
        path = SHARED.joinpath(*RESOURCES, name)
        if path.exists():
            out += [(name, i, case) for i, case in enumerate(json.loads(path.read_text()))]
    return out


def _builtin_text(name: str) -> str:
    """A reference file the corpus names but does not carry inline."""
    if name.startswith("google/protobuf/"):
        import grpc_tools

        return (Path(grpc_tools.__file__).parent / "_proto" / name).read_text()
    return shared_path(*TYPES, name).read_text()


def _schema_text(value: str) -> str:
    if value.endswith(".proto") and "\n" not in value:
        return shared_path(*RESOURCES, value).read_text()
    return value


def _dependencies(refs: list[dict]) -> list[Dependency]:
    """Parse reference files in order, each seeing the ones before it."""
    deps: list[Dependency] = []
    for ref in refs:
        text = ref.get("schema") or _builtin_text(ref.get("schema_file") or ref["name"])
        schema = FORMAT.parse(text, list(deps))
        deps.append(Dependency(ref["name"], schema, ref.get("subject", ref["name"]), ref.get("version", 1)))
    return deps


def _verdict(new: ProtobufSchema, old: ProtobufSchema, level: str) -> bool:
    backward = not new.incompatibilities(old)
    forward = not old.incompatibilities(new)
    if level.startswith("BACKWARD"):
        return backward
    if level.startswith("FORWARD"):
        return forward
    return backward and forward


def _check_extracted(case: dict) -> None:
    if "skip_reason" in case:
        assert "field number 0" in case["skip_reason"]
        with pytest.raises(InvalidSchemaError, match="Field numbers must be positive"):
            FORMAT.parse(case["reader_or_new"])
        return
    if "bad.Message" in case["reader_or_new"]:
        _check_unresolved(case)
        return
    new = FORMAT.parse(case["reader_or_new"], _dependencies(case.get("new_references", [])))
    old = FORMAT.parse(case["writer_or_old"], _dependencies(case.get("old_references", [])))
    if "expected_changes" in case:
        assert [str(d) for d in new.differences(old)] == case["expected_changes"]
    for change in case.get("expected_changes_subset", []):
        assert change in [str(d) for d in new.differences(old)]
    assert _verdict(new, old, case["level"]) is case["expected_compatible"]


def _check_unresolved(case: dict) -> None:
    """An unresolvable type: the registry rejects it; the diff itself must not fail."""
    with pytest.raises(InvalidSchemaError, match="bad.Message"):
        FORMAT.parse(case["reader_or_new"])
    text = case["reader_or_new"].replace("bad.Message", "Placeholder") + "message Placeholder {}\n"
    files = compile_text(text, {})
    main = files[next(reversed(files))]
    main.message_type[0].field[0].type_name = "bad.Message"
    del main.message_type[1]
    schema = ProtobufSchema(files)
    assert schema.differences(schema) == []
    assert _verdict(schema, schema, case["level"]) is case["expected_compatible"]


EXTRACTED = _extracted()
DIFFS = _diff_cases()


@pytest.mark.parametrize("case", EXTRACTED, ids=[f"{i}" for i in range(len(EXTRACTED))])
def test_extracted_case(case: dict) -> None:
    _check_extracted(case)


def _diff_side(case: dict, side: str) -> ProtobufSchema:
    refs = {r["name"]: r for r in case.get(f"{side}_references", [])}
    deps = []
    for dep in case.get(f"{side}_dependencies", []):
        ref = refs.get(dep["name"], {})
        deps.append({"name": dep["name"], "schema": dep.get("dependency"), "schema_file": dep["name"],
                     "subject": ref.get("subject", dep["name"]), "version": ref.get("version", 1)})
    return FORMAT.parse(_schema_text(case[f"{side}_schema"]), _dependencies(deps))


def _check_diff(case: dict) -> None:
    old, new = _diff_side(case, "original"), _diff_side(case, "update")
    assert [str(d) for d in new.differences(old)] == case["changes"]
    assert (not new.incompatibilities(old)) is case["compatible"]


@pytest.mark.parametrize("name,index,case", DIFFS, ids=[f"{n}#{i}" for n, i, _ in DIFFS])
def test_confluent_diff_case(name: str, index: int, case: dict) -> None:
    _check_diff(case)


def _read_back(schema: ProtobufSchema) -> ProtobufSchema:
    """``schema`` as a restarted registry reads it from its store: from its compiled form."""
    stored = FORMAT.parse_compiled("", schema.compiled(), schema.dependencies)
    assert stored is not None
    return stored


def test_schemas_read_back_from_compiled_forms_give_the_same_differences() -> None:
    """Every diff case and extracted case again, each schema read back from its compiled form
    (its top-level messages parsed one at a time as the check asks), in both directions; then
    the whole files, parsed when something needs them, render as the originals do."""
    pairs = [(_diff_side(c, "original"), _diff_side(c, "update")) for _, _, c in DIFFS]
    for case in EXTRACTED:
        if "skip_reason" not in case and "bad.Message" not in case["reader_or_new"]:
            pairs.append((FORMAT.parse(case["writer_or_old"], _dependencies(case.get("old_references", []))),
                          FORMAT.parse(case["reader_or_new"], _dependencies(case.get("new_references", [])))))
    assert len(pairs) > 100
    for old, new in pairs:
        stored_old, stored_new = _read_back(old), _read_back(new)
        for a, b, stored_a, stored_b in ((new, old, stored_new, stored_old), (old, new, stored_old, stored_new)):
            expected = [str(d) for d in a.differences(b)]
            assert [str(d) for d in a.differences(stored_b)] == expected
            assert [str(d) for d in stored_a.differences(stored_b)] == expected
        assert stored_old.canonical_string() == old.canonical_string()
        assert stored_new.formatted("serialized") == new.formatted("serialized")


def test_agreement_summary() -> None:
    """Counts the agreeing cases of both sources, and prints the tally."""
    shared_path("corpus", "extracted", "protobuf-cases.jsonl")
    tallies = {}
    for label, cases, check in (("protobuf-cases.jsonl", EXTRACTED, _check_extracted),
                                ("diff-schema-examples*.json", [c for _, _, c in DIFFS], _check_diff)):
        agree = 0
        for case in cases:
            try:
                check(case)
                agree += 1
            except (AssertionError, InvalidSchemaError):
                pass
        tallies[label] = (agree, len(cases))
    for label, (agree, total) in tallies.items():
        print(f"protobuf corpus agreement, {label}: {agree}/{total}")
    assert all(agree == total for agree, total in tallies.values()), tallies
