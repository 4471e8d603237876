"""The README runs: its shell and Python blocks are executed in order, as a reader would,
in one working directory (issue #18; the serde and streams sections are issue #11's too).

What the runner changes, and only that: ``localhost:8081``/``127.0.0.1:8081`` become a free
port, ``localhost:9092`` the session's Kafka, the Kafka topic ``orders`` a fresh one; a shell
line that starts a server in the background (``… &``) is followed by a wait for its
``/health``. Shell blocks run under ``bash -e`` (each command must succeed); a block of
``$ command`` lines with their output is run command by command and the output compared,
``…`` matching anything. TOML blocks must parse. A block that cannot run here is listed in
:data:`NOT_RUN` with the reason; a block that is neither run nor listed fails the test.
:data:`SETUP` prepares what a block leaves to the reader; :data:`EXPECTED` and :data:`AFTER`
check what it printed and what it did.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.security_support import make_pki
from tests.server import REPO, free_port

README = REPO / "README.md"
BIN = Path(sys.executable).parent
PASSWORDS = {"ORDERS_PASSWORD": "orders-secret", "PASSWORD": "hash-me", "ADMIN_PASSWORD": "admin-secret"}

# A block's first line → why this test does not run it.
NOT_RUN = {
    "make test": "the command that runs this suite",
    ".venv/bin/python -m registry.devkafka": "starts a Kafka of its own for as long as it runs; the session's broker "
                                             "comes from the same KafkaCluster (tests/kafka_fixtures.py)",
    "schemahub serve --port 8081 --kafka kafka1:9092": "a deployment on hosts kafka1 and reg1-3; "
                                                       "tests/test_kafka_cluster.py runs such a cluster",
    "schemahub check --registry http://registry:8081 [FILES…]": "a synopsis with placeholders; "
                                                                 "tests/test_gate_*.py run every form",
    "SCHEMAHUB_FUZZ_EXAMPLES=20000": "a long fuzzing run by design; tests/test_fuzz_formats.py runs the short one",
}

# A block's first line → what its output must hold (the results its comments promise).
EXPECTED = {
    "schemahub serve --auth-file users.toml": ['"error_code":40101', '"id":1', '"error_code":40301',
                                               '["orders-value"]'],
    "from confluent_kafka.schema_registry import Schema": ["2"],
    "# from confluent_kafka.schema_registry import SchemaRegistryClient": ["{'id': 'o-1', 'qty': 2}"],
    "# Data contracts: a PII field encrypted, a CEL condition, produce and consume.": [
        "rejected: Rule expr failed: message.amount > 0.0",
        "{'id': 'p-1', 'amount': 42.0, 'card': '4111 1111 1111 1111'}"],
    "schemahub export --db schemahub.db": [],
    "from streams import JoinWindows": ["[('o-1', {'amount': 1200, 'order_id': 'o-1', 'paid': 'pay-1'})]"],
}


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence
    language: str
    text: str

    @property
    def first_line(self) -> str:
        return self.text.splitlines()[0] if self.text else ""

    def key(self, table: dict[str, object]) -> str | None:
        return next((k for k in table if self.first_line.startswith(k)), None)


def read_blocks(text: str) -> list[Block]:
    blocks, language, start, body = [], None, 0, []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            if language is None:
                language, start, body = line[3:].strip(), number, []
            else:
                blocks.append(Block(start, language, "\n".join(body) + "\n"))
                language = None
        elif language is not None:
            body.append(line)
    return blocks


def _runnable(block: Block) -> bool:
    return block.language in ("sh", "python") and block.key(NOT_RUN) is None


def test_every_block_runs_or_says_why_not():
    blocks = read_blocks(README.read_text(encoding="utf-8"))
    languages = {b.language for b in blocks}
    assert languages <= {"sh", "python", "toml", "yaml", "text"}, languages  # a new language needs a runner
    for key in NOT_RUN:
        assert sum(1 for b in blocks if b.key(NOT_RUN) == key) == 1, f"NOT_RUN names no single block: {key}"
    for key in EXPECTED:
        assert any(b.key(EXPECTED) == key and _runnable(b) for b in blocks), f"EXPECTED names no run block: {key}"
    for key in AFTER:
        assert any(b.key(AFTER) == key and _runnable(b) for b in blocks), f"AFTER names no run block: {key}"
    assert sum(_runnable(b) for b in blocks) >= 8


class Reader:
    """Runs the blocks in one directory with one environment, as a reader's shell session would."""

    def __init__(self, root: Path, kafka: str) -> None:
        self.root = root
        self.port = free_port()
        self.topic = f"orders-{uuid.uuid4().hex[:8]}"
        self.kafka = kafka
        self.env = {**os.environ, **PASSWORDS, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
                    "SCHEMAHUB_PORT": str(self.port), "SCHEMAHUB_DB": str(root / "schemahub.db"),
                    "PYTHONUNBUFFERED": "1"}
        self.env.pop("GITHUB_STEP_SUMMARY", None)
        self.servers: list[subprocess.Popen] = []

    def localize(self, text: str) -> str:
        for host in ("localhost:8081", "127.0.0.1:8081"):
            text = text.replace(host, f"127.0.0.1:{self.port}")
        return text.replace("localhost:9092", self.kafka).replace('"orders"', f'"{self.topic}"')

    def wait_for_health(self, scheme: str = "http") -> None:
        deadline = time.monotonic() + 60  # a hang guard, not a timing assertion
        with httpx.Client(verify=False, timeout=1) as client:  # one client for every poll
            while time.monotonic() < deadline:
                try:
                    if client.get(f"{scheme}://127.0.0.1:{self.port}/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    time.sleep(0.1)
        raise AssertionError(f"nothing answered on port {self.port}")

    def stop_servers(self) -> None:
        for process in self.servers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
        self.servers.clear()

    # -- block kinds -------------------------------------------------------------------

    def make_serve(self) -> str:
        with open(self.root / "make-serve.log", "wb") as log:  # the server keeps its own copy of the descriptor
            self.servers.append(subprocess.Popen(["make", "-C", str(REPO), "serve"], env=self.env, stdout=log,
                                                 stderr=subprocess.STDOUT, start_new_session=True))
        self.wait_for_health()
        return ""

    def session(self, block: Block) -> str:
        """``$ command`` lines, each followed by its output."""
        commands: list[tuple[str, list[str]]] = []
        for line in block.text.splitlines():
            if line.startswith("$ "):
                commands.append((line[2:], []))
            elif commands and commands[-1][0].endswith("\\"):
                commands[-1] = (commands[-1][0][:-1] + line.strip(), [])
            elif commands:
                commands[-1][1].append(line)
        for command, expected in commands:
            done = self._bash(command)
            pattern = ".*?".join(map(re.escape, "\n".join(expected).split("…")))
            assert re.fullmatch(pattern, done.stdout.strip(), re.S), (command, done.stdout)
        return ""

    def shell(self, block: Block, cwd: Path) -> str:
        script = []
        for line in self.localize(block.text).splitlines():
            script.append(line)
            if line.rstrip().endswith("&") and "schemahub serve" in line:
                scheme = "https" if "--tls-cert" in line else "http"
                script.append(f"until curl -skf -o /dev/null {scheme}://127.0.0.1:{self.port}/health; do sleep 0.1; done")
        done = self._bash("\n".join(script), cwd=cwd, stdin=f"{PASSWORDS['ADMIN_PASSWORD']}\n" * 2)
        return done.stdout + done.stderr

    def python(self, block: Block) -> str:
        path = self.root / f"block_{block.line}.py"
        path.write_text(self.localize(block.text), encoding="utf-8")
        done = subprocess.run([sys.executable, str(path)], cwd=self.root, env=self.env, capture_output=True,
                              text=True, timeout=180)
        assert done.returncode == 0, f"README line {block.line}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def _bash(self, script: str, *, cwd: Path | None = None, stdin: str = "") -> subprocess.CompletedProcess:
        # Output goes to files: a server the block leaves in the background keeps a pipe open.
        out_path, err_path = self.root / "block.out", self.root / "block.err"
        with open(out_path, "w") as out, open(err_path, "w") as err:
            process = subprocess.Popen(["bash", "-e", "-c", self.localize(script)], cwd=cwd or self.root,
                                       env=self.env, stdin=subprocess.PIPE, stdout=out, stderr=err, text=True,
                                       start_new_session=True)  # no terminal: getpass reads the piped answers
            try:
                process.communicate(stdin, timeout=180)
            finally:
                try:
                    os.killpg(process.pid, signal.SIGTERM)  # servers the block left in the background
                except ProcessLookupError:
                    pass
        output, errors = out_path.read_text(), err_path.read_text()
        assert process.returncode == 0, f"{script}\n--- stdout\n{output}\n--- stderr\n{errors}"
        return subprocess.CompletedProcess(script, process.returncode, output, errors)


# Preparations a block needs that the README leaves to the reader, by the block's first line.
def _git_project(reader: Reader) -> Path:
    """A repository holding schemas/order.avsc and protos/order.proto, with an origin/main."""
    for path, text in (("schemas/order.avsc", '{"type": "record", "name": "Order", "fields": []}\n'),
                       ("protos/order.proto", 'syntax = "proto3";\nmessage Order {\n  string id = 1;\n}\n')):
        (reader.root / path).parent.mkdir(exist_ok=True)
        (reader.root / path).write_text(text)
    git = ["git", "-c", "user.name=r", "-c", "user.email=r@example.com", "-c", "commit.gpgsign=false"]
    for command in (["init", "-q", "-b", "main"], ["add", "schemas", "protos"], ["commit", "-q", "-m", "schemas"],
                    ["update-ref", "refs/remotes/origin/main", "HEAD"]):
        subprocess.run([*git, *command], cwd=reader.root, check=True, capture_output=True)
    return reader.root


def _secure_directory(reader: Reader) -> Path:
    """A fresh directory for the worked example: the users file written above, certificates."""
    reader.stop_servers()  # the worked example serves on the same port
    directory = reader.root / "secure"
    directory.mkdir()
    shutil.copy(reader.root / "users.toml", directory / "users.toml")
    make_pki(directory)
    reader.env.pop("SCHEMAHUB_DB")  # its own ./schemahub.db
    return directory


def _orders_and_payments(reader: Reader) -> Path:
    """JSON orders keyed by customer (one of zero amount) and payments for two of them, on fresh topics
    ("orders" here is not the serde example's topic of Avro records)."""
    reader.topic = f"orders-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": reader.kafka})
    for future in admin.create_topics([NewTopic(t, 3, 1) for t in (reader.topic, "payments")]).values():
        future.result()
    now = int(time.time() * 1000)
    producer = Producer({"bootstrap.servers": reader.kafka, "partitioner": "murmur2_random"})
    for topic, key, value, ts in ((reader.topic, "ann", {"order_id": "o-1", "amount": 1200}, now),
                                  (reader.topic, "bob", {"order_id": "o-2", "amount": 0}, now + 1000),
                                  (reader.topic, "ann", {"order_id": "o-3", "amount": 50}, now + 2000),
                                  ("payments", "o-1", "pay-1", now + 60_000), ("payments", "o-3", "pay-3", now + 61_000)):
        producer.produce(topic, json.dumps(value).encode(), key.encode(), timestamp=ts)
    assert producer.flush(30) == 0
    return reader.root


