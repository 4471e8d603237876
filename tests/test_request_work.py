"""Issue 12, items 10 and 11 and the request deadline: where a request's CPU work runs,
how long it may run, and protoc without process-wide side effects."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from registry import deadline
from registry.errors import RequestTimeout
from registry.formats.base import InvalidSchemaError
from registry.formats.protobuf_protoc import compile_text
from registry.http.app import create_app
from registry.service import RegisterRequest, Registry
from registry.stores.sqlite import SQLiteStore
from tests.server import REPO


def _proto(messages: int, tag: str = "M") -> str:
    body = "".join(f"message {tag}{i} {{\n  string a = 1;\n  int64 b = 2;\n}}\n" for i in range(messages))
    return 'syntax = "proto3";\npackage big;\n' + body


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = Registry(SQLiteStore(tmp_path / "work.db"))
    yield reg
    reg.close()


def _record_threads(registry: Registry, name: str) -> list[str]:
    """Replace ``registry.<name>`` with a wrapper noting the thread each call runs in."""
    seen: list[str] = []
    original = getattr(registry, name)

    def noted(*args, **kwargs):
        seen.append(threading.current_thread().name)
        return original(*args, **kwargs)

    setattr(registry, name, noted)
    return seen


def test_rendering_a_protobuf_schema_runs_off_the_event_loop(registry: Registry) -> None:
    """Item 10: ``format=serialized`` re-parses (protoc after a restart): never on the loop."""
    with TestClient(create_app(registry)) as client:
        body = {"schema": _proto(400), "schemaType": "PROTOBUF"}
        assert client.post("/subjects/big-value/versions", json=body).status_code == 200
        seen = _record_threads(registry, "schema_text")
        for path in ("/schemas/ids/1?format=serialized", "/schemas/ids/1/schema?format=serialized",
                     "/subjects/big-value/versions/1?format=serialized", "/schemas?format=serialized"):
            assert client.get(path).status_code == 200, path
    assert len(seen) == 4 and all(name.startswith("schemahub-work") for name in seen), seen


def test_deleting_a_context_runs_off_the_event_loop(registry: Registry) -> None:
    with TestClient(create_app(registry)) as client:
        assert client.post("/subjects/:.gone:x/versions", json={"schema": '"string"'}).status_code == 200
        assert client.delete("/subjects/:.gone:x").status_code == 200
        assert client.delete("/subjects/:.gone:x?permanent=true").status_code == 200
        seen = _record_threads(registry, "delete_context")
        assert client.delete("/contexts/.gone").status_code == 204
    assert len(seen) == 1 and seen[0].startswith("schemahub-work"), seen


def test_a_check_past_the_deadline_stops(registry: Registry) -> None:
    """Work that outlives the request timeout stops with 408 instead of running on."""
    registry.set_config("t-value", {"compatibility": "FULL_TRANSITIVE"})
    for n in range(5):
        fields = ",".join(f'{{"name":"f{k}","type":"string","default":""}}' for k in range(n + 1))
        registry.register("t-value", RegisterRequest(f'{{"type":"record","name":"T","fields":[{fields}]}}'))
    fresh = RegisterRequest('{"type":"record","name":"T","fields":[{"name":"g","type":"int","default":0}]}')
    with deadline.started(1e-6), pytest.raises(RequestTimeout):
        threading.Event().wait(0.01)
        registry.check_compatibility("t-value", fresh)
    assert registry.check_compatibility("t-value", fresh).is_compatible in (True, False)  # no deadline: answers


# -- protoc (item 11) ---------------------------------------------------------------


def test_concurrent_protoc_errors_are_each_their_own() -> None:
    """Each compile's error names its own mistake, never another's, and they run side by side."""
    errors: dict[int, str] = {}

    def compile_broken(n: int) -> None:
        try:
            compile_text(f'syntax = "proto3";\nmessage Broken{n} {{ Unknown{n} field = 1; }}\n', {})
        except InvalidSchemaError as exc:
            errors[n] = str(exc)

    threads = [threading.Thread(target=compile_broken, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(errors) == list(range(12))
    for n, message in errors.items():
        assert f"Unknown{n}" in message, message
        others = [m for m in range(12) if m != n and f"Unknown{m}\"" in message]
        assert others == [], message


def test_protoc_leaves_the_process_stderr_alone() -> None:
    """stderr (fd 2) is the same file before, during and after compiles in other threads."""
    before = os.readlink("/proc/self/fd/2")
    seen: set[str] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.add(os.readlink("/proc/self/fd/2"))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for n in range(30):
            compile_text(f'syntax = "proto3";\nmessage S{n} {{ string a = 1; }}\n', {})
            with pytest.raises(InvalidSchemaError):
                compile_text(f'syntax = "proto3";\nmessage E{n} {{ Nope a = 1; }}\n', {})
    finally:
        done.set()
        watcher.join()
    assert seen == {before}


def test_protoc_leaves_no_temporary_directory_behind(tmp_path: Path) -> None:
    """A process that compiled schemas (valid and not) leaves its temporary folder as it found it."""
    script = (
        "from registry.formats.protobuf_protoc import compile_text\n"
        "from registry.formats.base import InvalidSchemaError\n"
        "compile_text('syntax = \"proto3\";\\nmessage A { string a = 1; }\\n', {})\n"
        "try:\n    compile_text('syntax = \"proto3\";\\nmessage B { Nope b = 1; }\\n', {})\n"
        "except InvalidSchemaError:\n    pass\n"
    )
    private = tmp_path / "tmp"
    private.mkdir()
    subprocess.run([sys.executable, "-c", script], cwd=REPO, check=True, timeout=120,
                   env={**os.environ, "TMPDIR": str(private)})
    assert sorted(p.name for p in private.iterdir()) == []


def test_a_compile_past_the_deadline_is_stopped_and_the_next_one_works() -> None:
    text = _proto(20000, tag="Slow")  # about 0.7 s of protoc on a warm worker, 14x the deadline
    with deadline.started(0.05), pytest.raises(RequestTimeout):
        compile_text(text, {})
    files = compile_text('syntax = "proto3";\nmessage After { string a = 1; }\n', {})
    assert "schema.proto" in files
    assert tempfile.gettempdir()  # the parent process keeps working
