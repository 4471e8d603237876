"""Fetching the Apache Kafka jars from Maven Central into a local cache."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

KAFKA_VERSION = "4.4.0"
"""The newest Kafka 4.x on Maven Central when this was written (``kafka_2.13``)."""

MARKER = ".complete"


def default_cache_root() -> Path:
    """``$SCHEMAHUB_KAFKA_CACHE``, else ``<repo>/.cache/kafka``, else ``~/.cache/schemahub/kafka``."""
    env = os.environ.get("SCHEMAHUB_KAFKA_CACHE")
    if env:
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").is_file():
        return repo / ".cache" / "kafka"
    return Path.home() / ".cache" / "schemahub" / "kafka"


def ensure_jars(cache_dir: Path | str | None = None, version: str = KAFKA_VERSION) -> Path:
    """Return a folder holding every jar a Kafka ``version`` node needs, fetching them once.

    ``cache_dir`` is the cache root (default :func:`default_cache_root`); the jars
    land in ``<cache_dir>/<version>/libs``.
    """
    root = Path(cache_dir) if cache_dir is not None else default_cache_root()
    with resources.as_file(resources.files(__package__) / "pom.xml") as pom:
        return ensure_maven_libs(
            pom, root / version / "libs", {"kafka.version": version}, f"kafka_2.13-{version}.jar"
        )


def ensure_maven_libs(pom: Path, libs: Path, properties: dict[str, str], expected_jar: str) -> Path:
    """Copy the runtime dependencies of ``pom`` into ``libs`` once (Maven's ``copy-dependencies``).

    A marker file makes later calls instant; a file lock keeps concurrent callers from fetching
    twice; ``expected_jar`` must be among the copied files.
    """
    if (libs / MARKER).is_file():
        return libs
    libs.parent.mkdir(parents=True, exist_ok=True)
    with open(libs.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (libs / MARKER).is_file():
            _fetch(pom, libs, properties, expected_jar)
    return libs


def _fetch(pom: Path, libs: Path, properties: dict[str, str], expected_jar: str) -> None:
    """Run Maven's ``copy-dependencies`` into a scratch folder, then move it into place."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError(f"Maven (mvn) is not on PATH: it is needed once to fetch {expected_jar}")
    scratch = Path(tempfile.mkdtemp(prefix="libs-", dir=libs.parent))
    try:
        command = [
            mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(pom),
            "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={scratch}",
            *(f"-D{name}={value}" for name, value in properties.items()),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"fetching the dependencies of {pom} failed:\n{done.stdout}{done.stderr}")
        if not (scratch / expected_jar).is_file():
            raise RuntimeError(f"Maven ran but {expected_jar} is missing from {scratch}")
        (scratch / MARKER).write_text(expected_jar + "\n")
        shutil.rmtree(libs, ignore_errors=True)
        scratch.rename(libs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
