"""Schema texts kept compressed in memory: the Kafka store holds every content's text,
and texts are most of a large registry's memory.

A :class:`PackedText` is one text, LZ4-compressed, and the
:class:`~registry.stores.records.ContentSource` of the content holding it: reading it
decompresses it again (the most recently read texts are kept, bounded in characters).
LZ4 rather than zlib: a replay packs every distinct text once, and zlib's fastest level
(3.6x on JSON schemas) costs 9 times LZ4's CPU (2.6x); at a million versions that was
a third of the replay's time.
"""

from __future__ import annotations

import lz4.block

from ..bounded import BoundedCache

UNPACKED_CHARS = 8 * 1024 * 1024  # characters of the texts read lately kept, for every packed text together

_UNPACKED: BoundedCache[str] = BoundedCache(UNPACKED_CHARS, max_item_bytes=UNPACKED_CHARS)


class PackedText(bytes):
    """A schema text, compressed: the source of the content holding it."""

    __slots__ = ()

    @classmethod
    def of(cls, text: str) -> PackedText:
        return cls(lz4.block.compress(text.encode("utf-8", "surrogatepass")))

    def text(self, row: int = 0) -> str:
        """The text (``row`` is not used: a packed text is the source of one content)."""
        return self._text(keep=True)

    def peek(self, row: int = 0) -> str:
        """:meth:`text`, not kept among the texts read lately."""
        return self._text(keep=False)

    def _text(self, *, keep: bool) -> str:
        found = _UNPACKED.get(self)
        if found is None:
            found = lz4.block.decompress(self).decode("utf-8", "surrogatepass")
            if keep:
                _UNPACKED.put(self, found, len(found))
        return found