SETUP: dict[str, Callable[[Reader], Path]] = {
    "schemahub check --against origin/main schemas/order.avsc": _git_project,
    "schemahub serve --auth-file users.toml": _secure_directory,
    "from streams import JoinWindows": _orders_and_payments,
}


def _joined_orders(reader: Reader) -> None:
    """The streams example on Kafka joined both paid orders, once each."""
    consumer = Consumer({"bootstrap.servers": reader.kafka, "group.id": f"readme-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
    consumer.subscribe(["enriched-orders"])
    joined: list[tuple[str, dict]] = []
    deadline = time.monotonic() + 30  # a hang guard: the output was committed before run() returned
    while len(joined) < 2 and time.monotonic() < deadline:
        joined += [(m.key().decode(), json.loads(m.value())) for m in consumer.consume(10, 0.5) if m.error() is None]
    consumer.close()
    assert sorted(joined) == [("o-1", {"order_id": "o-1", "amount": 1200, "paid": "pay-1"}),
                              ("o-3", {"order_id": "o-3", "amount": 50, "paid": "pay-3"})]


# What a block must have done, checked after it ran, by the block's first line.
AFTER: dict[str, Callable[[Reader], None]] = {
    "from streams import JoinWindows": _joined_orders,
}


@pytest.fixture
def reader(tmp_path: Path, kafka_bootstrap: str) -> Iterator[Reader]:
    reading = Reader(tmp_path, kafka_bootstrap)
    yield reading
    reading.stop_servers()


def test_readme_blocks_run(reader: Reader):
    ran = 0
    for block in read_blocks(README.read_text(encoding="utf-8")):
        if block.language == "toml":
            tomllib.loads(block.text)
            continue
        if not _runnable(block):
            continue
        started = time.monotonic()
        setup = SETUP.get(block.key(SETUP) or "")
        cwd = setup(reader) if setup else reader.root
        if block.text.strip() == "make serve":
            output = reader.make_serve()
        elif block.first_line.startswith("$ "):
            output = reader.session(block)
        elif block.language == "sh":
            output = reader.shell(block, cwd)
        else:
            output = reader.python(block)
        for expected in EXPECTED.get(block.key(EXPECTED) or "", []):
            assert expected in output, f"README line {block.line}: {expected!r} not in:\n{output}"
        check = AFTER.get(block.key(AFTER) or "")
        if check:
            check(reader)
        ran += 1
        print(f"README line {block.line}: {time.monotonic() - started:.1f} s")
    print(f"ran {ran} README blocks")
    assert ran >= 8
