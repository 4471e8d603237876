"""Differential conformance: every scenario runs on Kafka Streams 4.1 and on ``streams``, output for output.

Each scenario (``tests/conformance/scenarios.py`` and its Java twin in
``tests/conformance/java/Conformance.java``) is fed the same seeded input on both sides; the outputs
must agree record by record: topic, key, value, timestamp and the input step after which each appeared.
The Java side runs every scenario in one JVM per session.
"""

from __future__ import annotations

import zlib

import pytest

from tests.conformance import kafka_streams, python_side
from tests.conformance.inputs import Step, generate
from tests.conformance.outputs import Output, first_difference
from tests.conformance.scenarios import SCENARIOS, Scenario

SEEDS = (1, 2)
# The first case also waits for the Kafka Streams run of all of them (about 30 s; minutes on a busy machine).
pytestmark = pytest.mark.timeout(1200)
CASES = [pytest.param(scenario, seed, id=f"{scenario.name}-{seed}") for scenario in SCENARIOS for seed in SEEDS]


def steps_for(scenario: Scenario, seed: int) -> list[Step]:
    return generate(scenario.inputs, zlib.crc32(scenario.name.encode()) * 100 + seed)


@pytest.fixture(scope="session")
def kafka_streams_outputs(request: pytest.FixtureRequest) -> dict[tuple[str, int], list[Output] | str]:
    """The output of every selected case from Kafka Streams, computed in one JVM."""
    selected = {
        (item.callspec.params["scenario"], item.callspec.params["seed"])
        for item in request.session.items
        if isinstance(item, pytest.Function) and item.originalname == "test_same_output_as_kafka_streams"
    }
    keyed = {f"{scenario.name}#{seed}": (scenario, seed) for scenario, seed in selected}
    runs = kafka_streams.run(
        (key, scenario.name, scenario.outputs, steps_for(scenario, seed)) for key, (scenario, seed) in keyed.items()
    )
    return {(keyed[key][0].name, keyed[key][1]): outputs for key, outputs in runs.items()}


def test_scenarios_cover_the_dsl() -> None:
    assert len(SCENARIOS) >= 30
    assert len({scenario.name for scenario in SCENARIOS}) == len(SCENARIOS)


@pytest.mark.parametrize(("scenario", "seed"), CASES)
def test_same_output_as_kafka_streams(
    scenario: Scenario, seed: int, kafka_streams_outputs: dict[tuple[str, int], list[Output] | str]
) -> None:
    theirs = kafka_streams_outputs.get((scenario.name, seed), "Kafka Streams reported nothing for this scenario")
    assert not isinstance(theirs, str), theirs
    assert theirs, "the scenario's input produced no output in Kafka Streams: it tests nothing"
    ours = python_side.run(scenario, steps_for(scenario, seed))
    difference = first_difference(ours, theirs)
    assert difference is None, difference
