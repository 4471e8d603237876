"""Prometheus metrics in the text exposition format (0.0.4), without dependencies.

Requests by route template and status, request latency, store write latency,
compatibility checks and failures, and schema and subject counts read from the
state when scraped. Every label takes its values from a fixed set (methods,
route templates, status codes, results), so the series are bounded in number.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from ..service import Registry

# Methods counted under their own name (RFC 9110's); any other is counted as "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: tuple[str, ...], values: tuple[str, ...], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=False)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _num(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


class Counter:
    def __init__(self, name: str, help_text: str, labels: tuple[str, ...] = ()) -> None:
        self.name, self.help, self.label_names = name, help_text, labels
        self.values: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        with self._lock:
            self.values[labels] = self.values.get(labels, 0.0) + amount

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        with self._lock:
            items = sorted(self.values.items())
        lines += [f"{self.name}{_labels(self.label_names, k)} {_num(v)}" for k, v in items]
        return lines


class Histogram:
    def __init__(self, name: str, help_text: str, labels: tuple[str, ...] = (), buckets=LATENCY_BUCKETS) -> None:
        self.name, self.help, self.label_names, self.buckets = name, help_text, labels, tuple(buckets)
        self.series: dict[tuple[str, ...], list[float]] = {}  # per-bucket counts..., sum, count
        self._lock = threading.Lock()

    def observe(self, value: float, *labels: str) -> None:
        with self._lock:
            series = self.series.get(labels)
            if series is None:
                series = self.series[labels] = [0.0] * (len(self.buckets) + 2)
            index = bisect_left(self.buckets, value)
            if index < len(self.buckets):
                series[index] += 1
            series[-2] += value
            series[-1] += 1

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        with self._lock:
            items = sorted((k, list(v)) for k, v in self.series.items())
        for key, series in items:
            cumulative = 0.0
            for bound, count in zip(self.buckets, series, strict=False):
                cumulative += count
                le = f'le="{_num(bound)}"'
                lines.append(f"{self.name}_bucket{_labels(self.label_names, key, le)} {_num(cumulative)}")
            inf = 'le="+Inf"'
            lines.append(f"{self.name}_bucket{_labels(self.label_names, key, inf)} {_num(series[-1])}")
            lines.append(f"{self.name}_sum{_labels(self.label_names, key)} {_num(series[-2])}")
            lines.append(f"{self.name}_count{_labels(self.label_names, key)} {_num(series[-1])}")
        return lines


class Metrics:
    """One registry's metrics; :func:`metrics_for` makes and instruments it once."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.started = time.time()
        self.requests = Counter(
            "schemahub_http_requests_total", "HTTP requests by method, route template and status",
            ("method", "route", "status"),
        )
        self.latency = Histogram(
            "schemahub_http_request_duration_seconds", "HTTP request latency by method and route template",
            ("method", "route"),
        )
        self.compat_checks = Counter(
            "schemahub_compatibility_checks_total", "Compatibility checks by result", ("result",)
        )
        self.store_writes = Histogram("schemahub_store_write_duration_seconds", "Latency of store appends")
        self.store_write_errors = Counter("schemahub_store_write_errors_total", "Store appends that failed")
        self.auth_failures = Counter(
            "schemahub_auth_failures_total", "Requests refused by access control", ("status",)
        )
        # Extra gauges other layers may register (name -> (help, callable returning a number)).
        self.gauges: dict[str, tuple[str, Callable[[], float | None]]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count a request. Labels never hold what a client made up: the method is one
        of :data:`METHODS` or ``other``, the route a template or ``unmatched``."""
        route = route or "unmatched"
        method = method if method in METHODS else "other"
        self.requests.inc(method, route, str(status))
        self.latency.observe(seconds, method, route)
        if status in (401, 403):
            self.auth_failures.inc(str(status))

    def _state_gauges(self) -> list[str]:
        state = self.registry.state
        lines = []
        for name, help_text, value in (
            ("schemahub_subjects", "Subjects with at least one live version", state.live_subjects),
            ("schemahub_subjects_all", "Subjects, soft-deleted ones included", len(state.subjects)),
            ("schemahub_schema_versions", "Live subject versions", state.live_versions),
            ("schemahub_schemas", "Distinct schema ids in use by live versions", state.live_ids),
        ):
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value}"]
        store = self.registry.store
        leader = 1 if _safe(store.is_leader) else 0
        lines += ["# HELP schemahub_leader Whether this instance may write (is the leader)",
                  "# TYPE schemahub_leader gauge", f"schemahub_leader {leader}"]
        lag = _safe(store.replay_lag)
        if lag is not None:
            lines += ["# HELP schemahub_store_replay_lag Records in the store this instance has not applied yet",
                      "# TYPE schemahub_store_replay_lag gauge", f"schemahub_store_replay_lag {lag}"]
        for name, (help_text, read) in sorted(self.gauges.items()):
            value = _safe(read)
            if value is not None:
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {_num(float(value))}"]
        lines += ["# HELP schemahub_start_time_seconds Start time of the process since the epoch",
                  "# TYPE schemahub_start_time_seconds gauge", f"schemahub_start_time_seconds {_num(self.started)}"]
        return lines

    def render(self) -> str:
        lines: list[str] = []
        for metric in (self.requests, self.latency, self.compat_checks, self.store_writes,
                       self.store_write_errors, self.auth_failures):
            lines += metric.render()
        lines += self._state_gauges()
        return "\n".join(lines) + "\n"


def _safe(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except Exception:
        return None


def _instrument(registry: Registry, metrics: Metrics) -> None:
    """Wrap this registry's compatibility check and store append (instance attributes only)."""
    check = registry._check
    append = registry._append

    def counted_check(*args: Any, **kwargs: Any):
        result = check(*args, **kwargs)
        metrics.compat_checks.inc("compatible" if result.is_compatible else "incompatible")
        return result

    def timed_append(records):
        start = time.perf_counter()
        try:
            append(records)
        except Exception:
            metrics.store_write_errors.inc()
            raise
        finally:
            metrics.store_writes.observe(time.perf_counter() - start)

    registry._check = counted_check  # type: ignore[method-assign]
    registry._append = timed_append  # type: ignore[method-assign]


_ATTR = "_schemahub_metrics"
_make_lock = threading.Lock()


def metrics_for(registry: Registry) -> Metrics:
    """The registry's :class:`Metrics`, made and wired in on first use."""
    with _make_lock:
        metrics = registry.__dict__.get(_ATTR)
        if metrics is None:
            metrics = Metrics(registry)
            _instrument(registry, metrics)
            registry.__dict__[_ATTR] = metrics
        return metrics
