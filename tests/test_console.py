"""The web console in a real headless Chromium (Debian's ``chromium``, driven by Playwright)
against a real ``schemahub serve`` with users and rules.

One server and one browser serve the whole module; each test opens its own browser
context (its own cookies). Screenshots of the main pages go to ``.cache/console-screenshots``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.security_support import ADMIN, ORDERS, READER, SecureServer, write_auth_file
from tests.server import REPO

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SHOTS = REPO / ".cache" / "console-screenshots"
V1 = "application/vnd.schemaregistry.v1+json"

ORDER_V1 = {
    "type": "record", "name": "Order", "namespace": "shop",
    "fields": [{"name": "id", "type": "long"}, {"name": "amount", "type": "double"}],
}
ORDER_V2 = {
    "type": "record", "name": "Order", "namespace": "shop",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "amount", "type": "double"},
        {"name": "currency", "type": "string", "default": "EUR"},
    ],
}
PAYMENT_PROTO = 'syntax = "proto3";\npackage shop;\n\nmessage Payment {\n  string id = 1;\n  int64 cents = 2;\n}\n'
PAYMENT_PROTO_2 = (
    'syntax = "proto3";\npackage shop;\n\nmessage Payment {\n  string id = 1;\n  int64 cents = 2;\n'
    "  string method = 3;\n}\n"
)
CUSTOMER_JSON = {"type": "object", "properties": {"name": {"type": "string"}}, "additionalProperties": False}
MONEY = {"type": "record", "name": "Money", "namespace": "shop", "fields": [{"name": "cents", "type": "long"}]}
INVOICE = {"type": "record", "name": "Invoice", "namespace": "shop", "fields": [{"name": "total", "type": "shop.Money"}]}
XSS_DOC = '</script><script>window.__xss = "doc"</script><img src=x onerror="window.__xss=\'img\'">'
XSS_SUBJECT = '<img src=x onerror="window.__xss=\'subject\'">-value'
METADATA = {"properties": {"owner": "team-orders", "confluent:reserved": "secret"}}
RULE_SET = {"domainRules": [{"name": "positive", "kind": "CONDITION", "mode": "WRITE", "type": "CEL",
                             "expr": "message.amount > 0"}]}


def basic(who: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{who[0]}:{who[1]}".encode()).decode()


def register(url: str, subject: str, schema: object, schema_type: str = "AVRO", **extra: object) -> dict:
    text = schema if isinstance(schema, str) else json.dumps(schema)
    body = {"schema": text, "schemaType": schema_type, **extra}
    response = httpx.post(f"{url}/subjects/{quote(subject, safe='')}/versions", json=body, auth=ADMIN,
                          headers={"content-type": V1})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureServer]:
    folder = tmp_path_factory.mktemp("console")
    auth = write_auth_file(folder / "users.json")
    with SecureServer(folder / "registry.db", extra_args=("--auth-file", str(auth))) as running:
        url = running.url
        register(url, "orders-value", ORDER_V1)
        register(url, "orders-value", ORDER_V2, metadata=METADATA, ruleSet=RULE_SET)
        register(url, "payments-value", PAYMENT_PROTO, "PROTOBUF")
        register(url, "payments-value", PAYMENT_PROTO_2, "PROTOBUF")
        register(url, "customers-value", CUSTOMER_JSON, "JSON")
        register(url, "money", MONEY)
        register(url, "invoices-value", INVOICE, references=[{"name": "shop.Money", "subject": "money", "version": 1}])
        register(url, ":.staging:orders-value", ORDER_V1)
        register(url, "retired-value", {"type": "record", "name": "Old", "fields": []})
        assert httpx.delete(f"{url}/subjects/retired-value", auth=ADMIN).status_code == 200
        register(url, XSS_SUBJECT, {"type": "record", "name": "X", "doc": XSS_DOC, "fields": []})
        register(url, "orders-key", "\"long\"")
        for i in range(60):
            register(url, f"bulk-{i:03d}-value", "\"string\"")
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser, server: SecureServer) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


def sign_in(ctx: BrowserContext, who: tuple[str, str] = ADMIN, target: str = "/ui/subjects") -> Page:
    page = ctx.new_page()
    page.goto(target)
    expect(page).to_have_url(re.compile(r"/ui/login\?next="))
    page.get_by_label("User").fill(who[0])
    page.get_by_label("Password").fill(who[1])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("header .user")).to_have_text(who[0])
    return page


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def csrf_of(page: Page) -> str:
    return page.locator("input[name=csrf]").first.get_attribute("value") or ""


# -- subjects -----------------------------------------------------------------------------------------


def test_subjects_search_as_you_type_glob_filters_sort_pages_and_back(context: BrowserContext) -> None:
    page = sign_in(context)
    expect(page.locator(".count")).to_contain_text("of 68 subjects")  # every live subject, contexts included
    shot(page, "subjects")
    page.keyboard.press("/")  # the shortcut focuses the search box
    page.keyboard.type("orders")
    expect(page.locator(".count")).to_have_text("1–3 of 3 subjects")  # no reload: search as you type
    expect(page).to_have_url(re.compile(r"\?q=orders$"))
    page.locator("#q").fill("orders-*")
    expect(page.locator("table.subjects tbody tr")).to_have_count(2)  # a glob: orders-key, orders-value
    page.locator("#q").fill("*orders-v?lue")
    expect(page.locator("table.subjects tbody a")).to_have_text(["orders-value", ":.staging:orders-value"])
    page.locator("select[name=context]").select_option(".staging")
    expect(page.locator("table.subjects tbody a")).to_have_text([":.staging:orders-value"])
    page.locator("#q").fill("")
    page.locator("select[name=context]").select_option("")
    page.locator("select[name=type]").select_option("PROTOBUF")
    expect(page.locator("table.subjects tbody a")).to_have_text(["payments-value"])
    page.locator("select[name=type]").select_option("")
    page.locator("select[name=sort]").select_option("changed")
    expect(page.locator("table.subjects tbody a").first).to_have_text(re.compile(r"^bulk-05\d-value$"))  # newest first
    page.locator("select[name=sort]").select_option("name")
    page.locator("#q").fill("retired")
    expect(page.locator(".count")).to_have_text("No subject matches.")
    page.get_by_label("soft-deleted").check()
    expect(page.locator("table.subjects tbody tr.deleted a")).to_have_text("retired-value")

    page.goto("/ui/subjects?q=bulk")
    expect(page.locator(".count")).to_have_text("1–50 of 60 subjects")
    page.get_by_role("link", name="Next ›").click()
    expect(page.locator(".count")).to_have_text("51–60 of 60 subjects")
    expect(page.locator("table.subjects tbody a").first).to_have_text("bulk-050-value")
    page.get_by_role("link", name="bulk-055-value").click()
    expect(page.locator("h1")).to_have_text("bulk-055-value")
    page.go_back()  # the back button returns to the same page of the same search
    expect(page).to_have_url(re.compile(r"q=bulk&page=2$"))
    expect(page.locator(".count")).to_have_text("51–60 of 60 subjects")


def test_subjects_page_works_without_javascript_and_at_phone_width(browser: Browser, server: SecureServer) -> None:
    ctx = browser.new_context(base_url=server.url, java_script_enabled=False, viewport={"width": 390, "height": 844},
                              extra_http_headers={"Authorization": basic(ADMIN)})
    try:
        page = ctx.new_page()
        page.goto("/ui/subjects")  # HTTP Basic credentials sign in as well
        expect(page.locator("header .user")).to_have_text("admin")
        page.locator("#q").fill("payments")
        page.locator("#q").press("Enter")  # without the script the form submits
        expect(page).to_have_url(re.compile(r"q=payments"))
        expect(page.locator("table.subjects tbody a")).to_have_text(["payments-value"])
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the subjects page scrolls sideways at phone width ({width}px)"
        shot(page, "subjects-phone")
    finally:
        ctx.close()


# -- a subject, a version ---------------------------------------------------------------------------


def test_subject_page_timeline_levels_references_metadata(context: BrowserContext, server: SecureServer) -> None:
    page = sign_in(context, target="/ui/subjects/orders-value")
    expect(page.locator("h1")).to_have_text("orders-value")
    timeline = page.locator("ol.timeline li")
    expect(timeline).to_have_count(2)
    expect(timeline.first).to_contain_text("v2")
    expect(timeline.first.locator(".size")).to_have_text("+5 −0")  # the currency field's lines
    expect(timeline.first).to_contain_text("diff with v1")
    expect(page.locator("#effective-level")).to_have_text("BACKWARD")
    expect(page.locator("#effective-level + .muted")).to_have_text("from server default")
    expect(page.locator("#effective-mode")).to_have_text("READWRITE")
    expect(page.get_by_role("region", name="metadata", exact=True)).to_contain_text("team-orders")
    expect(page.get_by_role("region", name="rule set", exact=True)).to_contain_text("message.amount > 0")
    shot(page, "subject")

    page.goto("/ui/subjects/invoices-value")
    page.get_by_role("link", name="money v1").click()
    expect(page).to_have_url(re.compile(r"/ui/subjects/money/versions/1$"))
    page.goto("/ui/subjects/money")
    expect(page.locator("section", has=page.locator("#refs-h")).get_by_role("link", name="invoices-value v1")).to_be_visible()


def test_version_page_highlighting_ids_forms_copy_and_download(context: BrowserContext, server: SecureServer) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = sign_in(context, target="/ui/subjects/orders-value/versions/2")
    expect(page.locator("h1")).to_contain_text("v2")
    schema_id = httpx.get(f"{server.url}/subjects/orders-value/versions/2", auth=ADMIN).json()["id"]
    expect(page.locator("#schema-id")).to_have_text(str(schema_id))
    expect(page.locator("#schema-guid")).to_have_text(re.compile(r"^[0-9a-f-]{36}$"))
    expect(page.locator(".code .t-key").first).to_have_text('"type"')  # highlighted tokens
    expect(page.locator(".code tr")).to_have_count(len(json.dumps(ORDER_V2, indent=2).splitlines()))
    shot(page, "version")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert json.loads(page.evaluate("navigator.clipboard.readText()")) == ORDER_V2
    page.get_by_role("link", name="raw").click()
    stored = httpx.get(f"{server.url}/subjects/orders-value/versions/2/schema", auth=ADMIN).text
    expect(page.locator(".code tr")).to_have_count(1)  # the stored form is one line
    assert page.locator(".code td.src").inner_text() == stored
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    assert Path(download.value.path()).read_text() == stored
    page.get_by_role("link", name="normalized").click()
    expect(page.locator(".code")).to_contain_text('"currency"')

    page.goto("/ui/subjects/payments-value/versions/2")
    expect(page.locator(".code .t-kw", has_text="message")).to_have_count(1)
    expect(page.locator(".code .t-type", has_text="int64")).to_have_count(1)


# -- diff -----------------------------------------------------------------------------------------------


def test_diff_is_shareable_aligned_and_shows_messages_at_their_lines(context: BrowserContext) -> None:
    page = sign_in(context, target="/ui/subjects/orders-value")
    page.get_by_role("button", name="Compare").click()
    expect(page).to_have_url(re.compile(r"/ui/subjects/orders-value/diff/1\.\.2$"))
    expect(page.locator(".verdict h2")).to_contain_text("v2 is compatible with v1 under BACKWARD")
    inserted = page.locator("tr.d-insert td.new")
    expect(inserted).to_have_count(5)  # the new field's five lines, the old side left empty
    expect(page.locator("tr.d-insert td.empty")).to_have_count(5)
    page.locator("select[name=level]").select_option("FORWARD_TRANSITIVE")
    page.locator("#diff-form button").click()
    expect(page.locator(".verdict h2")).to_contain_text("compatible with v1 under FORWARD_TRANSITIVE")

    page.goto("/ui/subjects/orders-key/diff/1..1?level=FULL")
    expect(page.locator(".verdict h2")).to_contain_text("compatible")


def test_diff_of_a_breaking_change_highlights_the_lines_of_each_message(context: BrowserContext, server: SecureServer) -> None:
    breaking = {**ORDER_V2, "fields": [{"name": "id", "type": "string"}, *ORDER_V2["fields"][1:]]}
    register(server.url, "shipments-value", ORDER_V2)
    httpx.put(f"{server.url}/config/shipments-value", json={"compatibility": "NONE"}, auth=ADMIN).raise_for_status()
    register(server.url, "shipments-value", breaking)
    page = sign_in(context, target="/ui/subjects/shipments-value/diff/1..2?level=FULL")
    expect(page.locator(".verdict h2")).to_contain_text("v2 is not compatible with v1 under FULL")
    flagged = page.locator("tr.flagged")
    expect(flagged).to_have_count(1)  # both directions are about the same field
    expect(flagged.locator("td.new")).to_contain_text('"name": "id"')
    expect(page.locator("tr.d-replace mark")).to_have_text(["long", "string"])  # the changed words of the line
    notes = page.locator("tr.note-row .note")
    expect(notes).to_have_count(2)
    expect(notes.nth(0).locator(".msg")).to_have_text('Field "id" on record "shop.Order" changed type from "long" to "string".')
    expect(notes.nth(0).locator(".confluent")).to_contain_text("reader type: LONG not compatible with writer type: STRING")
    expect(page.locator(".verdict .notes a.where").first).to_have_text(re.compile(r"v[12] line 7:7"))
    shot(page, "diff")
    page.set_viewport_size({"width": 1100, "height": 760})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / "diff-readme.png"))  # docs/console-diff.png is this one


# -- try a change and register -----------------------------------------------------------------------


def test_try_a_change_compatible_then_breaking_then_register(context: BrowserContext, server: SecureServer) -> None:
    page = sign_in(context, ORDERS, target="/ui/subjects/orders-value/try")
    editor = page.locator("#schema")
    assert json.loads(editor.input_value()) == ORDER_V2  # starts from the latest version
    compatible = {**ORDER_V2, "fields": [*ORDER_V2["fields"], {"name": "note", "type": ["null", "string"], "default": None}]}
    editor.fill(json.dumps(compatible, indent=2))
    page.get_by_role("button", name="Check under every level").click()
    verdicts = page.locator("table.verdicts tbody tr")
    expect(verdicts).to_have_count(7)
    for level in ("BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE", "NONE"):
        expect(page.locator(f"#level-{level} .verdict-cell")).to_have_text("compatible")

    breaking = {**ORDER_V2, "fields": [{"name": "id", "type": "string"}, ORDER_V2["fields"][2]]}
    page.locator("#schema").fill(json.dumps(breaking, indent=2))
    page.get_by_role("button", name="Check under every level").click()
    expect(page.locator("#level-BACKWARD .verdict-cell")).to_have_text("breaking")
    expect(page.locator("#level-BACKWARD")).to_have_class(re.compile(r"\beffective\b"))
    expect(page.locator("#level-NONE .verdict-cell")).to_have_text("compatible")
    backward = page.locator("#level-BACKWARD .notes li")
    expect(backward).to_have_count(1)
    expect(backward.locator("a.where")).to_have_text("line 7:7")  # the id field in the pasted text
    expect(backward.locator(".msg")).to_have_text('Field "id" on record "shop.Order" changed type from "long" to "string".')
    forward = page.locator("#level-FORWARD .notes li")
    expect(forward.filter(has_text="READER_FIELD_MISSING_DEFAULT_VALUE").locator("a.where")).to_have_text("v2 line 11:7")  # the removed amount field in v2
    expect(page.locator("#P7")).to_have_class("flagged")
    shot(page, "try-breaking")
    # The server refuses to register it under BACKWARD: the console shows Confluent's 409.
    page.get_by_role("button", name=re.compile("Register as a new version")).click()
    expect(page.locator(".error")).to_contain_text("Schema being registered is incompatible")

    page.goto("/ui/subjects/orders-value/try")
    page.locator("#schema").fill(json.dumps(compatible, indent=2))
    page.get_by_role("button", name="Check under every level").click()
    page.get_by_role("button", name=re.compile("Register as a new version")).click()
    expect(page).to_have_url(re.compile(r"/ui/subjects/orders-value/versions/3\?done=registered$"))
    expect(page.locator(".notice")).to_have_text("Registered.")
    latest = httpx.get(f"{server.url}/subjects/orders-value/versions/latest", auth=ADMIN).json()
    assert latest["version"] == 3 and json.loads(latest["schema"])["fields"][-1]["name"] == "note"


def test_try_a_change_loads_a_file_and_reports_an_invalid_schema(context: BrowserContext, tmp_path: Path) -> None:
    page = sign_in(context, target="/ui/subjects/payments-value/try")
    proto = tmp_path / "payment.proto"
    proto.write_text(PAYMENT_PROTO.replace("int64 cents = 2;", "string cents = 2;"))
    page.locator("#schema-file").set_input_files(str(proto))
    expect(page.locator("#schema")).to_have_value(re.compile("string cents = 2;"))
    page.get_by_role("button", name="Check under every level").click()
    expect(page.locator("#level-BACKWARD .verdict-cell")).to_have_text("breaking")
    expect(page.locator("#level-BACKWARD a.where").first).to_have_text("line 6:3")
    page.locator("#schema").fill("message {")
    page.get_by_role("button", name="Check under every level").click()
    expect(page.locator(".error")).to_contain_text("Invalid schema")


# -- settings -----------------------------------------------------------------------------------------


def test_settings_level_mode_soft_and_hard_delete(context: BrowserContext, server: SecureServer) -> None:
    register(server.url, "orders-settings", ORDER_V1)
    register(server.url, "orders-settings", ORDER_V2)
    page = sign_in(context, ORDERS, target="/ui/subjects/orders-settings")
    page.locator("#level-form select").select_option("FULL_TRANSITIVE")
    page.locator("#level-form button").click()
    expect(page.locator(".notice")).to_have_text("Compatibility level saved.")
    expect(page.locator("#effective-level")).to_have_text("FULL_TRANSITIVE")
    expect(page.locator("#effective-level + .muted")).to_have_text("from subject")
    assert httpx.get(f"{server.url}/config/orders-settings", auth=ADMIN).json()["compatibilityLevel"] == "FULL_TRANSITIVE"
    page.locator("#mode-form select").select_option("READONLY")
    page.locator("#mode-form button").click()
    expect(page.locator("#effective-mode")).to_have_text("READONLY")
    assert httpx.get(f"{server.url}/mode/orders-settings", auth=ADMIN).json()["mode"] == "READONLY"
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#v2 button.danger").click()  # read-only: the service refuses, the console says why
    expect(page.locator(".error")).to_contain_text("read-only mode")
    page.goto("/ui/subjects/orders-settings")
    page.locator("#mode-form select").select_option("")
    page.locator("#mode-form button").click()
    expect(page.locator("#effective-mode + .muted")).to_have_text("from server default")
    page.locator("#v2 button.danger").click()
    expect(page.locator(".notice")).to_have_text("Version deleted.")
    expect(page.locator("#v2")).to_have_class("deleted")
    assert httpx.get(f"{server.url}/subjects/orders-settings/versions", auth=ADMIN).json() == [1]
    page.locator("#v2 button.danger", has_text="Hard delete").click()
    expect(page.locator("#v2")).to_have_count(0)
    versions = httpx.get(f"{server.url}/subjects/orders-settings/versions?deleted=true", auth=ADMIN).json()
    assert versions == [1]


# -- access -------------------------------------------------------------------------------------------


def test_login_rules_and_403(context: BrowserContext, server: SecureServer) -> None:
    page = context.new_page()
    page.goto("/ui/subjects/orders-value")
    expect(page).to_have_url(re.compile(r"/ui/login\?next=%2Fui%2Fsubjects%2Forders-value$"))
    page.get_by_label("User").fill("reader")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".error")).to_have_text("Wrong user name or password.")
    shot(page, "login")
    page.get_by_label("User").fill(READER[0])
    page.get_by_label("Password").fill(READER[1])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/ui/subjects/orders-value$"))  # back where they were going
    expect(page.locator("#level-form")).to_have_count(0)  # read only: no settings forms
    expect(page.locator("button.danger")).to_have_count(0)
    page.goto("/ui/subjects")
    expect(page.locator("table.subjects tbody a")).to_have_text(["orders-key", "orders-value", "payments-value"])
    response = page.goto("/ui/subjects/customers-value")
    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_have_text("Not permitted")
    response = page.goto("/ui/subjects/customers-value/diff/1..1")
    assert response is not None and response.status == 403
    # A write the reader has no right to, with a valid token: refused by the access rule.
    page.goto("/ui/subjects/orders-value")
    forged = page.request.post("/ui/subjects/orders-value/config", form={"csrf": csrf_of(page), "level": "NONE"})
    assert forged.status == 403
    assert httpx.get(f"{server.url}/config/orders-value", auth=ADMIN).status_code == 404  # nothing changed
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/ui/login"))
    page.goto("/ui/subjects")
    expect(page).to_have_url(re.compile(r"/ui/login"))
    unauthenticated = httpx.get(f"{server.url}/ui/subjects", auth=("admin", "wrong"))
    assert unauthenticated.status_code == 303


def test_forms_without_the_right_csrf_token_are_refused(context: BrowserContext, browser: Browser, server: SecureServer) -> None:
    page = sign_in(context, target="/ui/subjects/orders-key")
    for token in ("", "forged", None):
        form = {"level": "NONE"} if token is None else {"csrf": token, "level": "NONE"}
        response = page.request.post("/ui/subjects/orders-key/config", form=form)
        assert response.status == 403
        assert "CSRF check failed" in response.text()
    # A token from another session (another browser) does not work either.
    other = browser.new_context(base_url=server.url)
    try:
        other_page = sign_in(other, target="/ui/subjects/orders-key")
        stolen = csrf_of(other_page)
    finally:
        other.close()
    assert page.request.post("/ui/subjects/orders-key/config", form={"csrf": stolen, "level": "NONE"}).status == 403
    # A page of another origin posting into the console: the SameSite cookie is not sent, the token is missing.
    attacker = page.context.new_page()
    attacker.set_content(
        f'<form method="post" action="{server.url}/ui/subjects/orders-key/config"><input name="level" value="NONE">'
        '<button>go</button></form>'
    )
    with attacker.expect_navigation():
        attacker.locator("button").click()
    # Lax: the cookie is not sent with another site's POST, so the console asks who it is, then shows the subjects.
    expect(attacker.locator("h1")).to_have_text("Subjects")
    assert httpx.get(f"{server.url}/config/orders-key", auth=ADMIN).status_code == 404  # nothing changed
    good = page.request.post("/ui/subjects/orders-key/config", form={"csrf": csrf_of(page), "level": "NONE"})
    assert good.ok and httpx.get(f"{server.url}/config/orders-key", auth=ADMIN).json()["compatibilityLevel"] == "NONE"
    httpx.delete(f"{server.url}/config/orders-key", auth=ADMIN).raise_for_status()


def test_xss_through_a_doc_string_and_a_subject_name_stays_text(context: BrowserContext) -> None:
    page = sign_in(context)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.locator("#q").fill("onerror")
    expect(page.locator(".count")).to_have_text("1–1 of 1 subject")
    link = page.locator("table.subjects tbody a")
    expect(link).to_have_text(XSS_SUBJECT)  # shown as text
    link.click()
    expect(page.locator("h1")).to_have_text(XSS_SUBJECT)
    page.get_by_role("link", name="Latest schema").click()
    expect(page.locator(".code")).to_contain_text("window.__xss")  # the doc string, as text
    page.get_by_role("link", name="raw").click()
    page.goto(page.url.split("/versions/")[0] + "/try")
    page.get_by_role("button", name="Check under every level").click()
    expect(page.locator("#level-NONE .verdict-cell")).to_have_text("compatible")
    assert page.evaluate("window.__xss") is None
    assert page.locator("img").count() == 0 and page.locator("main script").count() == 0
    assert dialogs == []
    headers = httpx.get(str(page.url), auth=ADMIN).headers
    assert "script-src 'self'" in headers["content-security-policy"]
