"""JSON Schema compatibility against the shared corpus (compat-rules §3).

Every case of ``extracted/json-cases.jsonl`` is checked for its verdict, and
every case of Confluent's four diff example files for its exact ordered
difference list and its STRICT and LENIENT verdicts.
"""

from __future__ import annotations

import json
import re
import time
from functools import cache
from typing import Any

import pytest

from registry.formats.json_compat import is_compatible
from registry.formats.jsonschema import JsonSchema, JsonSchemaFormat
from tests.shared import SHARED, shared_path

RESOURCES = ("corpus", "schema-registry", "json-schema-provider", "src", "test", "resources")
DIFF_FILES = (
    "diff-schema-examples.json",
    "diff-combined-schema-examples.json",
    "diff-schema-examples-2020-12.json",
    "diff-combined-schema-examples-2020-12.json",
)
FORMAT = JsonSchemaFormat()
RESULTS: dict[str, bool] = {}


def _lenient_json(text: str) -> Any:
    """JSON that may have trailing commas (the 2020-12 example files do)."""
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", text))


def _load_jsonl() -> list[dict[str, Any]]:
    path = SHARED / "corpus" / "extracted" / "json-cases.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _load_diff_cases() -> list[tuple[str, int, dict[str, Any]]]:
    cases = []
    for name in DIFF_FILES:
        path = SHARED.joinpath(*RESOURCES, name)
        if path.exists():
            cases += [(name, i, case) for i, case in enumerate(_lenient_json(path.read_text()))]
    return cases


JSONL = _load_jsonl()
DIFF_CASES = _load_diff_cases()


@cache
def _parse(text: str) -> JsonSchema:
    return FORMAT.parse(text, strict=False)


def _backward_ok(new: str, old: str, policy: str) -> bool:
    return not _parse(new).incompatibilities(_parse(old), policy)


def _verdict(case: dict[str, Any], policy: str) -> bool:
    new, old, level = case["reader_or_new"], case["writer_or_old"], case["level"]
    olds = [old] if "TRANSITIVE" not in level else case.get("history_old_to_new", [old])
    ok = True
    for previous in olds:
        if level.startswith(("BACKWARD", "FULL")):
            ok = ok and _backward_ok(new, previous, policy)
        if level.startswith(("FORWARD", "FULL")):
            ok = ok and _backward_ok(previous, new, policy)
    return ok


@pytest.mark.parametrize("case", JSONL, ids=[f"{i}" for i in range(len(JSONL))])
def test_jsonl_verdict(case: dict[str, Any]) -> None:
    shared_path("corpus", "extracted", "json-cases.jsonl")
    assert "skip_reason" not in case, "no JSON case is expected to carry a skip_reason"
    policy = case.get("policy", "STRICT")
    got = _verdict(case, policy)
    RESULTS[f"jsonl:{case['source']}:{policy}:{case.get('description')}"] = got == case["expected_compatible"]
    assert got == case["expected_compatible"], case.get("description")
    if "expected_compatible_lenient" in case:
        assert _verdict(case, "LENIENT") == case["expected_compatible_lenient"]
    if "expected_changes" in case and case["level"] == "BACKWARD":
        changes = [str(d) for d in _parse(case["reader_or_new"]).differences(_parse(case["writer_or_old"]))]
        assert changes == case["expected_changes"]


@pytest.mark.parametrize("name,index,case", DIFF_CASES, ids=[f"{n}#{i}" for n, i, _ in DIFF_CASES])
def test_diff_example(name: str, index: int, case: dict[str, Any]) -> None:
    shared_path(*RESOURCES, name)
    original = _parse(json.dumps(case["original_schema"]))
    update = _parse(json.dumps(case["update_schema"]))
    changes = update.differences(original)
    lenient = update.differences(original, "LENIENT")
    ok = ([str(d) for d in changes] == case["changes"]
          and is_compatible(changes) == case["compatible"]
          and is_compatible(lenient, "LENIENT") == case.get("compatible_lenient", case["compatible"]))
    RESULTS[f"{name}#{index}"] = ok
    assert [str(d) for d in changes] == case["changes"], case["description"]
    assert is_compatible(changes) == case["compatible"]
    assert is_compatible(lenient, "LENIENT") == case.get("compatible_lenient", case["compatible"])


def test_recursive_schema_against_itself_terminates_with_no_differences() -> None:
    text = shared_path(*RESOURCES, "recursive-schema.json").read_text()
    start = time.perf_counter()
    assert _parse(text).differences(FORMAT.parse(text)) == []
    print(f"\nrecursive-schema.json against itself: {time.perf_counter() - start:.3f}s")


def test_zz_agreement_count() -> None:
    """Prints how many corpus checks agree (runs last in this module)."""
    agreed = sum(RESULTS.values())
    print(f"\nJSON corpus agreement: {agreed}/{len(RESULTS)}")
    assert agreed == len(RESULTS)

