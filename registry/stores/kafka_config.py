"""The settings every Kafka client of the store starts from, how their logs reach us, and
reaching the cluster at startup.

:func:`client_config` is the one place a client configuration is made: the
store's producer, consumers and admin client all extend it, with the
security settings (``security.protocol``, ``sasl.*``, ``ssl.*``) it was given.
Secret values (passwords, client secrets, JAAS configurations, inline keys)
never reach a log line or an error message: :func:`shown` and :func:`redact`.
librdkafka's own log lines go through the
``schemahub.kafka.client`` logger instead of stderr, and a broker that stays
down is reported once a minute, not by every client at every reconnect: lines
that differ only in numbers (ports, milliseconds, counts) count as the same
line, and the next one let through says how many were held back.
:func:`reach_cluster` turns an unreachable bootstrap, a refused login, a
certificate that does not verify or a setting librdkafka does not take into
one sentence.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from ..errors import StoreError

log = logging.getLogger("schemahub.kafka")
CLIENT_LOG = logging.getLogger("schemahub.kafka.client")
REPEAT_WINDOW = 60.0  # seconds during which the same client log line is shown once

_THREAD_PREFIX = re.compile(r"^\[thrd:[^\]]*\]: ")
_NUMBERS = re.compile(r"\d+")


class RepeatFilter(logging.Filter):
    """Let through one log line per ``window`` seconds for each line shape."""

    def __init__(self, window: float = REPEAT_WINDOW, clock: Any = time.monotonic) -> None:
        super().__init__()
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._shown: dict[tuple[int, str], tuple[float, int]] = {}  # shape -> (shown at, held back since)

    def filter(self, record: logging.LogRecord) -> bool:
        shape = (record.levelno, _NUMBERS.sub("#", client_message(record)))
        now = self._clock()
        with self._lock:
            shown_at, held = self._shown.get(shape, (None, 0))
            if shown_at is not None and now - shown_at < self.window:
                self._shown[shape] = (shown_at, held + 1)
                return False
            self._shown[shape] = (now, 0)
            if len(self._shown) > 1000:  # bounded: forget the oldest shapes
                for old in sorted(self._shown, key=lambda k: self._shown[k][0])[:500]:
                    del self._shown[old]
        if held:
            record.msg = f"{record.getMessage()} ({held} similar lines in the last {self.window:.0f}s not shown)"
            record.args = None
        return True


def client_message(record: logging.LogRecord) -> str:
    """The text of a librdkafka log line, without the client name and thread prefix."""
    args = record.args
    if isinstance(args, tuple) and len(args) == 3:  # confluent-kafka logs ("%s [%s] %s", facility, client, text)
        return _THREAD_PREFIX.sub("", str(args[2]))
    return record.getMessage()


CLIENT_LOG.addFilter(RepeatFilter())


class KafkaConnectError(StoreError):
    """The Kafka clients cannot start talking to the cluster (the subclass says why)."""


class KafkaUnreachable(KafkaConnectError):
    """No broker of the bootstrap list answered."""


class KafkaLoginRefused(KafkaConnectError):
    """The brokers answered but refused the SASL login."""


class KafkaTlsFailed(KafkaConnectError):
    """TLS with the brokers failed: a broker certificate the configured CA did not sign or that does not
    name the host reached, or a client certificate the broker refused (none, or one it does not trust)."""


class KafkaSettingsInvalid(KafkaConnectError):
    """librdkafka refuses a client setting (an unknown property, a value it does not take)."""


_SECRET_ENDINGS = (
    "password", "secret", "jaas.config", "key.pem", "oauthbearer.config", "user.info", "auth.token", "credentials"
)


def is_secret(name: str) -> bool:
    """Whether property ``name`` holds a secret (its value is never shown)."""
    return name.lower().endswith(_SECRET_ENDINGS)


def shown(settings: Mapping[str, Any]) -> str:
    """``name=value`` of each plain setting, secrets as ``***`` and PEM text as the number of its
    blocks: what a (one-line) log line may say."""
    return ", ".join(
        f"{name}={_shown_value(name, value)}"
        for name, value in sorted(settings.items())
        if isinstance(value, (str, int, float, bool))
    )


def _shown_value(name: str, value: object) -> object:
    if is_secret(name):
        return "***"
    if isinstance(value, str) and "-----BEGIN " in value:
        return f"<PEM, {value.count('-----BEGIN ')} block(s)>"
    return value


def redact(text: str, settings: Mapping[str, Any]) -> str:
    """``text`` with every secret value of ``settings`` replaced by ``***``."""
    for name, value in settings.items():
        if is_secret(name) and isinstance(value, str) and value:
            text = text.replace(value, "***")
    return text


def client_config(bootstrap: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The settings shared by every Kafka client of one store: where the cluster is, how to log,
    then ``overrides`` (any librdkafka property, e.g. ``security.protocol``)."""
    return {"bootstrap.servers": bootstrap, "logger": CLIENT_LOG, **(overrides or {})}


