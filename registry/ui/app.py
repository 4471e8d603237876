"""The console's ASGI app: routes, sign-in, CSRF and rendering.

Mounted at ``/ui`` by :func:`registry.http.app.create_app`. It routes on the raw
path with the API's :class:`~registry.http.routing.Router` (a subject may hold
``/``, sent as ``%2F``), signs users in with the API's users and rules (a login
form, or HTTP Basic), and answers HTML rendered by Jinja2 with autoescaping on.
Every page carries a strict Content-Security-Policy: no inline script or style,
nothing from another origin.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable
from importlib import resources
from urllib.parse import parse_qsl, quote, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from .. import config as cfg
from ..access.caller import ANYONE, Caller
from ..errors import BadRequest, Forbidden, PayloadTooLarge, RegistryError, Unauthenticated
from ..formats import DEFAULT_SCHEMA_TYPE, SCHEMA_TYPES, format_entry
from ..http.api import parse_register_request
from ..http.routing import Router
from ..service import Registry
from ..subjects import parse_subject
from . import pages
from .listing import PAGE_SIZE, Query, SubjectListing
from .session import ANONYMOUS_COOKIE, SESSION_COOKIE, Session, Sessions

log = logging.getLogger("schemahub.console")

PREFIX = "/ui"
MAX_FORM_BYTES = 4 * 1024 * 1024
STATIC = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}
NOTICES = {
    "registered": "Registered.",
    "level": "Compatibility level saved.",
    "mode": "Mode saved.",
    "deleted": "Version deleted.",
    "signed-out": "Signed out.",
}

Handler = Callable[["Call"], Awaitable[Response]]


class Call:
    """One console request: the request, its route parameters, the session and the caller."""

    def __init__(self, request: Request, params: dict[str, str], session: Session, caller: Caller) -> None:
        self.request = request
        self.params = params
        self.session = session  # the one whose nonce the forms' CSRF tokens use
        self.caller = caller
        self.cookies: dict[str, Session | None] = {}  # cookies to set (None: to clear) with the answer

    def query(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)


def subject_url(subject: str, *rest: str) -> str:
    return "/".join([f"{PREFIX}/subjects/{quote(subject, safe='')}", *rest])


def safe_next(target: str | None) -> str:
    """A place inside the console to go back to after signing in; the subjects page otherwise."""
    if target and target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX + "/subjects"


class Console:
    def __init__(self, registry: Registry, guard=None) -> None:
        self.registry = registry
        self.guard = guard
        self.sessions = Sessions()
        self.listing = SubjectListing(registry.state)
        self.index_built = threading.Event()
        self.router = Router()
        self.templates = Environment(
            loader=PackageLoader("registry.ui", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.globals.update(
            subject_url=subject_url, prefix=PREFIX, when=pages.when, context_label=pages.context_label, quote=quote
        )
        self._add_routes()

    # -- plumbing --------------------------------------------------------------------------

    def build_index_in_background(self) -> None:
        """Build the subject index now rather than on the first page (seconds on a large registry);
        ``index_built`` is set once it is. Started when the server starts serving: built during
        the start, it took the interpreter from the start's own work half the time."""

        def build() -> None:
            self.listing.index()
            self.index_built.set()

        threading.Thread(target=build, name="console-index", daemon=True).start()

    def route(self, method: str, template: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            async def adapted(request: Request, params: dict[str, str]) -> Response:
                call: Call = request.scope["schemahub.console"]
                call.params = params
                return await handler(call)

            self.router.add(method, template, adapted)
            return handler

        return register

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        raw = (scope.get("raw_path") or scope["path"].encode("utf-8")).split(b"?", 1)[0]
        path = raw[len(PREFIX) :] if raw.startswith(PREFIX.encode()) else raw
        if path in (b"", b"/"):
            response: Response = RedirectResponse(PREFIX + "/subjects", status_code=303)
        elif path.startswith(b"/static/"):
            response = self.static(path[len(b"/static/") :].decode("latin-1"))
        else:
            response = await self.dispatch(request, path)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        await response(scope, receive, send)

    def static(self, name: str) -> Response:
        if name not in STATIC:
            return Response("Not found", status_code=404, media_type="text/plain")
        body = resources.files("registry.ui").joinpath("static", name).read_bytes()
        return Response(body, media_type=STATIC[name], headers={"cache-control": "max-age=3600"})

    async def dispatch(self, request: Request, path: bytes) -> Response:
        anonymous = self.sessions.decode(request.cookies.get(ANONYMOUS_COOKIE))
        route, params, known = self.router.resolve(request.method, path)
        nobody = ANYONE if self.guard is None else Caller(None, self.guard.config)
        call = Call(request, params, anonymous or self.sessions.new(), nobody)
        if anonymous is None and request.method in ("GET", "HEAD"):
            call.cookies[ANONYMOUS_COOKIE] = call.session
        request.scope["schemahub.console"] = call
        try:
            await self.identify(call)
            if route is None:
                raise RegistryError("Page not found", code=404, status=405 if known else 404)
            if route.template != "/login" and not self.signed_in(call):
                target = PREFIX + path.decode("latin-1")  # a form post is not replayed: back to the subjects
                if request.method not in ("GET", "HEAD"):
                    target = PREFIX + "/subjects"
                elif request.url.query:
                    target += "?" + request.url.query
                response: Response = RedirectResponse(f"{PREFIX}/login?{urlencode({'next': target})}", status_code=303)
            else:
                response = await route.handler(request, params)
        except RegistryError as exc:
            response = self.error_page(call, exc)
        except Exception:
            log.exception("console error on %s %s", request.method, request.url.path)
            response = self.error_page(call, RegistryError("Internal error"))
        for name, session in call.cookies.items():
            if session is None:
                response.delete_cookie(name, path=PREFIX + "/")
                continue
            response.set_cookie(
                name, self.sessions.encode(session), max_age=self.sessions.lifetime, path=PREFIX + "/",
                httponly=True, samesite="lax", secure=request.url.scheme == "https",
            )
        return response

    async def identify(self, call: Call) -> None:
        """Who is calling: the user signed in with the form, else valid HTTP Basic credentials
        (checked by the API's guard: remembered, throttled, 429 when locked out)."""
        if self.guard is None:
            return
        request = call.request
        signed = self.sessions.decode(request.cookies.get(SESSION_COOKIE))
        if signed is not None and signed.user is not None and signed.user in self.guard.config.users:
            call.session, call.caller = signed, Caller(signed.user, self.guard.config)
            return
        if request.headers.get("authorization"):
            try:
                call.caller = await self.guard.authenticate(request)
            except Unauthenticated:
                pass  # the login form follows

    def signed_in(self, call: Call) -> bool:
        return self.guard is None or call.caller.user is not None

    def render(self, call: Call, template: str, status: int = 200, **context: object) -> HTMLResponse:
        html = self.templates.get_template(template).render(
            user=call.caller.user,
            auth=self.guard is not None,
            basic=call.caller.user is not None and call.session.user is None,
            csrf=self.sessions.csrf_token(call.session, call.caller.user),
            notice=NOTICES.get(call.query("done")),
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def error_page(self, call: Call, exc: RegistryError) -> HTMLResponse:
        status = exc.status if 400 <= exc.status < 600 else 500
        titles = {403: "Not permitted", 404: "Not found", 401: "Sign in needed"}
        return self.render(call, "error.html", status, title=titles.get(status, "Error"), message=exc.message)

    async def form(self, call: Call) -> dict[str, str]:
        """The urlencoded body of a POST, after its CSRF token checks out (403 otherwise)."""
        request = call.request
        media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if media != "application/x-www-form-urlencoded":
            raise BadRequest("Forms are sent as application/x-www-form-urlencoded")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_FORM_BYTES:
                raise PayloadTooLarge(f"Form larger than {MAX_FORM_BYTES} bytes")
            chunks.append(chunk)
        try:
            fields = dict(parse_qsl(b"".join(chunks).decode("utf-8"), keep_blank_values=True, max_num_fields=50))
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("Malformed form") from None
        if not self.sessions.csrf_ok(call.session, call.caller.user, fields.get("csrf")):
            raise Forbidden("The form expired or did not come from this console (CSRF check failed): reload and retry")
        return fields

    def writable(self) -> None:
        """Changes go to the leader: a follower's console does not write."""
        if not self.registry.store.is_leader():
            raise RegistryError("This node is a follower: make changes in the leader's console", code=50004, status=503)

    # -- pages -----------------------------------------------------------------------------

    def _add_routes(self) -> None:
        registry = self.registry
        route = self.route

        @route("GET", "/login")
        async def login_form(call: Call) -> Response:
            if self.guard is None or call.caller.user is not None:
                return RedirectResponse(safe_next(call.query("next")), status_code=303)
            return self.render(call, "login.html", next=safe_next(call.query("next")), error=None)

        @route("POST", "/login")
        async def login(call: Call) -> Response:
            fields = await self.form(call)
            target = safe_next(fields.get("next"))
            if self.guard is None:
                return RedirectResponse(target, status_code=303)
            user, password = fields.get("user", ""), fields.get("password", "")
            client = call.request.scope.get("client")
            address = client[0] if client else ""
            if not user or not await self.guard.passwords.check(user, password, address):
                return self.render(call, "login.html", 401, next=target, error="Wrong user name or password.")
            call.cookies[SESSION_COOKIE] = self.sessions.new(user)
            return RedirectResponse(target, status_code=303)

        @route("POST", "/logout")
        async def logout(call: Call) -> Response:
            await self.form(call)
            call.cookies[SESSION_COOKIE] = None
            call.cookies[ANONYMOUS_COOKIE] = self.sessions.new()
            return RedirectResponse(f"{PREFIX}/login?done=signed-out", status_code=303)

        @route("GET", "/subjects")
        async def subjects(call: Call) -> Response:
            query = Query(
                text=call.query("q")[:200],
                schema_type=call.query("type") if call.query("type") in SCHEMA_TYPES else "",
                context=call.query("context")[:200],
                sort="changed" if call.query("sort") == "changed" else "name",
                deleted=call.query("deleted") in ("1", "on", "true"),
                page=_int(call.query("page"), 1),
            )
            caller = call.caller
            may_read = caller.may_read if caller.restricted else None
            found = await run_in_threadpool(self.listing.search, query, caller.user, may_read)
            contexts = await run_in_threadpool(self.listing.contexts, caller.user, may_read)
            params = {"q": query.text, "type": query.schema_type, "context": query.context, "sort": query.sort}
            if query.deleted:
                params["deleted"] = "1"
            base = {k: v for k, v in params.items() if v and not (k == "sort" and v == "name")}
            template = "subjects_results.html" if call.request.headers.get("x-console-fragment") else "subjects.html"
            return self.render(
                call, template, query=query, found=found, contexts=contexts, types=SCHEMA_TYPES,
                page_size=PAGE_SIZE, base_query=urlencode(base),
            )

        @route("GET", "/subjects/{subject}")
        async def subject(call: Call) -> Response:
            deleted = call.query("deleted") in ("1", "on", "true")
            context = await run_in_threadpool(
                pages.subject_page, registry, call.caller, call.params["subject"], deleted=deleted
            )
            return self.render(call, "subject.html", **context)

        @route("GET", "/subjects/{subject}/versions/{version}")
        async def version(call: Call) -> Response:
            p = call.params
            context = await run_in_threadpool(
                pages.version_page, registry, call.caller, p["subject"], p["version"], call.query("form")
            )
            return self.render(call, "version.html", **context)

        @route("GET", "/subjects/{subject}/versions/{version}/download")
        async def download(call: Call) -> Response:
            p = call.params
            pages.require(call.caller, "read", p["subject"])
            record = registry.get_version(p["subject"], p["version"], deleted=True)
            form = call.query("form") if call.query("form") in pages.FORMS else "raw"
            text = await run_in_threadpool(pages.schema_form, registry, record, form)
            entry = format_entry(record.schema_type)
            extension = entry.extensions[0].lstrip(".") if entry is not None else "txt"
            name = f"{parse_name(record.subject)}-v{record.version}.{extension}"
            disposition = f"attachment; filename=\"schema.{extension}\"; filename*=UTF-8''{quote(name, safe='')}"
            return Response(text, media_type="text/plain; charset=utf-8", headers={"content-disposition": disposition})

        @route("GET", "/subjects/{subject}/diff")
        async def diff_picker(call: Call) -> Response:
            first, second = call.query("from"), call.query("to")
            if not first or not second:
                raise BadRequest("Choose two versions")
            url = subject_url(call.params["subject"], "diff", f"{quote(first, safe='')}..{quote(second, safe='')}")
            level = call.query("level")
            return RedirectResponse(url + (f"?{urlencode({'level': level})}" if level else ""), status_code=303)

        @route("GET", "/subjects/{subject}/diff/{range}")
        async def diff(call: Call) -> Response:
            first, second = pages.parse_range(call.params["range"])
            context = await run_in_threadpool(
                pages.diff_page, registry, call.caller, call.params["subject"], first, second, call.query("level")
            )
            return self.render(call, "diff.html", **context)

        @route("GET", "/subjects/{subject}/try")
        async def try_form(call: Call) -> Response:
            context = await run_in_threadpool(pages.try_page, registry, call.caller, call.params["subject"])
            return self.render(call, "try.html", **context)

        @route("POST", "/subjects/{subject}/try")
        async def try_change(call: Call) -> Response:
            subject = call.params["subject"]
            fields = await self.form(call)
            context = await run_in_threadpool(pages.try_page, registry, call.caller, subject)
            request = parse_register_request(self._register_body(fields, context["latest"]))
            trial = await run_in_threadpool(pages.trial, registry, call.caller, subject, request)
            context.update(schema_type=request.schema_type, text=request.schema, trial=trial)
            return self.render(call, "try.html", **context)

        @route("POST", "/subjects/{subject}/register")
        async def register(call: Call) -> Response:
            subject = call.params["subject"]
            fields = await self.form(call)
            pages.require(call.caller, "write", subject)
            self.writable()
            latest = pages.latest_live(registry, subject)
            request = parse_register_request(self._register_body(fields, latest))
            record = await run_in_threadpool(registry.register, subject, request, caller=call.caller)
            url = subject_url(record.subject, "versions", str(record.version))
            return RedirectResponse(url + "?done=registered", status_code=303)

        @route("POST", "/subjects/{subject}/config")
        async def set_level(call: Call) -> Response:
            subject = call.params["subject"]
            fields = await self.form(call)
            pages.require(call.caller, "config", subject)
            self.writable()
            level = fields.get("level", "")
            if level:
                await run_in_threadpool(registry.set_config, subject, {"compatibility": cfg.parse_level(level)})
            elif cfg.config_key(subject) in registry.state.configs:
                await run_in_threadpool(registry.delete_config, subject)
            return RedirectResponse(subject_url(subject) + "?done=level", status_code=303)

        @route("POST", "/subjects/{subject}/mode")
        async def set_mode(call: Call) -> Response:
            subject = call.params["subject"]
            fields = await self.form(call)
            pages.require(call.caller, "config", subject)
            self.writable()
            mode = fields.get("mode", "")
            if mode:
                await run_in_threadpool(registry.set_mode, subject, mode)
            elif cfg.config_key(subject) in registry.state.modes:
                await run_in_threadpool(registry.delete_mode, subject)
            return RedirectResponse(subject_url(subject) + "?done=mode", status_code=303)

        @route("POST", "/subjects/{subject}/versions/{version}/delete")
        async def delete_version(call: Call) -> Response:
            p = call.params
            fields = await self.form(call)
            pages.require(call.caller, "delete", p["subject"])
            self.writable()
            permanent = fields.get("permanent") == "1"
            await run_in_threadpool(registry.delete_version, p["subject"], p["version"], permanent=permanent)
            remaining = registry.state.subjects.get(parse_subject(p["subject"]).qualified)
            if remaining is None:
                return RedirectResponse(f"{PREFIX}/subjects?done=deleted", status_code=303)
            return RedirectResponse(subject_url(p["subject"]) + "?deleted=1&done=deleted", status_code=303)

    def _register_body(self, fields: dict[str, str], latest) -> dict:
        """The API's register body from a form: the schema, its type, and the latest version's references."""
        schema_type = fields.get("schemaType", DEFAULT_SCHEMA_TYPE).upper()
        references = [r.to_json() for r in latest.references] if latest is not None else []
        schema = fields.get("schema", "").replace("\r\n", "\n")  # browsers send form line breaks as CRLF
        return {"schema": schema, "schemaType": schema_type, "references": references}


def parse_name(subject: str) -> str:
    return parse_subject(subject).name


def _int(text: str, default: int) -> int:
    return int(text) if text.isdigit() and len(text) < 9 else default
