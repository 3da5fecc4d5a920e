"""`pulse serve`: the archive as a small web app (Starlette), with the same searches as JSON under /api/.

Pages: search (/), a story with its cluster's full brief (/story/ID), a thread's timeline
(/thread/ID), digests (/digests, /digest/DATE). Works without JavaScript: every page is HTML from
Jinja2 with autoescaping; text that arrives as markdown (a story's body, a digest) goes through
markdown-it and nh3 (`markdown.to_html`). A strict Content-Security-Policy (no scripts at all) is
a second wall should anything slip through.

The event loop only routes: every request's blocking work (search, SQLite reads, markdown) runs on a
bounded pool of worker threads, first come first served (under load every request waits its turn,
rather than searches waiting behind every page). Each worker thread reads through its own Store
(SQLite connections are per thread); one Searcher, made in the lifespan, searches through those same
connections. Every request has a time limit: past it the answer is 503 with one line, and the
worker's SQLite statement is interrupted at the same deadline, so a slow or hostile query holds one
thread for at most that long while the others go on serving, and such queries cannot pile up.
"""
from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from pipeline.views import story_view, thread_view
from pipeline.search import IMPACTS, MODES, Filters, Results, SearchError, Searcher, SearchTimeout, checked
from pipeline.store import Store, ThreadStores, interrupted

from .brief_stage import load_brief
from .digest import Week
from .markdown import safe_url, to_html
from .pages import issue_context, newsletter_context
from .watch import listed, page_items

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
CSS = """
body{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:0 auto;padding:0 1rem 3rem;color:#1b1b1b}
header{display:flex;gap:1rem;align-items:center;border-bottom:1px solid #ddd;padding:.6rem 0;flex-wrap:wrap}
header a.home{font-weight:700;text-decoration:none;color:#b3261e}
form.search{display:flex;gap:.4rem;flex-wrap:wrap;flex:1}
form.search input[type=search]{flex:1;min-width:14rem;padding:.35rem}
mark{background:#ffe58a}
.meta{color:#666;font-size:.9rem}
.hit{margin:1.1rem 0}.hit h3{margin:0;font-size:1.05rem}.snippet{margin:.2rem 0;color:#333}
.impact{font-weight:700;padding:0 .35rem;border-radius:.25rem}
.impact-high{background:#f8d0cd}.impact-medium{background:#fde7b0}.impact-low{background:#e3e8ee}
blockquote{margin:.6rem 0;padding:.2rem .9rem;border-left:3px solid #bbb;color:#333}
table{border-collapse:collapse;font-size:.92rem}td,th{border-bottom:1px solid #e3e3e3;padding:.25rem .5rem;text-align:left}
.error{color:#b3261e}.label{font-style:italic;color:#666}
"""
_TAIL_MD = re.compile(r"\.md$")
MAX_BODY_CHARS = 200_000  # a story page renders at most this much of a story's markdown
T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """How much the server does at once (worker threads) and for how long (seconds per request)."""

    workers: int = 4
    search_timeout: float = 10.0
    page_timeout: float = 10.0


class TimedOut(Exception):
    """A request's work passed its time limit."""


