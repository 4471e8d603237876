"""Starting JVMs for Kafka: the java binary, JVM options, free ports and log tails."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

BROKER_JVM_OPTS: tuple[str, ...] = (
    "-Xms128m",
    "-Xmx384m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:MaxDirectMemorySize=128m",
    "-Djava.awt.headless=true",
)
"""Small heap, serial GC and C1-only JIT: quick to start and light on a 2-core machine."""

TOOL_JVM_OPTS: tuple[str, ...] = ("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")


def java_binary() -> str:
    """``$JAVA_HOME/bin/java`` if set, else ``java`` from PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise RuntimeError("no java found (set JAVA_HOME or put java 17+ on PATH)")
    return found


def java_command(
    libs: Path, main_class: str, args: Sequence[str], jvm_opts: Sequence[str], log4j: Path
) -> list[str]:
    """The command line running ``main_class`` with every jar in ``libs`` on the classpath."""
    return [
        java_binary(),
        *jvm_opts,
        f"-Dlog4j2.configurationFile={log4j}",
        "-Dlog4j2.shutdownHookEnabled=false",
        "-cp",
        f"{libs}/*",
        main_class,
        *args,
    ]


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports on 127.0.0.1 that were free a moment ago."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _parent_death_signal() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has Linux send SIGTERM to the child when this process dies."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)

    return preexec


_PREEXEC = _parent_death_signal()


def spawn(command: Sequence[str], log_file: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own session, output appended to ``log_file``.

    The child gets SIGTERM if the Python process dies without cleaning up
    (Linux only; tied to the thread that starts it, so start from the main thread).
    """
    with open(log_file, "ab") as out:
        return subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_PREEXEC,
        )


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a text file, or a note that it is missing."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} not readable)"
    return "\n".join(text.splitlines()[-lines:])
