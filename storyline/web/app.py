"""The web application: pages and the JSON API over one store, safe to run beside `watch`."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import queue
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, AsyncIterator
from urllib.parse import urlsplit

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..corrections import CorrectionError
from ..settings import Settings, load as load_settings
from ..sqlite import sqlite3
from ..store import Store
from . import charts, present
from .balance import BOARD_VARIABLE, Balancer, Board

log = logging.getLogger("storyline.web")

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
HOST_VARIABLE = "STORYLINE_SERVE_HOST"  # the bind address, for worker processes (`serve --workers`)
# Article texts are untrusted: no script at all, styles and images only from here, forms only to here.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True)
class WebOptions:
    """How the app is served."""

    host: str = "127.0.0.1"
    port: int = 8000
    pool_size: int = 8
    allowed_hosts: tuple[str, ...] = ()  # Host names answered besides loopback and the bound address (setting allowed_hosts)
    board: str | None = None  # one of several worker processes: the folder where they post their clients (balance.py)
    threads: int = 0  # threads answering requests at once in this process (0: anyio's default, 40)


# Worker processes share the cores, and within one, further threads only wait for its interpreter
# lock, and hold up its event loop: with 8 clients on `serve --workers 2` over 100,000 articles, 2
# threads a worker against the default 40 gave search p95 63.9-75.8 ms against 76.4-87.7 (three
# interleaved rounds). Two, not one, so a slow request does not hold a worker's every other client.
WORKER_THREADS = 2


class StorePool:
    """Connections to one database, one per concurrent request (a sqlite3 connection is not for sharing)."""

    def __init__(self, path: str, size: int) -> None:
        self.path = path
        self.size = size  # idle connections kept; more open while more requests run at once
        self._free: queue.LifoQueue[Store] = queue.LifoQueue()

    def idle(self) -> Store | None:
        """A free store, if there is one (never a wait)."""
        # Taking never waits for a store: a request waiting for one held up the requests that held
        # the stores (10 requests at once with 2 threads and 8 stores deadlocked).
        try:
            return self._free.get_nowait()
        except queue.Empty:
            return None

    def open(self) -> Store:
        """A new store (opening may wait for a lock: not for the event loop)."""
        store = Store(self.path)
        store.keep_search_scratch()
        return store

    def give_back(self, store: Store) -> None:
        """Return a store after a request: kept while fewer than `size` are idle, else closed."""
        if store.db.in_transaction:  # a failed request must not leave a lock behind
            store.db.execute("ROLLBACK")
        if self._free.qsize() < self.size:
            self._free.put(store)
        else:
            store.close()

    def close(self) -> None:
        """Close the idle connections."""
        while (store := self.idle()) is not None:
            store.close()


async def store_dep(request: Request) -> AsyncIterator[Store]:
    """The request's store; reads see one snapshot even while ingest commits."""
    # Async, so a pooled store is taken and given back on the event loop: a sync dependency cost two
    # hand-offs to the thread pool and back a request (an event page 1.07-1.48 against 0.72-0.86 ms
    # of CPU in one process). Only opening a new store, which may wait for the database, goes to a thread.
    pool: StorePool = request.app.state.pool
    store = pool.idle()
    if store is None:
        store = await anyio.to_thread.run_sync(pool.open)
    try:
        if request.method in ("GET", "HEAD"):
            with store.snapshot():
                yield store
        else:
            yield store
    finally:
        pool.give_back(store)


class PageEnvironment(Environment):
    """Jinja with `row.name` read as a key first when the row is a plain dict (as every page's rows are)."""

    _DICT_NAMES = frozenset(dir(dict))  # names Jinja would find on a dict itself, so they keep its meaning

    def getattr(self, obj: Any, attribute: str) -> Any:
        """`obj.attribute` in a template: Jinja tries getattr first, which fails on a dict (an exception each time)."""
        if type(obj) is dict and attribute not in self._DICT_NAMES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def templates() -> Environment:
    """The Jinja environment: autoescaped, so article text can never become markup."""
    # Reading dicts' keys first took the stories page's rendering from 1.77 to 1.25 ms in one process.
    env = PageEnvironment(
        loader=PackageLoader("storyline.web", "templates"), autoescape=True, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, auto_reload=False,  # the package's templates do not change under a server
    )
    env.globals.update(
        version=__version__, http_url=present.http_url, marked=present.marked, entity_links=present.entity_links,
        report_line=present.report_line, chart_svg=charts.chart_svg,
    )
    env.filters.update(paragraphs=present.paragraphs, when=present.when)
    return env


def is_api(request: Request) -> bool:
    """Whether a request is for the JSON API (errors answer in JSON there)."""
    return request.url.path.startswith("/api/")


HEAD_REQUEST = "storyline.head"  # the scope key Guard sets on a HEAD it passes on as a GET