class Workers:
    """A bounded pool of threads for blocking work, each reading through its own Store, under a deadline."""

    def __init__(self, stores: ThreadStores, size: int):
        self.stores = stores
        self.pool = ThreadPoolExecutor(size, thread_name_prefix="pulse-web")

    async def run(self, work: Callable[[Store, float], T], timeout: float) -> T:
        """work(store, deadline) on a worker thread; TimedOut once `timeout` seconds have passed (its SQLite
        statements are interrupted at the same deadline, so the thread is soon free again)."""
        deadline = time.monotonic() + timeout
        future = asyncio.get_running_loop().run_in_executor(self.pool, self._call, work, deadline)
        try:
            return await asyncio.wait_for(future, timeout)  # cancels it if still queued
        except asyncio.TimeoutError:
            raise TimedOut() from None

    def _call(self, work: Callable[[Store, float], T], deadline: float) -> T:
        if time.monotonic() > deadline:
            raise TimedOut()  # spent its whole time waiting in the queue
        store = self.stores.get()
        try:
            with store.time_limit(deadline):
                return work(store, deadline)
        except sqlite3.OperationalError as exc:
            if interrupted(exc):
                raise TimedOut() from None
            raise

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def segments(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """A snippet cut into (text, highlighted) pieces, for the template to escape piece by piece."""
    out, pos = [], 0
    for start, end in spans:
        if start > pos:
            out.append((text[pos:start], False))
        out.append((text[start:end], True))
        pos = end
    if pos < len(text):
        out.append((text[pos:], False))
    return out


class SecurityHeaders:
    """Adds CSP and friends to every response (pure ASGI, so streaming is untouched)."""

    HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
               (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + self.HEADERS
            await send(message)

        await self.app(scope, receive, with_headers)


def _filters(params: Any) -> Filters:
    return Filters(tuple(s for s in params.getlist("source") if s), params.get("since") or None,
                   params.get("until") or None, params.get("cluster") or None, params.get("thread") or None,
                   tuple(k for k in params.getlist("kind") if k), tuple(i for i in params.getlist("impact") if i))


def _limit(value: str | None, default: int = 20) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        raise SearchError(f"limit must be a whole number, got {value!r}") from None


def search_error(params: Any) -> str | None:
    """What is wrong with a search's parameters, found before it waits for a search thread (cheap: a
    query's length and terms are capped before it is parsed)."""
    try:
        _filters(params)
        checked(params.get("q", ""), params.get("mode") or "hybrid", _limit(params.get("limit")))
    except SearchError as exc:
        return str(exc)
    return None


def create_app(db_path: Path, searcher_factory: Callable[[Store], Searcher], limits: Limits = Limits()) -> Starlette:
    env = Environment(loader=PackageLoader("outputs", "templates/web"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["day"] = lambda v: (v or "")[:10]
    env.filters["safe_url"] = safe_url
    env.filters["segments"] = lambda hit: segments(hit.snippet, hit.highlights)
    env.filters["md_html"] = lambda text: Markup(to_html(text or ""))  # nh3-cleaned: safe to mark safe
    templates = Jinja2Templates(env=env)
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        home = Store(db_path)
        stores = ThreadStores(db_path, home=home)
        searcher = searcher_factory(home)
        searcher.stores = stores  # it searches through the workers' own connections
        state.update(searcher=searcher, workers=Workers(stores, limits.workers))
        try:
            yield
        finally:
            state["workers"].close()
            searcher.close()
            stores.close_all()
            home.close()

    async def on_pages(work: Callable[[Store, float], T]) -> T:
        """A page's blocking work on a worker, under the page time limit."""
        return await state["workers"].run(work, limits.page_timeout)

    async def on_search(work: Callable[[Store, float], T]) -> T:
        """A search (and its page) on a worker, under the search time limit."""
        return await state["workers"].run(work, limits.search_timeout)

    def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        return templates.TemplateResponse(request, name, {"modes": MODES, **context}, status_code=status)

    def run_search(params: Any, deadline: float) -> Results:
        return state["searcher"].search(params.get("q", ""), mode=params.get("mode") or "hybrid",
                                        limit=_limit(params.get("limit")), filters=_filters(params),
                                        deadline=deadline)

    async def home(request: Request) -> Response:
        params = request.query_params
        searching = bool(params.get("q", "").strip())
        refused = search_error(params) if searching else None

        def work(store: Store, deadline: float) -> Response:
            results, error = None, refused
            if searching and not refused:
                try:
                    results = run_search(params, deadline)
                except SearchTimeout:
                    raise TimedOut() from None
                except SearchError as exc:
                    error = str(exc)
            return page(request, "search.html", status=400 if error else 200, q=params.get("q", ""),
                        mode=params.get("mode") or "hybrid", source=params.get("source") or "",
                        since=params.get("since") or "", until=params.get("until") or "", results=results,
                        kind=params.get("kind") or "", impact=params.get("impact") or "", error=error,
                        sources=store.source_names(), kinds=store.brief_kinds(), impacts=IMPACTS)

        if searching and not refused:
            return await on_search(work)
        return await on_pages(work)

    def story_context(store: Store, sid: str) -> dict[str, Any]:
        view = story_view(store, sid)
        if view is None:
            raise HTTPException(404, f"no story {sid}")
        body = store.story(view["id"])
        brief = None
        if view["cluster_id"]:
            row = store.briefs([view["cluster_id"]]).get(view["cluster_id"])
            brief = load_brief(row) if row else None
        markdown = (body or {}).get("markdown") or view["text"]
        if len(markdown) > MAX_BODY_CHARS:  # bounded rendering, whatever the archive holds
            markdown = markdown[:MAX_BODY_CHARS] + "\n\n*(The rest of this story is too long to show here.)*"
        items = page_items(store, [view["cluster_id"]])[view["cluster_id"]] if brief else {"watch": [], "resolves": []}
        return {"story": view, "markdown": markdown, "brief": brief, **items}

    async def story(request: Request) -> Response:
        sid = request.path_params["sid"]
        return await on_pages(lambda store, _: page(request, "story.html", **story_context(store, sid)))

    async def brief(request: Request) -> Response:
        """/brief/SLUG and the digest's relative links (stories/SLUG.md) lead to the cluster's first story."""
        slug = _TAIL_MD.sub("", request.path_params["slug"])

        def first_story(store: Store, _: float) -> str | None:
            row = store.brief_by_slug(slug)
            return store.first_story_of(row["cluster_id"]) if row else None

        first = await on_pages(first_story)
        if first is None:
            raise HTTPException(404, "no such brief")
        return RedirectResponse(f"/story/{first}", status_code=303)

    async def thread(request: Request) -> Response:
        tid = request.path_params["tid"]

        def work(store: Store, _: float) -> Response:
            view = thread_view(store, tid)
            if not view["timeline"]:
                raise HTTPException(404, "no such thread")
            return page(request, "thread.html", thread=view, watch=listed(store, store.watch_threads([tid])))

        return await on_pages(work)

    def context_route(param: str, context: Callable[[Store, str], dict[str, Any] | None], template: str | None,
                      missing: str) -> Callable[[Request], Awaitable[Response]]:
        """A page (`template`) or, without one, its JSON twin, of what `context` says about the path's
        `param`; 404 where it says nothing."""

        async def route(request: Request) -> Response:
            key = request.path_params[param]

            def work(store: Store, _: float) -> Response:
                ctx = context(store, key)
                if ctx is None:
                    if template is None:
                        return JSONResponse({"error": missing}, status_code=404)
                    raise HTTPException(404, missing)
                return page(request, template, **ctx) if template else JSONResponse(ctx)

            return await on_pages(work)

        return route

    newsletter = context_route("name", newsletter_context, "newsletter.html", "no such newsletter")
    api_newsletter = context_route("name", newsletter_context, None, "no such newsletter")
    issue = context_route("iid", issue_context, "issue.html", "no such issue")
    api_issue = context_route("iid", issue_context, None, "no such issue")

    async def digests(request: Request) -> Response:
        return await on_pages(lambda store, _: page(request, "digests.html", digests=store.digest_list(limit=365)))

    def digest_row(store: Store, day: str) -> dict[str, Any]:
        day = re.sub(r"^digest-|\.md$", "", day)  # a digest's relative link to another day (digest-D.md)
        try:
            day = Week.parse(day).label if "W" in day else date.fromisoformat(day).isoformat()
        except ValueError:
            raise HTTPException(404, "no such digest") from None
        row = store.digest(day)
        if row is None:
            raise HTTPException(404, f"no digest for {day}")
        return row

    async def digest(request: Request) -> Response:
        day = request.path_params["day"]

        def work(store: Store, _: float) -> Response:
            row = digest_row(store, day)
            return page(request, "digest.html", digest=row, html=to_html(row["markdown"]))

        return await on_pages(work)

    async def css(request: Request) -> Response:
        return Response(CSS, media_type="text/css")

    # ------------------------------------------------------------------ JSON
    async def api_search(request: Request) -> Response:
        params = request.query_params
        refused = search_error(params)
        if refused:
            return JSONResponse({"error": refused}, status_code=400)

        def work(store: Store, deadline: float) -> Response:
            try:
                return JSONResponse(run_search(params, deadline).to_dict())
            except SearchTimeout:
                raise TimedOut() from None
            except SearchError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)

        return await on_search(work)

    async def api_story(request: Request) -> Response:
        sid = request.path_params["sid"]

        def work(store: Store, _: float) -> Response:
            ctx = story_context(store, sid)
            return JSONResponse({**ctx["story"], "brief": ctx["brief"].to_dict() if ctx["brief"] else None,
                                 "watch_items": ctx["watch"], "resolves": ctx["resolves"]})

        return await on_pages(work)

    async def api_thread(request: Request) -> Response:
        tid = request.path_params["tid"]

        def work(store: Store, _: float) -> Response:
            view = thread_view(store, tid)
            if not view["timeline"]:
                return JSONResponse({"error": "no such thread"}, status_code=404)
            return JSONResponse({**view, "watch": listed(store, store.watch_threads([tid]))})

        return await on_pages(work)

    async def api_digests(request: Request) -> Response:
        return await on_pages(lambda store, _: JSONResponse(store.digest_list(limit=365)))

    async def api_digest(request: Request) -> Response:
        day = request.path_params["day"]

        def work(store: Store, _: float) -> Response:
            row = digest_row(store, day)
            return JSONResponse({**row, "html": to_html(row["markdown"])})

        return await on_pages(work)

    def error_page(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=status)
        title = {404: "Not found", 503: "Too slow"}.get(status, "Error")
        return page(request, "error.html", status=status, message=message, title=title)

    async def http_error(request: Request, exc: HTTPException) -> Response:
        return error_page(request, exc.status_code, exc.detail)

    async def timed_out(request: Request, exc: TimedOut) -> Response:
        if request.url.path in ("/", "/api/search"):
            message = (f"this search took longer than {limits.search_timeout:g} s and was stopped; "
                       "try fewer or more specific words")
        else:
            message = f"this page took longer than {limits.page_timeout:g} s and was stopped; try again later"
        return error_page(request, 503, message)

    routes = [
        Route("/", home), Route("/story/{sid}", story), Route("/brief/{slug}", brief),
        Route("/digest/stories/{slug}", brief), Route("/thread/{tid}", thread), Route("/digests", digests),
        Route("/digest/{day}", digest), Route("/static/pulse.css", css),
        Route("/newsletter/{name}", newsletter), Route("/issue/{iid}", issue),
        Route("/api/newsletter/{name}", api_newsletter), Route("/api/issue/{iid}", api_issue),
        Route("/api/search", api_search), Route("/api/story/{sid}", api_story), Route("/api/thread/{tid}", api_thread),
        Route("/api/digests", api_digests), Route("/api/digest/{day}", api_digest),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error, TimedOut: timed_out})
    app.add_middleware(SecurityHeaders)
    return app
