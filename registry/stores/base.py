"""The store interface: where records live durably.

A store replays every record it holds into an ``apply`` callback when it is
opened, and from then on applies each record it accepts, so the in-memory
state is always the replay of the store. ``append`` returns only once the
records are durable *and* applied: a caller may answer the client then.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from .records import Content, Record

Apply = Callable[[Record], None]


class Store(ABC):
    @abstractmethod
    def open(self, apply: Apply) -> None:
        """Replay every stored record into ``apply`` and keep it for later writes. A store
        keeping its state in tables may replay a subject's versions as one
        :class:`~registry.stores.records.SubjectVersions`."""

    @abstractmethod
    def append(self, records: Sequence[Record]) -> None:
        """Write ``records`` atomically and durably, then apply them."""

    def id_high_water(self) -> dict[str, int]:
        """The highest id ever handed out per context, hard-deleted ones included.

        A store that can remember ids its records no longer show returns them
        here so that no id is ever reused."""
        return {}

    keeps_compiled: bool = False
    """Whether :meth:`keep_compiled` keeps anything (if not, a parser does not make compiled forms)."""

    def compiled(self, content: Content, basis: bytes) -> bytes | None:
        """The compiled form kept for ``content`` parsed from ``basis`` (see :meth:`keep_compiled`), if any."""
        return None

    def keep_compiled(self, content: Content, compiled: bytes, basis: bytes) -> None:
        """Keep what parsing ``content`` produced, to read back instead of parsing it again
        (:meth:`registry.formats.ParsedSchema.compiled`); a store may keep nothing. ``basis``
        is what it was made from (:meth:`registry.schemas.SchemaParser.compiled_basis`): the
        content key, with those of the contents its references resolved to."""
        return None

    def write_token(self) -> object:
        """Writes with equal tokens may be appended together (a store that admits a request
        under some condition, such as a leadership term, answers it here)."""
        return None

    def version_high_water(self, subject: str) -> int:
        """The highest version of ``subject`` another reader of the store may hold, beyond the
        records this instance applied (0 if none): a new version must go above it."""
        return 0

    def unacknowledged_version(self, subject: str, content_key: bytes) -> tuple[int, int] | None:
        """The (version, id) of the newest version of ``subject`` if it is a write of this very
        content that other readers may hold but this instance never applied (an attempt that was
        not acknowledged): registering the content again reuses both rather than leave a gap."""
        return None

    def is_leader(self) -> bool:
        """Whether this instance may write (always, for a single-node store)."""
        return True

    def leader_url(self) -> str | None:
        return None

    def cluster_ids(self) -> dict[str, str]:
        """The clusters ``/v1/metadata/id`` names: Confluent's ``kafka-cluster`` (a Kafka store's)
        and ``schema-registry-cluster`` (the registry cluster's group id)."""
        return {"schema-registry-cluster": "schema-registry"}

    def replay_lag(self) -> int | None:
        """Records the store holds that this instance has not applied yet (None if unknown).

        A single-node store applies every record as it writes it: always 0."""
        return 0

    @abstractmethod
    def close(self) -> None:
        """Release the store; later calls are errors."""