def is_head(request: Request) -> bool:
    """Whether a request came as HEAD (Guard hands it to the routes as a GET)."""
    return bool(request.scope.get(HEAD_REQUEST))


class PastLastPage(StarletteHTTPException):
    """A page number beyond the last page of a listing: 404, with a link to the last page."""

    def __init__(self, request: Request, page: int, last: int) -> None:
        super().__init__(404, f"there is no page {page}: the last is page {last}")
        url = request.url.include_query_params(page=last)
        self.last_page = f"{url.path}?{url.query}"


def error_response(
    request: Request, status: int, detail: object, headers: dict[str, str] | None = None, last_page: str | None = None
) -> Response:
    """An error as JSON for the API, as a page elsewhere (with a link to `last_page` when a page number ran past it)."""
    if is_api(request):
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)
    env: Environment = request.app.state.templates
    message = detail if isinstance(detail, str) else "; ".join(_messages(detail))
    html = env.get_template("error.html").render(status=status, message=message, title=f"Error {status}", last_page=last_page)
    return HTMLResponse(html, status_code=status, headers=headers)


def _messages(errors: object) -> list[str]:
    """Readable lines from FastAPI's validation error list."""
    out = []
    for e in errors if isinstance(errors, list) else [errors]:
        if isinstance(e, dict):
            where = ".".join(str(p) for p in e.get("loc", ())[1:])
            out.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
        else:
            out.append(str(e))
    return out


def _same_origin(request: Request) -> bool:
    """Whether an unsafe request comes from our own pages (or from no page: curl, API clients)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True
    if origin == "null":
        return False
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    scope = {**request.scope, "path": request.url.path, "root_path": ""}  # a mount's 405 comes with its own root
    for router in request.app.state.routers:
        for route in router.routes:
            if route.matches(scope)[0] != Match.NONE:
                if isinstance(getattr(route, "app", None), StaticFiles):
                    methods.add("GET")  # the files answer GET and HEAD alone, and their 405 says nothing
                methods |= getattr(route, "methods", None) or set()
    if "GET" in methods:
        methods.add("HEAD")  # Guard answers HEAD wherever a route answers GET
    return ", ".join(sorted(methods))


def install_handlers(app: FastAPI) -> None:
    """Errors: 404 and 422 with a message, corrections' own statuses, 503 when the database is busy."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        last_page = exc.last_page if isinstance(exc, PastLastPage) else None
        return error_response(request, exc.status_code, exc.detail, headers, last_page)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        return error_response(request, 422, errors)

    @app.exception_handler(CorrectionError)
    async def bad_correction(request: Request, exc: CorrectionError) -> Response:
        return error_response(request, exc.status, str(exc))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        # Answered outside every middleware (Starlette's last resort), so the headers are set here.
        return error_response(request, 500, "internal error", dict(SECURITY_HEADERS))

    @app.exception_handler(sqlite3.OperationalError)
    async def busy(request: Request, exc: sqlite3.OperationalError) -> Response:
        if "locked" in str(exc) or "busy" in str(exc):
            return error_response(request, 503, "the database is busy (ingest running); try again")
        log.exception("database error", extra={"path": request.url.path})
        return error_response(request, 500, "internal error")


class Guard:
    """Security headers on every response; unsafe requests from other sites refused; clients spread over workers.

    With a `balancer` (one of several worker processes), an answer closes its connection when this
    worker is busy and serves more clients than another by the balancer's gap (see balance.py).
    """

    # Plain ASGI rather than Starlette's BaseHTTPMiddleware, which copies every response through a stream.
    def __init__(self, app: ASGIApp, balancer: Balancer | None = None) -> None:
        self.app = app
        self.balancer = balancer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request through the guard."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        balancer, client = self.balancer, scope.get("client")
        if balancer is not None:
            balancer.arrived(client)
        answered = False
        # FastAPI routes answer GET alone; HEAD (feed readers, link checkers) is that GET without its body.
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET", HEAD_REQUEST: True}

        async def with_headers(message: Message) -> None:
            """Add the security headers a response does not set itself."""
            nonlocal answered
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if balancer is not None and _shed(balancer, client):
                    headers["connection"] = "close"
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body") and not answered:
                # Sent: no longer in flight, though the app goes on (a dependency's cleanup runs after the
                # response), and the client's next request on this connection may already be here.
                answered = True
                if balancer is not None:
                    balancer.answered(client)

        request = Request(scope)
        try:
            if request.method not in ("GET", "HEAD", "OPTIONS") and not _same_origin(request):
                await error_response(request, 403, "cross-site request refused")(scope, receive, with_headers)
            else:
                await self.app(scope, receive, with_headers)
        finally:
            if not answered and balancer is not None:
                balancer.answered(client)


