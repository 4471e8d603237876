"""What the HTTP benchmarks share: ``wrk`` (installed from Debian's packages when missing),
its runs parsed into numbers, and the memory of a server process."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and could not be installed with apt-get")
    return found


def parse_latency(text: str) -> float:
    """A wrk latency (``512.00us``, ``1.20ms``, ``2.00s``) in milliseconds."""
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def run_wrk(wrk: str, url: str, connections: int, duration: int, script: str | None = None) -> dict:
    """One wrk run (one thread): requests/s, p50 and p99 latency (ms), non-2xx answers, and the
    machine's load average (1 minute) when it ended: the other work these figures shared the cores with."""
    cmd = [wrk, "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    script_file = None
    if script:
        script_file = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        script_file.write(script)
        script_file.close()
        cmd += ["-s", script_file.name]
    try:
        out = subprocess.run([*cmd, url], check=True, capture_output=True, text=True).stdout
    finally:
        if script_file:
            os.unlink(script_file.name)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s*50%\s+(\S+)", out, re.M)  # the distribution's line, not a "91.50%" of stdev
    p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50": parse_latency(p50.group(1)) if p50 else float("nan"),
        "p99": parse_latency(p99.group(1)) if p99 else float("nan"),
        "errors": int(non2xx.group(1)) if non2xx else 0,
        "load": os.getloadavg()[0],
    }


def lua_string(text: str) -> str:
    """``text`` as a Lua long-bracket string literal."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def memory_mib(pid: int) -> tuple[float, float]:
    """Resident memory of process ``pid`` now and at its peak (VmRSS, VmHWM), in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", float("nan")), fields.get("VmHWM", float("nan"))


def cpu_seconds(pid: int) -> float:
    """User and system CPU time process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def kafka_bootstrap() -> Iterator[str]:
    """``$SCHEMAHUB_TEST_KAFKA``, else a one-node Kafka started for the ``with`` block."""
    bootstrap = os.environ.get("SCHEMAHUB_TEST_KAFKA")
    if bootstrap:
        yield bootstrap
        return
    from registry.devkafka import KafkaCluster

    cluster = KafkaCluster(1)
    cluster.start()
    try:
        yield cluster.bootstrap
    finally:
        cluster.stop()
