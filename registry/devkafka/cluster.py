"""A throwaway Apache Kafka KRaft cluster of local JVMs for development and tests."""

from __future__ import annotations

import atexit
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from confluent_kafka.admin import AdminClient

from registry.devkafka.config import (
    HOST,
    LOG4J2,
    NodeSpec,
    new_cluster_id,
    server_properties,
    write_properties,
)
from registry.devkafka.jars import KAFKA_VERSION, ensure_jars
from registry.devkafka.process import (
    BROKER_JVM_OPTS,
    TOOL_JVM_OPTS,
    free_ports,
    java_command,
    port_open,
    spawn,
    tail,
)
from registry.devkafka.security import SaslSsl

_QUIET = logging.getLogger(__name__ + ".librdkafka")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


class KafkaCluster:
    """``brokers`` combined broker+controller KRaft nodes on 127.0.0.1, ids ``0..brokers-1``.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. Every
    node logs to ``<work_dir>/node-<id>/server.log``. The JVMs are stopped at
    interpreter exit if :meth:`stop` was not called. With ``sasl_ssl`` (a
    :class:`~registry.devkafka.security.SaslSsl`, or True for the default users),
    every node also has a ``SASL_SSL`` listener: :attr:`secured_bootstrap`, and
    :meth:`client_settings` for a client of it.
    """

    def __init__(
        self,
        brokers: int = 1,
        *,
        version: str = KAFKA_VERSION,
        cache_dir: Path | str | None = None,
        work_dir: Path | str | None = None,
        extra_properties: Mapping[str, str] | None = None,
        jvm_opts: Sequence[str] = BROKER_JVM_OPTS,
        startup_timeout: float = 120.0,
        sasl_ssl: SaslSsl | bool = False,
    ) -> None:
        if brokers < 1:
            raise ValueError("a cluster needs at least one node")
        self.size = brokers
        self.version = version
        self.cache_dir = cache_dir
        self.extra_properties = dict(extra_properties or {})
        self.jvm_opts = tuple(jvm_opts)
        self.startup_timeout = startup_timeout
        self.sasl_ssl: SaslSsl | None = SaslSsl() if sasl_ssl is True else (sasl_ssl or None)
        self._given_work_dir = Path(work_dir) if work_dir is not None else None
        self.work_dir: Path | None = None
        self.libs: Path | None = None
        self.nodes: list[NodeSpec] = []
        self._procs: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:port,...`` for every node, alive or not."""
        if not self.nodes:
            raise RuntimeError("the cluster has not been started")
        return ",".join(f"{HOST}:{node.port}" for node in self.nodes)

    @property
    def secured_bootstrap(self) -> str:
        """``127.0.0.1:port,...`` of every node's SASL_SSL listener."""
        if not self.nodes or self.sasl_ssl is None:
            raise RuntimeError("the cluster has no SASL_SSL listener (KafkaCluster(sasl_ssl=True))")
        return ",".join(f"{HOST}:{node.secured_port}" for node in self.nodes)

    def client_settings(self, user: str | None = None, password: str | None = None,
                        mechanism: str = "SCRAM-SHA-512") -> dict[str, str]:
        """librdkafka settings reaching the cluster: over SASL_SSL as ``user`` (``admin`` unless
        given; its own password unless ``password``) when the cluster has that listener, else plaintext."""
        if self.sasl_ssl is None:
            return {"bootstrap.servers": self.bootstrap}
        return self.sasl_ssl.client_settings(self.secured_bootstrap, user, password, mechanism)

    def running(self, node_id: int) -> bool:
        """Whether node ``node_id``'s JVM is alive."""
        proc = self._procs.get(node_id)
        return proc is not None and proc.poll() is None

    def start(self, node: int | None = None) -> KafkaCluster:
        """Start the whole cluster, or restart one node that was killed; wait until it serves."""
        if node is not None:
            self._restart(node)
            return self
        if self.nodes:
            raise RuntimeError("a KafkaCluster starts once: make a new one")
        atexit.register(self.stop)
        try:
            self._prepare()
            for spec in self.nodes:
                self._launch(spec)
            self.wait_for_brokers(range(self.size), self.startup_timeout)
        except BaseException:
            self._report_logs()
            self.stop(keep_files=True)
            raise
        return self

    def kill(self, node: int, graceful: bool = False) -> None:
        """Stop one node: SIGKILL by default (a crash), SIGTERM and wait if ``graceful``."""
        proc = self._procs.get(self._spec(node).node_id)
        if proc is None or proc.poll() is not None:
            return
        if graceful:
            proc.terminate()
            try:
                proc.wait(timeout=30)
                return
            except subprocess.TimeoutExpired:
                pass
        proc.kill()
        proc.wait()

    def stop(self, keep_files: bool = False) -> None:
        """Stop every node (SIGTERM, then SIGKILL after a grace period) and delete the work dir."""
        atexit.unregister(self.stop)
        procs = [proc for proc in self._procs.values() if proc.poll() is None]
        for proc in procs:
            proc.terminate()
        deadline = time.monotonic() + 10
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()
        if self.sasl_ssl is not None:
            self.sasl_ssl.close()
        if self.work_dir is not None and not keep_files and self._given_work_dir is None:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def wait_for_brokers(self, node_ids: Iterable[int], timeout: float) -> None:
        """Block until the cluster metadata lists exactly the brokers ``node_ids``."""
        wanted = set(node_ids)
        deadline = time.monotonic() + timeout
        for nid in wanted:
            spec = self._spec(nid)
            while not port_open(spec.port):
                self._check_alive(wanted)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"node {nid} did not open port {spec.port} in {timeout:.0f}s")
                time.sleep(0.2)
        settings: dict[str, Any] = {"bootstrap.servers": self.bootstrap, "logger": _QUIET}
        admin = AdminClient(settings)
        seen: set[int] = set()
        while time.monotonic() < deadline:
            self._check_alive(wanted)
            try:
                found = admin.describe_cluster(request_timeout=5).result()
                seen = {broker.id for broker in found.nodes}
            except Exception:
                seen = set()
            if seen == wanted:
                return
            time.sleep(0.3)
        raise TimeoutError(f"brokers {sorted(seen)} are up, wanted {sorted(wanted)} in {timeout:.0f}s")

    def log_file(self, node: int) -> Path:
        """Where node ``node`` writes its log."""
        return self._spec(node).log_file

    def __enter__(self) -> KafkaCluster:
        return self.start() if not self.nodes else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _prepare(self) -> None:
        """Fetch the jars, lay out the work dir and format every node's storage."""
        self.libs = ensure_jars(self.cache_dir, self.version)
        if self._given_work_dir is not None:
            self._given_work_dir.mkdir(parents=True, exist_ok=True)
            self.work_dir = self._given_work_dir
        else:
            self.work_dir = Path(tempfile.mkdtemp(prefix="schemahub-kafka-"))
        (self.work_dir / "log4j2.properties").write_text(LOG4J2)
        per_node = 3 if self.sasl_ssl is not None else 2
        ports = free_ports(per_node * self.size)
        self.nodes = [
            NodeSpec(
                i, ports[per_node * i], ports[per_node * i + 1], self.work_dir / f"node-{i}",
                ports[per_node * i + 2] if self.sasl_ssl is not None else None,
            )
            for i in range(self.size)
        ]
        extra = dict(self.extra_properties)
        if self.sasl_ssl is not None:
            self.sasl_ssl.prepare(self.work_dir, HOST)
            extra = {**self.sasl_ssl.broker_properties(), **extra}
        for spec in self.nodes:
            spec.directory.mkdir(parents=True, exist_ok=True)
            props = server_properties(spec, self.nodes, extra)
            write_properties(spec.properties_file, props)
        self._format(new_cluster_id())

    def _format(self, cluster_id: str) -> None:
        """Run the storage tool on every node at once."""
        assert self.libs is not None and self.work_dir is not None
        running = []
        for spec in self.nodes:
            args = ["format", "-t", cluster_id, "-c", str(spec.properties_file)]
            if self.sasl_ssl is not None:
                args += self.sasl_ssl.format_arguments()
            command = java_command(
                self.libs, "kafka.tools.StorageTool", args, TOOL_JVM_OPTS, self.work_dir / "log4j2.properties"
            )
            log = spec.directory / "format.log"
            running.append((spec, log, spawn(command, log, spec.directory)))
        for spec, log, proc in running:
            if proc.wait(timeout=120) != 0:
                raise RuntimeError(f"formatting node {spec.node_id} failed, see {log}")

    def _launch(self, spec: NodeSpec) -> None:
        assert self.libs is not None and self.work_dir is not None
        jvm_opts = [*self.jvm_opts, *(self.sasl_ssl.jvm_options() if self.sasl_ssl is not None else ())]
        command = java_command(
            self.libs, "kafka.Kafka", [str(spec.properties_file)], jvm_opts, self.work_dir / "log4j2.properties"
        )
        self._procs[spec.node_id] = spawn(command, spec.log_file, spec.directory)

    def _restart(self, node: int) -> None:
        spec = self._spec(node)
        if self.running(spec.node_id):
            return
        self._launch(spec)
        alive = [nid for nid in range(self.size) if self.running(nid)]
        try:
            self.wait_for_brokers(alive, self.startup_timeout)
        except BaseException:
            self._report_logs([spec.node_id])
            raise

    def _spec(self, node: int) -> NodeSpec:
        if not 0 <= node < len(self.nodes):
            raise ValueError(f"no node {node}: this cluster has nodes 0..{len(self.nodes) - 1}")
        return self.nodes[node]

    def _check_alive(self, node_ids: set[int]) -> None:
        for nid in node_ids:
            proc = self._procs.get(nid)
            if proc is None or proc.poll() is not None:
                code = None if proc is None else proc.returncode
                log = self._spec(nid).log_file
                raise RuntimeError(f"Kafka node {nid} exited (code {code}) during startup, see {log}")

    def _report_logs(self, node_ids: Sequence[int] | None = None) -> None:
        """Print the tail of each node's log to stderr, for a failed start."""
        for spec in self.nodes:
            if node_ids is None or spec.node_id in node_ids:
                for log in (spec.directory / "format.log", spec.log_file):
                    if log.exists():
                        print(f"--- {log} (tail) ---\n{tail(log)}", file=sys.stderr)