def _shed(balancer: Balancer, client: Any) -> bool:
    """Whether this answer closes its connection (balancing is an optimisation: it never fails a request)."""
    try:
        return balancer.shed(client)
    except Exception:
        log.exception("serving board failed")
        return False


def settle(env: Environment) -> None:
    """Compile every template, then spare what startup built from the collector's scans (gc.freeze)."""
    # A page makes thousands of short-lived objects, and each full collection would otherwise walk the
    # framework's hundred thousand long-lived ones again: milliseconds of every large page.
    for name in env.list_templates():
        env.get_template(name)
    gc.collect()
    gc.freeze()


def create_app(settings: Settings, options: WebOptions | None = None) -> FastAPI:
    """The ASGI app over the store named in `settings`."""
    from . import api, pages  # noqa: PLC0415 - they import this module's helpers

    options = options or WebOptions()
    Store(settings.db).close()  # create or migrate once, before requests race to
    pool = StorePool(settings.db, options.pool_size)
    balancer = Balancer(Board(Path(options.board))) if options.board else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if options.threads:
            anyio.to_thread.current_default_thread_limiter().total_tokens = options.threads
        settle(app.state.templates)
        posting = asyncio.get_running_loop().create_task(balancer.keep_posting()) if balancer else None
        yield
        pool.close()
        if posting is not None:
            posting.cancel()
            balancer.close()

    app = FastAPI(
        title="Storyline", version=__version__, openapi_url="/api/v1/openapi.json", docs_url=None, redoc_url=None,
        description="Stories, timelines, events, articles, search and corrections of a Storyline store.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.pool = pool
    app.state.templates = templates()
    install_handlers(app)

    extra = [h.strip() for h in settings.allowed_hosts.split(",") if h.strip()]
    # Refuse other Host names, so a DNS-rebinding page can neither read the store nor post its forms
    # (the forms' origin check compares with Host, which a rebound name passes). Inside the guard, so
    # the refusal carries the security headers too.
    names = host_names(options.host, [*options.allowed_hosts, *extra])
    app.add_middleware(HostCheck, names=frozenset(names), local_addresses=options.host in WILDCARDS)
    app.add_middleware(Guard, balancer=balancer)
    app.state.routers = (api.router, pages.router, app.router)  # app.router holds the mounted files
    for router in app.state.routers[:2]:
        app.include_router(router)
    app.mount("/static", StaticFiles(packages=[("storyline.web", "static")]), name="static")
    return app


WILDCARDS = ("0.0.0.0", "::", "[::]", "")


def host_names(bind: str, extra: list[str]) -> list[str]:
    """The Host names to answer: loopback, the bound address (for a wildcard, this machine's names), `extra`.

    A wildcard-bound server answers for the machine's own address literals too (HostCheck asks
    is_local_address), so they need no list here.
    """
    names = [*LOOPBACK_NAMES]
    if bind in WILDCARDS:
        import socket

        names += [socket.gethostname(), socket.getfqdn()]
    elif bind not in LOOPBACK_NAMES:
        names.append(bind)
    names += extra
    # An IPv6 address stands in brackets in a Host header.
    names += [f"[{n}]" for n in names if ":" in n and not n.startswith("[")]
    return sorted({n.lower() for n in names if n})


def host_of(header: str) -> str:
    """The name in a Host header, lower-cased, without its port ("[::1]:8000" -> "[::1]")."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[: header.find("]") + 1] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


@lru_cache(maxsize=256)
def is_local_address(host: str) -> bool:
    """Whether a Host header's name is an IP address of this machine (one a socket can be bound to)."""
    import ipaddress
    import socket

    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a name: only those the server was told answer (DNS can point any name here)
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((str(address), 0))
        return True
    except OSError:
        return False


class HostCheck:
    """Refuse requests for Host names this server was not told it has (against DNS rebinding).

    Bound to every address (0.0.0.0), it also answers for the machine's own IP addresses, whichever
    network they are on: a rebinding page reaches it under a name, never as an address literal.
    """

    def __init__(self, app: ASGIApp, names: frozenset[str], local_addresses: bool) -> None:
        self.app = app
        self.names = names
        self.local_addresses = local_addresses

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 400."""
        if scope["type"] in ("http", "websocket"):
            host = host_of(dict(scope["headers"]).get(b"host", b"").decode("latin-1"))
            if host not in self.names and not (self.local_addresses and is_local_address(host)):
                await PlainTextResponse("Invalid host header", status_code=400)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def app_from_environment() -> FastAPI:
    """The app of one worker process of `serve --workers N`: settings and bind address from the environment."""
    options = WebOptions(
        host=os.environ.get(HOST_VARIABLE, "127.0.0.1"), board=os.environ.get(BOARD_VARIABLE) or None, threads=WORKER_THREADS
    )
    return create_app(load_settings(), options)
