"""The console's parts without a browser: the subject listing and its search, sessions, diff
alignment, highlighting, and ``create_app(ui=False)``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from registry.http.app import create_app
from registry.service import RegisterRequest, Registry
from registry.state import RegistryState
from registry.stores.records import SchemaRecord, SchemaTombstone
from registry.stores.sqlite import SQLiteStore
from registry.ui import listing as listing_module
from registry.ui.diff import side_by_side
from registry.ui.highlight import highlight
from registry.ui.listing import PAGE_SIZE, Query, SubjectListing, matcher
from registry.ui.session import Sessions


def record(subject: str, version: int = 1, *, deleted: bool = False, ts: int = 0, schema_type: str = "AVRO") -> SchemaRecord:
    return SchemaRecord.of(subject, version, version, schema_type, '"int"', deleted=deleted, ts=ts)


@pytest.mark.parametrize(("pattern", "name", "expected"), [
    ("orders", "team.orders-value", True),
    ("ORDERS", "team.orders-value", True),
    ("orders-*", "orders-value", True),
    ("orders-*", "team.orders-value", False),
    ("*-v?lue", "orders-value", True),
    ("*a*b*c", "xaxxbxxc", True),
    ("*a*b*c", "xaxxcxxb", False),
    ("a*a", "a", False),
    ("?", "ab", False),
    ("*" * 60 + "b", "a" * 5000, False),  # many stars against a long name: linear per piece, no blow-up
])
def test_search_substring_and_glob(pattern: str, name: str, expected: bool) -> None:
    test = matcher(pattern)
    assert test is not None and test(name.lower()) is expected


def test_listing_follows_every_change_without_a_full_rebuild() -> None:
    state = RegistryState()
    for n in range(120):
        state.apply(record(f"s-{n:03d}", ts=n))
    state.apply(record(":.ctx:other", ts=500, schema_type="JSON"))
    listing = SubjectListing(state)
    page = listing.search(Query())
    assert page.total == 121 and len(page.rows) == PAGE_SIZE and page.pages == 3
    assert listing.search(Query(page=3)).rows[-1].name == ":.ctx:other"  # other contexts after the default one
    first = listing.index()
    state.apply(record("s-005", 2, ts=1000))  # a new version: moves to the front by last change
    state.apply(record("s-010", deleted=True, ts=1001))  # soft-deleted: hidden unless asked for
    state.apply(record("new-subject", ts=1002))
    index = listing.index()
    assert index is not first and index.by_name[1] is first.by_name[0]  # rows of unchanged subjects are reused
    assert [r.name for r in listing.search(Query(sort="changed")).rows[:3]] == ["new-subject", "s-005", ":.ctx:other"]
    assert listing.search(Query(text="s-010")).total == 0
    assert listing.search(Query(text="s-010", deleted=True)).rows[0].live is False
    assert listing.search(Query(text="s-005")).rows[0].live_versions == 2
    assert listing.search(Query(schema_type="JSON")).total == 1
    assert listing.search(Query(context=".ctx")).rows[0].name == ":.ctx:other"
    assert [r.name for r in index.by_name] == [*sorted(r.name for r in index.by_name[:-1]), ":.ctx:other"]
    rebuilt = SubjectListing(state).index()

    def view(rows: list) -> list[tuple]:
        return [(r.name, r.live_versions, r.deleted_versions, r.changed) for r in rows]

    assert view(rebuilt.by_name) == view(index.by_name) and view(rebuilt.by_change) == view(index.by_change)


def test_listing_rebuilds_when_the_change_log_no_longer_reaches_back() -> None:
    state = RegistryState()
    state.apply(record("a"))
    listing = SubjectListing(state)
    listing.index()
    for n in range(state.changes.maxlen + 5):
        state.apply(record(f"b-{n}"))
    assert state.changed_since(listing.index().generation - state.changes.maxlen - 10) is None
    assert listing.search(Query()).total == state.changes.maxlen + 6


def test_readability_is_asked_once_per_subject_and_viewer() -> None:
    state = RegistryState()
    for name in ("orders-value", "payments-value", ":.ctx:orders-key"):
        state.apply(record(name))
    listing = SubjectListing(state)
    asked: list[str] = []

    def may_read(subject: str) -> bool:
        asked.append(subject)
        return subject.startswith("orders")

    assert [r.name for r in listing.search(Query(), "reader", may_read).rows] == ["orders-value"]
    assert listing.contexts("reader", may_read) == ["."]  # .ctx holds nothing the reader may read
    assert listing.contexts() == [".", ".ctx"]
    listing.search(Query(), "reader", may_read)
    assert sorted(asked) == [":.ctx:orders-key", "orders-value", "payments-value"]


def test_sessions_are_signed_expire_and_bind_csrf_tokens() -> None:
    sessions = Sessions(b"k" * 32)
    session = sessions.new("alice")
    cookie = sessions.encode(session)
    assert sessions.decode(cookie) == session
    assert sessions.decode(cookie[:-2] + "xx") is None  # forged
    assert sessions.decode(sessions.encode(sessions.new(None)).replace("a.", "u.", 1)) is None
    assert Sessions(b"j" * 32).decode(cookie) is None  # another server's key
    expired = Sessions(b"k" * 32, lifetime=-1)
    assert sessions.decode(expired.encode(expired.new("alice"))) is None
    token = sessions.csrf_token(session, "alice")
    assert sessions.csrf_ok(session, "alice", token)
    assert not sessions.csrf_ok(session, "bob", token)
    assert not sessions.csrf_ok(sessions.new("alice"), "alice", token)
    assert not sessions.csrf_ok(None, "alice", token)


def test_diff_rows_align_lines_and_mark_changed_words() -> None:
    rows = side_by_side(["a", '"type": "long"', "c"], ["a", '"type": "string"', "b", "c"])
    assert [r.kind for r in rows] == ["equal", "replace", "insert", "equal"]
    assert [t for changed, t in rows[1].right.segments if changed] == ["string"]
    assert rows[2].left is None and rows[3].left.number == 3 and rows[3].right.number == 4


def test_highlighting_keeps_every_character() -> None:
    text = '{"a": [1, true, null, "x\\"y"], "b": {}}'
    assert "".join(line.text for line in highlight("JSON", text)) == text
    proto = 'syntax = "proto3";\n/* c\n */ message A { int64 x = 1; } // end\n'
    lines = highlight("PROTOBUF", proto)
    assert "\n".join(line.text for line in lines) == proto
    assert ("type", "int64") in lines[2].tokens and ("kw", "message") in lines[2].tokens


def test_the_console_is_left_out_with_ui_false(tmp_path: Path) -> None:
    registry = Registry(SQLiteStore(str(tmp_path / "r.db")))
    registry.register("s", RegisterRequest('"int"'))
    try:
        with TestClient(create_app(registry, ui=False)) as client:
            assert client.get("/ui/subjects").status_code == 404
            assert client.get("/ui/subjects").json()["error_code"] == 404
        with TestClient(create_app(registry)) as client:
            started = time.perf_counter()
            page = client.get("/ui/subjects")
            assert page.status_code == 200 and "text/html" in page.headers["content-type"]
            assert time.perf_counter() - started < 60  # hang guard only
            assert client.get("/ui", follow_redirects=False).status_code in (303, 307)
    finally:
        registry.close()


def test_the_subject_index_is_built_in_the_background_once_the_app_starts(tmp_path: Path) -> None:
    registry = Registry(SQLiteStore(str(tmp_path / "r.db")))
    registry.register("s", RegisterRequest('"int"'))
    try:
        app = create_app(registry)
        console = app.state.console
        time.sleep(0.2)
        assert not console.index_built.is_set()  # not while the server is still starting
        with TestClient(app):
            assert console.index_built.wait(30)
            assert [row.name for row in console.listing.index().by_name] == ["s"]
    finally:
        registry.close()


def test_kept_answers_patched_after_writes_equal_answers_computed_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    patched: list[int] = []
    original = listing_module._patched
    monkeypatch.setattr(listing_module, "_patched", lambda *args: patched.append(1) or original(*args))
    state = RegistryState()
    for n in range(300):
        state.apply(record(f"team-{n % 7}.s-{n:03d}", ts=n, schema_type=("AVRO", "JSON")[n % 2]))
    listing = SubjectListing(state)
    queries = [Query(), Query(sort="changed"), Query(text="team-3"), Query(text="*-1?5"), Query(schema_type="JSON"),
               Query(deleted=True, sort="changed")]

    def may_read(subject: str) -> bool:
        return not subject.startswith("team-2")

    def answers(of: SubjectListing) -> list:
        return [[r.name for r in of.search(q, who, check).rows] + [of.search(q, who, check).total]
                for q in queries for who, check in ((None, None), ("reader", may_read))]

    answers(listing)  # kept for every (viewer, query)
    state.apply(record("team-3.s-015", 2, ts=1000, schema_type="JSON"))  # a new version, now JSON, newest
    state.apply(record("team-2.s-002", deleted=True, ts=1001))  # soft-deleted
    state.apply(record("team-3.new", ts=1002))  # a new subject
    state.apply(SchemaTombstone("team-4.s-004", 1))  # hard-deleted: gone
    assert answers(listing) == answers(SubjectListing(state))
    assert len(patched) == 2 * len(queries)  # each kept answer was patched, not recomputed
