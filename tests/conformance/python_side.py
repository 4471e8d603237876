"""Our side of the harness: a scenario's topology on ``streams.TopologyTestDriver``."""

from __future__ import annotations

from confluent_kafka.serialization import StringDeserializer, StringSerializer

from streams import StreamsBuilder, TopologyTestDriver
from tests.conformance.inputs import Advance, Pipe, Step
from tests.conformance.outputs import Output
from tests.conformance.scenarios import Scenario


def run(scenario: Scenario, steps: list[Step]) -> list[Output]:
    """Feed ``steps`` one at a time; every output record is tagged with the step after which it appeared."""
    builder = StreamsBuilder()
    scenario.build(builder)
    serializer, deserializer = StringSerializer(), StringDeserializer()
    outputs: list[Output] = []
    with TopologyTestDriver(builder.build(), {"application.id": f"conformance-{scenario.name}"}) as driver:
        readers = [(topic, driver.create_output_topic(topic, deserializer, deserializer)) for topic in scenario.outputs]
        inputs = {}
        for index, step in enumerate(steps):
            if isinstance(step, Pipe):
                topic = inputs.get(step.topic)
                if topic is None:
                    topic = inputs[step.topic] = driver.create_input_topic(step.topic, serializer, serializer)
                topic.pipe_input(step.key, step.value, step.ts)
            else:
                assert isinstance(step, Advance)
                driver.advance_wall_clock_time(step.ms)
            for name, reader in readers:
                outputs.extend(Output(index, name, r.key, r.value, r.timestamp) for r in reader.read_records())
    return outputs
