"""The Kafka Streams side of the harness: fetch its jars, compile the runner, run every scenario in one JVM.

Jars come from Maven Central through ``java/pom.xml`` into ``.cache/conformance/<version>/libs``
(as the broker's do); the runner is compiled once per source digest into ``.cache/conformance/classes-*``.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from registry.devkafka.jars import ensure_maven_libs
from tests.conformance.inputs import Advance, Pipe, Step
from tests.conformance.outputs import Output

KAFKA_STREAMS_VERSION = "4.1.2"
HERE = Path(__file__).resolve().parent
JAVA = HERE / "java"
CACHE = HERE.parents[1] / ".cache" / "conformance"
HANG_GUARD_S = 600


class RunnerError(RuntimeError):
    """The Java runner could not be built or did not answer as expected."""


def ensure_runner() -> tuple[Path, Path]:
    """``(libs, classes)``: Kafka Streams' jars and the compiled runner, built once."""
    libs = ensure_maven_libs(
        JAVA / "pom.xml",
        CACHE / KAFKA_STREAMS_VERSION / "libs",
        {"kafka.streams.version": KAFKA_STREAMS_VERSION},
        f"kafka-streams-{KAFKA_STREAMS_VERSION}.jar",
    )
    source = JAVA / "Conformance.java"
    digest = hashlib.sha256(source.read_bytes() + KAFKA_STREAMS_VERSION.encode()).hexdigest()[:16]
    classes = CACHE / f"classes-{digest}"
    if (classes / "Conformance.class").is_file():
        return libs, classes
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (classes / "Conformance.class").is_file():
            javac = shutil.which("javac")
            if javac is None:
                raise RunnerError("javac (JDK 17+) is not on PATH: it compiles the Kafka Streams runner")
            scratch = CACHE / f"scratch-{digest}"
            shutil.rmtree(scratch, ignore_errors=True)
            done = subprocess.run(
                [javac, "-nowarn", "-cp", f"{libs}/*", "-d", str(scratch), str(source)],
                capture_output=True, text=True, check=False,
            )
            if done.returncode != 0:
                shutil.rmtree(scratch, ignore_errors=True)
                raise RunnerError(f"compiling {source} failed:\n{done.stdout}{done.stderr}")
            scratch.rename(classes)
    return libs, classes


def _b64(text: str | None) -> str:
    return "-" if text is None else base64.b64encode(text.encode()).decode()


def _unb64(field: str) -> str | None:
    return None if field == "-" else base64.b64decode(field).decode()


def run(runs: Iterable[tuple[str, str, tuple[str, ...], list[Step]]]) -> dict[str, list[Output] | str]:
    """Run ``(run id, scenario name, output topics, steps)`` in one JVM; outputs per run id, or its error text."""
    libs, classes = ensure_runner()
    lines: list[str] = []
    for run_id, name, outputs, steps in runs:
        lines.append(f"S\t{run_id}\t{name}\t{','.join(outputs)}")
        for step in steps:
            if isinstance(step, Pipe):
                lines.append(f"P\t{step.topic}\t{_b64(step.key)}\t{_b64(step.value)}\t{step.ts}")
            else:
                assert isinstance(step, Advance)
                lines.append(f"W\t{step.ms}")
        lines.append("E")
    java = shutil.which("java")
    if java is None:
        raise RunnerError("java (17+) is not on PATH: it runs Kafka Streams")
    done = subprocess.run(
        [java, "-Xss4m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", f"{classes}:{libs}/*", "Conformance"],
        input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=HANG_GUARD_S, check=False,
    )
    if done.returncode != 0:
        raise RunnerError(f"the Kafka Streams runner exited with {done.returncode}:\n{done.stderr[-4000:]}")
    results: dict[str, list[Output] | str] = {}
    pending: list[Output] = []
    for line in done.stdout.splitlines():
        fields = line.split("\t")
        if fields[0] == "O":
            pending.append(Output(int(fields[1]), fields[2], _unb64(fields[3]), _unb64(fields[4]), int(fields[5])))
        elif fields[0] == "D":
            results[fields[1]] = pending
            pending = []
        elif fields[0] == "X":
            results[fields[1]] = f"Kafka Streams failed: {_unb64(fields[2])}"
            pending = []
    return results