class _LastClientLine(logging.Handler):
    """Keeps the last line a client logged at WARNING or above (the reason a connection failed),
    and the last that told of a TLS alert from a broker (the connection's end may come after it)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.text: str | None = None
        self.tls_alert: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.text = _BROKER_PREFIX.sub("", _AFTER.sub("", client_message(record))).strip()
        if _TLS_ALERT in self.text:
            self.tls_alert = self.text


_AFTER = re.compile(r"\s*\(after \d+ms in state [A-Z_]+[^)]*\)")
_BROKER_PREFIX = re.compile(r"^\S+/(?:bootstrap|\d+): ")
_GIVE_UP_CODES = frozenset(
    {KafkaError._ALL_BROKERS_DOWN, KafkaError._RESOLVE, KafkaError._AUTHENTICATION, KafkaError._SSL}
)
# A broker that refuses the client's certificate (none, or one its CA did not sign) says so in a TLS
# alert after the handshake: librdkafka then reports a failed receive, not an SSL error.
_TLS_ALERT = "SSL alert number"
ATTEMPT_SECONDS = 10.0  # how long to try without --kafka-wait, unless every broker refused at once


def reach_cluster(config: Mapping[str, Any], wait: float = 0.0) -> None:
    """Return once the cluster answers a metadata request.

    Without ``wait``, give up as soon as every bootstrap broker has failed (or
    after :data:`ATTEMPT_SECONDS`); with it, keep trying that long and say so
    every few seconds. Giving up raises :class:`KafkaLoginRefused` or
    :class:`KafkaTlsFailed` (a failed handshake, or a TLS alert from the broker) when that is why, else :class:`KafkaUnreachable`;
    the one-line message names the bootstrap servers and the client's last
    error. A setting librdkafka refuses raises :class:`KafkaSettingsInvalid`.
    """
    quiet = logging.getLogger("schemahub.kafka.probe")
    quiet.propagate = False
    last_line = _LastClientLine()
    quiet.handlers[:] = [last_line]
    errors: list[KafkaError] = []
    settings: dict[str, Any] = {**config, "logger": quiet, "error_cb": errors.append}
    try:
        admin = AdminClient(settings)
    except (KafkaException, TypeError, ValueError) as exc:
        reason = exc.args[0].str() if isinstance(exc, KafkaException) else str(exc)
        raise KafkaSettingsInvalid(f"Kafka client settings: {redact(reason, config)}") from None
    bootstrap = config.get("bootstrap.servers")
    started = time.monotonic()
    deadline = started + max(0.0, wait)
    next_warning = started
    while True:
        try:
            admin.list_topics(timeout=1.0)
            return
        except KafkaException as exc:
            reason = exc.args[0].str()
        admin.poll(0)  # serves error_cb and the log lines
        reason = redact(last_line.tls_alert or last_line.text or reason, config)
        codes = {err.code() for err in errors}
        hopeless = bool(codes & _GIVE_UP_CODES)
        now = time.monotonic()
        if now >= deadline and (hopeless or now - started >= ATTEMPT_SECONDS):
            if KafkaError._AUTHENTICATION in codes:
                raise KafkaLoginRefused(f"Kafka at {bootstrap} refused the login: {reason}")
            if KafkaError._SSL in codes or last_line.tls_alert:
                raise KafkaTlsFailed(f"TLS with Kafka at {bootstrap} failed: {reason}")
            raise KafkaUnreachable(f"Cannot reach Kafka at {bootstrap}: {reason}")
        if now >= next_warning and deadline > now:
            log.warning(
                "Kafka at %s is not reachable yet (%s); retrying for up to %.0fs more", bootstrap, reason, deadline - now
            )
            next_warning = now + 5.0
