"""The README's data-contracts example runs as written, against a live registry and the session broker."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.server import REPO


def example() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- contracts-example -->\n```python\n(.*?)\n```", text, re.S)
    assert found, "the README lost its data-contracts example"
    return found.group(1)


def test_readme_data_contracts_example_runs(live_registry, kafka_bootstrap) -> None:
    env = {**os.environ, "SCHEMA_REGISTRY_URL": live_registry.url, "KAFKA_BOOTSTRAP": kafka_bootstrap,
           "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", example()], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "rejected: Rule expr failed: message.amount > 0.0"
    assert lines[1] == "{'id': 'p-1', 'amount': 42.0, 'card': '4111 1111 1111 1111'}"
